import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AuthError } from '../../src/auth/errors';
import type { Principal } from '../../src/auth/principal';
import { createMemoryRevocationStore, type RevocationStore } from '../../src/auth/revocation';
import { createSessions, type Sessions } from '../../src/auth/session';
import { createLogger } from '../../src/observability/logger';
import { staffPrincipal } from '../support/principals';

const START = Date.UTC(2030, 0, 1, 12, 0, 0);
const nowSec = () => Math.floor(Date.now() / 1000);

const principal = (overrides: Partial<Principal> = {}) =>
  staffPrincipal({ tokenId: 'token-1', ...overrides });

describe('sessions', () => {
  let revocations: RevocationStore;
  let sessions: Sessions;
  beforeEach(() => {
    vi.useFakeTimers({ now: START });
    revocations = createMemoryRevocationStore();
    sessions = createSessions({ revocations, logger: createLogger('silent') });
  });
  afterEach(() => {
    sessions.close();
    vi.useRealTimers();
  });

  function endOf(session: ReturnType<Sessions['open']>) {
    const reasons: string[] = [];
    const stop = session.onEnd((reason: AuthError) => reasons.push(reason.reason));
    return { reasons, stop };
  }

  it('ends at the exp instant of its token, not a moment before', async () => {
    const session = sessions.open(principal({ expiresAt: nowSec() + 10 }));
    const { reasons } = endOf(session);
    await vi.advanceTimersByTimeAsync(9_999);
    expect(reasons).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(reasons).toEqual(['expired']);
    expect(session.ended?.reason).toBe('expired');
    expect(sessions.watched()).toBe(0);
  });

  it('ends when its user is revoked, or its token; not for another user or token', async () => {
    const staff = sessions.open(principal());
    const kitchen = sessions.open(principal({ userId: 'acme-kitchen', tokenId: 'token-2' }));
    const otherToken = sessions.open(principal({ tokenId: 'token-3', userId: 'acme-manager' }));
    const [s, k, o] = [endOf(staff), endOf(kitchen), endOf(otherToken)];
    await vi.advanceTimersByTimeAsync(0);

    await revocations.revokeUser('acme', 'acme-staff', nowSec());
    await revocations.revokeToken('token-2', nowSec() + 3600);
    expect(s.reasons).toEqual(['revoked']);
    expect(k.reasons).toEqual(['revoked']);
    expect(o.reasons).toEqual([]);
    expect(sessions.watched()).toBe(1);
  });

  it('does not end for a revocation of the same user id in another tenant, or before its token was issued', async () => {
    const session = sessions.open(principal());
    const { reasons } = endOf(session);
    await revocations.revokeUser('globex', 'acme-staff', nowSec());
    await revocations.revokeUser('acme', 'acme-staff', nowSec() - 120);
    expect(reasons).toEqual([]);
  });

  it('ends at once when its token was revoked before anyone listened', async () => {
    await revocations.revokeUser('acme', 'acme-staff', nowSec());
    const session = sessions.open(principal());
    const { reasons } = endOf(session);
    await vi.advanceTimersByTimeAsync(0);
    expect(reasons).toEqual(['revoked']);
    const late: string[] = [];
    session.onEnd((reason) => late.push(reason.reason));
    expect(late).toEqual(['revoked']);
  });

  it('is watched only while someone listens, and a plain request is never watched', async () => {
    const session = sessions.open(principal({ expiresAt: nowSec() + 10 }));
    expect(sessions.watched()).toBe(0);
    const first = endOf(session);
    const second = endOf(session);
    expect(sessions.watched()).toBe(1);
    first.stop();
    expect(sessions.watched()).toBe(1);
    second.stop();
    expect(sessions.watched()).toBe(0);
    await vi.advanceTimersByTimeAsync(20_000);
    expect([...first.reasons, ...second.reasons]).toEqual([]);
  });

  it('follows a renewed token: its expiry and its revocations', async () => {
    const session = sessions.open(principal({ expiresAt: nowSec() + 10 }));
    const { reasons } = endOf(session);
    session.renew(principal({ tokenId: 'token-renewed', issuedAt: nowSec(), expiresAt: nowSec() + 60 }));
    await vi.advanceTimersByTimeAsync(30_000);
    expect(reasons).toEqual([]);
    await revocations.revokeToken('token-1', nowSec() + 3600); // the old token: no longer this session's
    expect(reasons).toEqual([]);
    await revocations.revokeToken('token-renewed', nowSec() + 3600);
    expect(reasons).toEqual(['revoked']);
  });

  it("refuses to renew with another user's token", () => {
    const session = sessions.open(principal());
    expect(() => session.renew(principal({ userId: 'acme-manager' }))).toThrow(
      expect.objectContaining({ reason: 'bad_claims' }),
    );
    expect(() => session.renew(principal({ tenantId: 'globex' }))).toThrow();
    expect(session.principal.userId).toBe('acme-staff');
  });

  it('re-arms expiry timers beyond what setTimeout can wait', async () => {
    const session = sessions.open(principal({ expiresAt: nowSec() + 30 * 24 * 3600 }));
    const { reasons } = endOf(session);
    await vi.advanceTimersByTimeAsync(25 * 24 * 3600 * 1000);
    expect(reasons).toEqual([]);
    await vi.advanceTimersByTimeAsync(5 * 24 * 3600 * 1000);
    expect(reasons).toEqual(['expired']);
  });

  it('close() stops watching without ending anything', async () => {
    const session = sessions.open(principal({ expiresAt: nowSec() + 10 }));
    const { reasons } = endOf(session);
    sessions.close();
    expect(sessions.watched()).toBe(0);
    await vi.advanceTimersByTimeAsync(20_000);
    await revocations.revokeUser('acme', 'acme-staff', nowSec());
    expect(reasons).toEqual([]);
  });
});
