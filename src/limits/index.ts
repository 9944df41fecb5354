import type { Plugin } from 'graphql-yoga';
import type { Config } from '../config';
import type { Logger } from '../observability/logger';
import { type Admission, createAdmission } from './admission';
import { type ConcurrencyLimiter, createConcurrencyLimiter } from './concurrency-limiter';
import { defaultLimits, type LimitsConfig } from './config';
import { type ConnectionGuard, createConnectionGuard } from './connection-limits';
import { createLimiterRedis, type LimiterMode } from './limiter-redis';
import { operationLimitPlugins } from './operation-limits';
import { rateLimitPlugin } from './rate-limit-plugin';
import { createRateLimiter, type RateLimiter } from './rate-limiter';

export { TRY_AGAIN_LATER } from './admission';
export { TOO_MANY_CONNECTIONS } from './connection-limits';
export type { LimiterMode } from './limiter-redis';

export interface Limits {
  /** Yoga plugins: operation limits, then rate limits (order matters: refuse cheap things first). */
  plugins: Plugin<Record<string, unknown>>[];
  /** WebSocket server options, flood guard and per-user/per-IP connection admission. */
  connections: ConnectionGuard;
  /** Handshakes in progress per instance, over the limit shed with 1013 and a retryAfter. */
  admission: Admission;
  rateLimiter: RateLimiter;
  concurrency: ConcurrencyLimiter;
  /** 'redis' while limits are shared through Redis, 'local' while they are per instance (degraded or no Redis). */
  mode(): LimiterMode;
  onModeChange(listener: (mode: LimiterMode) => void): () => void;
  close(): Promise<void>;
}

type LimitsSettings = Pick<Config, 'env' | 'redisUrl' | 'redisPrefix' | 'allowedOrigins' | 'introspection'> &
  Partial<Pick<Config, 'redisOptions'>> & {
    limits?: LimitsConfig;
  };

export async function createLimits(
  config: LimitsSettings,
  deps: { logger: Logger; onRefusal?: (scope: string) => void; onShed?: () => void },
): Promise<Limits> {
  const limits = config.limits ?? defaultLimits();
  const redis = createLimiterRedis({
    redisUrl: config.redisUrl,
    redisOptions: config.redisOptions as Record<string, unknown> | undefined, // ops: Sentinel
    logger: deps.logger,
  });
  await redis.ready(2000);
  const rateLimiter = createRateLimiter({ redis, keyPrefix: config.redisPrefix });
  const concurrency = createConcurrencyLimiter({ redis, keyPrefix: config.redisPrefix });
  const shared = { limits, allowedOrigins: config.allowedOrigins, rateLimiter, concurrency };

  return {
    plugins: [
      ...operationLimitPlugins({
        limits: limits.operation,
        hideSuggestions: config.env !== 'development',
        introspection: config.introspection,
      }),
      rateLimitPlugin({ ...shared, onRefusal: deps.onRefusal }),
    ],
    connections: createConnectionGuard({ ...shared, logger: deps.logger }),
    admission: createAdmission({
      maxHandshakes: limits.ws.maxHandshakes,
      minRetryAfterMs: limits.ws.shedMinRetryAfterMs,
      maxRetryAfterMs: limits.ws.shedMaxRetryAfterMs,
      onShed: deps.onShed,
    }),
    rateLimiter,
    concurrency,
    mode: () => redis.mode(),
    onModeChange: (listener) => redis.onModeChange(listener),
    async close() {
      await concurrency.close();
      rateLimiter.close();
      await redis.close();
    },
  };
}
