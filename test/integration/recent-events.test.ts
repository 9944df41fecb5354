import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { topics } from '../../src/events/topics';
import { createOrder, ORDER_EVENTS, type OrderEvent, sample, scrape } from '../ops/support';
import { createTestDatabase, type TestDatabase } from '../support/db';
import {
  type Subscription,
  startTestServer,
  TEST_REDIS_URL,
  type TestServer,
  uniqueRedisPrefix,
  type WsClient,
} from '../support/server';

/**
 * Resumes from a cursor within a topic's recent events are answered by the instance's topic feed from
 * memory, without one statement on the Event table; older cursors replay from the table as before. What
 * the server sent to the Event table is read from its own counter (expediter_event_log_queries_total,
 * every statement of the event log), never from a mock.
 */

const STORE = 'acme-downtown';
const TOPIC = topics.storeOrders('acme', STORE);
/** Recent events kept per orders topic in these tests: small, so the window's edge is easy to cross. */
const WINDOW = 3;
const QUERIES = ['open_topic', 'latest_id', 'read_topics', 'replay'] as const;

type Query = (typeof QUERIES)[number];

async function counters(app: TestServer) {
  const text = await scrape(app.url);
  const queries = Object.fromEntries(
    QUERIES.map((query) => [query, sample(text, 'expediter_event_log_queries_total', { query })]),
  ) as Record<Query, number>;
  return {
    queries,
    total: QUERIES.reduce((sum, query) => sum + queries[query], 0),
    memory: sample(text, 'expediter_stream_resumes_total', { source: 'memory', kind: 'orders' }),
    kept: sample(text, 'expediter_recent_events'),
    table: sample(text, 'expediter_stream_resumes_total', { source: 'table', kind: 'orders' }),
  };
}

const cursorsOf = (results: Array<{ data?: OrderEvent | null }>) =>
  results.map((result) => result.data?.orderUpdated.cursor);

describe('resumes from the recent events of a topic', () => {
  let database: TestDatabase;
  let app: TestServer;
  let staff: string;
  let manager: string;
  const redisPrefix = uniqueRedisPrefix();
  const start = () =>
    startTestServer({
      databaseUrl: database.url,
      redisUrl: TEST_REDIS_URL,
      redisPrefix,
      env: { RECENT_EVENTS_BY_KIND: `orders=${WINDOW}`, ORDER_UPDATE_COALESCE_MS: '0' },
    });

  beforeAll(async () => {
    database = await createTestDatabase({ seed: true });
    await database.handle.exec('UPDATE "InventoryItem" SET quantity = 100000');
    await database.handle.close();
    app = await start();
    staff = await app.token('acme-staff');
    manager = await app.token('acme-manager');
  });
  afterAll(async () => {
    await app?.close();
    await database?.drop();
  });

  /** One socket per test (a user's connections are limited); its subscriptions share it. */
  let socket: WsClient | undefined;
  afterEach(async () => {
    await socket?.dispose();
    socket = undefined;
  });
  async function connected(): Promise<WsClient> {
    socket ??= await app.connect(manager);
    return socket;
  }

  /** A live subscriber of the store's orders: it keeps the topic's feed (and its recent events) on. */
  async function keeper(): Promise<Subscription<OrderEvent>> {
    return (await connected()).live<OrderEvent>(ORDER_EVENTS, { storeId: STORE });
  }

  /** Places orders and returns their events as the keeper received them (so the feed holds them). */
  async function place(keeping: Subscription<OrderEvent>, n: number) {
    for (let i = 0; i < n; i++) await createOrder(app, staff);
    return cursorsOf(await keeping.take(n)) as string[];
  }

  async function resume(after: string) {
    return (await connected()).subscribe<OrderEvent>(ORDER_EVENTS, { storeId: STORE, after });
  }

  it('a cursor within the window is answered from memory: not one Event-table statement, then live once', async () => {
    const keeping = await keeper();
    const [seen, ...missed] = await place(keeping, WINDOW);
    const before = await counters(app);
    expect(before.kept).toBe(WINDOW); // the orders topic is the only one followed, and keeps WINDOW events

    const resumed = await resume(seen!);
    expect(cursorsOf(await resumed.take(missed.length))).toEqual(missed);
    const after = await counters(app);
    expect(after.total - before.total).toBe(0);
    expect(after.memory - before.memory).toBe(1);
    expect(after.table - before.table).toBe(0);

    // Handed over to the live feed without a gap or a duplicate.
    const [next] = await place(keeping, 1);
    expect(cursorsOf([await resumed.next()])).toEqual([next]);
  }, 60_000);

  it('every cursor across the window edge resumes exactly: from memory at or above it, from the table below', async () => {
    const keeping = await keeper();
    const placed = await place(keeping, WINDOW + 3);
    // The window holds the newest WINDOW events; the one before them is the oldest cursor it can answer.
    const edge = placed.length - WINDOW - 1;
    const resumedSubscriptions: Array<Subscription<OrderEvent>> = [];
    for (const [i, cursor] of placed.entries()) {
      const before = await counters(app);
      const resumed = await resume(cursor);
      resumedSubscriptions.push(resumed);
      const missed = placed.slice(i + 1);
      if (missed.length > 0) expect(cursorsOf(await resumed.take(missed.length))).toEqual(missed);
      else await resumed.live();
      const after = await counters(app);
      if (i >= edge) {
        expect({ cursor: i, source: 'memory', queries: after.total - before.total }).toEqual({
          cursor: i,
          source: after.memory - before.memory === 1 ? 'memory' : 'table',
          queries: 0,
        });
      } else {
        expect({ cursor: i, source: 'table', replays: after.queries.replay - before.queries.replay }).toEqual(
          {
            cursor: i,
            source: after.table - before.table === 1 ? 'table' : 'memory',
            replays: 1,
          },
        );
      }
    }
    // Each resumed subscriber's next event is the next order: nothing skipped, nothing twice.
    const [next] = await place(keeping, 1);
    for (const resumed of resumedSubscriptions) expect(cursorsOf([await resumed.next()])).toEqual([next]);
  }, 90_000);

  it('after a restart the window is read with the feed start; events older than its age replay from the table', async () => {
    let keeping = await keeper();
    const [seen, ...missed] = await place(keeping, 2);
    await app.close();
    socket = undefined;

    // Restarted: the first subscriber of the topic starts its feed, whose one statement also loads the
    // recent events; the resume itself reads nothing more.
    app = await start();
    let before = await counters(app);
    let resumed = await resume(seen!);
    expect(cursorsOf(await resumed.take(missed.length))).toEqual(missed);
    let after = await counters(app);
    expect(after.queries).toEqual({ ...before.queries, open_topic: before.queries.open_topic + 1 });
    expect(after.memory - before.memory).toBe(1);

    // Restarted with the topic's events older than the window's age (120 s): nothing recent to keep, so
    // the same cursor replays from the table, exactly.
    await app.server.db.query(
      `UPDATE "Event" SET "createdAt" = "createdAt" - interval '1 hour' WHERE topic = $1`,
      [TOPIC],
    );
    await app.close();
    socket = undefined;
    app = await start();
    before = await counters(app);
    resumed = await resume(seen!);
    expect(cursorsOf(await resumed.take(missed.length))).toEqual(missed);
    after = await counters(app);
    expect(after.table - before.table).toBe(1);
    expect(after.memory - before.memory).toBe(0);
    expect(after.queries.replay - before.queries.replay).toBe(1);

    // And live from there, once.
    keeping = await keeper();
    const [next] = await place(keeping, 1);
    expect(cursorsOf([await resumed.next()])).toEqual([next]);
  }, 90_000);
});
