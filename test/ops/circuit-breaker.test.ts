import { describe, expect, it } from 'vitest';
import {
  CircuitOpenError,
  createCircuitBreaker,
  redisRetryStrategy,
} from '../../src/observability/circuit-breaker';

function clock(start = 0) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

const fail = () => Promise.reject(new Error('down'));
const succeed = () => Promise.resolve('ok');

describe('circuit breaker', () => {
  it('opens after the threshold of consecutive failures and then refuses without calling', async () => {
    const time = clock();
    const breaker = createCircuitBreaker({
      name: 'db',
      failureThreshold: 2,
      cooldownMs: 1000,
      now: time.now,
    });
    await expect(breaker.run(fail)).rejects.toThrow('down');
    expect(breaker.state()).toBe('closed');
    await expect(breaker.run(fail)).rejects.toThrow('down');
    expect(breaker.state()).toBe('open');

    let calls = 0;
    const counted = () => {
      calls += 1;
      return succeed();
    };
    await expect(breaker.run(counted)).rejects.toBeInstanceOf(CircuitOpenError);
    expect(calls).toBe(0);
  });

  it('a success resets the failure count', async () => {
    const breaker = createCircuitBreaker({ name: 'db', failureThreshold: 2 });
    await expect(breaker.run(fail)).rejects.toThrow();
    await breaker.run(succeed);
    await expect(breaker.run(fail)).rejects.toThrow();
    expect(breaker.state()).toBe('closed');
  });

  it('after the cooldown lets one trial through: success closes it', async () => {
    const time = clock();
    const changes: string[] = [];
    const breaker = createCircuitBreaker({
      name: 'db',
      failureThreshold: 1,
      cooldownMs: 1000,
      now: time.now,
      onStateChange: (state) => changes.push(state),
    });
    await expect(breaker.run(fail)).rejects.toThrow();
    time.advance(1000);
    await expect(breaker.run(succeed)).resolves.toBe('ok');
    expect(changes).toEqual(['open', 'half_open', 'closed']);
  });

  it('a failed trial doubles the cooldown, up to the maximum', async () => {
    const time = clock();
    const breaker = createCircuitBreaker({
      name: 'db',
      failureThreshold: 1,
      cooldownMs: 1000,
      maxCooldownMs: 3000,
      now: time.now,
    });
    await expect(breaker.run(fail)).rejects.toThrow('down');
    time.advance(1000);
    await expect(breaker.run(fail)).rejects.toThrow('down'); // trial fails: cooldown 2000
    time.advance(1999);
    await expect(breaker.run(succeed)).rejects.toBeInstanceOf(CircuitOpenError);
    time.advance(1);
    await expect(breaker.run(fail)).rejects.toThrow('down'); // trial fails: cooldown min(4000, 3000)
    time.advance(2999);
    await expect(breaker.run(succeed)).rejects.toMatchObject({ retryInMs: 1 });
    time.advance(1);
    await expect(breaker.run(succeed)).resolves.toBe('ok');
  });

  it('refuses concurrent calls while a trial is in flight', async () => {
    const time = clock();
    const breaker = createCircuitBreaker({ name: 'db', failureThreshold: 1, cooldownMs: 10, now: time.now });
    await expect(breaker.run(fail)).rejects.toThrow();
    time.advance(10);
    let release: () => void = () => {};
    const trial = breaker.run(() => new Promise<void>((resolve) => (release = resolve)));
    await expect(breaker.run(succeed)).rejects.toBeInstanceOf(CircuitOpenError);
    release();
    await trial;
    expect(breaker.state()).toBe('closed');
  });
});

describe('redis retry strategy', () => {
  it('backs off exponentially between half and all of a capped ceiling', () => {
    const low = redisRetryStrategy({ baseMs: 100, maxMs: 5000, random: () => 0 });
    const high = redisRetryStrategy({ baseMs: 100, maxMs: 5000, random: () => 1 });
    expect([1, 2, 3, 4].map(low)).toEqual([50, 100, 200, 400]);
    expect([1, 2, 3, 4].map(high)).toEqual([100, 200, 400, 800]);
    expect(high(10)).toBe(5000);
    expect(low(1000)).toBe(2500);
  });
});
