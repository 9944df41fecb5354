/**
 * Message transport between instances: Redis (graphql-redis-subscriptions + ioredis, one subscriber
 * connection per instance multiplexing every topic) when REDIS_URL is set, in-process otherwise.
 * Messages are plain JSON values.
 */
export interface PubSub {
  publish(topic: string, message: unknown): Promise<void>;
  /** Resolves once the subscription is active (for Redis: SUBSCRIBE acknowledged). */
  subscribe(topic: string, onMessage: (message: unknown) => void): Promise<() => void>;
  /** 'up' | 'down' for Redis; always 'up' in process. */
  status(): 'up' | 'down';
  close(): Promise<void>;
}
