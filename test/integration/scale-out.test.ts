import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createOrder,
  freePort,
  ORDER_EVENTS,
  type OrderEvent,
  type OwnRedis,
  readiness,
  startOwnRedis,
  UPDATE_STATUS,
} from '../ops/support';
import { eventually } from '../support/eventually';
import { startTestServer, type TestServer, uniqueRedisPrefix, useInstances } from '../support/server';

describe('three instances behind no sticky load balancer', () => {
  const env = { STATS_REPORT_INTERVAL_MS: '200', PLATFORM_TENANTS: 'acme' };
  const instances = useInstances(3, { env });

  it('fans every mutation, whichever instance took it, out to the subscribers of every instance, in order', async () => {
    const [a, b, c] = instances as [TestServer, TestServer, TestServer];
    const manager = await a.token('acme-manager');
    const downtown = [];
    const uptown = [];
    for (const instance of instances) {
      const client = await instance.connect(manager);
      downtown.push(await client.live<OrderEvent>(ORDER_EVENTS, { storeId: 'acme-downtown' }));
      uptown.push(await client.live<OrderEvent>(ORDER_EVENTS, { storeId: 'acme-uptown' }));
    }

    const staff = await a.token('acme-staff');
    const orderId = await createOrder(a, staff);
    for (const [instance, status] of [
      [b, 'ACCEPTED'],
      [c, 'IN_PROGRESS'],
      [a, 'READY'],
    ] as const) {
      const result = await instance.gql(UPDATE_STATUS, { orderId, status }, { token: staff });
      expect(result.errors).toBeUndefined();
    }

    const expected = [
      ['CREATED', 'PENDING'],
      ['STATUS_CHANGED', 'ACCEPTED'],
      ['STATUS_CHANGED', 'IN_PROGRESS'],
      ['STATUS_CHANGED', 'READY'],
    ];
    const cursors: string[][] = [];
    for (const events of downtown) {
      const received = (await events.take(expected.length)).map((r) => r.data!.orderUpdated);
      expect(received.map((e) => [e.kind, e.order.status])).toEqual(expected);
      expect(new Set(received.map((e) => e.order.id))).toEqual(new Set([orderId]));
      cursors.push(received.map((e) => e.cursor));
    }
    expect(cursors[1]).toEqual(cursors[0]);
    expect(cursors[2]).toEqual(cursors[0]);
    // Every subscriber's next event is the next order of its store: nothing came twice, nothing crossed stores.
    const nextDowntown = await createOrder(b, staff);
    const nextUptown = await createOrder(c, await c.token('acme-manager'), 'acme-uptown');
    for (const events of downtown)
      expect((await events.next()).data?.orderUpdated.order.id).toBe(nextDowntown);
    for (const events of uptown) expect((await events.next()).data?.orderUpdated.order.id).toBe(nextUptown);

    const admin = await b.token('acme-admin');
    const stats = await eventually(async () => {
      const result = await b.gql<{ serverStats: { cluster: { instances: number; subscriptions: number } } }>(
        'query { serverStats { cluster { instances subscriptions } } }',
        {},
        { token: admin },
      );
      const cluster = result.data?.serverStats.cluster;
      return cluster?.instances === 3 && cluster.subscriptions === 6 ? cluster : undefined;
    });
    expect(stats).toEqual({ instances: 3, subscriptions: 6 });
  });
});

describe('Redis Sentinel through ioredis options', () => {
  let master: OwnRedis;
  let sentinel: OwnRedis;
  const instances: TestServer[] = [];

  beforeAll(async () => {
    master = await startOwnRedis();
    sentinel = await startOwnRedis({ sentinelOf: master.port });
    // REDIS_URL names no reachable server: only the sentinel can tell the instances where the master is.
    const env = {
      REDIS_SENTINELS: `127.0.0.1:${sentinel.port}`,
      REDIS_SENTINEL_NAME: 'expediter',
    };
    const redisPrefix = uniqueRedisPrefix();
    const unreachable = `redis://127.0.0.1:${await freePort()}`;
    const first = await startTestServer({ redisUrl: unreachable, redisPrefix, env });
    instances.push(first);
    instances.push(
      await startTestServer({ redisUrl: unreachable, redisPrefix, env, databaseUrl: first.databaseUrl }),
    );
  });
  afterAll(async () => {
    for (const instance of instances.reverse()) await instance.close();
    await sentinel?.stop();
    await master?.stop();
  });

  it('finds the master through the sentinel and fans out across instances', async () => {
    const [a, b] = instances as [TestServer, TestServer];
    for (const instance of instances)
      expect((await readiness(instance.url)).body).toMatchObject({ redis: 'up' });
    const events = await (await b.connect(await b.token('acme-manager'))).live<OrderEvent>(ORDER_EVENTS, {
      storeId: 'acme-downtown',
    });
    const orderId = await createOrder(a, await a.token('acme-staff'));
    expect((await events.next()).data?.orderUpdated.order.id).toBe(orderId);
  });
});
