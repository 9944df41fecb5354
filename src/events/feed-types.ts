import type { RecentWindow } from '../config';
import { DomainError } from '../errors';
import type { Logger } from '../observability/logger';
import { encodeCursor } from './cursor';
import type { EventLog } from './event-log';
import type { PubSub } from './pubsub';
import { tenantOfTopic } from './topics';
import type { EventEnvelope } from './types';

/**
 * What topic feeds (src/events/topic-feeds.ts) deliver and keep: the event as delivered, the listener and
 * subscription contracts, a topic's state with its window of recent events, and the message check.
 */

/** An event as a feed delivers it, with what every receiver would otherwise compute again. */
export class FeedEvent {
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

export interface FeedListener {
  /** The events of the listened topics with an id above `startedAfter`, in id order, each once. */
  onEvent(event: FeedEvent): void;
  /** The feed can no longer vouch for what follows (too much missed, the table unreadable): end. */
  onBroken(error: unknown): void;
}

export interface FeedSubscription {
  /** Every event of the topics with an id above this reaches the listener; none at or below it does. */
  readonly startedAfter: bigint;
  /**
   * When listening with `after` and the topic's recent events reach back to it: every event of the topic
   * above `after` through `startedAfter`, in id order (what a resume would otherwise read from the table).
   * Undefined when they do not (the cursor is older than the window, the window is off, or the stream
   * merges several topics): replay from the table then.
   */
  readonly recent?: readonly FeedEvent[];
  /** Removes the listener (at once; a topic nobody listens to any more releases its subscription). */
  stop(): void;
}

/** How a feed got an event it delivers: on pub/sub, or from the table to fill a gap or catch up. */
export type FeedPath = 'live' | 'gap_fill' | 'catch_up';

export interface FeedObserver {
  /** An event arrived ahead of its predecessor. */
  gapDetected(topic: string): void;
  /** Delivered in order, `path` telling how: lateness is now minus the event's commit. */
  delivered(event: EventEnvelope, path: FeedPath): void;
}

export interface TopicFeedsOptions {
  pubsub: PubSub;
  log: EventLog;
  logger: Logger;
  /** A gap or catch-up of more events than this ends the topic's listeners (they resume from a cursor). */
  maxFillEvents: number;
  /** How long an event ahead of its predecessor waits for it on pub/sub before the table fills the gap. */
  gapHoldMs?: number;
  observer?: FeedObserver;
  /** How many of a topic's newest events its feed keeps in memory, and how long (maxEvents 0, or absent: none). */
  recentWindow?: (topic: string) => RecentWindow;
}

/** What a topic delivers to: a listener of that topic alone, or a stream merging it with others. */
export interface TopicReceiver {
  deliver(event: FeedEvent): void;
  /** The topic's position moved without an event (a read found nothing more): a merge may go on. */
  advanced(): void;
  broken(error: unknown): void;
}

export interface ReadWanted {
  through: bigint | 'end';
  path: FeedPath;
}

export interface Topic {
  readonly name: string;
  /** Tenant whose lock orders the topic's ids (null: system topics); reads are batched by it. */
  readonly tenantId: string | null;
  readonly receivers: Set<TopicReceiver>;
  /** Listeners waiting for the feed to start (the topic is kept for them). */
  joining: number;
  /** Valid once started: every event at or below it was delivered (or predates the feed). */
  position: bigint;
  started: boolean;
  released: boolean;
  /** Resolves once subscribed and positioned. */
  active: Promise<void>;
  unsubscribe?: () => void;
  /** Events that arrived ahead of their predecessor (or before the start), in id order. */
  held: FeedEvent[];
  holdTimer?: NodeJS.Timeout;
  readonly window: RecentWindow;
  /** The newest events delivered, in id order: every event of the topic in (floor, position]. */
  recent: Array<{ event: FeedEvent; at: number }>;
  floor: bigint;
}

export const NO_WINDOW: RecentWindow = { maxEvents: 0, maxAgeMs: 0 };

/** Drops the oldest recent events past the window's count or age; the floor follows them. */
export function trimRecent(topic: Topic, now: number) {
  const { recent, window } = topic;
  let drop = Math.max(0, recent.length - window.maxEvents);
  while (drop < recent.length && now - (recent[drop] as { at: number }).at > window.maxAgeMs) drop++;
  if (drop === 0) return;
  topic.floor = (recent[drop - 1] as { event: FeedEvent }).event.id;
  recent.splice(0, drop);
}

/** The topic's events above `after` from memory, or undefined when the window does not reach back to it. */
export function recentAfter(topic: Topic, after: bigint): FeedEvent[] | undefined {
  if (topic.window.maxEvents === 0) return undefined;
  trimRecent(topic, Date.now());
  if (after < topic.floor) return undefined;
  const { recent } = topic;
  let at = recent.length;
  while (at > 0 && (recent[at - 1] as { event: FeedEvent }).event.id > after) at--;
  return recent.slice(at).map((entry) => entry.event);
}

/** Whether the event comes right after the position (its predecessor is at or below it). */
export function follows(event: FeedEvent, position: bigint): boolean {
  const prevId = event.envelope.prevId;
  return prevId === null || prevId === undefined || BigInt(prevId) <= position;
}

/** What a listener of one topic alone receives through. */
export function single(
  listener: FeedListener,
  startedAfter: bigint,
): TopicReceiver & { startedAfter: bigint } {
  return {
    startedAfter,
    deliver: (event) => listener.onEvent(event),
    advanced: () => {},
    broken: (error) => listener.onBroken(error),
  };
}

export const tooManyMissed = (max: number) =>
  new DomainError('SLOW_CONSUMER', 'Too many events missed; resume with the last cursor', {
    reason: 'RESYNC_REQUIRED',
    maxFillEvents: max,
  });

export const unreadable = () =>
  new DomainError('SLOW_CONSUMER', 'Events could not be read; resume with the last cursor', {
    reason: 'RESYNC_REQUIRED',
  });

/** The message as an event envelope when it is a well-formed one (id, topic of its tenant...), else undefined. */
export function asEnvelope(message: unknown): EventEnvelope | undefined {
  if (typeof message !== 'object' || message === null) return undefined;
  const m = message as Partial<EventEnvelope>;
  const valid =
    typeof m.id === 'string' &&
    EVENT_ID.test(m.id) &&
    typeof m.topic === 'string' &&
    typeof m.kind === 'string' &&
    typeof m.createdAt === 'string' &&
    (m.prevId === undefined ||
      m.prevId === null ||
      (typeof m.prevId === 'string' && EVENT_ID.test(m.prevId))) &&
    (m.tenantId === null || typeof m.tenantId === 'string') &&
    m.tenantId === tenantOfTopicOrNull(m.topic);
  if (!valid) return undefined;
  return m.prevId === undefined ? ({ ...m, prevId: null } as EventEnvelope) : (m as EventEnvelope);
}

const EVENT_ID = /^[1-9][0-9]{0,18}$/;

function tenantOfTopicOrNull(topic: string): string | null | undefined {
  try {
    return tenantOfTopic(topic);
  } catch {
    return undefined;
  }
}
