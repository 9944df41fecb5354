import {
  asEnvelope,
  FeedEvent,
  type FeedListener,
  type FeedPath,
  type FeedSubscription,
  follows,
  NO_WINDOW,
  type ReadWanted,
  recentAfter,
  single,
  type Topic,
  type TopicFeedsOptions,
  type TopicReceiver,
  tooManyMissed,
  trimRecent,
  unreadable,
} from './feed-types';
import { MergedStream } from './merged-stream';
import { tenantOfTopic } from './topics';
import type { EventEnvelope } from './types';

export {
  asEnvelope,
  FeedEvent,
  type FeedListener,
  type FeedObserver,
  type FeedPath,
  type FeedSubscription,
  type TopicFeedsOptions,
} from './feed-types';

/**
 * Topic feeds: the one place where an instance receives events, and where their order is kept.
 *
 * The rule. A topic's events are a chain: each names the previous event of its topic (`prevId`, written with
 * it by the outbox). Each instance keeps ONE feed per topic (one pub/sub subscription, shared by every group
 * and private stream of the topic) and the feed's position: the id through which it has delivered every
 * event of the topic, in order. An event is delivered when its predecessor is at or below the position; an
 * event at or below the position is a duplicate (the relay, a late fast path, a catch-up) and is dropped. An
 * event that arrives ahead of its predecessor is held, for `gapHoldMs` at most (the predecessor is usually a
 * few milliseconds behind, published by another instance), then the gap is filled from the Event table, which
 * has every committed event: the feed never delivers what came after a gap before the gap. Redis losing
 * messages (its subscriber connection dropped) is caught up the same way, from the position, as soon as the
 * subscription is active again.
 *
 * A stream of several topics (notifications) is merged in id order: an event is released once every topic of
 * the stream is known through its id, either by its own chain or by reading the quiet topics from the table
 * (one query per tenant and instance, shared by every stream waiting on it). Ids order events within a tenant
 * and against system events (src/events/outbox), so id order is the order to deliver them in, and a cursor,
 * one id, is an exact position in such a stream.
 *
 * Recent events. A feed also keeps its topic's newest events in memory (`recent`: at most so many, none older
 * than so long, per topic), seeded at its start by the same statement that positions it. They are exactly
 * the events of the topic after `floor` through the position, since the feed delivers every event of the
 * topic in order: a resume from a cursor at or above the floor is answered from them, without reading the
 * Event table; an older cursor replays from the table.
 *
 * This is Centrifugo's offset-and-recovery model with the database as the history: the chain plays the role
 * of contiguous offsets, the Event table the role of the history stream a subscriber recovers from, and since
 * that history is durable, no epoch is needed to tell that it was lost.
 */

export type TopicFeeds = ReturnType<typeof createTopicFeeds>;

const READ_RETRY_MS = 500;
const READ_ATTEMPTS = 5;

