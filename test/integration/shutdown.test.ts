import type { ChildProcess } from 'node:child_process';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOrder, ORDER_EVENTS, type OrderEvent, readiness, UPDATE_STATUS } from '../ops/support';
import { eventually } from '../support/eventually';
import {
  connectClient,
  type TestServer,
  testToken,
  uniqueRedisPrefix,
  useInstances,
  useTestServer,
  type WsClient,
} from '../support/server';
import { clusterMemberEnv, startServerProcess } from '../support/server-process';

/** Holds the row lock of an order in its own transaction, so a mutation of that order stays in flight. */
async function lockOrder(databaseUrl: string, orderId: string) {
  const client = new pg.Client({ connectionString: databaseUrl });
  // The test database may be dropped while this session is still open (after a failure): not an error here.
  client.on('error', () => {});
  await client.connect();
  await client.query('BEGIN');
  await client.query('SELECT 1 FROM "Order" WHERE "id" = $1 FOR UPDATE', [orderId]);
  return {
    /** Resolves once another session waits for this lock. */
    async waitForWaiter() {
      // Generous: on a loaded two-core machine the request can take seconds to reach the lock.
      await eventually(async () => {
        // pg_stat_activity is read once per transaction and then cached: this session is inside the locking
        // transaction, so drop the snapshot or every poll would see the state of the first one.
        await client.query('SELECT pg_stat_clear_snapshot()');
        const { rows } = await client.query(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
        );
        return rows[0].n > 0;
      }, 30_000);
    },
    async release() {
      await client.query('COMMIT');
      await client.end();
    },
  };
}

async function post(url: string, query: string, variables: Record<string, unknown>, bearer: string) {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}` },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, body: (await response.json()) as { data?: unknown; errors?: unknown[] } };
}

describe('SIGTERM on a real server process', () => {
  // The survivor, and the process under test joining its cluster.
  const redisPrefix = uniqueRedisPrefix();
  const [survivor] = useInstances(1, { redisPrefix }) as [TestServer];
  let processUnderTest: Awaited<ReturnType<typeof startServerProcess>>;
  let child: ChildProcess | undefined;

  beforeAll(async () => {
    processUnderTest = await startServerProcess({
      ...clusterMemberEnv(survivor.databaseUrl, redisPrefix),
      SHUTDOWN_TIMEOUT_MS: '15000',
    });
    child = processUnderTest.child;
  }, 90_000);

  afterAll(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
  });

  it('drains: not ready, refuses new connections, finishes the in-flight mutation, closes with 1001; a resume misses nothing', async () => {
    const { url, wsUrl, exited, logs } = processUnderTest;
    const staff = await testToken('acme-staff');
    const manager = await testToken('acme-manager');

    const client: WsClient = await connectClient(wsUrl, { authorization: `Bearer ${manager}` });
    const received: OrderEvent['orderUpdated'][] = [];
    const live = await client.live<OrderEvent>(ORDER_EVENTS, { storeId: 'acme-downtown' });
    const collecting = (async () => {
      for (;;) {
        const result = await live.next(30_000).catch(() => undefined);
        if (!result?.data) return;
        received.push(result.data.orderUpdated);
      }
    })();

    const firstOrder = await createOrder(survivor, staff);
    await eventually(() => received.length === 1);

    // A mutation on the process under test that cannot finish until the test releases the row lock.
    const lock = await lockOrder(survivor.databaseUrl, firstOrder);
    const inFlight = post(url, UPDATE_STATUS, { orderId: firstOrder, status: 'ACCEPTED' }, staff);
    await lock.waitForWaiter();

    child!.kill('SIGTERM');
    const draining = await eventually(async () => {
      const ready = await readiness(url);
      return ready.status === 503 ? ready : undefined;
    });
    expect(draining.body).toMatchObject({ ready: false, status: 'draining', draining: true });
    await expect(connectClient(wsUrl, { authorization: `Bearer ${manager}` })).rejects.toThrow();

    // Meanwhile the rest of the cluster keeps working.
    const secondOrder = await createOrder(survivor, staff);
    const socketStillOpen = await Promise.race([client.closed.then(() => false), Promise.resolve(true)]);
    expect(socketStillOpen).toBe(true);

    await lock.release();
    const finished = await inFlight;
    expect(finished.status).toBe(200);
    expect(finished.body.data).toEqual({ updateOrderStatus: { id: firstOrder, status: 'ACCEPTED' } });

    expect((await client.closed).code).toBe(1001);
    await collecting;
    const [exitCode] = await exited;
    expect(exitCode).toBe(0);
    expect(logs.some((l) => l.msg === 'expediter stopped')).toBe(true);

    // The client reconnects elsewhere and resumes after the last cursor it saw.
    const resumed = await survivor.connect(manager);
    const last = received.at(-1)!;
    const rest = resumed.subscribe<OrderEvent>(ORDER_EVENTS, {
      storeId: 'acme-downtown',
      after: last.cursor,
    });
    const all = [...received];
    while (all.length < 3) all.push((await rest.next()).data!.orderUpdated);
    // Nothing twice: the next event is the next order's.
    const thirdOrder = await createOrder(survivor, staff);
    expect((await rest.next()).data?.orderUpdated.order.id).toBe(thirdOrder);
    expect(all.map((e) => [e.kind, e.order.id, e.order.status])).toEqual([
      ['CREATED', firstOrder, 'PENDING'],
      ['CREATED', secondOrder, 'PENDING'],
      ['STATUS_CHANGED', firstOrder, 'ACCEPTED'],
    ]);
    await resumed.dispose();
  }, 90_000);
});

describe('graceful close in process', () => {
  const { app } = useTestServer({ env: { SHUTDOWN_TIMEOUT_MS: '1000' } });

  it('is bounded by SHUTDOWN_TIMEOUT_MS even when an operation never finishes', async () => {
    const staff = await app.token('acme-staff');
    const orderId = await createOrder(app, staff);
    const lock = await lockOrder(app.databaseUrl, orderId);
    const stuck = post(app.url, UPDATE_STATUS, { orderId, status: 'ACCEPTED' }, staff).catch(
      (error: Error) => error,
    );
    await Promise.race([
      lock.waitForWaiter(),
      stuck.then((outcome) => {
        throw new Error(`the mutation finished without waiting for the lock: ${JSON.stringify(outcome)}`);
      }),
    ]);
    await app.server.close(); // resolves although the mutation is still waiting for the lock
    await lock.release();
    await stuck;
  }, 60_000);
});
