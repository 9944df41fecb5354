import DataLoader from 'dataloader';
import type { DbHandle } from './client';
import { guestTokensOfTableRevokedBefore, tableOfGuest } from './guests';
import { remembered } from './remembered';

/**
 * How long a user's revocation time read from PostgreSQL is trusted (docs/api.md "Sessions"): the longest a
 * revocation made elsewhere goes unseen by an instance the Redis broadcast did not reach.
 */
export const REVOCATION_RECHECK_MS = 5_000;

type UserRow = { id: string; tenantId: string; name: string; revokedAtSec: number | null };

/** Every row of the ids asked (ids are global, so another tenant's row answers too); on the pool, not Prisma. */
const USERS_BY_ID = `SELECT "id", "tenantId", "name",
  floor(extract(epoch FROM "sessionsRevokedAt"))::float8 AS "revokedAtSec"
  FROM "User" WHERE "id" = ANY($1::text[])`;

/**
 * The questions authentication asks of PostgreSQL on every connect and request, answered for thousands of
 * sockets at once: "is this store the tenant's?", "is this user id another tenant's?" and "since when are the
 * user's sessions revoked?". Answers are remembered (bounded), and the user questions asked in one turn of the
 * event loop share one query: a reconnect storm of distinct users costs a query per batch, not per socket.
 * The user query goes to the pool under Prisma (`handle.query`): on the connect path, Prisma's client runtime
 * cost more than the query.
 */
export function createTenancyLookups(handle: Pick<DbHandle, 'db' | 'query'>) {
  const { db } = handle;
  const usersById = new DataLoader<string, UserRow[]>(
    async (ids) => {
      const rows = await handle.query<UserRow>(USERS_BY_ID, [[...new Set(ids)]]);
      return ids.map((id) => rows.filter((row) => row.id === id));
    },
    // Batches span every socket's callback of one event-loop turn; the minute-long memory is remembered()'s.
    { cache: false, maxBatchSize: 500, batchScheduleFn: (run) => setImmediate(run) },
  );

  /** The rows of a user id as a connect reads them (tenant, name), remembered for a minute. */
  const usersOfId = remembered(60_000, (_tenantId: string, userId: string) => usersById.load(userId));

  return {
    /** A store never moves to another tenant: a yes is remembered; a no is asked again (it may be new). */
    storeOfTenant: remembered(
      60_000,
      async (tenantId: string, storeId: string) =>
        (await db.store.count({ where: { id: storeId, tenantId } })) > 0,
      (isOfTenant) => isOfTenant,
    ),
    /** Preferences and read receipts are keyed by user id: a token naming another tenant's user is refused. */
    userOfOtherTenant: async (tenantId: string, userId: string) =>
      (await usersOfId(tenantId, userId)).some((user) => user.tenantId !== tenantId),
    /** The user's display name (presence), null for an id that is no user of the tenant: the connect's row. */
    userName: async (tenantId: string, userId: string) =>
      (await usersOfId(tenantId, userId)).find((user) => user.tenantId === tenantId)?.name ?? null,
    /**
     * `User.sessionsRevokedAt`, the source of truth of revokeSessions, in seconds since epoch (tokens issued at
     * or before it are refused); undefined when never revoked. For a table's guests, the start of the table's
     * last seating. Remembered for REVOCATION_RECHECK_MS.
     */
    sessionsRevokedBefore: remembered(REVOCATION_RECHECK_MS, async (tenantId: string, userId: string) => {
      // A table's guests: their tokens end when the next party is seated (src/db/guests.ts).
      const tableId = tableOfGuest(userId);
      if (tableId !== undefined) return guestTokensOfTableRevokedBefore(db, tenantId, tableId);
      const user = (await usersById.load(userId)).find((row) => row.tenantId === tenantId);
      return user?.revokedAtSec ?? undefined;
    }),
  };
}
