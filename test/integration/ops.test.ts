import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { loadConfig } from '../../src/config';
import { createServer, type ExpediterServer } from '../../src/server/server';
import { createOrder, ORDER_EVENTS, type OrderEvent, sample, scrape } from '../ops/support';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { eventually } from '../support/eventually';
import {
  connectClient,
  TEST_JWT_SECRET,
  TEST_REDIS_URL,
  type TestServer,
  testToken,
  useInstances,
  useTestServer,
} from '../support/server';

describe('metrics follow connections, subscriptions and events', () => {
  const { app } = useTestServer({ redisUrl: TEST_REDIS_URL });

  it('counts a connection, its subscription, the events it receives, and its close', async () => {
    const before = await scrape(app.url);
    expect(sample(before, 'expediter_ws_connections_active')).toBe(0);

    const client = await app.connect(await app.token('acme-manager'));
    const afterConnect = await scrape(app.url);
    expect(sample(afterConnect, 'expediter_ws_connections_active')).toBe(1);
    expect(sample(afterConnect, 'expediter_ws_connections_total')).toBe(1);
    expect(sample(afterConnect, 'expediter_ws_connect_duration_seconds_count')).toBe(1);

    const events = client.subscribe<OrderEvent>(ORDER_EVENTS, { storeId: 'acme-downtown' });
    await eventually(
      async () =>
        sample(await scrape(app.url), 'expediter_subscriptions_active', { field: 'orderUpdated' }) === 1,
    );

    await createOrder(app, await app.token('acme-staff'));
    expect((await events.next()).data?.orderUpdated.kind).toBe('CREATED');
    const afterEvent = await scrape(app.url);
    expect(sample(afterEvent, 'expediter_events_published_total', { kind: 'orders' })).toBeGreaterThanOrEqual(
      1,
    );
    expect(sample(afterEvent, 'expediter_events_delivered_total', { kind: 'orders' })).toBe(1);
    expect(sample(afterEvent, 'expediter_event_delivery_latency_seconds_count', { kind: 'orders' })).toBe(1);
    expect(sample(afterEvent, 'expediter_operations_total', { type: 'mutation', outcome: 'ok' })).toBe(1);

    await events.close();
    await eventually(
      async () =>
        sample(await scrape(app.url), 'expediter_subscriptions_active', { field: 'orderUpdated' }) === 0,
    );
    await client.dispose();
    const afterClose = await eventually(async () => {
      const text = await scrape(app.url);
      return sample(text, 'expediter_ws_connections_active') === 0 ? text : undefined;
    });
    expect(sample(afterClose, 'expediter_ws_closes_total', { code: '1000' })).toBe(1);
  });

  it('counts refused authentications by reason and their close code', async () => {
    await expect(
      app.connect(undefined, { connectionParams: { authorization: 'Bearer not-a-jwt' } }),
    ).rejects.toThrow();
    const text = await eventually(async () => {
      const scraped = await scrape(app.url);
      return sample(scraped, 'expediter_ws_closes_total', { code: '4401' }) === 1 ? scraped : undefined;
    });
    expect(sample(text, 'expediter_auth_failures_total', { reason: 'malformed' })).toBe(1);
  });

  it('exposes Redis, database, outbox and process metrics', async () => {
    const text = await scrape(app.url);
    expect(sample(text, 'expediter_redis_up')).toBe(1);
    expect(sample(text, 'expediter_database_up')).toBe(1);
    expect(sample(text, 'expediter_degraded')).toBe(0);
    expect(text).toMatch(/^expediter_outbox_backlog \d+$/m);
    expect(text).toMatch(/^expediter_outbox_oldest_age_seconds [\d.e+-]+$/m);
    expect(text).toMatch(/^# TYPE expediter_rate_limit_refusals_total counter$/m);
    expect(sample(text, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(sample(text, 'nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0);
  });

  it('/health and /ready answer 200 on a healthy instance', async () => {
    expect((await fetch(`${app.url}/health`)).status).toBe(200);
    const ready = await fetch(`${app.url}/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ ready: true, status: 'ready', database: 'up', redis: 'up' });
  });
});

describe('heartbeat over a real server', () => {
  const { app } = useTestServer({ env: { WS_KEEPALIVE_MS: '1000', WS_PONG_TIMEOUT_MS: '300' } });

  it('terminates a peer that stops answering pings and releases its subscriptions', async () => {
    const token = await app.token('acme-manager');
    const socket = new WebSocket(app.wsUrl, 'graphql-transport-ws', { autoPong: false });
    const messages: Array<{ type: string }> = [];
    socket.on('message', (data) => messages.push(JSON.parse(String(data))));
    await new Promise((resolve) => socket.once('open', resolve));
    socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } }));
    await eventually(() => messages.some((m) => m.type === 'connection_ack'));
    socket.send(
      JSON.stringify({
        id: '1',
        type: 'subscribe',
        payload: { query: ORDER_EVENTS, variables: { storeId: 'acme-downtown' } },
      }),
    );
    await eventually(
      async () =>
        sample(await scrape(app.url), 'expediter_subscriptions_active', { field: 'orderUpdated' }) === 1,
    );

    const code = await new Promise<number>((resolve) =>
      socket.once('close', (closeCode: number) => resolve(closeCode)),
    );
    expect(code).toBe(1006); // terminated: no close frame
    const text = await eventually(async () => {
      const scraped = await scrape(app.url);
      return sample(scraped, 'expediter_ws_connections_active') === 0 ? scraped : undefined;
    });
    expect(sample(text, 'expediter_ws_stale_terminated_total')).toBe(1);
    expect(sample(text, 'expediter_subscriptions_active', { field: 'orderUpdated' })).toBe(0);
  });

  it('keeps a peer that answers pings', async () => {
    const token = await app.token('acme-manager');
    const socket = new WebSocket(app.wsUrl, 'graphql-transport-ws'); // answers pings itself
    let pings = 0;
    let closed = false;
    socket.on('ping', () => pings++);
    socket.on('close', () => (closed = true));
    await new Promise((resolve) => socket.once('open', resolve));
    socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } }));
    // A third ping means the socket outlived two ping rounds (a terminated peer gets no more pings).
    await eventually(() => pings >= 3 || closed);
    expect(closed).toBe(false);
    socket.close();
  });
});

describe('serverStats', () => {
  const env = { STATS_REPORT_INTERVAL_MS: '200', PLATFORM_TENANTS: 'acme' };
  const [a, b] = useInstances(2, { env }) as [TestServer, TestServer];

  const STATS = /* GraphQL */ `
    query {
      serverStats {
        complete
        instance { instanceId connections }
        instances { instanceId connections subscriptions ready degraded draining }
        cluster {
          instances connections subscriptions
          subscriptionsByField { field count }
          subscriptionsByStore { storeId count }
          throughput { eventsPublishedPerSecond eventsDeliveredPerSecond operationsPerSecond }
        }
      }
    }
  `;

  type Stats = {
    serverStats: {
      complete: boolean;
      instance: { instanceId: string; connections: number };
      instances: Array<{ instanceId: string; connections: number; subscriptions: number; ready: boolean }>;
      cluster: {
        instances: number;
        connections: number;
        subscriptions: number;
        subscriptionsByField: Array<{ field: string; count: number }>;
        subscriptionsByStore: Array<{ storeId: string; count: number }>;
      };
    };
  };

  it('sums every instance, and shows an admin the stores of their own tenant only', async () => {
    const acme = await b.connect(await b.token('acme-manager'));
    acme.subscribe(ORDER_EVENTS, { storeId: 'acme-downtown' });
    acme.subscribe(ORDER_EVENTS, { storeId: 'acme-uptown' });
    const globex = await a.connect(await a.token('globex-manager'));
    globex.subscribe(ORDER_EVENTS, { storeId: 'globex-central' });

    const adminToken = await a.token('acme-admin');
    const stats = await eventually(async () => {
      const result = await a.gql<Stats>(STATS, {}, { token: adminToken });
      expect(result.errors).toBeUndefined();
      const view = result.data!.serverStats;
      return view.cluster.instances === 2 && view.cluster.subscriptions === 3 ? view : undefined;
    });
    expect(stats.complete).toBe(true);
    expect(stats.instance.connections).toBe(1);
    expect(stats.instances.map((i) => [i.connections, i.subscriptions, i.ready]).sort()).toEqual([
      [1, 1, true],
      [1, 2, true],
    ]);
    expect(stats.cluster).toMatchObject({
      connections: 2,
      subscriptionsByField: [{ field: 'orderUpdated', count: 3 }],
      subscriptionsByStore: [
        { storeId: 'acme-downtown', count: 1 },
        { storeId: 'acme-uptown', count: 1 },
      ],
    });
    await Promise.all([acme.dispose(), globex.dispose()]);
  });

  it('is refused to anyone but an admin', async () => {
    const result = await a.gql(STATS, {}, { token: await a.token('acme-manager') });
    expect(result.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const anonymous = await a.gql(STATS, {});
    expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});

describe('structured logs', () => {
  let database: TestDatabase;
  let server: ExpediterServer;
  const lines: Array<Record<string, unknown>> = [];
  let raw = '';

  beforeAll(async () => {
    database = await createTestDatabase({ seed: true });
    await database.handle.close();
    const sink = new Writable({
      write(chunk, _encoding, callback) {
        raw += String(chunk);
        for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
        callback();
      },
    });
    const config = loadConfig({
      NODE_ENV: 'test',
      PORT: '0',
      DATABASE_URL: database.url,
      JWT_SECRET: TEST_JWT_SECRET,
      LOG_LEVEL: 'debug',
    });
    server = await createServer(config, { logger: pino({ level: 'debug' }, sink) });
  });
  afterAll(async () => {
    await server?.close();
    await database?.drop();
  });

  it('log connections, operations and refusals with their ids, and never a token', async () => {
    const token = await testToken('acme-manager');
    const socket = new WebSocket(server.wsUrl, 'graphql-transport-ws');
    const messages: Array<{ type: string; id?: string }> = [];
    socket.on('message', (data) => messages.push(JSON.parse(String(data))));
    await new Promise((resolve) => socket.once('open', resolve));
    socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } }));
    await eventually(() => messages.some((m) => m.type === 'connection_ack'));
    const query = 'query Missing { order(id: "no-such-order") { id } }';
    socket.send(JSON.stringify({ id: 'op-7', type: 'subscribe', payload: { query } }));
    await eventually(() => messages.some((m) => m.type === 'complete' && m.id === 'op-7'));
    socket.close(1000);
    await connectClient(server.wsUrl, { authorization: `Bearer ${token}x` }).catch(() => undefined);

    const connected = await eventually(() => lines.find((l) => l.msg === 'ws connection acknowledged'));
    const connectionId = connected.connectionId as string;
    expect(connected).toMatchObject({ userId: 'acme-manager', tenantId: 'acme' });
    const operation = await eventually(() =>
      lines.find((l) => l.connectionId === connectionId && l.operationName === 'Missing'),
    );
    expect(operation).toMatchObject({ operationId: 'op-7', operationType: 'query' });
    expect(operation.requestId).toEqual(expect.any(String));
    const disconnected = await eventually(() =>
      lines.find((l) => l.msg === 'ws disconnected' && l.connectionId === connectionId),
    );
    expect(disconnected).toMatchObject({ code: 1000, userId: 'acme-manager' });
    await eventually(() =>
      lines.find((l) => l.msg === 'authentication refused' && l.reason === 'bad_signature'),
    );
    await eventually(() => lines.find((l) => l.msg === 'ws disconnected' && l.code === 4401));

    expect(raw).not.toContain(token.split('.')[2]);
  });
});
