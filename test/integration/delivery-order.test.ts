import type { ChildProcess } from 'node:child_process';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { decodeCursor } from '../../src/events/cursor';
import { topics } from '../../src/events/topics';
import {
  createOrder,
  ORDER_EVENTS,
  type OrderEvent,
  type OwnRedis,
  readiness,
  sample,
  scrape,
  startOwnRedis,
  useOwnRedis,
} from '../ops/support';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { eventually } from '../support/eventually';
import { startTestServer, TEST_JWT_SECRET, type TestServer, uniqueRedisPrefix } from '../support/server';
import { startServerProcess } from '../support/server-process';
import { type TcpGate, tcpGate } from '../support/tcp-gate';

/**
 * Delivery order under faults (two instances on a Redis of the test's own, each behind a gate the test opens
 * and cuts, so the order in which they lose and regain Redis is forced, not left to luck). Each subscriber
 * must receive exactly the store's order events committed after it started: once each, in commit order,
 * and none later than LATENESS_BOUND_MS after it could be delivered (its commit, or the moment both instances
 * were back). The relay is set to a period far beyond the test: nothing may wait for it.
 */

const TOPIC = topics.storeOrders('acme', 'acme-downtown');
const LATENESS_BOUND_MS = 2500;
const NO_RELAY = {
  OUTBOX_RELAY_INTERVAL_MS: '600000',
  HEALTH_CHECK_INTERVAL_MS: '100',
  ORDER_UPDATE_COALESCE_MS: '0',
};

interface Received {
  id: bigint;
  at: number;
}

/** A real graphql-ws subscriber that records what it receives and when. */
async function subscriber(app: TestServer, token: string) {
  const received: Received[] = [];
  const problems: unknown[] = [];
  const connection = await app.connect(token);
  const { client } = connection;
  client.subscribe<OrderEvent>(
    { query: ORDER_EVENTS, variables: { storeId: 'acme-downtown' } },
    {
      next: (result) => {
        if (result.errors) problems.push(result.errors);
        const cursor = result.data?.orderUpdated.cursor;
        if (cursor) received.push({ id: decodeCursor(TOPIC, cursor), at: Date.now() });
      },
      error: (error) => problems.push(error),
      complete: () => problems.push('completed'),
    },
  );
  return { received, problems, ids: () => received.map((r) => r.id), close: () => connection.dispose() };
}
type Subscriber = Awaited<ReturnType<typeof subscriber>>;

/** The topic's events from `fromId` on, as committed: id order is commit order. */
async function committedFrom(
  app: TestServer,
  fromId: bigint,
): Promise<Array<{ id: bigint; committedAt: number }>> {
  const rows = await app.server.db.query<{ id: string; committedAt: number }>(
    `SELECT id::text AS id, (EXTRACT(EPOCH FROM "createdAt") * 1000)::float8 AS "committedAt"
     FROM "Event" WHERE topic = $1 AND id >= $2 ORDER BY "Event".id`,
    [TOPIC, fromId.toString()],
  );
  return rows.map((row) => ({ id: BigInt(row.id), committedAt: Number(row.committedAt) }));
}

/** Starts a subscriber and waits until a probe order reaches it: from then on it is live. */
async function liveSubscribers(apps: TestServer[], token: string, staff: string, on: TestServer) {
  const subscribers = await Promise.all(apps.map((app) => subscriber(app, token)));
  const probeDeadline = Date.now() + 20_000;
  // The subscription starts asynchronously after the socket: probe until every subscriber has seen one.
  while (subscribers.some((s) => s.received.length === 0)) {
    if (Date.now() > probeDeadline) throw new Error('subscribers never went live');
    await createOrder(on, staff);
    await eventually(() => subscribers.every((s) => s.received.length > 0), 2000).catch(() => undefined);
  }
  let from = 0n;
  for (const s of subscribers) if (s.received[0]!.id > from) from = s.received[0]!.id;
  for (const s of subscribers) {
    // Earlier probes some subscribers saw before the others went live are not part of the comparison.
    while (s.received.length > 0 && s.received[0]!.id < from) s.received.shift();
  }
  return { subscribers, from };
}

/**
 * Every subscriber received exactly the committed events from `from` on, in order; none later than the
 * bound after max(its commit, recoveredAt) (recoveredAt: when both instances were back, for events
 * committed while one was away).
 */
async function expectExactlyOnceInOrder(
  app: TestServer,
  subscribers: Subscriber[],
  from: bigint,
  recoveries: Array<{ from: number; until: number }>,
) {
  const committed = await committedFrom(app, from);
  for (const s of subscribers) {
    await eventually(() => s.received.length >= committed.length, 20_000).catch(() => undefined);
    expect(s.problems).toEqual([]);
    expect(s.ids()).toEqual(committed.map((event) => event.id));
    for (const [i, event] of committed.entries()) {
      const away = recoveries.find((r) => event.committedAt >= r.from && event.committedAt <= r.until);
      const deliverableAt = away ? Math.max(event.committedAt, away.until) : event.committedAt;
      const lateness = s.received[i]!.at - deliverableAt;
      expect(lateness, `event ${event.id} was ${lateness} ms late`).toBeLessThanOrEqual(LATENESS_BOUND_MS);
    }
  }
}

