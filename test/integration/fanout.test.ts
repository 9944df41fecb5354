import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { signToken } from '../../src/auth/tokens';
import { DEFAULT_SCOPE, EXAMPLES } from '../../src/demo/graphiql/examples';
import { type GraphQLContext, resolverContextOf } from '../../src/schema/context';
import { buildSchema } from '../../src/schema/index';
import { eventually } from '../support/eventually';
import {
  startTestServer,
  TEST_JWT_SECRET,
  TEST_REDIS_URL,
  type TestServer,
  uniqueRedisPrefix,
} from '../support/server';

const ORDER_EVENTS = /* GraphQL */ `
  subscription ($storeId: ID!, $withItems: Boolean!) {
    orderUpdated(storeId: $storeId) { kind order { id customerId items @include(if: $withItems) { name } } }
  }
`;
const CREATE_ORDER = /* GraphQL */ `
  mutation ($input: CreateOrderInput!) { createOrder(input: $input) { id } }
`;

type OrderEvent = {
  orderUpdated: { kind: string; order: { id: string; customerId: string | null; items?: unknown[] } };
};

describe('fan-out engine on a real server', () => {
  let app: TestServer;
  let redis: Redis;
  const redisPrefix = uniqueRedisPrefix();
  beforeAll(async () => {
    app = await startTestServer({ redisUrl: TEST_REDIS_URL, redisPrefix });
    redis = new Redis(TEST_REDIS_URL);
  });
  afterAll(async () => {
    redis?.disconnect();
    await app?.close();
  });

  async function createOrder(customerId: string | null) {
    const result = await app.gql<{ createOrder: { id: string } }>(
      CREATE_ORDER,
      {
        input: {
          storeId: 'acme-downtown',
          channel: 'POS',
          customerId,
          items: [{ productId: 'acme-downtown-fries', quantity: 1 }],
        },
      },
      { token: await app.token('acme-staff') },
    );
    expect(result.errors).toBeUndefined();
    return result.data!.createOrder.id;
  }

  it('runs every subscription field as a plan: each example subscription joins the engine', async () => {
    const subscriptions = EXAMPLES.filter((example) => example.kind === 'subscription');
    const fields = new Set(subscriptions.map((example) => example.field));
    expect([...fields].sort()).toEqual(Object.keys(buildSchema().getSubscriptionType()!.getFields()).sort());
    await eventually(() => app.server.fanout?.stats().subscribers === 0); // no other test's subscribers left
    const client = await app.connect(await app.token('acme-manager'));
    const opened = [];
    for (const example of subscriptions) {
      // A field returning a stream of its own would be executed beside the engine, never join a group.
      opened.push(await client.live(example.document, example.variables(DEFAULT_SCOPE)));
      await eventually(() => app.server.fanout?.stats().subscribers === opened.length);
    }
    for (const subscription of opened) await subscription.close();
    await client.dispose();
    await eventually(() => app.server.fanout?.stats().subscribers === 0);
  });

  it('never sends a subscriber what its own scope would not allow, and keeps each shape', async () => {
    const otherCustomer = await signToken(
      { sub: 'acme-customer-2', tid: 'acme', roles: ['CUSTOMER'], stores: ['acme-downtown'] },
      { secret: TEST_JWT_SECRET },
    );
    const clients: Array<Awaited<ReturnType<TestServer['connect']>>> = [];
    const subscribe = async (token: string, withItems = false) => {
      const client = await app.connect(token);
      clients.push(client);
      return client.live<OrderEvent>(ORDER_EVENTS, { storeId: 'acme-downtown', withItems });
    };
    const customer = await subscribe(await app.token('acme-customer'));
    const stranger = await subscribe(otherCustomer);
    const manager = await subscribe(await app.token('acme-manager'));
    const managerWithItems = await subscribe(await app.token('acme-manager'), true);
    await eventually(() => app.server.fanout?.stats().subscribers === 4);
    expect(app.server.fanout?.stats()).toEqual({ groups: 4, subscribers: 4 });

    const customersOrder = await createOrder('acme-customer');
    const walkInOrder = await createOrder(null);

    const seenByManager = await manager.take(2);
    expect(seenByManager.map((r) => r.data?.orderUpdated.order)).toEqual([
      { id: customersOrder, customerId: 'acme-customer' },
      { id: walkInOrder, customerId: null },
    ]);
    const withItems = await managerWithItems.take(2);
    expect(withItems.map((r) => r.data?.orderUpdated.order.items)).toEqual([
      [{ name: 'Fries' }],
      [{ name: 'Fries' }],
    ]);
    expect((await customer.next()).data?.orderUpdated.order).toEqual({
      id: customersOrder,
      customerId: 'acme-customer',
    });
    // The customer's next event is its next order, the stranger's its own first: nothing else came before.
    const customersNext = await createOrder('acme-customer');
    expect((await customer.next()).data?.orderUpdated.order.id).toBe(customersNext);
    const strangersOwn = await app.data<{ createOrder: { id: string } }>(
      CREATE_ORDER,
      {
        input: {
          storeId: 'acme-downtown',
          channel: 'ONLINE',
          items: [{ productId: 'acme-downtown-fries', quantity: 1 }],
        },
      },
      { token: otherCustomer },
    );
    expect((await stranger.next()).data?.orderUpdated.order.id).toBe(strangersOwn.createOrder.id);
    await Promise.all(clients.map((client) => client.dispose()));
  });

  it('closing a socket or completing a subscription releases the engine and the Redis subscription', async () => {
    const channel = `${redisPrefix}t:acme:store:acme-downtown:orders`;
    const subscribers = async () => ((await redis.pubsub('NUMSUB', channel)) as [string, number])[1];
    await eventually(() => app.server.fanout?.stats().subscribers === 0); // the previous test's sockets
    const first = await app.connect(await app.token('acme-manager'));
    const second = await app.connect(await app.token('acme-manager'));
    const completed = first.subscribe(ORDER_EVENTS, { storeId: 'acme-downtown', withItems: false });
    second.subscribe(ORDER_EVENTS, { storeId: 'acme-downtown', withItems: false });
    await eventually(() => app.server.fanout?.stats().subscribers === 2);
    expect(await subscribers()).toBe(1);

    await completed.close();
    await eventually(() => app.server.fanout?.stats().subscribers === 1);
    await second.dispose();
    await eventually(() => app.server.fanout?.stats().subscribers === 0);
    expect(app.server.fanout?.stats()).toEqual({ groups: 0, subscribers: 0 });
    await eventually(async () => (await subscribers()) === 0);
  });

  it('a subscribe reusing a held subscription id closes the socket with 4409 and releases the subscription', async () => {
    await eventually(() => app.server.fanout?.stats().subscribers === 0);
    const socket = new WebSocket(app.wsUrl, 'graphql-transport-ws');
    const closed = new Promise<{ code: number; reason: string }>((resolve) =>
      socket.on('close', (code, reason) => resolve({ code, reason: String(reason) })),
    );
    const subscribe = JSON.stringify({
      id: 'one',
      type: 'subscribe',
      payload: { query: ORDER_EVENTS, variables: { storeId: 'acme-downtown', withItems: false } },
    });
    socket.on('message', (data) => {
      if (JSON.parse(String(data)).type === 'connection_ack') socket.send(subscribe);
    });
    const token = await app.token('acme-manager');
    socket.on('open', () =>
      socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } })),
    );
    await eventually(() => app.server.fanout?.stats().subscribers === 1);
    socket.send(subscribe);
    expect(await closed).toEqual({ code: 4409, reason: 'Subscriber for one already exists' });
    await eventually(() => app.server.fanout?.stats().subscribers === 0);
  });
});

