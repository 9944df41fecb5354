import { parse } from 'graphql';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { AuthError } from '../../src/auth/errors';
import type { Principal } from '../../src/auth/principal';
import { createMemoryPubSub } from '../../src/events/pubsub-memory';
import type { EventStreams, StreamEvent } from '../../src/events/streams';
import { topicKind } from '../../src/events/topics';
import { Activity } from '../../src/observability/activity';
import { createMetrics } from '../../src/observability/metrics';
import { createInstrumentation, subscriptionTarget } from '../../src/server/instrument';

const logger = pino({ level: 'silent' });

function setup() {
  const metrics = createMetrics({ processMetrics: false });
  const activity = new Activity();
  const instrumentation = createInstrumentation({ metrics, activity, logger });
  const value = async (name: string, labels: Record<string, string> = {}) => {
    const metric = await metrics.registry.getSingleMetric(name)?.get();
    const entries =
      metric?.values.filter((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l)) ?? [];
    return entries.reduce((sum, v) => sum + v.value, 0);
  };
  return { metrics, activity, instrumentation, value };
}

describe('metrics registry', () => {
  it('gives each server instance its own registry, so several can live in one process', async () => {
    const a = createMetrics();
    const b = createMetrics();
    a.connectionsTotal.inc();
    expect((await a.connectionsTotal.get()).values[0]?.value).toBe(1);
    expect((await b.connectionsTotal.get()).values[0]?.value).toBe(0);
    expect(await a.registry.metrics()).toContain('process_cpu_user_seconds_total');
  });

  it.each([
    ['t:acme:store:acme-downtown:orders', 'orders'],
    ['t:acme:station:acme-downtown-grill:kds', 'kds'],
    ['t:acme:store:acme-downtown:role:MANAGER:notifications', 'notifications'],
    ['t:acme:user:acme-staff:notifications', 'notifications'],
    ['sys:revocations', 'revocations'],
    ['t:acme:something:else', 'other'],
  ])('labels topic %s as %s', (topic, kind) => {
    expect(topicKind(topic)).toBe(kind);
  });
});

describe('instrumented pub/sub', () => {
  it('counts publishes by topic kind and delegates delivery', async () => {
    const { instrumentation, value, activity } = setup();
    const pubsub = instrumentation.pubsub(createMemoryPubSub({ logger }));
    const received: unknown[] = [];
    await pubsub.subscribe('t:acme:store:s1:orders', (m) => received.push(m));
    await pubsub.publish('t:acme:store:s1:orders', { id: '1' });
    await pubsub.publish('t:acme:store:s1:kds', { id: '2' });
    await new Promise((resolve) => setImmediate(resolve));
    expect(received).toEqual([{ id: '1' }]);
    expect(await value('expediter_events_published_total', { kind: 'orders' })).toBe(1);
    expect(await value('expediter_events_published_total', { kind: 'kds' })).toBe(1);
    expect(activity.snapshot().totals.eventsPublished).toBe(2);
    expect(pubsub.stats?.()).toEqual({ topics: 1, handlers: 1 });
  });

  it('counts failures and rethrows them', async () => {
    const { instrumentation, value } = setup();
    const inner = createMemoryPubSub({ logger });
    await inner.close();
    const pubsub = instrumentation.pubsub(inner);
    await expect(pubsub.publish('t:acme:store:s1:orders', {})).rejects.toThrow('closed');
    expect(await value('expediter_event_publish_failures_total', { kind: 'orders' })).toBe(1);
    expect(await value('expediter_events_published_total')).toBe(0);
  });
});

describe('instrumented event streams', () => {
  function streamOf(events: StreamEvent[], onReturn: () => void): EventStreams {
    return {
      subscribe: <P>() => {
        const queue = [...events];
        const iterator: AsyncIterableIterator<StreamEvent<P>> = {
          next: async () =>
            queue.length > 0
              ? { done: false, value: queue.shift() as StreamEvent<P> }
              : { done: true, value: undefined },
          return: async () => {
            onReturn();
            return { done: true, value: undefined };
          },
          [Symbol.asyncIterator]() {
            return this;
          },
        };
        return iterator;
      },
    };
  }

  const event = (id: string, createdAt: Date): StreamEvent => ({
    id,
    cursor: id,
    tenantId: 'acme',
    topic: 't:acme:store:s1:orders',
    kind: 'order.CREATED',
    payload: {},
    createdAt: createdAt.toISOString(),
    prevId: null,
  });

  it('counts every delivered event but observes latency only for live ones', async () => {
    const { instrumentation, value } = setup();
    const replayed = event('1', new Date(Date.now() - 60_000));
    const live = event('2', new Date(Date.now() + 60_000)); // committed after the subscription started
    const streams = instrumentation.streams(streamOf([replayed, live], () => {}));
    const iterator = streams.subscribe({ streamKey: 'k', topics: ['t:acme:store:s1:orders'] });
    expect((await iterator.next()).value).toEqual(replayed);
    expect((await iterator.next()).value).toEqual(live);
    expect(await value('expediter_events_delivered_total', { kind: 'orders' })).toBe(2);
    const histogram = await instrumentation.metrics.deliveryLatency.get();
    expect(histogram.values.find((v) => v.metricName?.endsWith('_count'))?.value).toBe(1);
  });

  it('passes return() through, so closing a subscription releases the source', async () => {
    const { instrumentation } = setup();
    let returned = 0;
    const streams = instrumentation.streams(streamOf([], () => returned++));
    const iterator = streams.subscribe({ streamKey: 'k', topics: [] });
    await iterator.return?.();
    expect(returned).toBe(1);
  });
});

