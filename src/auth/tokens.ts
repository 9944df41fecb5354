import { randomUUID } from 'node:crypto';
import { decodeJwt, SignJWT } from 'jose';
import { type DemoUser, demoData, findDemoUser } from '../db/demo-data';
import { guestUserId } from '../db/guests';
import type { Role } from './principal';

export interface TokenClaimsInput {
  sub: string;
  tid: string;
  roles: readonly Role[];
  /** Store ids, or '*' / ['*'] for every store of the tenant. */
  stores: readonly string[] | '*';
  stations?: readonly string[];
  /** A guest token's dining table (signTableToken). */
  table?: string;
  /** A guest token's party at that table (signTableToken). */
  seating?: string;
  /** Default: a random UUID. */
  jti?: string;
  /** Seconds, or a jose time span such as '8h' (default '1h'). */
  expiresIn?: string | number;
  /** Seconds since epoch, or a jose time span from now such as '10m'. */
  notBefore?: string | number;
}

export interface SigningOptions {
  secret: string;
  issuer?: string;
  audience?: string;
}

/** Signs an HS256 token with Expediter's claims: for development, tests and the token CLI. */
export async function signToken(claims: TokenClaimsInput, opts: SigningOptions): Promise<string> {
  const stores = claims.stores === '*' ? ['*'] : [...claims.stores];
  const jwt = new SignJWT({
    tid: claims.tid,
    roles: [...claims.roles],
    stores,
    ...(claims.stations && claims.stations.length > 0 && { stations: [...claims.stations] }),
    ...(claims.table !== undefined && { table: claims.table }),
    ...(claims.seating !== undefined && { seating: claims.seating }),
  })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(claims.sub)
    .setJti(claims.jti ?? randomUUID())
    .setIssuedAt()
    .setExpirationTime(expiry(claims.expiresIn ?? '1h'));
  if (claims.notBefore !== undefined) jwt.setNotBefore(claims.notBefore);
  if (opts.issuer) jwt.setIssuer(opts.issuer);
  if (opts.audience) jwt.setAudience(opts.audience);
  return jwt.sign(new TextEncoder().encode(opts.secret));
}

/** jose reads a number as an absolute timestamp; here a number means seconds from now. */
function expiry(expiresIn: string | number): string | number {
  return typeof expiresIn === 'number' ? Math.floor(Date.now() / 1000) + expiresIn : expiresIn;
}

export class DemoTokenError extends Error {
  override name = 'DemoTokenError';
}

/**
 * A token for one of the seeded demo users (README "Demo data"), with that user's tenant, roles,
 * stores and stations. `storeId` narrows the token to one of the user's stores.
 */
export async function tokenForDemoUser(
  userId: string,
  opts: SigningOptions & { expiresIn?: string | number; jti?: string; storeId?: string },
): Promise<string> {
  const user = findDemoUser(userId);
  if (!user) throw new DemoTokenError(`Unknown demo user: ${userId}`);
  if (opts.storeId && !demoUserMayUseStore(user, opts.storeId)) {
    throw new DemoTokenError(`Demo user ${userId} may not act in store ${opts.storeId}`);
  }
  return signToken(
    {
      sub: user.id,
      tid: user.tenantId,
      roles: user.roles,
      stores: opts.storeId ? [opts.storeId] : user.storeIds,
      stations: user.stationIds,
      jti: opts.jti,
      expiresIn: opts.expiresIn,
    },
    opts,
  );
}

function demoUserMayUseStore(user: DemoUser, storeId: string): boolean {
  const store = demoData.stores.find((candidate) => candidate.id === storeId);
  if (!store || store.tenantId !== user.tenantId) return false;
  return user.storeIds.includes('*') || user.storeIds.includes(storeId);
}

/** How long a guest token at a table lasts at most: a long dinner. Seating the next party ends it sooner. */
export const TABLE_TOKEN_LIFETIME_SECONDS = 4 * 3600;

/**
 * A guest token for a dining table (a QR code on the table): role CUSTOMER in the table's store, claim `table`,
 * user id `guest:<tableId>`. It orders at that table and follows that table's orders, nothing else.
 */
export async function signTableToken(
  table: { id: string; tenantId: string; storeId: string; seatingId?: string | null },
  opts: SigningOptions & { expiresIn?: string | number },
): Promise<{ token: string; expiresAt: Date }> {
  const token = await signToken(
    {
      sub: guestUserId(table.id),
      tid: table.tenantId,
      roles: ['CUSTOMER'],
      stores: [table.storeId],
      table: table.id,
      ...(table.seatingId != null && { seating: table.seatingId }),
      expiresIn: opts.expiresIn ?? TABLE_TOKEN_LIFETIME_SECONDS,
    },
    opts,
  );
  return { token, expiresAt: new Date((decodeJwt(token).exp as number) * 1000) };
}