const isReady = async (app: TestServer) => (await readiness(app.url)).status === 200;
const isDown = async (app: TestServer) => (await readiness(app.url)).status === 503;

describe('delivery order when Redis goes away and instances come back at different moments', () => {
  const redis = useOwnRedis();
  let redisRunning = true;
  let gateA: TcpGate;
  let gateB: TcpGate;
  let a: TestServer;
  let b: TestServer;
  let staff: string;
  let manager: string;

  beforeAll(async () => {
    [gateA, gateB] = await Promise.all([tcpGate(redis.port), tcpGate(redis.port)]);
    const redisPrefix = uniqueRedisPrefix();
    a = await startTestServer({ redisUrl: gateA.url, redisPrefix, env: NO_RELAY });
    b = await startTestServer({
      redisUrl: gateB.url,
      redisPrefix,
      env: NO_RELAY,
      databaseUrl: a.databaseUrl,
    });
    staff = await a.token('acme-staff');
    manager = await a.token('acme-manager');
    // Stock for every order these tests create (a product out of stock refuses the order).
    await a.server.db.query('UPDATE "InventoryItem" SET quantity = 100000');
  }, 60_000);

  const opened: Subscriber[] = [];
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((s) => s.close()));
    // Whatever a test left behind: Redis up and both instances connected.
    if (!redisRunning) await redisComesBack();
    gateA.open();
    gateB.open();
    await eventually(async () => (await isReady(a)) && (await isReady(b)), 20_000);
  }, 30_000);

  afterAll(async () => {
    await b?.close();
    await a?.close();
    await gateA?.close();
    await gateB?.close();
  });

  async function redisGoesAway() {
    gateA.cut();
    gateB.cut();
    await redis.stop(); // SIGKILL, by the PID the test started it with
    redisRunning = false;
    await eventually(async () => (await isDown(a)) && (await isDown(b)), 20_000);
  }

  async function redisComesBack() {
    await redis.start();
    redisRunning = true;
  }

  it('B back first, A later: every subscriber gets every order once, in order, without waiting for the relay', async () => {
    const { subscribers, from } = await liveSubscribers([a, b], manager, staff, a);
    opened.push(...subscribers);
    for (let i = 0; i < 3; i++) await createOrder(a, staff);

    const outageFrom = Date.now();
    await redisGoesAway();
    // Orders on both instances while Redis is away: each publishes nothing and keeps a backlog.
    for (const app of [a, b, a, b, a]) await createOrder(app, staff);

    // Redis returns, but only B may reconnect: B catches up and publishes its backlog; A still cannot.
    await redisComesBack();
    gateB.open();
    await eventually(() => isReady(b), 20_000);
    for (const app of [b, a, b, a]) await createOrder(app, staff);

    // A comes back: its backlog goes out in order at once, and it reads what it missed.
    gateA.open();
    await eventually(() => isReady(a), 20_000);
    const recoveredAt = Date.now();
    for (const app of [a, b, a]) await createOrder(app, staff);

    await expectExactlyOnceInOrder(a, subscribers, from, [{ from: outageFrom, until: recoveredAt }]);
    // B saw its own outage orders name A's as predecessors (gaps it filled from the table); A published
    // its backlog itself once it was back.
    expect(sample(await scrape(b.url), 'expediter_event_gaps_total', { kind: 'orders' })).toBeGreaterThan(0);
    expect(sample(await scrape(a.url), 'expediter_outbox_caught_up_total')).toBeGreaterThan(0);
  }, 120_000);

  it('A back first, B later: the mirror interleaving holds too', async () => {
    const { subscribers, from } = await liveSubscribers([a, b], manager, staff, b);
    opened.push(...subscribers);
    const outageFrom = Date.now();
    await redisGoesAway();
    for (const app of [b, a, b]) await createOrder(app, staff);

    await redisComesBack();
    gateA.open();
    await eventually(() => isReady(a), 20_000);
    for (const app of [a, b, a, b]) await createOrder(app, staff);

    gateB.open();
    await eventually(() => isReady(b), 20_000);
    const recoveredAt = Date.now();
    for (const app of [b, a]) await createOrder(app, staff);

    await expectExactlyOnceInOrder(a, subscribers, from, [{ from: outageFrom, until: recoveredAt }]);
  }, 120_000);

  it('a burst of orders on both instances while they reconnect and publish their backlogs', async () => {
    const { subscribers, from } = await liveSubscribers([a, b, a, b], manager, staff, a);
    opened.push(...subscribers);
    const outageFrom = Date.now();
    await redisGoesAway();
    for (let i = 0; i < 6; i++) await createOrder(i % 2 ? a : b, staff);

    await redisComesBack();
    gateA.open();
    gateB.open();
    // The burst starts at once: both instances are reconnecting, catching up and flushing their backlogs.
    await Promise.all(Array.from({ length: 12 }, (_, i) => createOrder(i % 3 ? a : b, staff)));
    await eventually(async () => (await isReady(a)) && (await isReady(b)), 20_000);
    const recoveredAt = Date.now();
    await Promise.all(Array.from({ length: 6 }, (_, i) => createOrder(i % 2 ? a : b, staff)));

    await expectExactlyOnceInOrder(a, subscribers, from, [{ from: outageFrom, until: recoveredAt }]);
  }, 120_000);
});

