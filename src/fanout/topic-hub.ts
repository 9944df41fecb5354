import { encodeCursor } from '../events/cursor';
import { asEnvelope } from '../events/event-streams';
import type { PubSub } from '../events/pubsub';
import type { EventEnvelope } from '../events/types';
import type { Logger } from '../observability/logger';

/**
 * One pub/sub subscription per topic and instance, shared by every group of subscribers listening to it.
 * What every subscriber needs once per event happens here once: validating the message, dropping
 * duplicates (the relay may publish an event twice), parsing the id, and the event's cursor text.
 */

/** An event received on a shared topic, with what receivers would otherwise compute each. */
export class HubEvent {
  readonly id: bigint;
  private cursorKey?: string;
  private cursorText?: string;

  constructor(readonly envelope: EventEnvelope) {
    this.id = BigInt(envelope.id);
  }

  /** The cursor of this event in a stream; cached for the last stream key (groups of a topic share it). */
  cursor(streamKey: string): string {
    if (this.cursorKey !== streamKey) {
      this.cursorText = encodeCursor(streamKey, this.envelope.id);
      this.cursorKey = streamKey;
    }
    return this.cursorText as string;
  }
}

export interface HubListener {
  onEvent(event: HubEvent): void;
  /** Events may have been missed and could not be caught up (e.g. too many): end with this error. */
  onGap(error: unknown): void;
}

/** Reads what was committed on the topic after an id (for catching up after a pub/sub outage). */
export type CatchUp = (topic: string, afterId: bigint) => Promise<EventEnvelope[]>;

interface Topic {
  listeners: Set<HubListener>;
  /** The highest event id received or handed over: where a catch-up after a pub/sub outage starts. */
  highestKnown: bigint;
  /** Resolves once the pub/sub subscription is active. */
  active: Promise<() => void>;
  recentIds: Set<string>;
}

export interface TopicHubOptions {
  pubsub: PubSub;
  logger: Logger;
  /** How many recent ids each topic remembers to drop duplicates (default 10,000). */
  dedupeWindow?: number;
  /** Without it, events published while pub/sub was down are not caught up. */
  catchUp?: CatchUp;
}

export type TopicHub = ReturnType<typeof createTopicHub>;

export function createTopicHub(options: TopicHubOptions) {
  const { pubsub, logger } = options;
  const dedupeWindow = options.dedupeWindow ?? 10_000;
  const topics = new Map<string, Topic>();

  function onMessage(name: string, topic: Topic, message: unknown) {
    const envelope = asEnvelope(message);
    if (!envelope || envelope.topic !== name) {
      logger.warn({ topic: name }, 'dropping a malformed event message');
      return;
    }
    if (topic.recentIds.has(envelope.id)) return;
    topic.recentIds.add(envelope.id);
    if (topic.recentIds.size > dedupeWindow)
      topic.recentIds.delete(topic.recentIds.values().next().value as string);
    const event = new HubEvent(envelope);
    if (event.id > topic.highestKnown) topic.highestKnown = event.id;
    for (const listener of topic.listeners) {
      try {
        listener.onEvent(event);
      } catch (error) {
        logger.error({ err: error, topic: name }, 'fan-out listener failed');
      }
    }
  }

  function release(name: string, topic: Topic, listener: HubListener) {
    if (!topic.listeners.delete(listener) || topic.listeners.size > 0) return;
    topics.delete(name);
    topic.active.then(
      (unsubscribe) => unsubscribe(),
      () => {},
    );
  }

  /**
   * Adds a listener to the topic; resolves once the shared subscription is active (from then on every
   * event published reaches the listener) with the function that removes it.
   */
  async function listen(name: string, listener: HubListener): Promise<() => void> {
    let topic = topics.get(name);
    if (!topic) {
      const created: Topic = {
        listeners: new Set(),
        highestKnown: 0n,
        recentIds: new Set(),
        active: undefined as never,
      };
      created.active = pubsub.subscribe(name, (message) => onMessage(name, created, message));
      topics.set(name, created);
      topic = created;
    }
    topic.listeners.add(listener);
    const joined = topic;
    try {
      await joined.active;
    } catch (error) {
      if (topics.get(name) === joined) topics.delete(name);
      joined.listeners.delete(listener);
      throw error;
    }
    return () => release(name, joined, listener);
  }

  /** After pub/sub came back: what each topic missed, read from the table, through the same path. */
  async function catchUpAll() {
    const catchUp = options.catchUp;
    if (!catchUp) return;
    for (const [name, topic] of topics) {
      try {
        const missed = await catchUp(name, topic.highestKnown);
        if (topics.get(name) === topic) for (const envelope of missed) onMessage(name, topic, envelope);
      } catch (error) {
        logger.warn({ err: error, topic: name }, 'fan-out catch-up failed; ending its subscribers');
        for (const listener of [...topic.listeners]) listener.onGap(error);
      }
    }
  }
  let catchingUp = Promise.resolve();
  const stopCatchingUp = pubsub.onResubscribe?.(() => {
    catchingUp = catchingUp.then(catchUpAll);
  });

  return {
    listen,
    /** A receiver took over a stream that had seen events up to `id` on the topic. */
    advance(name: string, id: bigint) {
      const topic = topics.get(name);
      if (topic && id > topic.highestKnown) topic.highestKnown = id;
    },
    close() {
      stopCatchingUp?.();
    },
    /** Topics with a shared subscription and their listeners (for metrics and leak tests). */
    stats() {
      let listeners = 0;
      for (const topic of topics.values()) listeners += topic.listeners.size;
      return { topics: topics.size, listeners };
    },
  };
}
