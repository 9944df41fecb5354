import { describe, expect, it } from 'vitest';
import { backoffDelay, delayAfterShed, retryAfterOf } from '../../src/client/backoff';

describe('backoffDelay', () => {
  const lowest = () => 0;
  const highest = () => 1;

  it('full jitter: anywhere between 0 and a ceiling that doubles from the initial delay', () => {
    expect([0, 1, 2, 3].map((n) => backoffDelay(n, { initialMs: 100 }, highest))).toEqual([
      100, 200, 400, 800,
    ]);
    expect([0, 1, 2, 3].map((n) => backoffDelay(n, { initialMs: 100 }, lowest))).toEqual([0, 0, 0, 0]);
    expect(backoffDelay(3, { initialMs: 100 }, () => 0.5)).toBe(400);
  });

  it('never exceeds the cap', () => {
    expect(backoffDelay(30, { initialMs: 100, maxMs: 5000 }, highest)).toBe(5000);
    expect(backoffDelay(30, { initialMs: 100, maxMs: 5000 }, () => 0.5)).toBe(2500);
  });

  it('spreads a fleet that lost its connection together evenly over the ceiling', () => {
    let seed = 7;
    const random = () => {
      seed = (seed * 16_807) % 2_147_483_647;
      return seed / 2_147_483_647;
    };
    const delays = Array.from({ length: 10_000 }, () => backoffDelay(2, { initialMs: 250 }, random));
    const perBucket = [0, 0, 0, 0];
    for (const delay of delays) perBucket[Math.min(3, Math.floor(delay / 250))]!++;
    // 1000 ms ceiling, four buckets of 250 ms: about 2500 each, no bucket twice another.
    for (const count of perBucket) expect(count).toBeGreaterThan(2200);
    expect(Math.max(...delays)).toBeLessThanOrEqual(1000);
  });

  it('defaults to a 250 ms ceiling growing to at most 15 s', () => {
    expect(backoffDelay(0, {}, highest)).toBe(250);
    expect(backoffDelay(100, {}, highest)).toBe(15_000);
  });
});

describe('retryAfter of a shedding server', () => {
  it('reads retryAfter (seconds) from a 1013 close reason, in ms', () => {
    expect(retryAfterOf({ code: 1013, reason: 'Server busy, retryAfter=2.35' })).toBe(2350);
    expect(retryAfterOf({ code: 1013, reason: 'Server busy, retryAfter=1' })).toBe(1000);
  });

  it('ignores other closes and reasons without it', () => {
    expect(retryAfterOf({ code: 1001, reason: 'retryAfter=3' })).toBeUndefined();
    expect(retryAfterOf({ code: 1013, reason: 'Try again later' })).toBeUndefined();
    expect(retryAfterOf({ code: 1013 })).toBeUndefined();
  });

  it('waits at least retryAfter, at most a quarter more', () => {
    expect(delayAfterShed(2000, () => 0)).toBe(2000);
    expect(delayAfterShed(2000, () => 1)).toBe(2500);
  });
});
