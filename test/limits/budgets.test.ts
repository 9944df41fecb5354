import { createHash, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { redisScript } from '../../src/limits/budget-script';
import { createConcurrencyLimiter } from '../../src/limits/concurrency-limiter';
import { createLimiterRedis } from '../../src/limits/limiter-redis';
import { createRateLimiter } from '../../src/limits/rate-limiter';
import { createLogger } from '../../src/observability/logger';
import { uniqueRedisPrefix } from '../support/server';
import { REDIS_URL } from './support';

const silent = createLogger('silent');
const rule = (name: string, limit: number, windowMs = 60_000) => ({ name, limit, windowMs });

/**
 * An operation's budgets in one round trip (src/limits/budget-script.ts), all or nothing, the same in Redis and
 * in an instance's memory (no Redis, or Redis unreachable).
 */
describe.each([
  ['in Redis', REDIS_URL],
  ['in memory', undefined],
])('budgets taken together, %s', (_where, redisUrl) => {
  const closers: Array<() => Promise<void>> = [];
  async function limiters() {
    const redis = createLimiterRedis({ redisUrl, logger: silent, commandTimeoutMs: 300 });
    await redis.ready(2000);
    const keyPrefix = uniqueRedisPrefix();
    const rates = createRateLimiter({ redis, keyPrefix });
    const slots = createConcurrencyLimiter({ redis, keyPrefix });
    closers.push(async () => {
      await slots.close();
      rates.close();
      await redis.close();
    });
    expect(redis.mode()).toBe(redisUrl ? 'redis' : 'local');
    return { rates, slots };
  }
  afterEach(async () => {
    for (const close of closers.splice(0)) await close();
  });

  it('takes both slots or neither, and reports the first refusal', async () => {
    const { slots } = await limiters();
    const both = (holder: string) =>
      slots.acquireAll([
        { kind: 'ip', subject: '10.0.0.1', holder, limit: 3 },
        { kind: 'user', subject: 'u', holder, limit: 1 },
      ]);
    expect((await both('c1')).allowed).toBe(true);
    const refused = await both('c2');
    expect(refused.allowed).toBe(false);
    expect(refused.slots.map((slot) => slot.allowed)).toEqual([true, false]);
    // The address's slot was not taken by the refused connection: two more fit (3 in all).
    expect((await slots.acquire('ip', '10.0.0.1', 'c3', 3)).count).toBe(2);
    expect((await slots.acquire('ip', '10.0.0.1', 'c4', 3)).count).toBe(3);
    expect((await slots.acquire('ip', '10.0.0.1', 'c5', 3)).allowed).toBe(false);
  });

  it('takes a slot only with its rate call: a refused start leaves the slot free, a full slot counts no start', async () => {
    const { rates, slots } = await limiters();
    const start = (holder: string, slotLimit = 5) =>
      slots.acquireAll([{ kind: 'subscriptions', subject: 'u', holder, limit: slotLimit }], {
        limiter: rates,
        rules: [rule('subscription', 2)],
        subject: 'u',
      });
    const first = await start('s1');
    expect(first.allowed).toBe(true);
    expect(first.rates[0]).toMatchObject({ allowed: true, remaining: 1, limit: 2 });
    // A full slot set: refused before the start is counted.
    const full = await start('s2', 1);
    expect([full.allowed, full.slots[0]?.allowed, full.rates]).toEqual([false, false, []]);
    expect((await start('s3')).allowed).toBe(true);
    const overRate = await start('s4');
    expect(overRate.allowed).toBe(false);
    expect(overRate.rates[0]).toMatchObject({ allowed: false, remaining: 0 });
    expect(overRate.rates[0]!.retryAfterMs).toBeGreaterThan(0);
    // s4's slot was not taken: two slots are held (s1, s3), so a limit of 3 still admits one.
    expect((await slots.acquire('subscriptions', 'u', 's5', 3)).count).toBe(3);
  });

  it("counts an operation's calls together and none of them when one is refused", async () => {
    const { rates } = await limiters();
    const create = rule('mutation:createOrder', 2);
    const pay = rule('mutation:recordPayment', 1);
    // Two aliases of createOrder are two calls of its budget.
    expect((await rates.consumeAll([create, create], 'u')).map((d) => [d.allowed, d.remaining])).toEqual([
      [true, 1],
      [true, 0],
    ]);
    const refused = await rates.consumeAll([pay, create], 'u');
    expect(refused.map((d) => d.allowed)).toEqual([true, false]);
    // recordPayment was not counted: its one call is still there.
    expect((await rates.consume(pay, 'u')).allowed).toBe(true);
    // Over budget within one operation alone: refused, nothing counted, retry when a call could be counted.
    const alone = await rates.consumeAll([rule('mutation:x', 1), rule('mutation:x', 1)], 'v');
    expect(alone.map((d) => d.allowed)).toEqual([true, false]);
    expect(alone[1]!.retryAfterMs).toBeGreaterThan(0);
    expect((await rates.consume(rule('mutation:x', 1), 'v')).allowed).toBe(true);
  });
});

describe('scripts by SHA1', () => {
  it('runs a script Redis has never seen (NOSCRIPT: sent once in full), then by its SHA1', async () => {
    const client = new Redis(REDIS_URL);
    try {
      // A script of its own, so no one has loaded it before.
      const lua = `-- ${randomUUID()}\nreturn ARGV[1] .. KEYS[1]`;
      const run = redisScript(lua);
      const sha = createHash('sha1').update(lua).digest('hex');
      expect(await client.script('EXISTS', sha)).toEqual([0]);
      expect(await run(client, ['k'], ['a'])).toBe('ak');
      expect(await client.script('EXISTS', sha)).toEqual([1]);
      expect(await run(client, ['k2'], ['b'])).toBe('bk2');
    } finally {
      client.disconnect();
    }
  });
});
