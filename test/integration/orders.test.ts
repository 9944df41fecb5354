import { describe, expect, it } from 'vitest';
import { useTestServer } from '../support/server';

const ORDER_FIELDS = /* GraphQL */ `
  id number storeId status channel priority tableNumber customerId totalCents paidCents balanceCents currency
  items { id productId name quantity unitPriceCents notes status }
`;
const CREATE_ORDER = `mutation ($input: CreateOrderInput!) { createOrder(input: $input) { ${ORDER_FIELDS} } }`;
const UPDATE_STATUS = `mutation ($orderId: ID!, $status: OrderStatus!) {
  updateOrderStatus(orderId: $orderId, status: $status) { id status }
}`;
const CANCEL = `mutation ($orderId: ID!, $reason: String!) { cancelOrder(orderId: $orderId, reason: $reason) { id status cancelReason } }`;
const PAY = `mutation ($orderId: ID!, $amount: Int!) { recordPayment(orderId: $orderId, amount: $amount) { id paidCents balanceCents } }`;
const MARK_READY = `mutation ($itemId: ID!) { markItemReady(itemId: $itemId) { id status } }`;
const ORDER_EVENTS = /* GraphQL */ `
  subscription ($storeId: ID!, $after: String) {
    orderUpdated(storeId: $storeId, after: $after) {
      cursor kind previousStatus occurredAt order { id number status paidCents customerId }
    }
  }
`;

type Order = {
  id: string;
  number: number;
  status: string;
  totalCents: number;
  items: { id: string; productId: string }[];
};
type OrderEvent = {
  orderUpdated: {
    cursor: string;
    kind: string;
    previousStatus: string | null;
    occurredAt: string;
    order: { id: string; status: string; paidCents: number; customerId: string | null };
  };
};

const { app, tokens } = useTestServer();

const downtownInput = (overrides: Record<string, unknown> = {}) => ({
  storeId: 'acme-downtown',
  channel: 'POS',
  items: [
    { productId: 'acme-downtown-burger', quantity: 1, notes: 'medium' },
    { productId: 'acme-downtown-lemonade', quantity: 1 },
  ],
  ...overrides,
});

async function createOrder(token: string, input = downtownInput()): Promise<Order> {
  const result = await app.gql<{ createOrder: Order }>(CREATE_ORDER, { input }, { token });
  expect(result.errors).toBeUndefined();
  return result.data!.createOrder;
}

