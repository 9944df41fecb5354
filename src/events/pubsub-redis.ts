import { RedisPubSub } from 'graphql-redis-subscriptions';
import { Redis } from 'ioredis';
import { redisRetryStrategy } from '../observability/circuit-breaker';
import type { Logger } from '../observability/logger';
import { asJsonValue, deliverSafely, type PubSub, toJson } from './pubsub';

export interface RedisConnections {
  /** Commands and PUBLISH; no offline queue, so callers fail fast while Redis is down. */
  publisher: Redis;
  /** Subscriber mode only: one connection multiplexing every topic; resubscribes after reconnecting. */
  subscriber: Redis;
}

export interface RedisConnectionOptions {
  /** ioredis keyPrefix of the publisher (keys only: ioredis never prefixes channels). */
  keyPrefix?: string;
  /** Upper bound for any command on the publisher, so a hung Redis cannot stall a mutation. */
  commandTimeoutMs?: number;
  connectionName?: string;
  /** ops: extra ioredis options for both connections, e.g. `{ sentinels, name }` for Redis Sentinel. */
  redisOptions?: Record<string, unknown>;
}

/** The two connections an instance needs; createRedisPubSub owns them from then on. */
export function createRedisConnections(url: string, opts: RedisConnectionOptions = {}): RedisConnections {
  const name = opts.connectionName ?? 'expediter';
  return {
    publisher: new Redis(url, {
      ...opts.redisOptions,
      keyPrefix: opts.keyPrefix,
      enableOfflineQueue: false,
      commandTimeout: opts.commandTimeoutMs ?? 2000,
      maxRetriesPerRequest: 1,
      connectionName: `${name}:pub`,
      enableAutoPipelining: true, // publishes and revocation lookups of one tick share a write
      retryStrategy: redisRetryStrategy(), // ops: exponential backoff with jitter, capped
    }),
    subscriber: new Redis(url, {
      ...opts.redisOptions,
      connectionName: `${name}:sub`,
      retryStrategy: redisRetryStrategy(),
    }),
  };
}

export interface RedisPubSubOptions {
  connections: RedisConnections;
  logger: Logger;
  /** Prepended to channel names (so tests and deployments sharing a Redis stay apart). */
  channelPrefix?: string;
  /** How long createRedisPubSub waits for Redis at start; after that it starts 'down' and keeps retrying. */
  connectTimeoutMs?: number;
}

export async function createRedisPubSub(opts: RedisPubSubOptions): Promise<PubSub> {
  const { connections, logger } = opts;
  const prefix = opts.channelPrefix ?? '';
  const health = trackHealth(connections, logger);
  const engine = new RedisPubSub({
    publisher: connections.publisher as never,
    subscriber: connections.subscriber as never,
    serializer: toJson,
  });
  const handlerCounts = new Map<string, number>();
  /** ops (degraded mode): this instance's handlers by topic, for local delivery while Redis is down. */
  const localHandlers = new Map<string, Set<(message: unknown) => void>>();
  let closed = false;

  function count(topic: string, delta: number) {
    const next = (handlerCounts.get(topic) ?? 0) + delta;
    if (next > 0) handlerCounts.set(topic, next);
    else handlerCounts.delete(topic);
  }

  // ops (degraded mode): local delivery that does not depend on Redis.
  function addLocal(topic: string, handler: (message: unknown) => void) {
    const handlers = localHandlers.get(topic) ?? new Set();
    handlers.add(handler);
    localHandlers.set(topic, handlers);
  }
  function removeLocal(topic: string, handler: (message: unknown) => void) {
    const handlers = localHandlers.get(topic);
    if (!handlers?.delete(handler)) return;
    if (handlers.size === 0) localHandlers.delete(topic);
  }
  function deliverLocally(topic: string, message: unknown) {
    const handlers = localHandlers.get(topic);
    if (!handlers || closed) return;
    const json = asJsonValue(message);
    queueMicrotask(() => {
      for (const handler of handlers) handler(json);
    });
  }

  await health.firstUp(opts.connectTimeoutMs ?? 5000);

  return {
    async publish(topic, message) {
      if (closed) throw new Error('PubSub is closed');
      try {
        await engine.publish(prefix + topic, message);
      } catch (error) {
        // ops (degraded mode): Redis is unreachable. This instance's own subscribers get the event now;
        // other instances get it when the relay publishes the outbox backlog (the caller leaves it
        // unpublished), and streams here drop that second copy by event id.
        deliverLocally(topic, message);
        throw error;
      }
    },
    async subscribe(topic, onMessage) {
      if (closed) throw new Error('PubSub is closed');
      // Only hand out the unsubscribe once SUBSCRIBE is acknowledged: RedisPubSub.unsubscribe of a
      // still-pending subscription corrupts its bookkeeping.
      const id = await engine.subscribe(prefix + topic, (message: unknown) =>
        deliverSafely(logger, topic, onMessage, message),
      );
      count(topic, 1);
      const local = (message: unknown) => deliverSafely(logger, topic, onMessage, message); // ops
      addLocal(topic, local); // ops
      let active = true;
      return () => {
        if (!active || closed) return;
        active = false;
        count(topic, -1);
        removeLocal(topic, local); // ops
        engine.unsubscribe(id);
      };
    },
    status: health.status,
    canPublish: () => !closed && connections.publisher.status === 'ready',
    onPublisherUp: health.onPublisherUp,
    onResubscribe: health.onResubscribe,
    redis: () => connections.publisher,
    stats() {
      let handlers = 0;
      for (const n of handlerCounts.values()) handlers += n;
      return { topics: handlerCounts.size, handlers };
    },
    async close() {
      if (closed) return;
      closed = true;
      health.stop();
      handlerCounts.clear();
      localHandlers.clear(); // ops
      await Promise.all([quit(connections.publisher), quit(connections.subscriber)]);
    },
  };
}

