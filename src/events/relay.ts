import type { Db } from '../db/types';
import type { Logger } from '../observability/logger';
import { EVENT_ROW_COLUMNS, type EventRow, envelopeOf, markPublished, publishInOrder } from './outbox';
import type { PubSub } from './pubsub';

export interface OutboxRelay {
  /** Sweeps every intervalMs until stop(); sweeps never overlap. */
  start(): void;
  /** No more ticks; resolves once a sweep in flight has finished (await it before closing the database). */
  stop(): Promise<void>;
  /** Publishes committed-but-unpublished events older than the grace period; resolves with how many. */
  sweepOnce(): Promise<number>;
  /** Unpublished events (published or not by the fast path yet) and the age of the oldest. */
  backlog(): Promise<{ count: number; oldestAgeSeconds: number }>;
}

export interface OutboxRelayOptions {
  db: Db;
  pubsub: PubSub;
  logger: Logger;
  intervalMs: number;
  /** Leaves the fast path (publish right after commit) this long before stepping in. */
  graceMs?: number;
  batchSize?: number;
  /** Bounds one sweep; the rest waits for the next tick. */
  maxBatchesPerSweep?: number;
  /** ops: events the relay published because their instance did not (counted per sweep). */
  onRepublished?: (count: number) => void;
}

/**
 * Safety net for a crash (or a pub/sub outage) between commit and publish. Rows are claimed with
 * FOR UPDATE SKIP LOCKED inside the transaction that publishes and marks them, so several instances
 * can sweep at once without publishing a row twice.
 */
export function createOutboxRelay(opts: OutboxRelayOptions): OutboxRelay {
  const { db, pubsub, logger, intervalMs } = opts;
  const graceMs = opts.graceMs ?? 2000;
  const batchSize = opts.batchSize ?? 500;
  const maxBatches = opts.maxBatchesPerSweep ?? 20;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> | undefined;

  /** One transaction: claim a batch, publish it in id order, mark what went out. */
  async function sweepBatch(): Promise<{ published: number; claimed: number; failed: boolean }> {
    return db.$transaction(
      async (tx) => {
        const rows = await tx.$queryRaw<EventRow[]>`
          SELECT ${EVENT_ROW_COLUMNS} FROM "Event"
          WHERE "publishedAt" IS NULL
            AND "createdAt" < (clock_timestamp() AT TIME ZONE 'UTC') - ${graceMs}::int * interval '1 millisecond'
          ORDER BY "id"
          LIMIT ${batchSize}::int
          FOR UPDATE SKIP LOCKED`;
        const outcome = await publishInOrder(pubsub, rows.map(envelopeOf));
        await markPublished(tx, outcome.publishedIds);
        if (outcome.error) {
          logger.warn(
            { err: outcome.error, unpublished: rows.length - outcome.publishedIds.length },
            'relay publish failed',
          );
        }
        return {
          published: outcome.publishedIds.length,
          claimed: rows.length,
          failed: Boolean(outcome.error),
        };
      },
      { timeout: 30_000 },
    );
  }

  async function sweepOnce(): Promise<number> {
    let total = 0;
    for (let batch = 0; batch < maxBatches; batch++) {
      // Down: publishing would only fail; the rows stay unpublished until a later tick.
      if (pubsub.status() === 'down') break;
      const { published, claimed, failed } = await sweepBatch();
      total += published;
      if (failed || claimed < batchSize) break;
    }
    if (total > 0) {
      logger.info({ published: total }, 'outbox relay published events the fast path missed');
      opts.onRepublished?.(total);
    }
    return total;
  }

  function tick() {
    inFlight = sweepOnce()
      .then(
        () => {},
        (error: unknown) => logger.error({ err: error }, 'outbox relay sweep failed'),
      )
      .finally(() => {
        inFlight = undefined;
        if (timer) schedule();
      });
  }

  function schedule() {
    timer = setTimeout(tick, intervalMs);
    timer.unref();
  }

  return {
    start() {
      if (!timer) schedule();
    },
    async stop() {
      clearTimeout(timer);
      timer = undefined;
      await inFlight;
    },
    sweepOnce,
    async backlog() {
      const [row] = await db.$queryRaw<Array<{ count: number; oldestAgeSeconds: number }>>`
        SELECT count(*)::int AS "count",
          COALESCE(EXTRACT(EPOCH FROM (clock_timestamp() AT TIME ZONE 'UTC') - min("createdAt")), 0)::float8
            AS "oldestAgeSeconds"
        FROM "Event" WHERE "publishedAt" IS NULL`;
      return { count: row?.count ?? 0, oldestAgeSeconds: Math.max(0, row?.oldestAgeSeconds ?? 0) };
    },
  };
}