describe('stores over HTTP', () => {
  it('answers `me` with the current store from x-store-id', async () => {
    const result = await app.gql(
      '{ me { id roles tenant { id } stores { id } currentStore { id } stationIds } }',
      {},
      { token: tokens['acme-kitchen'], storeId: 'acme-downtown' },
    );
    expect(result.data).toEqual({
      me: {
        id: 'acme-kitchen',
        roles: ['KITCHEN'],
        tenant: { id: 'acme' },
        stores: [{ id: 'acme-downtown' }],
        currentStore: { id: 'acme-downtown' },
        stationIds: ['acme-downtown-grill'],
      },
    });
  });

  it('lists stores and reads one with its stations and menu', async () => {
    const stores = await app.gql('{ stores { id } }', {}, { token: tokens['acme-manager'] });
    expect(stores.data).toEqual({ stores: [{ id: 'acme-downtown' }, { id: 'acme-uptown' }] });
    const store = await app.gql(
      '{ store(id: "acme-uptown") { name stations { id kind } products { id priceCents available } } }',
      {},
      { token: tokens['acme-manager'] },
    );
    expect(store.data).toEqual({
      store: {
        name: 'Acme Uptown',
        stations: [
          { id: 'acme-uptown-bar', kind: 'PREP' },
          { id: 'acme-uptown-expo', kind: 'EXPO' },
          { id: 'acme-uptown-grill', kind: 'PREP' },
        ],
        products: [
          { id: 'acme-uptown-lemonade', priceCents: 299, available: true }, // Drinks
          { id: 'acme-uptown-burger', priceCents: 1099, available: true }, // Mains
          { id: 'acme-uptown-fries', priceCents: 399, available: true }, // Sides
        ],
      },
    });
  });

  it('hides another tenant’s store', async () => {
    const result = await app.gql(
      '{ store(id: "globex-central") { id } }',
      {},
      { token: tokens['acme-manager'] },
    );
    expect(result.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });
});

describe('orders over HTTP', () => {
  it('creates an order priced from the menu', async () => {
    const order = await createOrder(tokens['acme-staff']!);
    expect(order).toMatchObject({
      status: 'PENDING',
      totalCents: 1099 + 299,
      items: [{ productId: 'acme-downtown-burger' }, { productId: 'acme-downtown-lemonade' }],
    });
  });

  it('maps invalid input, unknown products and forbidden roles to error codes', async () => {
    const empty = await app.gql(
      CREATE_ORDER,
      { input: downtownInput({ items: [] }) },
      { token: tokens['acme-staff'] },
    );
    expect(empty.errors?.[0]).toMatchObject({
      message: 'An order needs at least one item',
      extensions: { code: 'BAD_USER_INPUT' },
    });
    const unknown = await app.gql(
      CREATE_ORDER,
      { input: downtownInput({ items: [{ productId: 'nope', quantity: 1 }] }) },
      { token: tokens['acme-staff'] },
    );
    expect(unknown.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const kitchen = await app.gql(
      CREATE_ORDER,
      { input: downtownInput() },
      { token: tokens['acme-kitchen'] },
    );
    expect(kitchen.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const anonymous = await app.gql(CREATE_ORDER, { input: downtownInput() });
    expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('refuses an illegal transition naming both statuses', async () => {
    const order = await createOrder(tokens['acme-staff']!);
    const result = await app.gql(
      UPDATE_STATUS,
      { orderId: order.id, status: 'READY' },
      { token: tokens['acme-staff'] },
    );
    expect(result.errors?.[0]).toMatchObject({
      message: 'An order cannot move from PENDING to READY',
      extensions: { code: 'BAD_USER_INPUT' },
    });
  });

  it('shows a customer their own order and hides others as NOT_FOUND', async () => {
    const own = await createOrder(tokens['acme-customer']!, downtownInput({ channel: 'ONLINE' }));
    const other = await createOrder(tokens['acme-staff']!);
    const query = 'query ($id: ID!) { order(id: $id) { id customerId } }';
    const mine = await app.gql(query, { id: own.id }, { token: tokens['acme-customer'] });
    expect(mine.data).toEqual({ order: { id: own.id, customerId: 'acme-customer' } });
    const foreign = await app.gql(query, { id: other.id }, { token: tokens['acme-customer'] });
    expect(foreign.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const otherTenant = await app.gql(query, { id: other.id }, { token: tokens['globex-manager'] });
    expect(otherTenant.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });

  it('pages orders newest first as a connection, defaulting to the current store', async () => {
    await createOrder(tokens['acme-staff']!);
    const query = `query ($after: String) {
      orders(first: 2, after: $after) { edges { cursor node { number } } pageInfo { hasNextPage endCursor } }
    }`;
    type Page = {
      orders: {
        edges: { node: { number: number } }[];
        pageInfo: { hasNextPage: boolean; endCursor: string };
      };
    };
    const first = await app.gql<Page>(query, {}, { token: tokens['acme-manager'], storeId: 'acme-downtown' });
    const numbers = first.data!.orders.edges.map((edge) => edge.node.number);
    expect(numbers).toHaveLength(2);
    expect(numbers[0]).toBeGreaterThan(numbers[1]!);
    expect(first.data!.orders.pageInfo.hasNextPage).toBe(true);
    const second = await app.gql<Page>(
      query,
      { after: first.data!.orders.pageInfo.endCursor },
      { token: tokens['acme-manager'], storeId: 'acme-downtown' },
    );
    expect(second.data!.orders.edges[0]!.node.number).toBe(numbers[1]! - 1);
  });
});

describe('orderUpdated over graphql-ws', () => {
  it('delivers every kind of order event after its mutation, only to subscribers of that store', async () => {
    const managerClient = await app.connect(tokens['acme-manager']);
    const downtown = await managerClient.live<OrderEvent>(ORDER_EVENTS, { storeId: 'acme-downtown' });
    const uptown = await managerClient.live<OrderEvent>(ORDER_EVENTS, { storeId: 'acme-uptown' });
    const staff = tokens['acme-staff']!;
    const order = await createOrder(staff);
    const next = async () => (await downtown.next()).data!.orderUpdated;

    expect(await next()).toMatchObject({ kind: 'CREATED', previousStatus: null, order: { id: order.id } });
    await app.gql(UPDATE_STATUS, { orderId: order.id, status: 'ACCEPTED' }, { token: staff });
    expect(await next()).toMatchObject({
      kind: 'STATUS_CHANGED',
      previousStatus: 'PENDING',
      order: { status: 'ACCEPTED' },
    });
    await app.gql(PAY, { orderId: order.id, amount: 100 }, { token: staff });
    expect(await next()).toMatchObject({ kind: 'UPDATED', order: { paidCents: 100 } });
    await app.gql(PAY, { orderId: order.id, amount: order.totalCents - 100 }, { token: staff });
    expect(await next()).toMatchObject({ kind: 'PAID', order: { paidCents: order.totalCents } });
    const lemonade = order.items.find((item) => item.productId === 'acme-downtown-lemonade')!;
    await app.gql(MARK_READY, { itemId: lemonade.id }, { token: staff });
    expect(await next()).toMatchObject({ kind: 'STATUS_CHANGED', previousStatus: 'ACCEPTED' });
    expect(await next()).toMatchObject({ kind: 'ITEM_READY', order: { id: order.id } });
    await app.gql(UPDATE_STATUS, { orderId: order.id, status: 'READY' }, { token: staff });
    await app.gql(UPDATE_STATUS, { orderId: order.id, status: 'COMPLETED' }, { token: staff });
    expect((await downtown.take(3)).map((r) => r.data!.orderUpdated.kind)).toEqual([
      'STATUS_CHANGED',
      'STATUS_CHANGED',
      'COMPLETED',
    ]);
    const doomed = await createOrder(staff);
    await app.gql(CANCEL, { orderId: doomed.id, reason: 'out of buns' }, { token: staff });
    expect((await downtown.take(3)).map((r) => r.data!.orderUpdated.kind)).toEqual([
      'CREATED',
      'STATUS_CHANGED',
      'CANCELLED',
    ]);
    // Uptown's first event is its own order: none of downtown's came before it.
    const uptownOrder = await createOrder(
      tokens['acme-manager']!,
      downtownInput({ storeId: 'acme-uptown', items: [{ productId: 'acme-uptown-fries', quantity: 1 }] }),
    );
    expect(await uptown.until((event) => event.orderUpdated.order.id === uptownOrder.id)).toHaveLength(1);
    await managerClient.dispose();
  });

  it('delivers customers only their own orders', async () => {
    const customerClient = await app.connect(tokens['acme-customer']);
    const events = await customerClient.live<OrderEvent>(ORDER_EVENTS, { storeId: 'acme-downtown' });
    await createOrder(tokens['acme-staff']!);
    const own = await createOrder(tokens['acme-customer']!, downtownInput({ channel: 'KIOSK' }));
    const first = await events.next();
    expect(first.data!.orderUpdated).toMatchObject({
      kind: 'CREATED',
      order: { id: own.id, customerId: 'acme-customer' },
    });
    // The walk-in order placed before is not theirs, and neither is one placed after: their next is their next.
    await createOrder(tokens['acme-staff']!);
    const next = await createOrder(tokens['acme-customer']!, downtownInput({ channel: 'KIOSK' }));
    expect(await events.until((event) => event.orderUpdated.order.id === next.id)).toHaveLength(1);
    await customerClient.dispose();
  });

  it('refuses a store outside the caller’s claim', async () => {
    const staffClient = await app.connect(tokens['acme-staff']);
    const result = await staffClient.subscribe<OrderEvent>(ORDER_EVENTS, { storeId: 'acme-uptown' }).next();
    expect(result.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    await staffClient.dispose();
  });
});
