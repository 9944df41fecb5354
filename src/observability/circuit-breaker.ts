export type CircuitState = 'closed' | 'open' | 'half_open';

export class CircuitOpenError extends Error {
  override name = 'CircuitOpenError';
  constructor(
    readonly dependency: string,
    readonly retryInMs: number,
  ) {
    super(`${dependency} circuit is open; next attempt in ${retryInMs} ms`);
  }
}

export interface CircuitBreakerOptions {
  /** Names the dependency in errors, logs and metrics. */
  name: string;
  /** Consecutive failures that open the circuit. */
  failureThreshold?: number;
  /** First wait before a trial call; doubles after each failed trial up to maxCooldownMs. */
  cooldownMs?: number;
  maxCooldownMs?: number;
  onStateChange?: (state: CircuitState, previous: CircuitState) => void;
  now?: () => number;
}

export interface CircuitBreaker {
  /** Runs fn unless the circuit is open (then rejects with CircuitOpenError without calling it). */
  run<T>(fn: () => Promise<T>): Promise<T>;
  state(): CircuitState;
}

/**
 * Stops hammering a dependency that is down: after `failureThreshold` consecutive failures, calls are
 * refused at once for a cooldown; then one trial call decides between closing and a longer cooldown.
 */
export function createCircuitBreaker(options: CircuitBreakerOptions): CircuitBreaker {
  const threshold = options.failureThreshold ?? 3;
  const baseCooldown = options.cooldownMs ?? 1000;
  const maxCooldown = options.maxCooldownMs ?? 30_000;
  const now = options.now ?? Date.now;
  let state: CircuitState = 'closed';
  let failures = 0;
  let cooldown = baseCooldown;
  let openedAt = 0;
  let trialInProgress = false;

  function moveTo(next: CircuitState) {
    if (next === state) return;
    const previous = state;
    state = next;
    options.onStateChange?.(next, previous);
  }

  function open(nextCooldown: number) {
    cooldown = Math.min(nextCooldown, maxCooldown);
    openedAt = now();
    moveTo('open');
  }

  return {
    state: () => state,
    async run(fn) {
      if (state === 'open') {
        const waited = now() - openedAt;
        if (waited < cooldown) throw new CircuitOpenError(options.name, cooldown - waited);
        moveTo('half_open');
      }
      if (state === 'half_open') {
        if (trialInProgress) throw new CircuitOpenError(options.name, 0);
        trialInProgress = true;
      }
      const trial = state === 'half_open';
      try {
        const value = await fn();
        failures = 0;
        cooldown = baseCooldown;
        moveTo('closed');
        return value;
      } catch (error) {
        failures += 1;
        if (trial) open(cooldown * 2);
        else if (failures >= threshold) open(baseCooldown);
        throw error;
      } finally {
        if (trial) trialInProgress = false;
      }
    },
  };
}

/**
 * ioredis `retryStrategy`: exponential backoff with jitter, capped, never giving up (a Redis that
 * returns must be found again). Many instances losing Redis together do not reconnect in lockstep.
 */
export function redisRetryStrategy(options: { baseMs?: number; maxMs?: number; random?: () => number } = {}) {
  const base = options.baseMs ?? 100;
  const max = options.maxMs ?? 5000;
  const random = options.random ?? Math.random;
  return (attempt: number): number => {
    const ceiling = Math.min(max, base * 2 ** Math.min(attempt - 1, 16));
    return Math.round(ceiling / 2 + (random() * ceiling) / 2);
  };
}