/** Follows both connections (ioredis reconnects by itself) and logs each up/down transition. */
function trackHealth(connections: RedisConnections, logger: Logger) {
  const ready = {
    publisher: connections.publisher.status === 'ready',
    subscriber: connections.subscriber.status === 'ready',
  };
  let last: 'up' | 'down' = status();
  let stopped = false;
  let subscriberDropped = false;
  const upWaiters = new Set<() => void>();
  const resubscribeListeners = new Set<() => void>();
  const publisherUpListeners = new Set<() => void>();

  function status(): 'up' | 'down' {
    return ready.publisher && ready.subscriber ? 'up' : 'down';
  }

  function update(role: keyof typeof ready, isReady: boolean) {
    if (role === 'subscriber') trackResubscription(ready.subscriber, isReady);
    if (role === 'publisher' && isReady && !ready.publisher && !stopped)
      notify(publisherUpListeners, 'publisher up');
    ready[role] = isReady;
    const now = status();
    if (now === last || stopped) return;
    last = now;
    if (now === 'up') {
      logger.info('redis pub/sub up');
      for (const resolve of upWaiters) resolve();
    } else {
      logger.warn({ connection: role }, 'redis pub/sub down; reconnecting');
    }
  }

  /**
   * ioredis re-sends SUBSCRIBE for every channel on reconnect, before emitting 'ready'. A PING queued
   * behind them answers once they are all active: only then can a catch-up read miss nothing.
   */
  function trackResubscription(wasReady: boolean, isReady: boolean) {
    if (wasReady && !isReady) subscriberDropped = true;
    if (wasReady || !isReady || !subscriberDropped) return;
    subscriberDropped = false;
    connections.subscriber.ping().then(
      () => notify(resubscribeListeners, 'resubscribe'),
      (error: unknown) => logger.warn({ err: error }, 'redis resubscription not confirmed'),
    );
  }

  function notify(listeners: Set<() => void>, what: string) {
    for (const listener of listeners) {
      try {
        listener();
      } catch (error) {
        logger.error({ err: error }, `${what} listener failed`);
      }
    }
  }

  for (const role of ['publisher', 'subscriber'] as const) {
    const connection = connections[role];
    connection.on('ready', () => update(role, true));
    connection.on('close', () => update(role, false));
    connection.on('end', () => update(role, false));
    // Every failed reconnect attempt emits an error: the down transition above is the one that matters.
    connection.on('error', (error: Error) =>
      logger.debug({ err: error, connection: role }, 'redis connection error'),
    );
  }

  return {
    status,
    /** Resolves when both connections are ready, or after timeoutMs with a warning (status stays 'down'). */
    firstUp(timeoutMs: number): Promise<void> {
      if (status() === 'up') return Promise.resolve();
      return new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          upWaiters.delete(done);
          resolve();
        };
        const timer = setTimeout(() => {
          logger.warn({ timeoutMs }, 'redis unreachable at start; starting down and retrying');
          done();
        }, timeoutMs);
        upWaiters.add(done);
      });
    },
    onResubscribe(listener: () => void) {
      resubscribeListeners.add(listener);
      return () => {
        resubscribeListeners.delete(listener);
      };
    },
    onPublisherUp(listener: () => void) {
      publisherUpListeners.add(listener);
      return () => {
        publisherUpListeners.delete(listener);
      };
    },
    stop() {
      stopped = true;
      resubscribeListeners.clear();
      publisherUpListeners.clear();
    },
  };
}

async function quit(connection: Redis): Promise<void> {
  if (connection.status !== 'ready') {
    connection.disconnect();
    return;
  }
  await connection.quit().catch(() => connection.disconnect());
}