describe('shared streams: one pub/sub subscription per topic, per-event checks once per group', () => {
  let app: TestServer;
  let redis: Redis;
  const redisPrefix = uniqueRedisPrefix();
  const ORDERS_WITH_CURSOR = /* GraphQL */ `
    subscription ($storeId: ID!, $after: String) {
      orderUpdated(storeId: $storeId, after: $after) { cursor kind order { id } }
    }
  `;
  const TICKET_EVENTS = /* GraphQL */ `
    subscription ($stationId: ID!) { kdsTicket(stationId: $stationId) { kind ticket { orderId stationId } } }
  `;
  type CursorEvent = { orderUpdated: { cursor: string; kind: string; order: { id: string } } };
  type TicketEvent = { kdsTicket: { kind: string; ticket: { orderId: string; stationId: string } } };

  beforeAll(async () => {
    app = await startTestServer({ redisUrl: TEST_REDIS_URL, redisPrefix });
    redis = new Redis(TEST_REDIS_URL);
    await app.server.db.db.inventoryItem.updateMany({ data: { quantity: 10_000 } });
  });
  afterAll(async () => {
    redis?.disconnect();
    await app?.close();
  });

  async function createOrder(items = [{ productId: 'acme-downtown-fries', quantity: 1 }]) {
    const result = await app.gql<{ createOrder: { id: string } }>(
      CREATE_ORDER,
      { input: { storeId: 'acme-downtown', channel: 'POS', items } },
      { token: await app.token('acme-staff') },
    );
    expect(result.errors).toBeUndefined();
    return result.data!.createOrder.id;
  }

  it('resumes with after: the replay, then live events, in order and once, next to a live member of its group', async () => {
    const manager = await app.token('acme-manager');
    const live = await app.connect(manager);
    const liveEvents = await live.live<CursorEvent>(ORDERS_WITH_CURSOR, { storeId: 'acme-downtown' });
    await eventually(() => app.server.fanout?.stats().subscribers === 1);
    const first = await createOrder();
    const [seen] = await liveEvents.take(1);
    expect(seen?.data?.orderUpdated.order.id).toBe(first);
    const missed = [await createOrder(), await createOrder()];
    await liveEvents.take(2);

    const resuming = await app.connect(manager);
    const resumed = resuming.subscribe<CursorEvent>(ORDERS_WITH_CURSOR, {
      storeId: 'acme-downtown',
      after: seen!.data!.orderUpdated.cursor,
    });
    const replayed = await resumed.take(2);
    expect(replayed.map((r) => r.data?.orderUpdated.order.id)).toEqual(missed);
    await eventually(() => app.server.fanout?.stats().subscribers === 2);
    expect(app.server.fanout?.stats().groups).toBe(1); // `after` is not part of the group

    const next = await createOrder();
    expect((await resumed.next()).data?.orderUpdated.order.id).toBe(next);
    expect((await liveEvents.next()).data?.orderUpdated.order.id).toBe(next);
    const last = await createOrder(); // nothing twice: the next event is the next order's
    expect((await resumed.next()).data?.orderUpdated.order.id).toBe(last);
    await Promise.all([live.dispose(), resuming.dispose()]);
    await eventually(() => app.server.fanout?.stats().subscribers === 0);
  });

  it('a KDS device bound to one station receives its station only, and cannot watch another', async () => {
    const device = (stations: string[]) =>
      signToken(
        { sub: 'acme-kitchen', tid: 'acme', roles: ['KITCHEN'], stores: ['acme-downtown'], stations },
        { secret: TEST_JWT_SECRET },
      );
    const grillDevice = await app.connect(await device(['acme-downtown-grill']));
    const barDevice = await app.connect(await device(['acme-downtown-bar']));
    const grill = grillDevice.subscribe<TicketEvent>(TICKET_EVENTS, { stationId: 'acme-downtown-grill' });
    const bar = barDevice.subscribe<TicketEvent>(TICKET_EVENTS, { stationId: 'acme-downtown-bar' });
    const refused = grillDevice.subscribe<TicketEvent>(TICKET_EVENTS, { stationId: 'acme-downtown-bar' });
    expect((await refused.next()).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    await eventually(() => app.server.fanout?.stats().subscribers === 2);
    await Promise.all([grill.live(), bar.live()]);

    const order = await createOrder([
      { productId: 'acme-downtown-burger', quantity: 1 },
      { productId: 'acme-downtown-lemonade', quantity: 1 },
    ]);
    expect((await grill.next()).data?.kdsTicket.ticket).toEqual({
      orderId: order,
      stationId: 'acme-downtown-grill',
    });
    expect((await bar.next()).data?.kdsTicket.ticket).toEqual({
      orderId: order,
      stationId: 'acme-downtown-bar',
    });
    // Each device's next event is the next order at its station: nothing of the other's came between.
    const burger = await createOrder([{ productId: 'acme-downtown-burger', quantity: 1 }]);
    const lemonade = await createOrder([{ productId: 'acme-downtown-lemonade', quantity: 1 }]);
    expect((await grill.next()).data?.kdsTicket.ticket.orderId).toBe(burger);
    expect((await bar.next()).data?.kdsTicket.ticket.orderId).toBe(lemonade);
    await Promise.all([grillDevice.dispose(), barDevice.dispose()]);
  });

  it('inventory groups by filter: a minSeverity subscriber never gets the events below it', async () => {
    const INVENTORY_EVENTS = /* GraphQL */ `
      subscription ($storeId: ID, $minSeverity: Severity) {
        inventoryAlert(storeId: $storeId, minSeverity: $minSeverity) { kind severity item { id } }
      }
    `;
    type InventoryEvent = { inventoryAlert: { kind: string; severity: string; item: { id: string } } };
    const manager = await app.connect(await app.token('acme-manager'));
    const everything = manager.subscribe<InventoryEvent>(INVENTORY_EVENTS, { storeId: 'acme-downtown' });
    const urgentOnly = manager.subscribe<InventoryEvent>(INVENTORY_EVENTS, {
      storeId: 'acme-downtown',
      minSeverity: 'URGENT',
    });
    await eventually(() => app.server.fanout?.stats().groups === 2);
    await Promise.all([everything.live(), urgentOnly.live()]);

    const adjusted = await app.gql(
      `mutation { adjustInventory(itemId: "acme-downtown-burger-stock", delta: -1, reason: "spill") { id } }`,
      {},
      { token: await app.token('acme-manager') },
    );
    expect(adjusted.errors).toBeUndefined();
    expect((await everything.next()).data?.inventoryAlert).toEqual({
      kind: 'ADJUSTMENT',
      severity: 'LOW',
      item: { id: 'acme-downtown-burger-stock' },
    });
    // The urgent subscriber's first event is an urgent one that came after: the adjustment did not reach it.
    const fries = await app.server.db.db.inventoryItem.findUniqueOrThrow({
      where: { id: 'acme-downtown-fries-stock' },
    });
    const emptied = await app.gql(
      'mutation ($delta: Int!) { adjustInventory(itemId: "acme-downtown-fries-stock", delta: $delta, reason: "spill") { id } }',
      { delta: -fries.quantity },
      { token: await app.token('acme-manager') },
    );
    expect(emptied.errors).toBeUndefined();
    expect((await urgentOnly.next()).data?.inventoryAlert).toMatchObject({
      severity: 'URGENT',
      item: { id: 'acme-downtown-fries-stock' },
    });
    // Back in stock for the tests after this one (a restock also brings the sold-out fries back on the menu).
    const refilled = await app.gql(
      'mutation { restockInventory(itemId: "acme-downtown-fries-stock", quantity: 10000) { id } }',
      {},
      { token: await app.token('acme-manager') },
    );
    expect(refilled.errors).toBeUndefined();
    await manager.dispose();
  });

  it('serves every group of a topic from one shared subscription, released with the last subscriber', async () => {
    await eventually(() => app.server.fanout?.stats().subscribers === 0);
    const channel = `${redisPrefix}t:acme:store:acme-downtown:orders`;
    const clients = await Promise.all(
      ['acme-manager', 'acme-staff', 'acme-customer'].map(async (user) => app.connect(await app.token(user))),
    );
    const streams = clients.map((client) =>
      client.subscribe<CursorEvent>(ORDERS_WITH_CURSOR, { storeId: 'acme-downtown' }),
    );
    await eventually(() => app.server.fanout?.stats().subscribers === 3);
    expect(app.server.fanout?.stats().groups).toBe(3);
    // A group joins the shared topic subscription once its stream is live: wait for that, then it is exact.
    await eventually(() => app.server.fanout?.hubStats().listeners === 3);
    expect(app.server.fanout?.hubStats()).toEqual({ topics: 1, listeners: 3 });
    await eventually(async () => ((await redis.pubsub('NUMSUB', channel)) as [string, number])[1] === 1);

    const order = await createOrder();
    for (const stream of streams.slice(0, 2))
      expect((await stream.next()).data?.orderUpdated.order.id).toBe(order);
    // The customer's group: not their order. Their first event is their own, placed after it.
    const own = await app.data<{ createOrder: { id: string } }>(
      CREATE_ORDER,
      {
        input: {
          storeId: 'acme-downtown',
          channel: 'POS',
          customerId: 'acme-customer',
          items: [{ productId: 'acme-downtown-fries', quantity: 1 }],
        },
      },
      { token: await app.token('acme-staff') },
    );
    expect((await streams[2]!.next()).data?.orderUpdated.order.id).toBe(own.createOrder.id);

    await Promise.all(clients.map((client) => client.dispose()));
    await eventually(() => app.server.fanout?.hubStats().topics === 0);
    await eventually(async () => ((await redis.pubsub('NUMSUB', channel)) as [string, number])[1] === 0);
  });
});

describe('memory: what an engine-delivered subscription keeps', () => {
  let app: TestServer;
  let operationContexts = 0;
  let collected = 0;
  // Not WeakRefs: a WeakRef keeps its target alive until the job that made it ends, which a test may outlive.
  const collection = new FinalizationRegistry<string>(() => {
    collected++;
  });
  beforeAll(async () => {
    app = await startTestServer({
      redisUrl: TEST_REDIS_URL,
      serverOptions: {
        // The engine makes each group's context from its first member's operation context: observe that one.
        fanout: {
          executionContext: (context) => {
            operationContexts++;
            collection.register(context as object, 'operation context');
            return resolverContextOf(context as GraphQLContext);
          },
        },
      },
    });
  });
  afterAll(() => app?.close());

  it("keeps neither the operation's context nor its wrappers: only what delivers its events", async () => {
    const socket = await app.connect(await app.token('acme-manager'));
    const events = await socket.live<OrderEvent>(ORDER_EVENTS, { storeId: 'acme-downtown', withItems: true });
    const staff = await app.token('acme-staff');
    const order = async () => {
      const result = await app.gql<{ createOrder: { id: string } }>(
        CREATE_ORDER,
        {
          input: {
            storeId: 'acme-downtown',
            channel: 'POS',
            items: [{ productId: 'acme-downtown-fries', quantity: 1 }],
          },
        },
        { token: staff },
      );
      return result.data!.createOrder.id;
    };
    const first = await order();
    expect((await events.next()).data?.orderUpdated.order.id).toBe(first);
    expect(operationContexts).toBe(1);

    const collect = exposedGc();
    await eventually(() => {
      collect();
      return collected > 0;
    });
    expect(collected).toBe(1);

    // The subscription lives on without it, shape and scope intact.
    const second = await order();
    const next = (await events.next()).data?.orderUpdated;
    expect(next?.order.id).toBe(second);
    expect(next?.order.items).toEqual([{ name: expect.any(String) }]);
    await socket.dispose();
  });
});

/** The garbage collector, callable from this test worker. */
function exposedGc(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}
