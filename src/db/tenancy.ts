import DataLoader from 'dataloader';
import { guestTokensOfTableRevokedBefore, tableOfGuest } from './guests';
import { remembered } from './remembered';
import type { Db } from './types';

/**
 * How long a user's revocation time read from PostgreSQL is trusted (docs/api.md "Sessions"): the longest a
 * revocation made elsewhere goes unseen by an instance the Redis broadcast did not reach.
 */
export const REVOCATION_RECHECK_MS = 5_000;

type UserRow = { id: string; tenantId: string; sessionsRevokedAt: Date | null };

/**
 * The questions authentication asks of PostgreSQL on every connect and request, answered for thousands of
 * sockets at once: "is this store the tenant's?", "is this user id another tenant's?" and "since when are the
 * user's sessions revoked?". Answers are remembered (bounded), and the user questions asked in one turn of the
 * event loop share one query: a reconnect storm of distinct users costs a query per batch, not per socket.
 */
export function createTenancyLookups(db: Db) {
  const usersById = new DataLoader<string, UserRow[]>(
    async (ids) => {
      const rows = await db.user.findMany({
        where: { id: { in: [...ids] } },
        select: { id: true, tenantId: true, sessionsRevokedAt: true },
      });
      return ids.map((id) => rows.filter((row) => row.id === id));
    },
    // Batches span every socket's callback of one event-loop turn; the minute-long memory is remembered()'s.
    { cache: false, maxBatchSize: 500, batchScheduleFn: (run) => setImmediate(run) },
  );

  return {
    /** A store never moves to another tenant: a yes is remembered; a no is asked again (it may be new). */
    storeOfTenant: remembered(
      60_000,
      async (tenantId: string, storeId: string) =>
        (await db.store.count({ where: { id: storeId, tenantId } })) > 0,
      (isOfTenant) => isOfTenant,
    ),
    /** Preferences and read receipts are keyed by user id: a token naming another tenant's user is refused. */
    userOfOtherTenant: remembered(60_000, async (tenantId: string, userId: string) => {
      const users = await usersById.load(userId);
      return users.some((user) => user.tenantId !== tenantId);
    }),
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
      return user?.sessionsRevokedAt ? Math.floor(user.sessionsRevokedAt.getTime() / 1000) : undefined;
    }),
  };
}
