import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { type ConcurrencyLimiter, createConcurrencyLimiter } from '../../src/limits/concurrency-limiter';
import { createLimiterRedis, type LimiterRedis } from '../../src/limits/limiter-redis';
import { createLogger } from '../../src/observability/logger';
import { eventually } from '../support/eventually';
import { uniqueRedisPrefix } from '../support/server';
import { REDIS_URL, sleep, startRedisProxy } from './support';

const silent = createLogger('silent');

describe('open slots shared through Redis', () => {
  const open: Array<{ slots: ConcurrencyLimiter; redis: LimiterRedis }> = [];
  async function instance(
    keyPrefix: string,
    options: { leaseMs?: number; redisUrl?: string; commandTimeoutMs?: number } = {},
  ) {
    const redis = createLimiterRedis({
      redisUrl: options.redisUrl ?? REDIS_URL,
      logger: silent,
      commandTimeoutMs: options.commandTimeoutMs ?? 300,
    });
    await redis.ready(2000);
    const created = {
      slots: createConcurrencyLimiter({ redis, keyPrefix, leaseMs: options.leaseMs }),
      redis,
    };
    open.push(created);
    return created;
  }
  afterEach(async () => {
    for (const { slots, redis } of open.splice(0)) {
      await slots.close();
      await redis.close();
    }
  });

  it('allows N open at once across instances, refuses N+1, and frees a slot when it is released', async () => {
    const prefix = uniqueRedisPrefix();
    const { slots: a } = await instance(prefix);
    const { slots: b } = await instance(prefix);
    expect(await a.acquire('conn', 'user-1', 'c1', 2)).toEqual({ allowed: true, limit: 2, count: 1 });
    expect(await b.acquire('conn', 'user-1', 'c2', 2)).toEqual({ allowed: true, limit: 2, count: 2 });
    expect(await a.acquire('conn', 'user-1', 'c3', 2)).toEqual({ allowed: false, limit: 2, count: 2 });
    expect((await b.acquire('conn', 'user-2', 'c4', 2)).allowed).toBe(true);
    await b.release('conn', 'user-1', 'c2');
    expect((await a.acquire('conn', 'user-1', 'c3', 2)).allowed).toBe(true);
  });

  it('a take right after releases of the same turn sees them (they go out first, in one script)', async () => {
    const { slots } = await instance(uniqueRedisPrefix());
    await slots.acquireAll([
      { kind: 'ip', subject: 'a', holder: 'c1', limit: 1 },
      { kind: 'user', subject: 'u', holder: 'c1', limit: 1 },
    ]);
    const released = Promise.all([slots.release('ip', 'a', 'c1'), slots.release('user', 'u', 'c1')]);
    const again = await slots.acquireAll([
      { kind: 'ip', subject: 'a', holder: 'c2', limit: 1 },
      { kind: 'user', subject: 'u', holder: 'c2', limit: 1 },
    ]);
    expect(again.allowed).toBe(true);
    await released;
  });

  it('acquiring the same holder twice takes one slot', async () => {
    const { slots } = await instance(uniqueRedisPrefix());
    await slots.acquire('conn', 'u', 'c1', 1);
    expect(await slots.acquire('conn', 'u', 'c1', 1)).toEqual({ allowed: true, limit: 1, count: 1 });
  });

  it('keeps the slots of a live instance by renewing them past their lease', async () => {
    const prefix = uniqueRedisPrefix();
    const { slots: a } = await instance(prefix, { leaseMs: 200 });
    const { slots: b } = await instance(prefix, { leaseMs: 200 });
    await a.acquire('conn', 'u', 'c1', 1);
    await sleep(500);
    expect((await b.acquire('conn', 'u', 'c2', 1)).allowed).toBe(false);
  });

  it('renews more leases than one renewal script takes (they are renewed in batches)', async () => {
    const prefix = uniqueRedisPrefix();
    // Generous command timeouts: on a loaded machine a slow reply would put an instance in local mode, which
    // (correctly) stops renewing in Redis and is not what this test is about.
    const { slots: a, redis } = await instance(prefix, { leaseMs: 1500, commandTimeoutMs: 5000 });
    const { slots: b } = await instance(prefix, { leaseMs: 1500, commandTimeoutMs: 5000 });
    const subjects = Array.from({ length: 1200 }, (_, i) => `u${i}`);
    await Promise.all(subjects.map((subject) => a.acquire('conn', subject, 'held', 1)));
    await sleep(2500); // past the lease: only renewals keep the slots
    const probes = await Promise.all(subjects.map((subject) => b.acquire('conn', subject, 'probe', 1)));
    expect(redis.mode()).toBe('redis');
    expect(probes.filter((probe) => probe.allowed)).toEqual([]);
  });

  it('a shutdown right after its sockets closed frees every slot in Redis, and reports no outage', async () => {
    const prefix = uniqueRedisPrefix();
    const warnings: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => warnings.push(line) });
    const redis = createLimiterRedis({ redisUrl: REDIS_URL, logger, commandTimeoutMs: 5000 });
    await redis.ready(2000);
    const closing = createConcurrencyLimiter({ redis, keyPrefix: prefix });
    const subjects = Array.from({ length: 1200 }, (_, i) => `u${i}`);
    await Promise.all(subjects.map((subject) => closing.acquire('conn', subject, 'held', 1)));
    // As a shutdown does: every socket closes in one turn (more releases than one script takes), then close().
    for (const subject of subjects) void closing.release('conn', subject, 'held');
    await closing.close();
    await redis.close();
    const { slots: survivor } = await instance(prefix, { commandTimeoutMs: 5000 });
    const probes = await Promise.all(
      subjects.map((subject) => survivor.acquire('conn', subject, 'probe', 1)),
    );
    expect(probes.filter((probe) => !probe.allowed)).toEqual([]);
    expect(warnings).toEqual([]);
  });

  it('frees the slots of an instance that vanished once their lease runs out', async () => {
    const prefix = uniqueRedisPrefix();
    const proxy = await startRedisProxy();
    const crashed = await instance(prefix, { leaseMs: 300, redisUrl: proxy.url });
    const { slots: survivor } = await instance(prefix, { leaseMs: 300 });
    await crashed.slots.acquire('conn', 'u', 'c1', 1);
    expect((await survivor.acquire('conn', 'u', 'c2', 1)).allowed).toBe(false);
    await proxy.cut(); // the instance can neither renew nor release any more
    await eventually(async () => (await survivor.acquire('conn', 'u', 'c2', 1)).allowed, 2000);
    await proxy.close();
  });

  it('counts per instance while Redis is unreachable and puts its slots back into Redis after', async () => {
    const prefix = uniqueRedisPrefix();
    const proxy = await startRedisProxy();
    const { slots: a, redis } = await instance(prefix, { leaseMs: 300, redisUrl: proxy.url });
    const { slots: b } = await instance(prefix, { leaseMs: 300 });
    await proxy.cut();
    await eventually(() => redis.mode() === 'local');
    expect((await a.acquire('conn', 'u', 'c1', 1)).allowed).toBe(true);
    expect((await a.acquire('conn', 'u', 'c2', 1)).allowed).toBe(false);
    await proxy.restore();
    await eventually(() => redis.mode() === 'redis');
    // The slot taken during the outage now counts on the other instance too.
    // Each probe uses a fresh holder and gives the slot back: a probe that got in before the put-back must not
    // itself occupy the slot (or be re-admitted as its own holder) on the next try.
    let probe = 0;
    await eventually(async () => {
      const holder = `probe-${probe++}`;
      const decision = await b.acquire('conn', 'u', holder, 1);
      if (decision.allowed) await b.release('conn', 'u', holder);
      return !decision.allowed;
    }, 10_000);
    await proxy.close();
  });
});
