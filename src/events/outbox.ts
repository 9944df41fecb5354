import type { Db, Tx } from '../db/types';
import { isWriteConflict, retryingWriteConflicts } from '../db/write-conflicts';
import { overloaded } from '../errors';
import { Prisma } from '../generated/prisma/client';
import type { Logger } from '../observability/logger';
import { eventLocks, runStatement, type SqlQuery } from './one-statement';
import { type PubSub, toJson } from './pubsub';
import { tenantOfTopic } from './topics';
import type { EventEnvelope, NewEvent } from './types';
import type { CommitListener, UnitOfWork } from './unit-of-work';

export interface PublishOutcome {
  publishedIds: string[];
  error?: unknown;
}

/**
 * Publishes in the given (id) order and never rejects: resolves with the ids that reached pub/sub and the
 * first error, if any. Started together, in order: one connection writes them in this order (pipelined).
 */
export async function publishInOrder(
  pubsub: PubSub,
  events: readonly EventEnvelope[],
): Promise<PublishOutcome> {
  if (events.length === 0) return { publishedIds: [] };
  const results = await Promise.allSettled(events.map((event) => pubsub.publish(event.topic, event)));
  const publishedIds = events.filter((_, i) => results[i]?.status === 'fulfilled').map((event) => event.id);
  const failure = results.find((result) => result.status === 'rejected');
  return failure ? { publishedIds, error: failure.reason } : { publishedIds };
}

/**
 * The durable way out of a unit of work: hands committed events to pub/sub in commit order and marks them
 * published. What pub/sub refuses (Redis down) waits in this instance's backlog, in order, and later events
 * queue behind it; the backlog is published as soon as pub/sub takes messages again (its publisher
 * connection is back), not a relay period later. The outbox relay stays the safety net for what an instance
 * could not publish at all (it crashed, or its backlog overflowed).
 */
export interface OutboxPublisher {
  /** Never rejects; resolves once the events were handed over or queued. */
  publishCommitted(events: readonly EventEnvelope[]): Promise<void>;
  /** Events of this instance waiting for pub/sub. */
  backlog(): number;
  /** Stops retrying (what is still queued is left to the relay) and writes the marks still pending. */
  close(): Promise<void>;
}

export interface OutboxPublisherOptions {
  db: Db;
  logger: Logger;
  /** Events queued beyond this are left to the relay (default 10,000). */
  maxBacklog?: number;
  /** First retry of a refused backlog (doubling up to 2 s); pub/sub coming back triggers one at once. */
  retryMs?: number;
  /** ops: how many backlog events went out after pub/sub came back. */
  onCaughtUp?: (count: number) => void;
  /**
   * How long published ids are gathered before one UPDATE marks them all (default 100 ms). Marking is off the
   * request path: a mutation returns once its events are on pub/sub. It must stay well under the relay's grace
   * period (2 s), or the relay would publish the events again (receivers drop the copies by id, at a cost).
   */
  markDelayMs?: number;
  /** How marks are sent: the pg pool in PostgreSQL mode (Prisma wraps a raw UPDATE in BEGIN/COMMIT); else Prisma. */
  sql?: SqlQuery;
}

