import { describe, expect, it } from 'vitest';
import { requireRenewal } from '../../src/auth/connection-token';
import { staffPrincipal } from '../support/principals';

describe('renewing a table guest’s connection', () => {
  const guest = staffPrincipal({
    userId: 'guest:acme-downtown-4',
    roles: ['CUSTOMER'],
    table: 'acme-downtown-4',
    seating: 'party-1',
  });
  const later = { expiresAt: (guest.expiresAt as number) + 60 };

  it('keeps the party: a token of the same party renews, one of the next party does not', () => {
    expect(() => requireRenewal(guest, { ...guest, ...later })).not.toThrow();
    expect(() => requireRenewal(guest, { ...guest, ...later, seating: 'party-2' })).toThrow(
      expect.objectContaining({
        code: 'FORBIDDEN',
        details: { narrower: ['seating'] },
      }),
    );
  });
});
