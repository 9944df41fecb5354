import { type CircuitBreaker, createCircuitBreaker } from './circuit-breaker';
import type { Logger } from './logger';
import { CIRCUIT_STATE_VALUE, type Metrics } from './metrics';

export type DependencyStatus = 'up' | 'down';

export interface OutboxBacklog {
  /** Committed events not yet published. */
  count: number;
  /** Age of the oldest of them in seconds (0 when none). */
  oldestAgeSeconds: number;
}

export interface HealthSnapshot {
  database: DependencyStatus;
  /** 'disabled' in single-instance mode (no REDIS_URL). */
  redis: DependencyStatus | 'disabled';
  /** Redis is configured but unreachable: local delivery only, remote delivery waits in the outbox. */
  degraded: boolean;
  outbox: OutboxBacklog | null;
  /** When the database was last checked (epoch ms). */
  checkedAt: number;
}

export interface HealthMonitorOptions {
  /** Any cheap round trip (SELECT 1). */
  checkDatabase: () => Promise<unknown>;
  /** Live Redis pub/sub status; omit in single-instance mode. */
  redisStatus?: () => DependencyStatus;
  outboxBacklog?: () => Promise<OutboxBacklog>;
  metrics: Metrics;
  logger: Logger;
  intervalMs: number;
  /** A check slower than this counts as a failure (a black-holed database must not hang /ready). */
  checkTimeoutMs?: number;
  breaker?: CircuitBreaker;
}

export interface HealthMonitor {
  /** The latest database result with the live Redis status; cheap, for /ready and serverStats. */
  snapshot(): HealthSnapshot;
  /** Checks now (through the circuit breaker) and updates the snapshot, gauges and logs. */
  refresh(): Promise<HealthSnapshot>;
  start(): void;
  stop(): void;
}

/**
 * Watches the database (periodically, behind a circuit breaker), Redis (live status of the pub/sub
 * connections) and the outbox backlog; keeps the status gauges current and logs each transition once.
 */
export function createHealthMonitor(options: HealthMonitorOptions): HealthMonitor {
  const { metrics, logger } = options;
  const timeoutMs = options.checkTimeoutMs ?? 2000;
  const breaker =
    options.breaker ??
    createCircuitBreaker({
      name: 'database',
      onStateChange: (state, previous) => {
        metrics.circuitState.set({ dependency: 'database' }, CIRCUIT_STATE_VALUE[state]);
        logger.warn({ dependency: 'database', state, previous }, 'circuit breaker state changed');
      },
    });
  metrics.circuitState.set({ dependency: 'database' }, CIRCUIT_STATE_VALUE[breaker.state()]);

  let database: DependencyStatus = 'up';
  let outbox: OutboxBacklog | null = null;
  let checkedAt = 0;
  let lastDegraded = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<HealthSnapshot> | undefined;

  function snapshot(): HealthSnapshot {
    const redis = options.redisStatus ? options.redisStatus() : 'disabled';
    return { database, redis, degraded: redis === 'down', outbox, checkedAt };
  }

  async function check(): Promise<HealthSnapshot> {
    const databaseNow = await breaker
      .run(() => withTimeout(options.checkDatabase(), timeoutMs))
      .then(() => 'up' as const)
      .catch(() => 'down' as const);
    if (databaseNow !== database) {
      if (databaseNow === 'down') logger.error('database unreachable');
      else logger.info('database reachable again');
    }
    database = databaseNow;
    checkedAt = Date.now();
    if (database === 'up' && options.outboxBacklog) {
      outbox = await withTimeout(options.outboxBacklog(), timeoutMs).catch(() => outbox);
    }
    const current = snapshot();
    record(current);
    return current;
  }

  function record(current: HealthSnapshot) {
    metrics.databaseUp.set(current.database === 'up' ? 1 : 0);
    metrics.redisUp.set(current.redis === 'down' ? 0 : 1);
    metrics.degraded.set(current.degraded ? 1 : 0);
    if (current.outbox) {
      metrics.outboxBacklog.set(current.outbox.count);
      metrics.outboxOldestAge.set(current.outbox.oldestAgeSeconds);
    }
    if (current.degraded !== lastDegraded) {
      lastDegraded = current.degraded;
      if (current.degraded) {
        logger.warn(
          'degraded: Redis unreachable; serving local subscribers, remote delivery waits in the outbox',
        );
      } else {
        logger.info('Redis reachable again; leaving degraded mode, the relay publishes the outbox backlog');
      }
    }
  }

  function refresh(): Promise<HealthSnapshot> {
    running ??= check().finally(() => {
      running = undefined;
    });
    return running;
  }

  return {
    snapshot() {
      const current = snapshot();
      record(current);
      return current;
    },
    refresh,
    start() {
      if (timer) return;
      void refresh();
      timer = setInterval(() => void refresh(), options.intervalMs);
      timer.unref();
    },
    stop() {
      clearInterval(timer);
      timer = undefined;
    },
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