describe('an instance killed between commit and publish', () => {
  let database: TestDatabase;
  let redis: OwnRedis;
  let gate: TcpGate;
  let survivor: TestServer;
  let victim: ChildProcess | undefined;

  afterAll(async () => {
    if (victim && victim.exitCode === null) victim.kill('SIGKILL');
    await survivor?.close();
    await gate?.close();
    await redis?.stop();
    await database?.drop();
  });

  it('its event reaches subscribers through the relay, once, in order, within the relay period', async () => {
    database = await createTestDatabase({ seed: true });
    await database.handle.close();
    redis = await startOwnRedis();
    gate = await tcpGate(redis.port);
    const redisPrefix = uniqueRedisPrefix();
    // The survivor's relay sweeps often; its grace period (2 s) is the default.
    survivor = await startTestServer({
      databaseUrl: database.url,
      redisUrl: redis.url,
      redisPrefix,
      env: { OUTBOX_RELAY_INTERVAL_MS: '200', ORDER_UPDATE_COALESCE_MS: '0' },
    });
    const victimProcess = await startServerProcess({
      NODE_ENV: 'test',
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      GRAPHIQL: 'false',
      DATABASE_URL: database.url,
      REDIS_URL: gate.url,
      REDIS_PREFIX: redisPrefix,
      JWT_SECRET: TEST_JWT_SECRET,
      OUTBOX_RELAY_INTERVAL_MS: '600000',
    });
    victim = victimProcess.child;
    const staff = await survivor.token('acme-staff');
    const manager = await survivor.token('acme-manager');
    const { subscribers, from } = await liveSubscribers([survivor], manager, staff, survivor);
    const [watcher] = subscribers;

    // The victim commits an order; its PUBLISH is held at the gate, and the process dies right there.
    gate.holdPublishes();
    const mutation = fetch(`${victimProcess.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${staff}` },
      body: JSON.stringify({
        query: 'mutation ($input: CreateOrderInput!) { createOrder(input: $input) { id } }',
        variables: {
          input: {
            storeId: 'acme-downtown',
            channel: 'POS',
            items: [{ productId: 'acme-downtown-fries', quantity: 1 }],
          },
        },
      }),
    }).catch(() => undefined);
    await gate.publishHeld();
    victim.kill('SIGKILL');
    await victimProcess.exited;
    await mutation;
    const [orphan] = await survivor.server.db.query<{ id: string; publishedAt: Date | null }>(
      `SELECT id::text AS id, "publishedAt" FROM "Event" WHERE topic = $1 ORDER BY "Event".id DESC LIMIT 1`,
      [TOPIC],
    );
    expect(orphan?.publishedAt).toBeNull(); // committed, never published
    expect(BigInt(orphan!.id)).toBeGreaterThan(from);

    // Nothing else happens on the topic: only the survivor's relay can deliver it.
    await eventually(() => watcher!.received.some((r) => r.id === BigInt(orphan!.id)), 15_000);
    // Counted once the relay's sweep has committed (the subscriber may see the event a moment before).
    await eventually(
      async () => sample(await scrape(survivor.url), 'expediter_outbox_relay_published_total') >= 1,
      10_000,
    );
    await createOrder(survivor, staff);

    const relayPeriod = 2000 + 200;
    const committed = await committedFrom(survivor, from);
    await eventually(() => watcher!.received.length >= committed.length, 15_000);
    expect(watcher!.problems).toEqual([]);
    expect(watcher!.ids()).toEqual(committed.map((event) => event.id));
    const orphanIndex = committed.findIndex((event) => event.id === BigInt(orphan!.id));
    const lateness = watcher!.received[orphanIndex]!.at - committed[orphanIndex]!.committedAt;
    expect(lateness).toBeLessThanOrEqual(relayPeriod + LATENESS_BOUND_MS);
    await watcher!.close();
  }, 180_000);
});
