import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOrder } from '../ops/support';
import { startTestServer, type TestServer, useInstances } from '../support/server';

const ORDER_EVENTS = /* GraphQL */ `
  subscription ($storeId: ID!, $after: String) {
    orderUpdated(storeId: $storeId, after: $after) { cursor kind previousStatus order { id number status storeId } }
  }
`;
const UPDATE_STATUS = /* GraphQL */ `
  mutation ($orderId: ID!, $status: OrderStatus!) { updateOrderStatus(orderId: $orderId, status: $status) { id status } }
`;

type OrderEvent = {
  orderUpdated: {
    cursor: string;
    kind: string;
    previousStatus: string | null;
    order: { id: string; status: string };
  };
};

describe('two instances sharing one Redis', () => {
  const [a, b] = useInstances(2) as [TestServer, TestServer];

  it('delivers a mutation on instance A to a subscriber on instance B, and only for its store', async () => {
    const downtown = await b.connect(await b.token('acme-manager'));
    const uptown = await b.connect(await b.token('acme-manager'));
    const downtownEvents = await downtown.live<OrderEvent>(ORDER_EVENTS, { storeId: 'acme-downtown' });
    const uptownEvents = await uptown.live<OrderEvent>(ORDER_EVENTS, { storeId: 'acme-uptown' });

    const orderId = await createOrder(a, await a.token('acme-staff'));
    const event = await downtownEvents.next();
    expect(event.errors).toBeUndefined();
    expect(event.data?.orderUpdated).toMatchObject({
      kind: 'CREATED',
      order: { id: orderId, status: 'PENDING' },
    });
    // Uptown's first event is uptown's own order: downtown's came before it and did not arrive.
    const uptownOrder = await createOrder(a, await a.token('acme-manager'), 'acme-uptown');
    expect((await uptownEvents.next()).data?.orderUpdated.order.id).toBe(uptownOrder);
  });

  it("revokeSessions closes the user's sockets on both instances", async () => {
    const onA = await a.connect(await a.token('acme-customer'));
    const onB = await b.connect(await b.token('acme-customer'));
    const revoke = await a.gql(
      'mutation { revokeSessions(userId: "acme-customer") { userId } }',
      {},
      { token: await a.token('acme-admin') },
    );
    expect(revoke.errors).toBeUndefined();
    expect((await onA.closed).code).toBe(4401);
    expect((await onB.closed).code).toBe(4401);
  });
});

describe('resuming with a cursor', () => {
  let app: TestServer;
  beforeAll(async () => {
    app = await startTestServer();
  });
  afterAll(async () => {
    await app?.close();
  });

  it('replays exactly the missed events in order, then continues live', async () => {
    const staff = await app.token('acme-staff');
    const manager = await app.token('acme-manager');
    const first = await app.connect(manager);
    const live = await first.live<OrderEvent>(ORDER_EVENTS, { storeId: 'acme-downtown' });
    const orderId = await createOrder(app, staff);
    const seen = await live.next();
    const cursor = seen.data!.orderUpdated.cursor;
    await first.dispose();

    // Missed while disconnected: three status changes.
    for (const status of ['ACCEPTED', 'IN_PROGRESS', 'READY']) {
      const result = await app.gql(UPDATE_STATUS, { orderId, status }, { token: staff });
      expect(result.errors).toBeUndefined();
    }

    const second = await app.connect(manager);
    const resumed = second.subscribe<OrderEvent>(ORDER_EVENTS, { storeId: 'acme-downtown', after: cursor });
    const replayed = await resumed.take(3);
    expect(replayed.map((r) => r.data?.orderUpdated.previousStatus)).toEqual([
      'PENDING',
      'ACCEPTED',
      'IN_PROGRESS',
    ]);
    expect(replayed.map((r) => r.data?.orderUpdated.order.status)).toEqual([
      'ACCEPTED',
      'IN_PROGRESS',
      'READY',
    ]);

    const nextOrderId = await createOrder(app, staff);
    const liveAfterReplay = await resumed.next();
    expect(liveAfterReplay.data?.orderUpdated).toMatchObject({ kind: 'CREATED', order: { id: nextOrderId } });
    // No event twice: the next one is the next order's.
    const last = await createOrder(app, staff);
    expect((await resumed.next()).data?.orderUpdated).toMatchObject({ kind: 'CREATED', order: { id: last } });
    await second.dispose();
  });

  it("refuses a cursor from another store's stream", async () => {
    const manager = await app.token('acme-manager');
    const client = await app.connect(manager);
    const downtown = await client.live<OrderEvent>(ORDER_EVENTS, { storeId: 'acme-downtown' });
    await createOrder(app, await app.token('acme-staff'));
    const cursor = (await downtown.next()).data!.orderUpdated.cursor;

    const uptown = client.subscribe<OrderEvent>(ORDER_EVENTS, { storeId: 'acme-uptown', after: cursor });
    const result = await uptown.next();
    expect(result.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    await client.dispose();
  });
});