export function createOutboxPublisher(pubsub: PubSub, options: OutboxPublisherOptions): OutboxPublisher {
  const { db, logger } = options;
  const maxBacklog = options.maxBacklog ?? 10_000;
  const firstRetryMs = options.retryMs ?? 100;
  const queue: EventEnvelope[] = [];
  let flushing: Promise<void> | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let retryMs = firstRetryMs;
  let closed = false;
  const stopWatching = pubsub.onPublisherUp?.(() => flushSoon(0));
  const mark: (ids: string[]) => Promise<unknown> = options.sql
    ? (ids) => (options.sql as SqlQuery)(MARK_PUBLISHED_SQL, [ids])
    : (ids) => markPublished(db, ids);
  const marks = createMarkBatcher(mark, logger, options.markDelayMs ?? 100);
  const markSafely = (ids: readonly string[]) => marks.add(ids);

  function enqueue(events: readonly EventEnvelope[]) {
    const room = Math.max(0, maxBacklog - queue.length);
    queue.push(...events.slice(0, room));
    if (events.length > room) {
      logger.warn(
        { dropped: events.length - room, maxBacklog },
        'publish backlog full; the relay will publish the rest',
      );
    }
  }

  function flushSoon(delayMs: number) {
    if (closed || queue.length === 0) return;
    clearTimeout(retryTimer);
    retryTimer = setTimeout(() => void flush(), delayMs);
    retryTimer.unref();
  }

  /** Publishes the backlog in order; on failure keeps what is left and retries with a growing delay. */
  function flush(): Promise<void> {
    flushing ??= (async () => {
      while (queue.length > 0 && !closed) {
        const batch = queue.slice(0, 500);
        const outcome = await publishInOrder(pubsub, batch);
        const published = new Set(outcome.publishedIds);
        for (let i = queue.length - 1; i >= 0; i--)
          if (published.has((queue[i] as EventEnvelope).id)) queue.splice(i, 1);
        markSafely(outcome.publishedIds);
        if (outcome.publishedIds.length > 0) options.onCaughtUp?.(outcome.publishedIds.length);
        if (outcome.error) {
          flushSoon(retryMs);
          retryMs = Math.min(retryMs * 2, 2000);
          return;
        }
        retryMs = firstRetryMs;
      }
    })().finally(() => {
      flushing = undefined;
    });
    return flushing;
  }

  return {
    async publishCommitted(events) {
      if (events.length === 0) return;
      if (queue.length > 0) {
        // Older events of this instance still wait: these go out after them. While pub/sub is down they are
        // still offered to it, which refuses at once and hands them to this instance's own subscribers
        // (degraded mode); the copy published later is dropped by receivers as already delivered.
        const publishable = pubsub.canPublish();
        if (!publishable) await publishInOrder(pubsub, events);
        enqueue(events);
        if (publishable) await flush();
        return;
      }
      const outcome = await publishInOrder(pubsub, events);
      markSafely(outcome.publishedIds);
      if (!outcome.error) return;
      const published = new Set(outcome.publishedIds);
      enqueue(events.filter((event) => !published.has(event.id)));
      logger.warn(
        { err: outcome.error, unpublished: events.length - published.size },
        'publish after commit failed; publishing again as soon as pub/sub is back',
      );
      flushSoon(retryMs);
    },
    backlog: () => queue.length,
    async close() {
      closed = true;
      clearTimeout(retryTimer);
      stopWatching?.();
      await marks.close();
    },
  };
}

/**
 * Marks published ids in batches: ids gathered for `delayMs` (or while a mark is being written) go out in one
 * UPDATE, never on a mutation's request path. Every mutation used to pay a round trip (and ~0.3 ms of CPU) for its
 * own mark. A mark that fails is only logged: the relay publishes the events again, and receivers drop the copies.
 */
function createMarkBatcher(mark: (ids: string[]) => Promise<unknown>, logger: Logger, delayMs: number) {
  let pending: string[] = [];
  let timer: NodeJS.Timeout | undefined;
  let writing: Promise<void> | undefined;

  function write(): Promise<void> {
    timer = undefined;
    if (writing || pending.length === 0) return writing ?? Promise.resolve();
    const ids = pending;
    pending = [];
    writing = mark(ids)
      .then(() => undefined)
      .catch((error: unknown) =>
        logger.warn({ err: error }, 'could not mark events published; the relay may publish them again'),
      )
      .finally(() => {
        writing = undefined;
        if (pending.length > 0) schedule();
      });
    return writing;
  }
  function schedule() {
    if (timer || writing) return;
    timer = setTimeout(() => void write(), delayMs);
    timer.unref();
  }
  return {
    add(ids: readonly string[]) {
      if (ids.length === 0) return;
      pending.push(...ids);
      schedule();
    },
    async close() {
      clearTimeout(timer);
      timer = undefined;
      await writing;
      await write();
    },
  };
}

export interface UnitOfWorkOptions {
  db: Db;
  publisher: OutboxPublisher;
  logger: Logger;
  onCommit?: CommitListener[];
  /** Prisma interactive transaction limits (ms). */
  transaction?: { maxWait?: number; timeout?: number };
  /**
   * How one-statement units of work are sent: the pg pool under the adapter in PostgreSQL mode (no client
   * runtime on the way); Prisma's raw query otherwise (PGlite's one backend is shared through the adapter).
   */
  sql?: SqlQuery;
}

