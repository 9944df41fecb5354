import DataLoader from 'dataloader';
import { remembered } from './remembered';
import type { Db } from './types';

/**
 * The two ownership questions authentication asks on every connect, answered for thousands of sockets at
 * once: "is this store the tenant's?" and "is this user id another tenant's?". Answers are remembered for
 * a minute (bounded), and the user questions asked in one turn of the event loop share one query: a
 * reconnect storm of distinct users costs a query per batch, not per socket.
 */
export function createTenancyLookups(db: Db) {
  const usersById = new DataLoader<string, Array<{ id: string; tenantId: string }>>(
    async (ids) => {
      const rows = await db.user.findMany({
        where: { id: { in: [...ids] } },
        select: { id: true, tenantId: true },
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
  };
}
