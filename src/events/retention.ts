import type { Db } from '../db/types';
import { DomainError } from '../errors';

/**
 * Deletes published events older than the retention window, in batches so no statement holds many
 * row locks or runs long. Unpublished events are kept whatever their age: the relay still owes them.
 * Each batch also records, per topic, the highest id it deleted (EventPruneMark), so a resume cursor
 * that points before pruned events is refused instead of silently skipping them.
 * Resolves with how many rows were deleted.
 */
export async function pruneEvents(
  db: Db,
  opts: { retentionHours: number; batchSize?: number; maxBatches?: number },
): Promise<number> {
  const batchSize = opts.batchSize ?? 5000;
  const maxBatches = opts.maxBatches ?? 100;
  let total = 0;
  for (let batch = 0; batch < maxBatches; batch++) {
    const [result] = await db.$queryRaw<Array<{ deleted: number }>>`
      WITH deleted AS (
        DELETE FROM "Event" WHERE "id" IN (
          SELECT "id" FROM "Event"
          WHERE "publishedAt" IS NOT NULL
            AND "createdAt" < (now() AT TIME ZONE 'UTC') - ${opts.retentionHours}::float8 * interval '1 hour'
          ORDER BY "id"
          LIMIT ${batchSize}::int
          FOR UPDATE SKIP LOCKED)
        RETURNING "topic", "id"
      ), marked AS (
        INSERT INTO "EventPruneMark" ("topic", "prunedThroughId", "updatedAt")
        SELECT "topic", max("id"), now() FROM deleted GROUP BY "topic"
        ON CONFLICT ("topic") DO UPDATE
          SET "prunedThroughId" = GREATEST("EventPruneMark"."prunedThroughId", EXCLUDED."prunedThroughId"),
              "updatedAt" = EXCLUDED."updatedAt"
      )
      SELECT count(*)::int AS deleted FROM deleted`;
    const deleted = result?.deleted ?? 0;
    total += deleted;
    if (deleted < batchSize) break;
  }
  return total;
}

/**
 * Refuses a resume position older than what retention kept (the highest pruned id of its topics, null
 * when none was pruned): events after it may be gone, and replaying what is left would skip them without
 * a word.
 */
export function assertNotPrunedPast(prunedThrough: bigint | null, after: bigint): void {
  if (prunedThrough !== null && prunedThrough > after) {
    throw new DomainError('BAD_USER_INPUT', 'Cursor expired: events after it are past retention, refetch', {
      reason: 'CURSOR_EXPIRED',
    });
  }
}

/** Prunes every hour (and once shortly after start); returns a function that stops it. */
export function schedulePruning(
  db: Db,
  opts: {
    retentionHours: number;
    logger: { info(o: object, m: string): void; warn(o: object, m: string): void };
  },
): () => void {
  const prune = () =>
    pruneEvents(db, { retentionHours: opts.retentionHours })
      .then((deleted) => {
        if (deleted > 0) opts.logger.info({ deleted }, 'pruned events past retention');
      })
      .catch((err) => opts.logger.warn({ err }, 'event pruning failed'));
  const first = setTimeout(prune, 30_000).unref();
  const hourly = setInterval(prune, 3_600_000).unref();
  return () => {
    clearTimeout(first);
    clearInterval(hourly);
  };
}
