import { randomUUID } from 'node:crypto';
import { type RateTake, type TakeResult, takeInRedis } from './budget-script';
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
  /**
   * Counts one call against each rule, in one round trip, all or nothing: decisions in order up to the first
   * refusal (the last one then), and nothing counted unless every rule allows it.
   */
  consumeAll(rules: readonly RateLimitRule[], subject: string): Promise<RateLimitDecision[]>;
  /** The call as a take of the budget script, for a caller that takes it together with other budgets. */
  take(rule: RateLimitRule, subject: string): RateTake;
  /** consumeAll in this instance's memory (the fallback while Redis is unreachable). */
  consumeLocally(rules: readonly RateLimitRule[], subject: string): RateLimitDecision[];
  mode(): LimiterMode;
  close(): void;
}

/**
 * A sliding-window log: every allowed call is a timestamped entry, calls older than the window drop
 * out. In Redis it is one sorted set per rule and subject, updated atomically by a script that uses
 * Redis's clock so instances with skewed clocks agree (src/limits/budget-script.ts).
 */
export function createRateLimiter(options: { redis: LimiterRedis; keyPrefix: string }): RateLimiter {
  const { redis, keyPrefix } = options;
  const local = createMemoryWindows();
  const instance = randomUUID().slice(0, 8);
  let sequence = 0;
  const keyOf = (rule: RateLimitRule, subject: string) => `${keyPrefix}limits:rate:${rule.name}:${subject}`;

  const limiter: RateLimiter = {
    mode: () => redis.mode(),
    async consume(rule, subject) {
      return (await limiter.consumeAll([rule], subject))[0]!;
    },
    consumeAll(rules, subject) {
      return redis.run(
        async (client) => {
          const results = await takeInRedis(
            client,
            rules.map((rule) => limiter.take(rule, subject)),
          );
          return results.map((result, i) => decisionOf(rules[i]!, result));
        },
        () => limiter.consumeLocally(rules, subject),
      );
    },
    take: (rule, subject) => ({
      kind: 'rate',
      key: keyOf(rule, subject),
      member: `${instance}:${++sequence}`,
      limit: rule.limit,
      windowMs: rule.windowMs,
    }),
    consumeLocally: (rules, subject) => local.consumeAll(rules.map((rule) => [keyOf(rule, subject), rule])),
    close: () => local.close(),
  };
  return limiter;
}

/** A decision from the budget script's answer for a rate. */
export function decisionOf(rule: RateLimitRule, result: TakeResult): RateLimitDecision {
  return decision(rule, result.allowed, result.count, result.oldestLeavesMs, result.newestLeavesMs);
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

  /** As the budget script does: in order, all or nothing, calls of one key counting together. */
  function consumeAll(calls: ReadonlyArray<readonly [string, RateLimitRule]>): RateLimitDecision[] {
    const at = now();
    const decisions: RateLimitDecision[] = [];
    const pending = new Map<string, number>();
    for (const [key, rule] of calls) {
      const window = windows.get(key) ?? { windowMs: rule.windowMs, entries: [] };
      windows.set(key, window);
      const { entries } = window;
      while (entries[0] !== undefined && entries[0] <= at - rule.windowMs) entries.shift();
      const taken = pending.get(key) ?? 0;
      const count = entries.length + taken;
      if (count >= rule.limit) {
        const oldest = entries[0];
        const newest = entries[entries.length - 1];
        decisions.push(
          decision(
            rule,
            false,
            count,
            oldest === undefined ? rule.windowMs : oldest + rule.windowMs - at,
            newest === undefined || taken > 0 ? rule.windowMs : newest + rule.windowMs - at,
          ),
        );
        return decisions;
      }
      pending.set(key, taken + 1);
      decisions.push(decision(rule, true, count + 1, 0, rule.windowMs));
    }
    for (const [key] of calls) windows.get(key)!.entries.push(at);
    return decisions;
  }

  return {
    consume(key: string, rule: RateLimitRule): RateLimitDecision {
      return consumeAll([[key, rule]])[0]!;
    },
    consumeAll,
    size: () => windows.size,
    close: () => {
      clearInterval(sweeper);
      windows.clear();
    },
  };
}