export function createUnitOfWork(opts: UnitOfWorkOptions): UnitOfWork {
  const { db, publisher, logger } = opts;
  const query: SqlQuery =
    opts.sql ?? ((text, values) => db.$queryRawUnsafe<Record<string, unknown>[]>(text, ...values));
  return {
    async run(work) {
      let envelopes: EventEnvelope[] = [];
      // A deadlock or serialization failure rolled the whole transaction back: it runs again (CONFLICT after 3).
      const result = await retryingWriteConflicts(() =>
        db.$transaction(async (tx) => {
          const pending: NewEvent[] = [];
          let open = true;
          const emit = (event: NewEvent) => {
            if (!open) throw new Error('emit() called after the unit of work finished');
            assertTopicOfEventTenant(event);
            pending.push(event);
          };
          try {
            const value = await work(tx, emit);
            envelopes = await insertEvents(tx, pending);
            return value;
          } finally {
            open = false;
          }
        }, opts.transaction),
      ).catch((error: unknown) => {
        // The transaction never started (no pooled connection within maxWait): nothing ran, nothing was written.
        if (neverStarted(error)) throw overloaded(Math.ceil((opts.transaction?.maxWait ?? 2000) / 1000));
        throw error;
      });
      if (envelopes.length > 0) await afterCommit(envelopes);
      return result;
    },
    async runStatement(work) {
      for (const event of work.events) assertTopicOfEventTenant(event);
      // A deadlock rolled the statement back (nothing written): as a row that changed, the caller's transaction.
      const outcome = await runStatement(query, work).catch((error: unknown) => {
        if (isWriteConflict(error)) return { ok: false, patch: null, envelopes: [] };
        throw error;
      });
      if (outcome.envelopes.length > 0) await afterCommit(outcome.envelopes);
      return outcome;
    },
    read: (text, values) => query(text, values),
  };

  async function afterCommit(envelopes: EventEnvelope[]) {
    await publisher.publishCommitted(envelopes);
    for (const listener of opts.onCommit ?? []) {
      try {
        listener(envelopes);
      } catch (error) {
        logger.error({ err: error }, 'commit listener failed');
      }
    }
  }
}

/** Prisma's P2028 when the transaction could not start in time (it is also the code of a transaction that expired). */
function neverStarted(error: unknown): boolean {
  return (
    error instanceof Prisma.PrismaClientKnownRequestError &&
    error.code === 'P2028' &&
    error.message.includes('Unable to start a transaction')
  );
}

/** The lock that orders ids is the event's tenant's: a topic of another tenant would slip past it. */
function assertTopicOfEventTenant(event: NewEvent) {
  if (tenantOfTopic(event.topic) !== event.tenantId) {
    throw new Error(`Event for tenant ${event.tenantId ?? '(system)'} on a topic of another: ${event.topic}`);
  }
}

/**
 * Writes the unit's events as its last statements, under an advisory lock held until commit.
 *
 * Why: bigserial ids are handed out when a row is inserted, not when it commits, so without care an
 * event with a smaller id could commit after a larger one, and a replay "after cursor X" that already
 * saw X would miss it for good. Taking ids only at the end of the transaction and under a lock on the
 * tenant makes id order equal commit order within a tenant (the next writer waits for our commit).
 * Tenant writers share the global lock, `sys:` writers take it exclusively, so system events are ordered
 * against every tenant's too (a notifications stream merges both). Locks are taken in a fixed order
 * (global, then tenants sorted), so two units cannot deadlock on them.
 *
 * Each event also records the previous event of its topic (prevId), read from the topic's head row: the
 * statement's snapshot predates the lock it waits for, so a plain max(id) could miss the writer it waited
 * on, but ON CONFLICT DO UPDATE works on the latest committed head whatever the snapshot.
 */
