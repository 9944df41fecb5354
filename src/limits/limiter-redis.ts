import { Redis } from 'ioredis';
import type { Logger } from '../observability/logger';

export type LimiterMode = 'redis' | 'local';

/**
 * The limiters' own Redis connection. Unlike the pub/sub connection it never queues commands while
 * disconnected and times commands out quickly: a limit decision must not wait for Redis to come back.
 * Whoever uses it supplies a local (per-instance) alternative for every command; `mode()` says which
 * one answers right now. It recovers by itself when ioredis reconnects.
 */
export interface LimiterRedis {
  mode(): LimiterMode;
  onModeChange(listener: (mode: LimiterMode) => void): () => void;
  /** Runs `remote` on Redis when it is usable, `local` otherwise (also when `remote` fails). */
  run<T>(remote: (redis: Redis) => Promise<T>, local: () => T): Promise<T>;
  /** Resolves once Redis is ready, or after `timeoutMs` (then starting in local mode). */
  ready(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

export interface LimiterRedisOptions {
  redisUrl?: string;
  logger: Logger;
  commandTimeoutMs?: number;
  /** ops: extra ioredis options, e.g. `{ sentinels, name }` for Redis Sentinel (config.redisOptions). */
  redisOptions?: Record<string, unknown>;
}

export function createLimiterRedis(options: LimiterRedisOptions): LimiterRedis {
  const { logger } = options;
  const listeners = new Set<(mode: LimiterMode) => void>();
  if (!options.redisUrl) return localOnly();

  const redis = new Redis(options.redisUrl, {
    ...options.redisOptions,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: options.commandTimeoutMs ?? 500,
    connectionName: 'expediter-limits',
    // Every connect and subscribe asks several budgets at once, many sockets at a time: commands issued in
    // the same tick go out in one write (one syscall) instead of one each.
    enableAutoPipelining: true,
    retryStrategy: (attempt) => Math.min(attempt * 100, 2000),
  });
  let mode: LimiterMode = 'local';
  let degradedLogged = false;
  let closing = false;

  function setMode(next: LimiterMode, reason?: unknown) {
    if (next === mode) return;
    mode = next;
    if (next === 'local') {
      if (!degradedLogged) {
        logger.warn({ err: reason }, 'rate limits fall back to per-instance memory: Redis is unreachable');
        degradedLogged = true;
      }
    } else {
      if (degradedLogged) logger.info('rate limits shared through Redis again');
      degradedLogged = false;
    }
    for (const listener of listeners) listener(next);
  }

  redis.on('ready', () => setMode('redis'));
  redis.on('error', (error) => setMode('local', error));
  redis.on('close', () => {
    if (!closing) setMode('local', new Error('connection closed'));
  });

  return {
    mode: () => mode,
    onModeChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async run(remote, local) {
      if (closing || mode !== 'redis' || redis.status !== 'ready') return local();
      try {
        return await remote(redis);
      } catch (error) {
        if (isConnectionProblem(error)) {
          // A command still in flight when the instance closed the connection: no outage to warn about.
          if (!closing) setMode('local', error);
          return local();
        }
        throw error;
      }
    },
    ready: (timeoutMs) =>
      new Promise<void>((resolve) => {
        if (redis.status === 'ready') return resolve();
        const timer = setTimeout(() => {
          if (!degradedLogged) {
            logger.warn('rate limits start per-instance: Redis is not reachable yet');
            degradedLogged = true;
          }
          resolve();
        }, timeoutMs);
        redis.once('ready', () => {
          clearTimeout(timer);
          resolve();
        });
      }),
    async close() {
      closing = true; // our own disconnect is no outage to warn about
      listeners.clear();
      redis.disconnect();
    },
  };

  function localOnly(): LimiterRedis {
    return {
      mode: () => 'local',
      onModeChange: () => () => {},
      run: async (_remote, local) => local(),
      ready: async () => {},
      close: async () => {},
    };
  }
}

/** Script errors (a bug) must surface; connection trouble and timeouts mean "use local". */
function isConnectionProblem(error: unknown): boolean {
  const message = error instanceof Error ? error.message : String(error);
  return !/^(ERR|WRONGTYPE|NOSCRIPT)\b/.test(message);
}
