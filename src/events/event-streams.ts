import type { Db } from '../db/types';
import { badInput, DomainError, forbidden } from '../errors';
import type { Logger } from '../observability/logger';
import { decodeCursor, encodeCursor } from './cursor';
import { type EventRow, envelopeOf } from './outbox';
import type { PubSub } from './pubsub';
import { assertNotPrunedPast } from './retention';
import type { EventStreams, StreamEvent, StreamRequest } from './streams';
import { tenantOfTopic } from './topics';
import type { EventEnvelope } from './types';

export interface EventStreamsOptions {
  db: Db;
  pubsub: PubSub;
  logger: Logger;
  /** A resume that would replay more than this is refused ('Cursor too old, refetch'). */
  replayMaxEvents: number;
  /** Live events a subscriber may leave unread before it is cut off with SLOW_CONSUMER. */
  maxBufferedEvents?: number;
  /** How many recently delivered ids each stream remembers to drop duplicates. */
  dedupeWindow?: number;
}

/** What createEventStreams' subscribe returns: the iterator, plus a promise for its start. */
export interface EventStreamIterator<P = unknown> extends AsyncIterableIterator<StreamEvent<P>> {
  /**
   * Resolves once every topic is subscribed and the replay is loaded; rejects with the error that ended
   * the stream first (e.g. 'Cursor too old, refetch'). Await it to raise such errors at subscribe time.
   */
  ready: Promise<void>;
  /**
   * For the fan-out engine, once `ready` resolved: synchronously takes every event this stream has queued
   * (the replay, then live events received so far, duplicates dropped) and ends the stream, releasing its
   * pub/sub subscriptions. Whoever takes over must already receive the topics' live events (a shared
   * subscription active before this call), and drop those the handoff says were delivered.
   */
  handoff(): StreamHandoff<P>;
}

/** What a stream hands over: its backlog, and what a receiver must drop as already delivered. */
export interface StreamHandoff<P = unknown> {
  events: Array<StreamEvent<P>>;
  /** Every id at or below this was settled by the stream (replayed, or committed before it started). */
  watermark: bigint;
  /** Ids above the watermark the stream delivered (live events may arrive slightly out of order). */
  deliveredIds: ReadonlySet<string>;
}

/** Refuses (FORBIDDEN) any topic that belongs to neither this tenant nor the system (`sys:`). */
export function assertTopicsOfTenant(topics: readonly string[], tenantId: string): void {
  for (const topic of topics) {
    const owner = ownerOf(topic);
    if (owner !== null && owner !== tenantId) throw forbidden();
  }
}

/** EventStreams whose iterators also expose `ready`. */
export interface ReadyEventStreams extends EventStreams {
  subscribe<P = unknown>(request: StreamRequest): EventStreamIterator<P>;
}

export function createEventStreams(opts: EventStreamsOptions): ReadyEventStreams {
  return {
    subscribe<P>(request: StreamRequest) {
      const topics = [...new Set(request.topics)];
      if (topics.length === 0) throw badInput('No topics to subscribe to');
      const tenantId = assertSingleTenant(topics);
      const after = request.after == null ? undefined : decodeCursor(request.streamKey, request.after);
      return openStream<P>(opts, { streamKey: request.streamKey, topics, tenantId, after });
    },
  };
}

function ownerOf(topic: string): string | null {
  try {
    return tenantOfTopic(topic);
  } catch {
    throw forbidden();
  }
}

/** A stream never merges two tenants' topics (system topics may join any tenant's); returns that tenant. */
function assertSingleTenant(topics: readonly string[]): string | null {
  const tenant = topics.map(ownerOf).find((owner) => owner !== null) ?? null;
  if (tenant) assertTopicsOfTenant(topics, tenant);
  return tenant;
}

const DONE: IteratorResult<never, undefined> = { done: true, value: undefined };

interface Waiter<P> {
  resolve(result: IteratorResult<StreamEvent<P>, undefined>): void;
  reject(error: unknown): void;
}

/**
 * Subscribe to every topic first (live events wait in a buffer), then replay committed rows after the
 * cursor, then deliver the buffer and go on live. Nothing committed after the cursor can fall between
 * the two: it is either in the replay (committed before the query) or published after the subscription.
 *
 * Duplicates (an event both replayed and received live, or published twice by the relay) are dropped:
 * anything at or below the highest replayed id was already delivered (outbox ids commit in order within
 * a tenant), and a bounded set remembers the ids delivered live, which may arrive slightly out of order.
 */