async function insertEvents(tx: Tx, events: readonly NewEvent[]): Promise<EventEnvelope[]> {
  if (events.length === 0) return [];
  const locks = eventLocks(events);
  const jsonPayloads = events.map((event) => toJson(event.payload ?? null));
  const values = events.map(
    (event, i) =>
      Prisma.sql`(${i}::int, ${event.tenantId}, ${event.topic}, ${event.kind}, ${jsonPayloads[i]}::jsonb)`,
  );
  // One statement instead of one per lock plus the inserts (each costs a round trip and ~0.4 ms of CPU).
  // The locks are taken before any id is drawn (every id comes out of a join with the materialised "lock"
  // row); ids are numbered in draw order and given to the events in emit order.
  const inserted = await tx.$queryRaw<Array<{ id: bigint; createdAt: Date; prevId: bigint | null }>>`
    WITH "lock" AS MATERIALIZED (SELECT ${Prisma.join(locks)}),
    "ids" AS MATERIALIZED (
      SELECT nextval(pg_get_serial_sequence('"Event"', 'id')) AS "id"
      FROM "lock", generate_series(1, ${events.length}::int)),
    "rows" AS MATERIALIZED (
      SELECT n."id", v."tenantId", v."topic", v."kind", v."payload"
      FROM (SELECT "id", (row_number() OVER (ORDER BY "id") - 1)::int AS "ord" FROM "ids") AS n
      JOIN (VALUES ${Prisma.join(values)}) AS v("ord", "tenantId", "topic", "kind", "payload") ON v."ord" = n."ord"),
    "heads" AS (
      INSERT INTO "EventTopicHead" ("topic", "lastId")
      SELECT "topic", max("id") FROM "rows" GROUP BY "topic"
      ON CONFLICT ("topic") DO UPDATE
        SET "replacedId" = "EventTopicHead"."lastId", "lastId" = EXCLUDED."lastId"
      RETURNING "topic", "replacedId")
    INSERT INTO "Event" ("id", "tenantId", "topic", "kind", "payload", "createdAt", "prevId")
    SELECT r."id", r."tenantId", r."topic", r."kind", r."payload", clock_timestamp() AT TIME ZONE 'UTC',
      COALESCE(lag(r."id") OVER (PARTITION BY r."topic" ORDER BY r."id"), h."replacedId")
    FROM "rows" AS r LEFT JOIN "heads" AS h ON h."topic" = r."topic"
    ORDER BY r."id"
    RETURNING "id", "createdAt", "prevId"`;
  inserted.sort((a, b) => (a.id < b.id ? -1 : 1));
  return events.map((event, i) => {
    const row = inserted[i] as { id: bigint; createdAt: Date; prevId: bigint | null };
    return {
      id: row.id.toString(),
      tenantId: event.tenantId,
      topic: event.topic,
      kind: event.kind,
      payload: JSON.parse(jsonPayloads[i] as string),
      createdAt: row.createdAt.toISOString(),
      prevId: row.prevId === null ? null : row.prevId.toString(),
    };
  });
}

const MARK_PUBLISHED_SQL = `UPDATE "Event" SET "publishedAt" = now() AT TIME ZONE 'UTC'
  WHERE "id" = ANY($1::bigint[]) AND "publishedAt" IS NULL`;

export async function markPublished(db: Db | Tx, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  await db.$executeRaw`
    UPDATE "Event" SET "publishedAt" = now() AT TIME ZONE 'UTC'
    WHERE "id" = ANY(${ids as string[]}::bigint[]) AND "publishedAt" IS NULL`;
}

/** A row of the Event table as raw queries return it. */
export interface EventRow {
  id: bigint;
  tenantId: string | null;
  topic: string;
  kind: string;
  payload: unknown;
  createdAt: Date;
  prevId: bigint | null;
}

/** The columns an EventRow is read from. */
export const EVENT_ROW_COLUMNS = Prisma.raw(
  '"id", "tenantId", "topic", "kind", "payload", "createdAt", "prevId"',
);

export function envelopeOf(row: EventRow): EventEnvelope {
  return {
    id: row.id.toString(),
    tenantId: row.tenantId,
    topic: row.topic,
    kind: row.kind,
    payload: row.payload,
    createdAt: row.createdAt.toISOString(),
    prevId: row.prevId === null ? null : row.prevId.toString(),
  };
}
