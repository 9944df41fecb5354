import type { Db } from '../db/types';

/**
 * Deletes published events older than the retention window, in batches so no statement holds many
 * row locks or runs long. Unpublished events are kept whatever their age: the relay still owes them.
 * Resolves with how many rows were deleted. Replays after a pruned cursor start at the oldest event kept.
 */
export async function pruneEvents(
  db: Db,
  opts: { retentionHours: number; batchSize?: number; maxBatches?: number },
): Promise<number> {
  const batchSize = opts.batchSize ?? 5000;
  const maxBatches = opts.maxBatches ?? 100;
  let total = 0;
  for (let batch = 0; batch < maxBatches; batch++) {
    const deleted = await db.$executeRaw`
      DELETE FROM "Event" WHERE "id" IN (
        SELECT "id" FROM "Event"
        WHERE "publishedAt" IS NOT NULL
          AND "createdAt" < (now() AT TIME ZONE 'UTC') - ${opts.retentionHours}::float8 * interval '1 hour'
        ORDER BY "id"
        LIMIT ${batchSize}::int
        FOR UPDATE SKIP LOCKED)`;
    total += deleted;
    if (deleted < batchSize) break;
  }
  return total;
}