function openStream<P>(
  opts: EventStreamsOptions,
  stream: { streamKey: string; topics: string[]; tenantId: string | null; after: bigint | undefined },
): EventStreamIterator<P> {
  const { pubsub, logger } = opts;
  const maxBuffered = opts.maxBufferedEvents ?? 1000;
  const dedupeWindow = opts.dedupeWindow ?? 10_000;
  const topicSet = new Set(stream.topics);

  const replayQueue: EventEnvelope[] = [];
  const liveQueue: EventEnvelope[] = [];
  const waiters: Array<Waiter<P>> = [];
  const unsubscribers: Array<() => void> = [];
  const recentIds = new Set<string>();
  /**
   * Every id at or below this is settled: delivered by this stream's replay, delivered to the client
   * before it resumed, or committed before a stream without cursor started.
   */
  let watermark = stream.after ?? 0n;
  /** The highest id received or replayed: where a catch-up after a pub/sub outage starts. */
  let highestKnown = watermark;
  let live = false;
  let ended = false;
  let failure: unknown;
  let catchingUp: Promise<void> = Promise.resolve();
  const stopCatchingUp = pubsub.onResubscribe?.(() => {
    catchingUp = catchingUp.then(catchUp).catch(fail);
  });

  function onMessage(message: unknown) {
    if (ended) return;
    const envelope = asEnvelope(message);
    if (!envelope || !topicSet.has(envelope.topic)) {
      logger.warn({ streamKey: stream.streamKey }, 'dropping a malformed event message');
      return;
    }
    accept(envelope);
  }

  function accept(envelope: EventEnvelope) {
    if (liveQueue.length >= maxBuffered) {
      logger.warn({ streamKey: stream.streamKey, maxBuffered }, 'cutting off a slow event stream consumer');
      fail(
        new DomainError('SLOW_CONSUMER', 'Too many undelivered events; resume with the last cursor', {
          maxBufferedEvents: maxBuffered,
        }),
      );
      return;
    }
    liveQueue.push(envelope);
    if (BigInt(envelope.id) > highestKnown) highestKnown = BigInt(envelope.id);
    flush();
  }

  async function subscribeTopic(topic: string) {
    const unsubscribe = await pubsub.subscribe(topic, onMessage);
    if (ended) unsubscribe();
    else unsubscribers.push(unsubscribe);
  }

  async function start() {
    await Promise.all(stream.topics.map(subscribeTopic));
    if (ended) return;
    if (stream.after === undefined) {
      watermark = await latestEventId(opts.db, stream.tenantId);
      if (watermark > highestKnown) highestKnown = watermark;
      return;
    }
    const { rows, prunedThrough } = await replayAfter(opts, stream.topics, stream.after);
    assertNotPrunedPast(prunedThrough, stream.after);
    if (ended) return;
    if (rows.length > opts.replayMaxEvents) {
      throw new DomainError('BAD_USER_INPUT', 'Cursor too old, refetch', {
        reason: 'CURSOR_TOO_OLD',
        replayMaxEvents: opts.replayMaxEvents,
      });
    }
    replayQueue.push(...rows.map(envelopeOf));
    const last = rows.at(-1);
    if (last && last.id > highestKnown) highestKnown = last.id;
  }

  /** After pub/sub lost messages (Redis reconnect): reads what was committed meanwhile from the table. */
  async function catchUp() {
    const started = await ready.then(
      () => true,
      () => false,
    );
    if (!started || ended) return;
    const { rows } = await replayAfter(opts, stream.topics, highestKnown);
    if (ended) return;
    if (rows.length > opts.replayMaxEvents) {
      throw new DomainError('SLOW_CONSUMER', 'Too many events missed; resume with the last cursor', {
        reason: 'RESYNC_REQUIRED',
      });
    }
    for (const row of rows) accept(envelopeOf(row));
  }

  /** The next event to deliver, or undefined; skips duplicates. */
  function take(): EventEnvelope | undefined {
    if (!live) return undefined;
    const replayed = replayQueue.shift();
    if (replayed) {
      watermark = BigInt(replayed.id);
      remember(replayed.id);
      return replayed;
    }
    for (let next = liveQueue.shift(); next; next = liveQueue.shift()) {
      if (BigInt(next.id) <= watermark || recentIds.has(next.id)) continue;
      remember(next.id);
      return next;
    }
    return undefined;
  }

  function remember(id: string) {
    recentIds.add(id);
    if (recentIds.size > dedupeWindow) recentIds.delete(recentIds.values().next().value as string);
  }

  function flush() {
    while (waiters.length > 0) {
      const envelope = take();
      if (!envelope) return;
      waiters.shift()?.resolve({ done: false, value: toStreamEvent(envelope) });
    }
  }

  function toStreamEvent(envelope: EventEnvelope): StreamEvent<P> {
    return { ...(envelope as EventEnvelope<P>), cursor: encodeCursor(stream.streamKey, envelope.id) };
  }

  /** Releases every subscription and buffered event; later subscriptions are released as they resolve. */
  function end() {
    if (ended) return;
    ended = true;
    stopCatchingUp?.();
    replayQueue.length = 0;
    liveQueue.length = 0;
    for (const unsubscribe of unsubscribers.splice(0)) {
      try {
        unsubscribe();
      } catch (error) {
        logger.warn({ err: error }, 'releasing an event subscription failed');
      }
    }
  }

  function fail(error: unknown) {
    if (ended) return;
    end();
    const first = waiters.shift();
    if (first) first.reject(error);
    else failure = error;
    for (const waiter of waiters.splice(0)) waiter.resolve(DONE);
  }

  const ready = start().then(
    () => {
      if (ended) return;
      live = true;
      flush();
    },
    (error: unknown) => {
      fail(error);
      throw error;
    },
  );
  ready.catch(() => {}); // reported through next() as well: awaiting ready is optional

  const iterator: EventStreamIterator<P> = {
    ready,
    next() {
      if (failure !== undefined) {
        const error = failure;
        failure = undefined;
        return Promise.reject(error);
      }
      if (ended) return Promise.resolve(DONE);
      const envelope = take();
      if (envelope) return Promise.resolve({ done: false, value: toStreamEvent(envelope) });
      return new Promise((resolve, reject) => waiters.push({ resolve, reject }));
    },
    return() {
      end();
      failure = undefined;
      for (const waiter of waiters.splice(0)) waiter.resolve(DONE);
      return Promise.resolve(DONE);
    },
    handoff() {
      if (!live || ended || failure !== undefined) throw new Error('Only a live stream can be handed off');
      const events: Array<StreamEvent<P>> = [];
      for (let envelope = take(); envelope; envelope = take()) events.push(toStreamEvent(envelope));
      end();
      return { events, watermark, deliveredIds: recentIds };
    },
    throw(error?: unknown) {
      iterator.return?.();
      return Promise.reject(error);
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}

/**
 * The topics' events after the id (up to one more than a replay may hold) and how far retention pruned
 * them, in one statement: one round trip per resuming subscriber, and one snapshot for both answers.
 */
async function replayAfter(
  opts: EventStreamsOptions,
  topics: string[],
  after: bigint,
): Promise<{ rows: EventRow[]; prunedThrough: bigint | null }> {
  const rows = await opts.db.$queryRaw<Array<Nullable<EventRow> & { prunedThrough: bigint | null }>>`
    SELECT mark."prunedThrough", e."id", e."tenantId", e."topic", e."kind", e."payload", e."createdAt"
    FROM (SELECT max("prunedThroughId") AS "prunedThrough" FROM "EventPruneMark"
          WHERE "topic" = ANY(${topics}::text[])) AS mark
    LEFT JOIN LATERAL (
      SELECT "id", "tenantId", "topic", "kind", "payload", "createdAt" FROM "Event"
      WHERE "topic" = ANY(${topics}::text[]) AND "id" > ${after.toString()}::bigint
      ORDER BY "id"
      LIMIT ${opts.replayMaxEvents + 1}::int) AS e ON TRUE
    ORDER BY e."id"`;
  const events = rows.filter((row): row is EventRow & { prunedThrough: bigint | null } => row.id !== null);
  return { rows: events, prunedThrough: rows[0]?.prunedThrough ?? null };
}

type Nullable<T> = { [K in keyof T]: T[K] | null };

/**
 * The newest committed event id of the tenant (and of system events). Any event of theirs that commits
 * later gets a larger id (see the outbox locks), so it is a safe starting position for a live stream.
 */
async function latestEventId(db: Db, tenantId: string | null): Promise<bigint> {
  const [row] = await db.$queryRaw<Array<{ id: bigint | null }>>`
    SELECT GREATEST(
      (SELECT max("id") FROM "Event" WHERE "tenantId" = ${tenantId}),
      (SELECT max("id") FROM "Event" WHERE "tenantId" IS NULL)) AS "id"`;
  return row?.id ?? 0n;
}

/** The message as an event envelope when it is a well-formed one (id, topic of its tenant...), else undefined. */
export function asEnvelope(message: unknown): EventEnvelope | undefined {
  if (typeof message !== 'object' || message === null) return undefined;
  const m = message as Partial<EventEnvelope>;
  const valid =
    typeof m.id === 'string' &&
    /^[1-9][0-9]{0,18}$/.test(m.id) &&
    typeof m.topic === 'string' &&
    typeof m.kind === 'string' &&
    typeof m.createdAt === 'string' &&
    (m.tenantId === null || typeof m.tenantId === 'string') &&
    m.tenantId === tenantOfTopicOrNull(m.topic);
  return valid ? (m as EventEnvelope) : undefined;
}

function tenantOfTopicOrNull(topic: string): string | null | undefined {
  try {
    return tenantOfTopic(topic);
  } catch {
    return undefined;
  }
}
