import { afterEach, describe, expect, it } from 'vitest';
import { createLimiterRedis, type LimiterRedis } from '../../src/limits/limiter-redis';
import { createMemoryWindows, createRateLimiter, type RateLimiter } from '../../src/limits/rate-limiter';
import { createLogger } from '../../src/observability/logger';
import { eventually } from '../support/eventually';
import { uniqueRedisPrefix } from '../support/server';
import { REDIS_URL, recordingLogger, sleep, startRedisProxy } from './support';

const silent = createLogger('silent');
const rule = (limit: number, windowMs = 60_000) => ({ name: 'test', limit, windowMs });

describe('sliding window in memory', () => {
  it('allows N calls in a window, refuses call N+1 and says when to retry', () => {
    let now = 1_000;
    const windows = createMemoryWindows(() => now);
    const results = [0, 1, 2].map(() => windows.consume('k', rule(3, 1000)));
    expect(results.map((r) => [r.allowed, r.remaining])).toEqual([
      [true, 2],
      [true, 1],
      [true, 0],
    ]);
    now = 1_400;
    expect(windows.consume('k', rule(3, 1000))).toMatchObject({
      allowed: false,
      remaining: 0,
      retryAfterMs: 600,
    });
    windows.close();
  });

  it('slides: each call frees its place one window after it was made', () => {
    let now = 0;
    const windows = createMemoryWindows(() => now);
    windows.consume('k', rule(2, 1000));
    now = 500;
    windows.consume('k', rule(2, 1000));
    now = 999;
    expect(windows.consume('k', rule(2, 1000)).allowed).toBe(false);
    now = 1000;
    expect(windows.consume('k', rule(2, 1000))).toMatchObject({
      allowed: true,
      remaining: 0,
      resetAfterMs: 1000,
    });
    now = 1499;
    expect(windows.consume('k', rule(2, 1000)).allowed).toBe(false);
    windows.close();
  });

  it('counts each key separately and does not count refusals', () => {
    let now = 0;
    const windows = createMemoryWindows(() => now);
    windows.consume('a', rule(1, 1000));
    for (let i = 0; i < 5; i++) expect(windows.consume('a', rule(1, 1000)).allowed).toBe(false);
    expect(windows.consume('b', rule(1, 1000)).allowed).toBe(true);
    now = 1000;
    expect(windows.consume('a', rule(1, 1000)).allowed).toBe(true);
    windows.close();
  });
});

describe('sliding window in Redis', () => {
  const open: Array<{ limiter: RateLimiter; redis: LimiterRedis }> = [];
  async function limiter(keyPrefix: string, redisUrl = REDIS_URL, logger = silent, readyWithinMs = 2000) {
    const redis = createLimiterRedis({ redisUrl, logger, commandTimeoutMs: 300 });
    await redis.ready(readyWithinMs);
    const created = { limiter: createRateLimiter({ redis, keyPrefix }), redis };
    open.push(created);
    return created;
  }
  afterEach(async () => {
    for (const { limiter, redis } of open.splice(0)) {
      limiter.close();
      await redis.close();
    }
  });

  it('allows N calls, refuses N+1, and is shared by every instance with the same prefix', async () => {
    const prefix = uniqueRedisPrefix();
    const a = await limiter(prefix);
    const b = await limiter(prefix);
    expect(a.limiter.mode()).toBe('redis');
    const decisions = [
      await a.limiter.consume(rule(3), 'user-1'),
      await b.limiter.consume(rule(3), 'user-1'),
      await a.limiter.consume(rule(3), 'user-1'),
    ];
    expect(decisions.map((d) => [d.allowed, d.remaining])).toEqual([
      [true, 2],
      [true, 1],
      [true, 0],
    ]);
    const refused = await b.limiter.consume(rule(3), 'user-1');
    expect(refused.allowed).toBe(false);
    expect(refused.retryAfterMs).toBeGreaterThan(59_000);
    expect(refused.retryAfterMs).toBeLessThanOrEqual(60_000);
    expect((await b.limiter.consume(rule(3), 'user-2')).allowed).toBe(true);
  });

  it('keeps environments with different prefixes apart', async () => {
    const a = await limiter(uniqueRedisPrefix());
    const b = await limiter(uniqueRedisPrefix());
    expect((await a.limiter.consume(rule(1), 'u')).allowed).toBe(true);
    expect((await b.limiter.consume(rule(1), 'u')).allowed).toBe(true);
    expect((await a.limiter.consume(rule(1), 'u')).allowed).toBe(false);
  });

  it('gives the budget back once the window has passed', async () => {
    const a = await limiter(uniqueRedisPrefix());
    const short = rule(2, 300);
    await a.limiter.consume(short, 'u');
    await a.limiter.consume(short, 'u');
    const refused = await a.limiter.consume(short, 'u');
    expect(refused.allowed).toBe(false);
    await sleep(refused.retryAfterMs + 20);
    expect((await a.limiter.consume(short, 'u')).allowed).toBe(true);
  });

  it('falls back to per-instance limits while Redis is unreachable, says so once, and recovers by itself', async () => {
    const proxy = await startRedisProxy();
    const { logger, lines } = recordingLogger();
    const a = await limiter(uniqueRedisPrefix(), proxy.url, logger);
    const modes: string[] = [];
    a.redis.onModeChange((mode) => modes.push(mode));
    expect(a.limiter.mode()).toBe('redis');
    expect((await a.limiter.consume(rule(2), 'u')).allowed).toBe(true);

    await proxy.cut();
    await eventually(() => a.limiter.mode() === 'local');
    // Still limited, now per instance: neither everything through nor everything refused.
    expect((await a.limiter.consume(rule(2), 'u')).allowed).toBe(true);
    expect((await a.limiter.consume(rule(2), 'u')).allowed).toBe(true);
    expect((await a.limiter.consume(rule(2), 'u')).allowed).toBe(false);
    await sleep(300); // reconnection attempts keep failing meanwhile
    expect(lines.filter((l) => l.level === 'warn')).toHaveLength(1);
    expect(lines.find((l) => l.level === 'warn')?.message).toContain('per-instance');

    await proxy.restore();
    await eventually(() => a.limiter.mode() === 'redis');
    // Shared again: the count kept in Redis before the outage applies.
    expect((await a.limiter.consume(rule(2), 'u')).allowed).toBe(true);
    expect((await a.limiter.consume(rule(2), 'u')).allowed).toBe(false);
    expect(modes).toEqual(['local', 'redis']);
    expect(lines.at(-1)).toEqual({ level: 'info', message: 'rate limits shared through Redis again' });
    await proxy.close();
  });

  it('starts per-instance when Redis is not reachable at all, without failing requests', async () => {
    const proxy = await startRedisProxy();
    await proxy.cut();
    const a = await limiter(uniqueRedisPrefix(), proxy.url, silent, 200);
    expect(a.limiter.mode()).toBe('local');
    expect((await a.limiter.consume(rule(1), 'u')).allowed).toBe(true);
    expect((await a.limiter.consume(rule(1), 'u')).allowed).toBe(false);
    await proxy.restore();
    await eventually(() => a.limiter.mode() === 'redis');
    await proxy.close();
  });
});
