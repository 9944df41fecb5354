import { randomUUID } from 'node:crypto';
import type { LimiterMode, LimiterRedis } from './limiter-redis';

export interface RateLimitRule {
  /** Part of the key, e.g. 'mutation:createOrder' or 'http'. */
  name: string;
  limit: number;
  windowMs: number;
}

export interface RateLimitDecision {
  allowed: boolean;
  limit: number;
  /** Calls left in the window after this one. */
  remaining: number;
  /** Until the whole budget is back (the newest counted call leaves the window). */
  resetAfterMs: number;
  /** Until the next call can be allowed (the oldest counted call leaves the window); 0 while allowed. */
  retryAfterMs: number;
}

export interface RateLimiter {
  /** Counts one call of `subject` (a user, an IP…) against `rule`; a refused call is not counted. */
  consume(rule: RateLimitRule, subject: string): Promise<RateLimitDecision>;
  mode(): LimiterMode;
  close(): void;
}

/**
 * A sliding-window log: every allowed call is a timestamped entry, calls older than the window drop
 * out. In Redis it is one sorted set per rule and subject, updated atomically by a script that uses
 * Redis's clock so instances with skewed clocks agree.
 */
const SLIDING_WINDOW_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
local allowed = 0
if count < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  count = count + 1
  allowed = 1
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local newest = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if count > 0 then redis.call('PEXPIRE', KEYS[1], window) end
local oldestLeaves = 0
local newestLeaves = 0
if oldest[2] then oldestLeaves = tonumber(oldest[2]) + window - now end
if newest[2] then newestLeaves = tonumber(newest[2]) + window - now end
return {allowed, count, oldestLeaves, newestLeaves}
`;

export function createRateLimiter(options: { redis: LimiterRedis; keyPrefix: string }): RateLimiter {
  const { redis, keyPrefix } = options;
  const local = createMemoryWindows();
  const instance = randomUUID().slice(0, 8);
  let sequence = 0;

  return {
    mode: () => redis.mode(),
    consume(rule, subject) {
      const key = `${keyPrefix}limits:rate:${rule.name}:${subject}`;
      return redis.run(
        async (client) => {
          const member = `${instance}:${++sequence}`;
          const reply = (await client.eval(
            SLIDING_WINDOW_SCRIPT,
            1,
            key,
            rule.limit,
            rule.windowMs,
            member,
          )) as [number, number, number, number];
          return decision(rule, reply[0] === 1, reply[1], reply[2], reply[3]);
        },
        () => local.consume(key, rule),
      );
    },
    close: () => local.close(),
  };
}

function decision(
  rule: RateLimitRule,
  allowed: boolean,
  count: number,
  oldestLeavesMs: number,
  newestLeavesMs: number,
): RateLimitDecision {
  return {
    allowed,
    limit: rule.limit,
    remaining: Math.max(rule.limit - count, 0),
    resetAfterMs: Math.max(newestLeavesMs, 0),
    retryAfterMs: allowed ? 0 : Math.max(oldestLeavesMs, 1),
  };
}

/** The same sliding window in this process's memory: the fallback, and the store without Redis. */
export function createMemoryWindows(now: () => number = Date.now) {
  const windows = new Map<string, { windowMs: number; entries: number[] }>();
  // Forget idle subjects so memory follows active clients, not every client ever seen.
  const sweeper = setInterval(() => {
    const at = now();
    for (const [key, { windowMs, entries }] of windows) {
      const newest = entries[entries.length - 1];
      if (newest === undefined || newest <= at - windowMs) windows.delete(key);
    }
  }, 30_000);
  sweeper.unref();

  return {
    consume(key: string, rule: RateLimitRule): RateLimitDecision {
      const at = now();
      const window = windows.get(key) ?? { windowMs: rule.windowMs, entries: [] };
      windows.set(key, window);
      const { entries } = window;
      while (entries[0] !== undefined && entries[0] <= at - rule.windowMs) entries.shift();
      const allowed = entries.length < rule.limit;
      if (allowed) entries.push(at);
      const oldest = entries[0];
      const newest = entries[entries.length - 1];
      return decision(
        rule,
        allowed,
        entries.length,
        oldest === undefined ? 0 : oldest + rule.windowMs - at,
        newest === undefined ? 0 : newest + rule.windowMs - at,
      );
    },
    size: () => windows.size,
    close: () => {
      clearInterval(sweeper);
      windows.clear();
    },
  };
}
