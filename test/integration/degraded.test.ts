import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createOrder,
  ORDER_EVENTS,
  type OrderEvent,
  readiness,
  sample,
  scrape,
  UPDATE_STATUS,
  useOwnRedis,
} from '../ops/support';
import { eventually } from '../support/eventually';
import { startTestServer, type TestServer, uniqueRedisPrefix } from '../support/server';

/** Two instances on a Redis of this test's own, which the test stops and starts again. */
// Redis is stopped and started again by PID, and two instances reconnect: slow on a busy machine.
describe('degraded mode: Redis goes away and comes back', { timeout: 120_000 }, () => {
  const redis = useOwnRedis();
  let a: TestServer;
  let b: TestServer;

  beforeAll(async () => {
    const redisPrefix = uniqueRedisPrefix();
    const env = { HEALTH_CHECK_INTERVAL_MS: '200' };
    a = await startTestServer({ redisUrl: redis.url, redisPrefix, env });
    b = await startTestServer({ redisUrl: redis.url, redisPrefix, env, databaseUrl: a.databaseUrl });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  it('serves local subscribers, reports degraded, and delivers the backlog to the other instance in order', async () => {
    const staff = await a.token('acme-staff');
    const manager = await a.token('acme-manager');
    const onA = await (await a.connect(manager)).live<OrderEvent>(ORDER_EVENTS, { storeId: 'acme-downtown' });
    const onB = await (await b.connect(manager)).live<OrderEvent>(ORDER_EVENTS, { storeId: 'acme-downtown' });

    const orderId = await createOrder(a, staff);
    const created = [(await onA.next()).data!.orderUpdated, (await onB.next()).data!.orderUpdated];
    expect(created.map((e) => e.kind)).toEqual(['CREATED', 'CREATED']);

    await redis.stop();
    for (const app of [a, b]) {
      const down = await eventually(async () => {
        const ready = await readiness(app.url);
        return ready.status === 503 ? ready : undefined;
      });
      expect(down.body).toMatchObject({ ready: false, status: 'degraded', redis: 'down', database: 'up' });
    }
    const degradedMetrics = await scrape(a.url);
    expect(sample(degradedMetrics, 'expediter_degraded')).toBe(1);
    expect(sample(degradedMetrics, 'expediter_redis_up')).toBe(0);

    // Committed while Redis is down: instance A's own subscriber gets every change at once.
    const statuses = ['ACCEPTED', 'IN_PROGRESS', 'READY'];
    for (const status of statuses) {
      const result = await a.gql(UPDATE_STATUS, { orderId, status }, { token: staff });
      expect(result.errors).toBeUndefined();
    }
    const local = await onA.take(statuses.length);
    expect(local.map((r) => r.data!.orderUpdated.order.status)).toEqual(statuses);
    await eventually(async () => sample(await scrape(a.url), 'expediter_outbox_backlog') >= statuses.length);

    await redis.start();
    for (const app of [a, b]) await eventually(async () => (await readiness(app.url)).status === 200, 20_000);

    // Instance B receives every event committed during the outage, in order, once.
    const remote = await onB.take(statuses.length, 15_000);
    expect(remote.map((r) => r.data!.orderUpdated.order.status)).toEqual(statuses);
    expect(remote.map((r) => r.data!.orderUpdated.cursor)).toEqual(
      local.map((r) => r.data!.orderUpdated.cursor),
    );
    await eventually(async () => sample(await scrape(a.url), 'expediter_outbox_backlog') === 0);
    expect(sample(await scrape(a.url), 'expediter_degraded')).toBe(0);

    // Live again across instances, and the next event on each is the next order: the relay's republishing of
    // the backlog, which reached A too, was dropped as duplicates.
    const next = await createOrder(b, staff);
    expect((await onA.next()).data?.orderUpdated.order.id).toBe(next);
    expect((await onB.next()).data?.orderUpdated.order.id).toBe(next);
  });
});