export function createTopicFeeds(options: TopicFeedsOptions) {
  const { pubsub, log, logger, observer } = options;
  const gapHoldMs = options.gapHoldMs ?? 50;
  const maxHeld = options.maxFillEvents;
  const topics = new Map<string, Topic>();

  // ---- receiving -------------------------------------------------------------------------------------

  function onMessage(topic: Topic, message: unknown) {
    const envelope = asEnvelope(message);
    if (!envelope || envelope.topic !== topic.name) {
      logger.warn({ topic: topic.name }, 'dropping a malformed event message');
      return;
    }
    accept(topic, new FeedEvent(envelope));
  }

  function accept(topic: Topic, event: FeedEvent) {
    if (topic.released) return;
    if (topic.started && event.id <= topic.position) return; // delivered already, or before the start
    if (topic.started && follows(event, topic.position)) {
      advance(topic, event, 'live');
      drainHeld(topic);
      return;
    }
    hold(topic, event);
  }

  function advance(topic: Topic, event: FeedEvent, path: FeedPath) {
    topic.position = event.id;
    if (topic.window.maxEvents > 0) {
      topic.recent.push({ event, at: Date.parse(event.envelope.createdAt) });
      trimRecent(topic, Date.now());
    }
    observer?.delivered(event.envelope, path);
    for (const receiver of topic.receivers) {
      try {
        receiver.deliver(event);
      } catch (error) {
        logger.error({ err: error, topic: topic.name }, 'event feed receiver failed');
      }
    }
  }

  function hold(topic: Topic, event: FeedEvent) {
    const held = topic.held;
    let at = held.length;
    while (at > 0 && (held[at - 1] as FeedEvent).id > event.id) at--;
    if (at > 0 && (held[at - 1] as FeedEvent).id === event.id) return;
    held.splice(at, 0, event);
    if (!topic.started) return;
    if (held.length === 1) observer?.gapDetected(topic.name);
    if (held.length > maxHeld) fillGap(topic);
    else topic.holdTimer ??= setTimeout(() => fillGap(topic), gapHoldMs).unref();
  }

  /** Delivers held events that now follow the position; drops those at or below it. */
  function drainHeld(topic: Topic) {
    const held = topic.held;
    while (held.length > 0) {
      const next = held[0] as FeedEvent;
      if (next.id <= topic.position) held.shift();
      else if (follows(next, topic.position)) {
        held.shift();
        advance(topic, next, 'live');
      } else break;
    }
    if (held.length === 0) {
      clearTimeout(topic.holdTimer);
      topic.holdTimer = undefined;
    } else if (topic.started) topic.holdTimer ??= setTimeout(() => fillGap(topic), gapHoldMs).unref();
  }

  function fillGap(topic: Topic) {
    clearTimeout(topic.holdTimer);
    topic.holdTimer = undefined;
    const last = topic.held.at(-1);
    if (last && !topic.released) requestRead(topic, last.id, 'gap_fill');
  }

  // ---- reading the table -----------------------------------------------------------------------------

  /** Reads wanted per tenant: each topic through an id or to the end ('end'), and why. */
  const batches = new Map<string, { wanted: Map<Topic, ReadWanted>; running: boolean }>();

  /**
   * Asks for the topic to be read from its position through `through` (or to the end). Requests of one
   * tenant made in the same turn share one query; one query per tenant runs at a time.
   */
  function requestRead(topic: Topic, through: bigint | 'end', path: FeedPath) {
    const key = topic.tenantId ?? '';
    let batch = batches.get(key);
    if (!batch) {
      batch = { wanted: new Map(), running: false };
      batches.set(key, batch);
    }
    const current = batch.wanted.get(topic);
    const further =
      current === undefined || through === 'end' || (current.through !== 'end' && through > current.through);
    if (further) batch.wanted.set(topic, { through, path: current?.path === 'catch_up' ? 'catch_up' : path });
    if (!batch.running) {
      batch.running = true;
      setImmediate(() => void runReads(key));
    }
  }

  async function runReads(key: string) {
    const batch = batches.get(key);
    if (!batch) return;
    let failures = 0;
    while (batch.wanted.size > 0) {
      const wanted = new Map([...batch.wanted].filter(([topic]) => !topic.released && topic.started));
      batch.wanted.clear();
      if (wanted.size === 0) continue;
      const requests = [...wanted.values()];
      // One read through the furthest id asked: complete for every topic of the tenant (ids follow commits).
      const through = requests.some((r) => r.through === 'end')
        ? undefined
        : requests.reduce((max, r) => ((r.through as bigint) > max ? (r.through as bigint) : max), 0n);
      try {
        const events = await log.readTopics(
          [...wanted.keys()].map((topic) => ({ topic: topic.name, after: topic.position })),
          { through, limit: options.maxFillEvents },
        );
        failures = 0;
        applyRead(wanted, events, through);
      } catch (error) {
        failures++;
        logger.warn({ err: error, attempt: failures }, 'reading events to fill a gap failed');
        if (failures >= READ_ATTEMPTS) {
          for (const topic of wanted.keys()) breakTopic(topic, unreadable());
          failures = 0;
          continue;
        }
        for (const [topic, request] of wanted) if (!batch.wanted.has(topic)) batch.wanted.set(topic, request);
        await new Promise((resolve) => setTimeout(resolve, READ_RETRY_MS).unref());
      }
    }
    batch.running = false;
    batches.delete(key);
  }

  /** Every event of these topics after their positions and through `through` (or to the end) was read. */
  function applyRead(wanted: Map<Topic, ReadWanted>, events: EventEnvelope[], through: bigint | undefined) {
    const read = [...wanted.keys()];
    const counts = new Map<string, number>();
    for (const event of events) counts.set(event.topic, (counts.get(event.topic) ?? 0) + 1);
    const tooMany = new Set(read.filter((topic) => (counts.get(topic.name) ?? 0) > options.maxFillEvents));
    for (const topic of tooMany) breakTopic(topic, tooManyMissed(options.maxFillEvents));
    const byName = new Map(read.map((topic) => [topic.name, topic]));
    for (const envelope of events) {
      const topic = byName.get(envelope.topic);
      if (!topic || tooMany.has(topic) || topic.released) continue;
      const event = new FeedEvent(envelope);
      if (event.id > topic.position) advance(topic, event, wanted.get(topic)?.path ?? 'gap_fill');
    }
    for (const topic of read) {
      if (topic.released || tooMany.has(topic)) continue;
      if (through !== undefined && through > topic.position) topic.position = through;
      drainHeld(topic);
      for (const receiver of topic.receivers) receiver.advanced();
    }
  }

  /** Ends the topic's listeners; the topic goes on from the newest position known for later listeners. */
  function breakTopic(topic: Topic, error: unknown) {
    logger.warn({ topic: topic.name, err: error }, 'event feed cannot vouch for order; ending its listeners');
    const last = topic.held.at(-1);
    if (last && last.id > topic.position) topic.position = last.id;
    topic.held.length = 0;
    // What the feed skipped is not in memory: only resumes from here on may be served from it.
    topic.recent.length = 0;
    topic.floor = topic.position;
    for (const receiver of [...topic.receivers]) receiver.broken(error);
  }

  // ---- topics and listeners --------------------------------------------------------------------------

  function acquire(name: string): Topic {
    let topic = topics.get(name);
    if (!topic) {
      const created: Topic = {
        name,
        tenantId: tenantOfTopic(name),
        receivers: new Set(),
        joining: 0,
        position: 0n,
        started: false,
        released: false,
        held: [],
        active: Promise.resolve(),
        window: options.recentWindow?.(name) ?? NO_WINDOW,
        recent: [],
        floor: 0n,
      };
      created.active = start(created);
      topics.set(name, created);
      topic = created;
    }
    topic.joining++;
    return topic;
  }

  async function start(topic: Topic) {
    try {
      const unsubscribe = await pubsub.subscribe(topic.name, (message) => onMessage(topic, message));
      if (topic.released) {
        unsubscribe();
        return;
      }
      topic.unsubscribe = unsubscribe;
      // After the subscription: anything committed later is published after it, so it arrives.
      if (topic.window.maxEvents > 0 && log.openTopic) {
        const opened = await log.openTopic(topic.name, topic.tenantId, topic.window);
        topic.position = opened.position;
        topic.floor = opened.floor;
        topic.recent = opened.recent.map((envelope) => ({
          event: new FeedEvent(envelope),
          at: Date.parse(envelope.createdAt),
        }));
        trimRecent(topic, Date.now());
      } else {
        topic.position = await log.latestId(topic.tenantId);
        topic.floor = topic.position;
      }
      topic.started = true;
      drainHeld(topic);
    } catch (error) {
      release(topic);
      throw error;
    }
  }

  function releaseIfIdle(topic: Topic) {
    if (topic.receivers.size === 0 && topic.joining === 0) release(topic);
  }

  function release(topic: Topic) {
    if (topic.released) return;
    topic.released = true;
    if (topics.get(topic.name) === topic) topics.delete(topic.name);
    clearTimeout(topic.holdTimer);
    topic.held.length = 0;
    topic.recent.length = 0;
    topic.unsubscribe?.();
  }

  /**
   * Listens to the topics (one tenant's, system topics allowed); resolves once every topic's feed is active,
   * from which point the listener receives every event above `startedAfter`, in id order, once. With
   * `after` (a resume), a single topic's recent events above it come with the subscription when the
   * window reaches back that far.
   */
  async function listen(
    names: readonly string[],
    listener: FeedListener,
    resume: { after?: bigint } = {},
  ): Promise<FeedSubscription> {
    const joined = [...new Set(names)].map(acquire);
    const results = await Promise.allSettled(joined.map((topic) => topic.active));
    for (const topic of joined) topic.joining--;
    const failure = results.find((result) => result.status === 'rejected');
    if (failure) {
      for (const topic of joined) releaseIfIdle(topic);
      throw failure.reason;
    }
    const receiver: TopicReceiver & { startedAfter: bigint } =
      joined.length === 1
        ? single(listener, (joined[0] as Topic).position)
        : new MergedStream(joined, listener, requestRead);
    for (const topic of joined) topic.receivers.add(receiver);
    // Taken in the same turn as the receiver joined: nothing falls between the two.
    const recent =
      resume.after !== undefined && joined.length === 1
        ? recentAfter(joined[0] as Topic, resume.after)
        : undefined;
    let stopped = false;
    return {
      startedAfter: receiver.startedAfter,
      recent,
      stop() {
        if (stopped) return;
        stopped = true;
        for (const topic of joined) {
          topic.receivers.delete(receiver);
          releaseIfIdle(topic);
        }
      },
    };
  }

  // Redis dropped what was published while this instance's subscriber connection was away: read it.
  const stopCatchingUp = pubsub.onResubscribe?.(() => {
    for (const topic of topics.values()) if (topic.started) requestRead(topic, 'end', 'catch_up');
  });

  return {
    listen,
    close() {
      stopCatchingUp?.();
      for (const topic of [...topics.values()]) release(topic);
    },
    /** Topics with a subscription and their receivers (for metrics and leak tests). */
    stats() {
      let listeners = 0;
      for (const topic of topics.values()) listeners += topic.receivers.size;
      return { topics: topics.size, listeners };
    },
    /** Recent events kept in memory, over every topic (for metrics). */
    recentEvents() {
      let events = 0;
      for (const topic of topics.values()) events += topic.recent.length;
      return events;
    },
  };
}
