import type { Logger } from '../observability/logger';
import type { PubSub } from './pubsub';

export interface PubSubOptions {
  /** Unset: in-process pub/sub (single instance). */
  redisUrl?: string;
  logger: Logger;
  /** Prepended to every channel name and every key of the shared Redis connection (isolation of tests). */
  keyPrefix?: string;
  /** ops: extra ioredis options for both connections, e.g. Redis Sentinel (config.redisOptions). */
  redisOptions?: Record<string, unknown>;
}

/** The instance's pub/sub: Redis when `redisUrl` is set, in process otherwise (each loaded only when chosen). */
export async function createPubSub(opts: PubSubOptions): Promise<PubSub> {
  if (!opts.redisUrl) {
    const { createMemoryPubSub } = await import('./pubsub-memory');
    return createMemoryPubSub({ logger: opts.logger });
  }
  const { createRedisConnections, createRedisPubSub } = await import('./pubsub-redis');
  const connections = createRedisConnections(opts.redisUrl, {
    keyPrefix: opts.keyPrefix,
    redisOptions: opts.redisOptions,
  });
  return createRedisPubSub({ connections, logger: opts.logger, channelPrefix: opts.keyPrefix });
}
