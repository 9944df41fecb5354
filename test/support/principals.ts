import type { Principal } from '../../src/auth/principal';

const nowSec = () => Math.floor(Date.now() / 1000);

/** A verified acme-staff session (issued a minute ago, valid an hour), with overrides. */
export function staffPrincipal(overrides: Partial<Principal> = {}): Principal {
  return {
    userId: 'acme-staff',
    tenantId: 'acme',
    roles: ['STAFF'],
    stores: ['acme-downtown'],
    stations: [],
    tokenId: 'token-1',
    issuedAt: nowSec() - 60,
    expiresAt: nowSec() + 3600,
    ...overrides,
  };
}
