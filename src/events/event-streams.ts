import { badInput, DomainError, forbidden } from '../errors';
import type { Logger } from '../observability/logger';
import { decodeCursor, encodeCursor } from './cursor';
import type { EventLog } from './event-log';
import { assertNotPrunedPast } from './retention';
import type { EventStreams, StreamEvent, StreamRequest } from './streams';
import type { FeedEvent, FeedSubscription, TopicFeeds } from './topic-feeds';
import { tenantOfTopic } from './topics';
import type { EventEnvelope } from './types';

export interface EventStreamsOptions {
  /** The instance's topic feeds: live events, in order per stream, shared with the fan-out engine. */
  feeds: Pick<TopicFeeds, 'listen'>;
  log: EventLog;
  logger: Logger;
  /** A resume that would replay more than this is refused ('Cursor too old, refetch'). */
  replayMaxEvents: number;
  /** Live events a subscriber may leave unread before it is cut off with SLOW_CONSUMER. */
  maxBufferedEvents?: number;
  /** A resume was answered from the topic feed's recent events (memory) or from the Event table (table). */
  onResume?(source: 'memory' | 'table', topics: readonly string[]): void;
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
   * (the replay, then live events received so far) and ends the stream. Whoever takes over must already
   * listen to the same topic feeds, and drop what it receives at or below the handoff's watermark.
   */
  handoff(): StreamHandoff<P>;
}

/** What a stream hands over: its backlog, and the id through which it settled the stream. */
export interface StreamHandoff<P = unknown> {
  events: Array<StreamEvent<P>>;
  /** Every event of the stream at or below this id was delivered by the stream, or predates it. */
  watermark: bigint;
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
      const { topics, after } = checkStreamRequest(request);
      return openStream<P>(opts, { streamKey: request.streamKey, topics, after });
    },
  };
}

/**
 * What every stream request must be, whoever serves it (a stream here, or a fan-out group joined live): some
 * topics, of one tenant (and the system), and a cursor of this stream key. Returns the topics without repeats and
 * the cursor's event id.
 */
export function checkStreamRequest(request: StreamRequest): { topics: string[]; after: bigint | undefined } {
  const topics = [...new Set(request.topics)];
  if (topics.length === 0) throw badInput('No topics to subscribe to');
  assertSingleTenant(topics);
  const after = request.after == null ? undefined : decodeCursor(request.streamKey, request.after);
  return { topics, after };
}

function ownerOf(topic: string): string | null {
  try {
    return tenantOfTopic(topic);
  } catch {
    throw forbidden();
  }
}

/** A stream never merges two tenants' topics (system topics may join any tenant's). */
function assertSingleTenant(topics: readonly string[]): void {
  const tenant = topics.map(ownerOf).find((owner) => owner !== null) ?? null;
  if (tenant) assertTopicsOfTenant(topics, tenant);
}

const cursorTooOld = (replayMaxEvents: number) =>
  new DomainError('BAD_USER_INPUT', 'Cursor too old, refetch', { reason: 'CURSOR_TOO_OLD', replayMaxEvents });

const DONE: IteratorResult<never, undefined> = { done: true, value: undefined };

interface Waiter<P> {
  resolve(result: IteratorResult<StreamEvent<P>, undefined>): void;
  reject(error: unknown): void;
}

/**
 * Listen to the topics' feeds first (live events wait in a buffer), then replay committed rows after the
 * cursor (from the feed's recent events when they reach back to it, else from the table), then deliver the
 * buffer and go on live. Nothing committed after the cursor can fall between the two: it is either in the
 * replay (in the feed's memory when it joined, or committed before the query) or reaches the feed afterwards. The feeds
 * deliver in id order, once, so one watermark drops what the replay already delivered.
 */
function openStream<P>(
  opts: EventStreamsOptions,
  stream: { streamKey: string; topics: string[]; after: bigint | undefined },
): EventStreamIterator<P> {
  const { logger } = opts;
  const maxBuffered = opts.maxBufferedEvents ?? 1000;

  const replayQueue: EventEnvelope[] = [];
  const liveQueue: FeedEvent[] = [];
  const waiters: Array<Waiter<P>> = [];
  let subscription: FeedSubscription | undefined;
  /** Every event at or below this was delivered (or queued) by this stream, or predates it. */
  let watermark = stream.after ?? 0n;
  let live = false;
  let ended = false;
  let failure: unknown;

  function onEvent(event: FeedEvent) {
    if (ended) return;
    if (liveQueue.length >= maxBuffered) {
      logger.warn({ streamKey: stream.streamKey, maxBuffered }, 'cutting off a slow event stream consumer');
      fail(
        new DomainError('SLOW_CONSUMER', 'Too many undelivered events; resume with the last cursor', {
          maxBufferedEvents: maxBuffered,
        }),
      );
      return;
    }
    liveQueue.push(event);
    flush();
  }

  async function start() {
    const listening = await opts.feeds.listen(
      stream.topics,
      { onEvent, onBroken: fail },
      { after: stream.after },
    );
    if (ended) {
      listening.stop();
      return;
    }
    subscription = listening;
    if (stream.after === undefined) {
      watermark = listening.startedAfter;
      return;
    }
    if (listening.recent) {
      // Every event of the topic after the cursor through the feed's start, kept in memory: no query.
      opts.onResume?.('memory', stream.topics);
      if (listening.recent.length > opts.replayMaxEvents) throw cursorTooOld(opts.replayMaxEvents);
      for (const event of listening.recent) replayQueue.push(event.envelope);
      return;
    }
    opts.onResume?.('table', stream.topics);
    const { events, prunedThrough } = await opts.log.replay(
      stream.topics,
      stream.after,
      opts.replayMaxEvents,
    );
    assertNotPrunedPast(prunedThrough, stream.after);
    if (ended) return;
    if (events.length > opts.replayMaxEvents) throw cursorTooOld(opts.replayMaxEvents);
    replayQueue.push(...events);
  }

  /** The next event to deliver, or undefined; skips what the replay already delivered. */
  function take(): EventEnvelope | undefined {
    if (!live) return undefined;
    const replayed = replayQueue.shift();
    if (replayed) {
      watermark = BigInt(replayed.id);
      return replayed;
    }
    for (let next = liveQueue.shift(); next; next = liveQueue.shift()) {
      if (next.id <= watermark) continue;
      watermark = next.id;
      return next.envelope;
    }
    return undefined;
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

  /** Releases the feeds and every buffered event. */
  function end() {
    if (ended) return;
    ended = true;
    replayQueue.length = 0;
    liveQueue.length = 0;
    try {
      subscription?.stop();
    } catch (error) {
      logger.warn({ err: error }, 'releasing an event subscription failed');
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
      const settled = watermark;
      end();
      return { events, watermark: settled };
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
