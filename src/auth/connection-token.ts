import { DomainError } from '../errors';
import type { Authenticator } from './authenticate';
import type { Principal } from './principal';
import type { Session } from './session';

/**
 * Live token refresh (docs/api.md "Renewing a connection's token"): a graphql-ws connection replaces its token
 * without closing, so its subscriptions go on without a gap. graphql-ws itself has no way to re-authenticate a
 * connection (its issue #503); Expediter does it with a mutation sent over the connection.
 *
 * The new token must be valid now (signature, expiry, revocation: as at connect), be the same user's in the
 * same tenant, expire later than the current one, and allow at least what the connection was authorized with:
 * the connection's current store, every store, role and station of the current token. A token that would
 * narrow the connection is refused, because the subscriptions already running were authorized with the old one:
 * reconnect with it instead, and every subscription is authorized again. A refused token changes nothing.
 */
export async function renewConnectionToken(
  session: Session,
  authenticator: Authenticator,
  token: string,
): Promise<Principal> {
  if (session.ended) throw session.ended; // expired or revoked meanwhile: the connection is closing
  const current = session.principal;
  // The connection's current store must still be allowed: refused as store_not_allowed (FORBIDDEN) otherwise.
  const next = await authenticator.authenticate({
    authorization: `Bearer ${token}`,
    storeId: current.currentStoreId,
  });
  requireRenewal(current, next);
  session.renew(next);
  return session.principal;
}

/** Throws the error that says why `next` may not replace `current` on a live connection. */
export function requireRenewal(current: Principal, next: Principal): void {
  if (next.tenantId !== current.tenantId || next.userId !== current.userId) {
    throw new DomainError('FORBIDDEN', "The token is another user's: open a new connection with it");
  }
  if (!expiresLater(next, current)) {
    throw new DomainError('BAD_USER_INPUT', "The token must expire later than the connection's", {
      field: 'token',
    });
  }
  const narrower = [
    !coversStores(next, current) && 'stores',
    !current.roles.every((role) => next.roles.includes(role)) && 'roles',
    !sameMembers(next.stations, current.stations) && 'stations',
    next.seating !== current.seating && 'seating',
  ].filter(Boolean);
  if (narrower.length > 0) {
    throw new DomainError(
      'FORBIDDEN',
      `The token changes what the connection may see (${narrower.join(', ')}): open a new connection with it`,
      { narrower },
    );
  }
}

function expiresLater(next: Principal, current: Principal): boolean {
  if (current.expiresAt === undefined) return next.expiresAt === undefined;
  return next.expiresAt === undefined || next.expiresAt > current.expiresAt;
}

function coversStores(next: Principal, current: Principal): boolean {
  if (next.stores === '*') return true;
  if (current.stores === '*') return false;
  return current.stores.every((store) => next.stores.includes(store));
}

function sameMembers(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((item) => b.includes(item));
}
