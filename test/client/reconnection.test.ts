import { afterEach, describe, expect, it, vi } from 'vitest';
import { Reconnection } from '../../src/client/reconnection';

describe('Reconnection', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('makes every subscription of a lost socket wait for the same backoff', async () => {
    vi.useFakeTimers();
    const reconnection = new Reconnection({ backoff: { initialMs: 100 }, random: () => 1 });
    const first = reconnection.retry({ code: 1006 });
    const second = reconnection.retry({ code: 1006 });
    expect(second).toBe(first);
    await vi.advanceTimersByTimeAsync(100);
    await expect(first).resolves.toBeUndefined();
  });

  it('backs off further while reconnects keep failing, and starts over once connected', async () => {
    vi.useFakeTimers();
    const reconnection = new Reconnection({ backoff: { initialMs: 100 }, random: () => 1 });
    const waits: number[] = [];
    for (let i = 0; i < 3; i++) waits.push(await timed(reconnection.retry({ code: 1006 })));
    reconnection.connected();
    waits.push(await timed(reconnection.retry({ code: 1006 })));
    expect(waits).toEqual([100, 200, 400, 100]);
  });

  it('asks for a fresh token once after 4401, and gives up when fresh tokens keep being refused', async () => {
    vi.useFakeTimers();
    const reconnection = new Reconnection({ backoff: { initialMs: 10 }, maxTokenRefreshes: 2 });
    expect(reconnection.takeRefresh()).toBe(false);
    await timed(reconnection.retry({ code: 4401 }));
    expect(reconnection.takeRefresh()).toBe(true);
    expect(reconnection.takeRefresh()).toBe(false);
    await timed(reconnection.retry({ code: 4401 }));
    await expect(reconnection.retry({ code: 4401, reason: 'Session revoked' })).rejects.toMatchObject({
      code: 'UNAUTHENTICATED',
      closeCode: 4401,
    });
  });

  it('reports errors that a retry cannot fix at once', async () => {
    const reconnection = new Reconnection();
    await expect(reconnection.retry({ code: 4403, reason: 'Store not allowed' })).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
    await expect(
      reconnection.retry([{ message: 'bad cursor', extensions: { code: 'BAD_USER_INPUT' } }]),
    ).rejects.toMatchObject({
      code: 'BAD_USER_INPUT',
    });
  });

  it('stops after retryAttempts failed reconnects', async () => {
    vi.useFakeTimers();
    const reconnection = new Reconnection({ retryAttempts: 1, backoff: { initialMs: 10 } });
    await timed(reconnection.retry({ code: 1006 }));
    await expect(reconnection.retry({ code: 1006 })).rejects.toMatchObject({ code: 'CONNECTION_CLOSED' });
  });

  it('waits what a shedding server (1013) asked, not the backoff, and keeps backing off after it', async () => {
    vi.useFakeTimers();
    const reconnection = new Reconnection({ backoff: { initialMs: 100 }, random: () => 0 });
    const shed = { code: 1013, reason: 'Server busy, retryAfter=1.5' };
    expect(await timed(reconnection.retry(shed))).toBe(1500);
    // The attempt still counted: a later plain loss backs off from the next ceiling (random 0: no wait).
    expect(await timed(reconnection.retry({ code: 1006 }))).toBeLessThanOrEqual(10);
  });

  it('reports a 1013 it gives up on as RATE_LIMITED with its retryAfter in seconds', async () => {
    const reconnection = new Reconnection({ retryAttempts: 0 });
    await expect(
      reconnection.retry({ code: 1013, reason: 'Server busy, retryAfter=2' }),
    ).rejects.toMatchObject({ code: 'RATE_LIMITED', closeCode: 1013, retryAfter: 2 });
  });

  it('cancels a pending wait when disposed', async () => {
    const reconnection = new Reconnection({ backoff: { initialMs: 60_000 } });
    const waiting = reconnection.retry({ code: 1006 });
    reconnection.dispose();
    await expect(waiting).rejects.toMatchObject({ code: 'CONNECTION_CLOSED' });
  });
});

/** Fake milliseconds a wait took. */
async function timed(wait: Promise<void>): Promise<number> {
  const start = Date.now();
  let done = false;
  wait.then(() => {
    done = true;
  });
  while (!done) await vi.advanceTimersByTimeAsync(10);
  return Date.now() - start;
}
