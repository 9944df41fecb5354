import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../../src/client/backoff';

describe('backoffDelay', () => {
  const lowest = () => 0;
  const highest = () => 1;

  it('doubles from the initial delay, between half and all of it', () => {
    expect([0, 1, 2, 3].map((n) => backoffDelay(n, { initialMs: 100 }, highest))).toEqual([
      100, 200, 400, 800,
    ]);
    expect([0, 1, 2, 3].map((n) => backoffDelay(n, { initialMs: 100 }, lowest))).toEqual([50, 100, 200, 400]);
  });

  it('never exceeds the cap', () => {
    expect(backoffDelay(30, { initialMs: 100, maxMs: 5000 }, highest)).toBe(5000);
    expect(backoffDelay(30, { initialMs: 100, maxMs: 5000 }, lowest)).toBe(2500);
  });

  it('spreads clients out with jitter', () => {
    const delays = new Set([0.1, 0.5, 0.9].map((r) => backoffDelay(4, { initialMs: 100 }, () => r)));
    expect(delays.size).toBe(3);
  });

  it('defaults to 250 ms growing to at most 15 s', () => {
    expect(backoffDelay(0, {}, highest)).toBe(250);
    expect(backoffDelay(100, {}, highest)).toBe(15_000);
  });
});
