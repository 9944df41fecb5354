import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Activity } from '../../src/observability/activity';
import { CLUSTER_STATS_KEY, clusterTotals, createClusterStats } from '../../src/observability/cluster-stats';
import { TEST_REDIS_URL, uniqueRedisPrefix } from '../support/server';

const logger = pino({ level: 'silent' });
const state = () => ({ ready: true, degraded: false, draining: false, outboxBacklog: 0 });

describe('cluster stats through Redis', () => {
  let redis: Redis;
  const prefix = uniqueRedisPrefix();
  beforeAll(() => {
    redis = new Redis(TEST_REDIS_URL, { keyPrefix: prefix });
  });
  afterAll(async () => {
    await redis.del(CLUSTER_STATS_KEY);
    await redis.quit();
  });

  function instance(instanceId: string, activity = new Activity(), redisUp = () => true) {
    return createClusterStats({
      instanceId,
      hostname: 'test-host',
      activity,
      state,
      redis: () => redis,
      redisUp,
      intervalMs: 1000,
      logger,
    });
  }

  it('each instance sees every instance that reported, itself measured now', async () => {
    const activityA = new Activity();
    const activityB = new Activity();
    const a = instance('a', activityA);
    const b = instance('b', activityB);
    activityA.connectionOpened();
    activityA.subscriptionStarted('orderUpdated', 'acme', 'acme-downtown');
    activityB.connectionOpened();
    activityB.connectionOpened();
    activityB.subscriptionStarted('orderUpdated', 'acme', 'acme-downtown');
    activityB.subscriptionStarted('kdsTicket', 'globex', 'globex-central');
    await Promise.all([a.report(), b.report()]);

    activityA.connectionOpened(); // after the report: A's own view is live
    const view = await a.cluster();
    expect(view.complete).toBe(true);
    expect(view.instances.map((i) => [i.instanceId, i.connections])).toEqual([
      ['a', 2],
      ['b', 2],
    ]);
    expect(clusterTotals(view.instances)).toMatchObject({
      instances: 2,
      connections: 4,
      subscriptions: 3,
      subscriptionsByField: { orderUpdated: 2, kdsTicket: 1 },
      subscriptionsByStore: [
        { tenantId: 'acme', storeId: 'acme-downtown', count: 2 },
        { tenantId: 'globex', storeId: 'globex-central', count: 1 },
      ],
    });
    await Promise.all([a.stop(), b.stop()]);
  });

  it('forgets instances that stopped reporting, and withdraws on stop', async () => {
    const a = instance('a2');
    const gone = instance('gone');
    await Promise.all([a.report(), gone.report()]);
    const old = JSON.parse((await redis.hget(CLUSTER_STATS_KEY, 'gone')) as string);
    await redis.hset(
      CLUSTER_STATS_KEY,
      'gone',
      JSON.stringify({ ...old, reportedAt: new Date(0).toISOString() }),
    );
    expect((await a.cluster()).instances.map((i) => i.instanceId)).toEqual(['a2']);
    expect(await redis.hexists(CLUSTER_STATS_KEY, 'gone')).toBe(0);

    await a.stop();
    expect(await redis.hexists(CLUSTER_STATS_KEY, 'a2')).toBe(0);
  });

  it('while Redis is down it answers with this instance only and says so', async () => {
    const lonely = instance('lonely', new Activity(), () => false);
    const view = await lonely.cluster();
    expect(view.complete).toBe(false);
    expect(view.instances.map((i) => i.instanceId)).toEqual(['lonely']);
  });

  it('reports throughput as rates of the activity totals', async () => {
    const activity = new Activity();
    const stats = instance('rates', activity);
    for (let i = 0; i < 10; i++) activity.eventPublished();
    const { throughput } = stats.local();
    // Rates are per second over at least one second: 10 events since start => at most 10/s.
    expect(throughput.eventsPublishedPerSecond).toBeGreaterThan(0);
    expect(throughput.eventsPublishedPerSecond).toBeLessThanOrEqual(10);
    expect(throughput.eventsDeliveredPerSecond).toBe(0);
  });
});
