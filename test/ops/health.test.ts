import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createHealthMonitor, type HealthMonitorOptions } from '../../src/observability/health';
import { createMetrics } from '../../src/observability/metrics';

const logger = pino({ level: 'silent' });

function monitor(overrides: Partial<HealthMonitorOptions> = {}) {
  const metrics = createMetrics({ processMetrics: false });
  const health = createHealthMonitor({
    checkDatabase: async () => 1,
    metrics,
    logger,
    intervalMs: 60_000,
    ...overrides,
  });
  const gauge = async (name: string) =>
    (await metrics.registry.getSingleMetric(name)?.get())?.values[0]?.value;
  return { health, metrics, gauge };
}

describe('health monitor', () => {
  it('reports the database up and Redis disabled in single-instance mode', async () => {
    const { health, gauge } = monitor();
    const snapshot = await health.refresh();
    expect(snapshot).toMatchObject({ database: 'up', redis: 'disabled', degraded: false });
    expect(await gauge('expediter_database_up')).toBe(1);
    expect(await gauge('expediter_redis_up')).toBe(1);
  });

  it('is degraded while Redis is down, read live without waiting for a check', async () => {
    let redis: 'up' | 'down' = 'up';
    const { health, gauge } = monitor({ redisStatus: () => redis });
    await health.refresh();
    redis = 'down';
    expect(health.snapshot()).toMatchObject({ redis: 'down', degraded: true });
    expect(await gauge('expediter_degraded')).toBe(1);
    expect(await gauge('expediter_redis_up')).toBe(0);
    redis = 'up';
    expect(health.snapshot().degraded).toBe(false);
    expect(await gauge('expediter_degraded')).toBe(0);
  });

  it('marks the database down on failure, and on a check that hangs past the timeout', async () => {
    let mode: 'ok' | 'fail' | 'hang' = 'fail';
    const { health, gauge } = monitor({
      checkTimeoutMs: 50,
      checkDatabase: () =>
        mode === 'ok'
          ? Promise.resolve()
          : mode === 'fail'
            ? Promise.reject(new Error('refused'))
            : new Promise(() => {}),
    });
    expect((await health.refresh()).database).toBe('down');
    expect(await gauge('expediter_database_up')).toBe(0);
    mode = 'hang';
    expect((await health.refresh()).database).toBe('down');
    mode = 'ok';
    expect((await health.refresh()).database).toBe('up');
  });

  it('stops calling a failing database once the circuit opens', async () => {
    let calls = 0;
    const { health, gauge } = monitor({
      checkDatabase: async () => {
        calls += 1;
        throw new Error('refused');
      },
    });
    for (let i = 0; i < 6; i++) await health.refresh();
    expect(calls).toBe(3);
    expect(await gauge('expediter_circuit_breaker_state')).toBe(2);
  });

  it('publishes the outbox backlog and its age', async () => {
    const { health, gauge } = monitor({ outboxBacklog: async () => ({ count: 7, oldestAgeSeconds: 2.5 }) });
    expect((await health.refresh()).outbox).toEqual({ count: 7, oldestAgeSeconds: 2.5 });
    expect(await gauge('expediter_outbox_backlog')).toBe(7);
    expect(await gauge('expediter_outbox_oldest_age_seconds')).toBe(2.5);
  });

  it('shares one check between concurrent refreshes', async () => {
    let calls = 0;
    const { health } = monitor({
      checkDatabase: async () => {
        calls += 1;
      },
    });
    await Promise.all([health.refresh(), health.refresh(), health.refresh()]);
    expect(calls).toBe(1);
  });
});