describe('instrumented authenticator', () => {
  const principal: Principal = { userId: 'u', tenantId: 't', roles: ['STAFF'], stores: '*', stations: [] };

  it('counts refusals by reason and times every attempt', async () => {
    const { instrumentation, value } = setup();
    const authenticator = instrumentation.authenticator({
      authenticate: async (input) => {
        if (input.authorization === 'good') return principal;
        throw new AuthError(input.authorization ? 'bad_signature' : 'missing');
      },
    });
    await expect(authenticator.authenticate({ authorization: 'good' })).resolves.toBe(principal);
    await expect(authenticator.authenticate({ authorization: 'forged' })).rejects.toThrow(AuthError);
    await expect(authenticator.authenticate({})).rejects.toThrow(AuthError);
    expect(await value('expediter_auth_failures_total', { reason: 'bad_signature' })).toBe(1);
    expect(await value('expediter_auth_failures_total', { reason: 'missing' })).toBe(1);
    const histogram = await instrumentation.metrics.authDuration.get();
    expect(histogram.values.find((v) => v.metricName?.endsWith('_count'))?.value).toBe(3);
  });
});

describe('subscription target', () => {
  it('reads the root field and the storeId argument, literal or variable', () => {
    const literal = parse('subscription { orderUpdated(storeId: "s1") { cursor } }');
    expect(subscriptionTarget({ document: literal })).toEqual({ field: 'orderUpdated', storeId: 's1' });
    const variable = parse('subscription S($s: ID!) { live: inventoryAlert(storeId: $s) { cursor } }');
    expect(subscriptionTarget({ document: variable, variableValues: { s: 's2' } })).toEqual({
      field: 'inventoryAlert',
      storeId: 's2',
    });
    const none = parse('subscription { notifications { cursor } }');
    expect(subscriptionTarget({ document: none })).toEqual({ field: 'notifications' });
  });
});

describe('activity', () => {
  it('counts subscriptions per field and per store until each ends, once', () => {
    const activity = new Activity();
    const a = activity.subscriptionStarted('orderUpdated', 'acme', 'acme-downtown');
    const b = activity.subscriptionStarted('orderUpdated', 'acme', 'acme-downtown');
    const c = activity.subscriptionStarted('notifications', 'acme', undefined);
    expect(activity.snapshot()).toMatchObject({
      subscriptions: 3,
      subscriptionsByField: { orderUpdated: 2, notifications: 1 },
      subscriptionsByStore: [{ tenantId: 'acme', storeId: 'acme-downtown', count: 2 }],
    });
    a();
    a();
    c();
    expect(activity.snapshot()).toMatchObject({
      subscriptions: 1,
      subscriptionsByField: { orderUpdated: 1 },
      subscriptionsByStore: [{ storeId: 'acme-downtown', count: 1 }],
    });
    b();
    expect(activity.snapshot()).toMatchObject({
      subscriptions: 0,
      subscriptionsByField: {},
      subscriptionsByStore: [],
    });
  });
});

describe('instrumented wrappers keep the wrapped contract', () => {
  it("keeps a pub/sub's optional methods and a stream iterator's extra properties", async () => {
    const { instrumentation } = setup();
    let listener: (() => void) | undefined;
    const inner = Object.assign(createMemoryPubSub({ logger }), {
      onResubscribe: (l: () => void) => {
        listener = l;
        return () => {};
      },
    });
    const pubsub = instrumentation.pubsub(inner);
    pubsub.onResubscribe?.(() => {});
    expect(listener).toBeTypeOf('function');

    const ready = Promise.resolve();
    const streams = instrumentation.streams<EventStreams>({
      subscribe: () => Object.assign((async function* () {})(), { ready }),
    });
    const iterator = streams.subscribe({ streamKey: 'k', topics: [] }) as AsyncIterableIterator<unknown> & {
      ready?: Promise<void>;
    };
    expect(iterator.ready).toBe(ready);
  });
});
