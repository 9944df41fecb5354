import type { Logger } from '../observability/logger';
import { AuthError, type AuthFailureReason } from './errors';
import { KeySetUnavailableError, type TokenVerifier } from './jwt';
import { canAccessStore } from './policy';
import type { Principal } from './principal';
import type { RevocationStore } from './revocation';

export interface AuthenticationInput {
  /** "Bearer <jwt>": a connection_init payload value or the Authorization header, as received. */
  authorization?: unknown;
  /** The store the connection or request works in: connection_init `storeId` or `x-store-id`. */
  storeId?: unknown;
}

export interface Authenticator {
  /** The verified caller, or an AuthError (closeCode 4401, or 4403 for a store the token does not allow). */
  authenticate(input: AuthenticationInput): Promise<Principal>;
}

const BEARER = /^bearer[ \t]+([A-Za-z0-9._~+/=-]+)[ \t]*$/i;

/** Expected refusals (a stale tab, an expired token) log at info; the rest may be probing and log at warn. */
const ROUTINE_REASONS: ReadonlySet<AuthFailureReason> = new Set(['missing', 'expired', 'revoked']);

export function createAuthenticator(deps: {
  verifier: TokenVerifier;
  revocations: RevocationStore;
  logger: Logger;
  /**
   * Whether the store is one of the tenant's. A `stores: ["*"]` claim covers every store of the caller's tenant
   * only, so a requested store of another tenant is refused like any store the token does not allow.
   */
  storeOfTenant?: (tenantId: string, storeId: string) => Promise<boolean>;
  /**
   * Whether the user id is a user of another tenant. User ids are global and some rows are keyed by user alone
   * (notification receipts and preferences), so a `sub` naming another tenant's user is refused as bad claims.
   */
  userOfOtherTenant?: (tenantId: string, userId: string) => Promise<boolean>;
}): Authenticator {
  const { verifier, revocations, logger, storeOfTenant, userOfOtherTenant } = deps;

  return {
    async authenticate(input) {
      let principal: Principal | undefined;
      try {
        const token = bearerToken(input.authorization);
        const storeId = requestedStore(input.storeId);
        principal = await verifier.verify(token);
        // Redis and PostgreSQL asked at once: a connect waits for the slower of the two, not their sum.
        const [revoked, foreignUser] = await Promise.all([
          revocations.isRevoked(principal),
          userOfOtherTenant?.(principal.tenantId, principal.userId),
        ]);
        if (revoked) throw new AuthError('revoked');
        if (foreignUser) throw new AuthError('bad_claims');
        if (storeId === undefined) return principal;
        if (!canAccessStore(principal, storeId)) throw new AuthError('store_not_allowed');
        if (storeOfTenant && !(await storeOfTenant(principal.tenantId, storeId))) {
          throw new AuthError('store_not_allowed');
        }
        return { ...principal, currentStoreId: storeId };
      } catch (error) {
        if (error instanceof AuthError) logRefusal(logger, error, principal);
        throw error;
      }
    },
  };
}

function bearerToken(authorization: unknown): string {
  if (authorization === undefined || authorization === null || authorization === '')
    throw new AuthError('missing');
  if (typeof authorization !== 'string') throw new AuthError('malformed');
  const match = BEARER.exec(authorization);
  if (!match?.[1]) throw new AuthError('malformed');
  return match[1];
}

function requestedStore(storeId: unknown): string | undefined {
  if (storeId === undefined || storeId === null || storeId === '') return undefined;
  if (typeof storeId !== 'string' || storeId.length > 200) throw new AuthError('malformed');
  return storeId;
}

function logRefusal(logger: Logger, error: AuthError, principal: Principal | undefined) {
  const fields = {
    reason: error.reason,
    ...(principal && { userId: principal.userId, tenantId: principal.tenantId, tokenId: principal.tokenId }),
  };
  if (error.cause instanceof KeySetUnavailableError) {
    logger.error({ ...fields, err: error.cause.cause }, 'authentication failed: key set unavailable');
  } else if (ROUTINE_REASONS.has(error.reason)) {
    logger.info(fields, 'authentication refused');
  } else {
    logger.warn(fields, 'authentication refused');
  }
}
