import type { Redis } from 'ioredis';
import type { Logger } from '../observability/logger';

/**
 * Message transport between instances: Redis (graphql-redis-subscriptions + ioredis, one subscriber
 * connection per instance multiplexing every topic) when REDIS_URL is set, in-process otherwise.
 * Messages are plain JSON values.
 */
export interface PubSub {
  /** Rejects (quickly, for Redis: no offline queue) when the message cannot be handed over. */
  publish(topic: string, message: unknown): Promise<void>;
  /** Resolves once the subscription is active (for Redis: SUBSCRIBE acknowledged). */
  subscribe(topic: string, onMessage: (message: unknown) => void): Promise<() => void>;
  /** 'up' | 'down' for Redis (both connections ready); always 'up' in process. */
  status(): 'up' | 'down';
  /** Whether publish() can hand a message over now (for Redis: the publisher connection is ready). */
  canPublish(): boolean;
  /** Redis mode only: `listener` fires each time the publisher connection is ready again after a drop. */
  onPublisherUp?(listener: () => void): () => void;
  close(): Promise<void>;
  /**
   * Redis mode only: the publisher connection, for other modules' commands (rate limits, revocation)
   * so an instance opens no more connections than it needs. Owned by the PubSub: never quit it.
   * Commands fail fast while Redis is down (no offline queue) and keys carry the PubSub's keyPrefix.
   */
  redis?(): Redis;
  /**
   * Redis mode only: `listener` fires each time the subscriber connection came back after a drop and its
   * subscriptions are active again. Messages published meanwhile were lost: listeners catch up from the
   * Event table. Returns an unsubscribe.
   */
  onResubscribe?(listener: () => void): () => void;
  /** Local subscriptions: distinct topics and handlers (for metrics and leak tests). */
  stats?(): { topics: number; handlers: number };
}

/** JSON text of a value whose BigInts (e.g. Prisma ids) become decimal strings instead of throwing. */
export function toJson(value: unknown): string {
  // Without a replacer first: calling one for every key made this a visible share of a mutation's CPU.
  try {
    return JSON.stringify(value);
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
    return JSON.stringify(value, (_key, v) => (typeof v === 'bigint' ? v.toString() : v));
  }
}

/** The value as it looks after a trip through JSON: what every subscriber receives, whatever the transport. */
export function asJsonValue<T = unknown>(value: unknown): T {
  const text = toJson(value);
  return (text === undefined ? null : JSON.parse(text)) as T;
}

/** Calls a subscriber's handler so that one failing handler cannot hurt the transport or other handlers. */
export function deliverSafely(
  logger: Logger,
  topic: string,
  handler: (message: unknown) => void,
  message: unknown,
) {
  try {
    handler(message);
  } catch (error) {
    logger.error({ err: error, topic }, 'pub/sub handler failed');
  }
}
