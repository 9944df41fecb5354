import { decodeJwt } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { tokenCommand } from '../../src/auth/token-cli';
import { signToken } from '../../src/auth/tokens';
import { eventually } from '../support/eventually';
import { type Subscription, TEST_JWT_SECRET, useTestServer } from '../support/server';

// A guest token at a table (claim `table`, role CUSTOMER) orders at that table and follows exactly the orders
// of the party seated there, over HTTP, graphql-ws and SSE, live and replayed; the next party ends it.

const ISSUE = `mutation ($tableId: ID!) { issueTableToken(tableId: $tableId) { token tableId expiresAt } }`;
const SEAT = `mutation ($tableId: ID!, $partySize: Int!) { seatTable(tableId: $tableId, partySize: $partySize) { id status } }`;
const SET_STATUS = `mutation ($tableId: ID!, $status: TableStatus!) { setTableStatus(tableId: $tableId, status: $status) { id status } }`;
const CREATE_ORDER = `mutation ($input: CreateOrderInput!) { createOrder(input: $input) { id tableNumber tableId customerId } }`;
const CANCEL = `mutation ($orderId: ID!) { cancelOrder(orderId: $orderId, reason: "left") { id } }`;
const ORDERS = `query ($storeId: ID) { orders(storeId: $storeId, first: 50) { edges { node { id tableId } } } }`;
const ORDER = `query ($id: ID!) { order(id: $id) { id } }`;
const ORDER_UPDATED = /* GraphQL */ `
  subscription ($storeId: ID!, $after: String) {
    orderUpdated(storeId: $storeId, after: $after) { cursor kind order { id tableId tableNumber } }
  }
`;

type OrderEvent = {
  orderUpdated: { cursor: string; kind: string; order: { id: string; tableId: string | null } };
};
type Issued = { issueTableToken: { token: string; tableId: string; expiresAt: string } };

const { app, tokens } = useTestServer();

const fries = [{ productId: 'acme-downtown-fries', quantity: 1 }];

async function mutate<T = Record<string, unknown>>(
  token: string,
  query: string,
  variables: Record<string, unknown>,
) {
  const result = await app.gql<T>(query, variables, { token });
  expect(result.errors, JSON.stringify(result.errors)).toBeUndefined();
  return result.data as T;
}

const codeOf = (result: { errors?: ReadonlyArray<{ extensions?: { [key: string]: unknown } }> }) =>
  result.errors?.[0]?.extensions?.code;

/** Seats a party at the table and issues its guest token, as the floor staff would for a QR code. */
async function seatWithToken(tableId: string, partySize = 2): Promise<string> {
  await mutate(tokens['acme-staff']!, SEAT, { tableId, partySize });
  return (await mutate<Issued>(tokens['acme-staff']!, ISSUE, { tableId })).issueTableToken.token;
}

async function staffOrderAt(tableNumber: number) {
  const placed = await mutate<{ createOrder: { id: string } }>(tokens['acme-staff']!, CREATE_ORDER, {
    input: { storeId: 'acme-downtown', channel: 'TABLE', tableNumber, items: fries },
  });
  return placed.createOrder.id;
}

async function posOrder() {
  const placed = await mutate<{ createOrder: { id: string } }>(tokens['acme-staff']!, CREATE_ORDER, {
    input: { storeId: 'acme-downtown', channel: 'POS', items: fries },
  });
  return placed.createOrder.id;
}

async function guestOrder(token: string) {
  const placed = await mutate<{ createOrder: { id: string } }>(token, CREATE_ORDER, {
    input: { storeId: 'acme-downtown', channel: 'TABLE', items: fries },
  });
  return placed.createOrder.id;
}

/** Everything the subscriber reads up to the order `lastId`: each must be an order of `tableId`. */
function upTo(subscription: Subscription<OrderEvent>, lastId: string, tableId: string) {
  return subscription.until(
    (data) => data.orderUpdated.order.id === lastId,
    (data) => data.orderUpdated.order.tableId === tableId,
  );
}

describe('issueTableToken', () => {
  it('gives floor staff a guest token for a table with a party, and no one else', async () => {
    const free = await app.gql(ISSUE, { tableId: 'acme-downtown-1' }, { token: tokens['acme-staff'] });
    expect(free.errors?.[0]).toMatchObject({ extensions: { code: 'CONFLICT', status: 'FREE' } });
    await mutate(tokens['acme-manager']!, SEAT, { tableId: 'acme-downtown-1', partySize: 2 });
    const issued = await mutate<Issued>(tokens['acme-manager']!, ISSUE, { tableId: 'acme-downtown-1' });
    expect(issued.issueTableToken).toMatchObject({ tableId: 'acme-downtown-1' });
    expect(decodeJwt(issued.issueTableToken.token)).toMatchObject({
      sub: 'guest:acme-downtown-1',
      roles: ['CUSTOMER'],
      stores: ['acme-downtown'],
      table: 'acme-downtown-1',
    });
    for (const user of ['acme-kitchen', 'acme-customer']) {
      expect(
        codeOf(await app.gql(ISSUE, { tableId: 'acme-downtown-1' }, { token: tokens[user] })),
        user,
      ).toBe('FORBIDDEN');
    }
    const guest = issued.issueTableToken.token;
    expect(codeOf(await app.gql(ISSUE, { tableId: 'acme-downtown-1' }, { token: guest }))).toBe('FORBIDDEN');
    const foreign = await app.gql(ISSUE, { tableId: 'acme-downtown-1' }, { token: tokens['globex-manager'] });
    expect(codeOf(foreign)).toBe('NOT_FOUND');
  });

  it('and `npm run token -- --table` mints one for a demo table', async () => {
    await mutate(tokens['acme-staff']!, SEAT, { tableId: 'acme-downtown-12', partySize: 4 });
    const minted = await tokenCommand(['--table', 'acme-downtown-12'], { JWT_SECRET: TEST_JWT_SECRET });
    expect(minted.exitCode).toBe(0);
    const placed = await mutate<{ createOrder: { tableNumber: number; tableId: string; customerId: null } }>(
      minted.stdout.trim(),
      CREATE_ORDER,
      { input: { storeId: 'acme-downtown', channel: 'TABLE', items: fries } },
    );
    expect(placed.createOrder).toMatchObject({
      tableNumber: 12,
      tableId: 'acme-downtown-12',
      customerId: null,
    });
  });
});

describe('a guest at table 4', () => {
  let guest: string;
  beforeAll(async () => {
    guest = await seatWithToken('acme-downtown-4');
    await mutate(tokens['acme-staff']!, SEAT, { tableId: 'acme-downtown-5', partySize: 2 });
  });

  it('orders at its table only, through TABLE', async () => {
    const own = await app.gql(
      CREATE_ORDER,
      { input: { storeId: 'acme-downtown', channel: 'TABLE', items: fries } },
      { token: guest },
    );
    expect(own.data).toMatchObject({ createOrder: { tableNumber: 4, tableId: 'acme-downtown-4' } });
    for (const tableNumber of [5, 13]) {
      const other = await app.gql(
        CREATE_ORDER,
        { input: { storeId: 'acme-downtown', channel: 'TABLE', tableNumber, items: fries } },
        { token: guest },
      );
      expect(other.errors?.[0]).toMatchObject({
        message: 'A table token orders at its own table only',
        extensions: { code: 'FORBIDDEN' },
      });
    }
    const kiosk = await app.gql(
      CREATE_ORDER,
      { input: { storeId: 'acme-downtown', channel: 'KIOSK', items: fries } },
      { token: guest },
    );
    expect(kiosk.errors?.[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT', field: 'channel' } });
    const uptown = await app.gql(
      CREATE_ORDER,
      { input: { storeId: 'acme-uptown', channel: 'TABLE', items: fries } },
      { token: guest },
    );
    expect(codeOf(uptown)).toBe('FORBIDDEN');
  });

  it('reads its party’s orders and nothing of other tables, not even that they exist', async () => {
    const neighbour = await staffOrderAt(5);
    const ours = await staffOrderAt(4);
    const list = await mutate<{ orders: { edges: { node: { id: string; tableId: string } }[] } }>(
      guest,
      ORDERS,
      {
        storeId: 'acme-downtown',
      },
    );
    expect(list.orders.edges.length).toBeGreaterThan(0);
    expect(list.orders.edges.every((edge) => edge.node.tableId === 'acme-downtown-4')).toBe(true);
    expect(list.orders.edges.map((edge) => edge.node.id)).toContain(ours);
    const hidden = await app.gql(ORDER, { id: neighbour }, { token: guest });
    const missing = await app.gql(ORDER, { id: 'no-such-order' }, { token: guest });
    expect(codeOf(hidden)).toBe('NOT_FOUND');
    expect(hidden.errors?.[0]?.message.replace(neighbour, 'X')).toBe(
      missing.errors?.[0]?.message.replace('no-such-order', 'X'),
    );
    for (const [query, variables] of [
      ['query ($s: ID) { tables(storeId: $s) { id } }', { s: 'acme-downtown' }],
      ['query ($s: ID) { inventoryItems(storeId: $s) { id } }', { s: 'acme-downtown' }],
      ['query ($s: ID) { dashboard(storeId: $s) { openOrders } }', { s: 'acme-downtown' }],
      ['query ($s: ID!) { kdsTickets(stationId: $s) { id } }', { s: 'acme-downtown-grill' }],
    ] as const) {
      expect(codeOf(await app.gql(query, variables, { token: guest })), query).toBe('FORBIDDEN');
    }
    const menu = await app.gql<{ store: { products: unknown[] } }>(
      '{ store(id: "acme-downtown") { products { id } } }',
      {},
      { token: guest },
    );
    expect(menu.data?.store.products.length).toBeGreaterThan(0);
  });

  it('follows exactly its table’s orders live over graphql-ws', async () => {
    const socket = await app.connect(guest);
    const orders = await socket.live<OrderEvent>(ORDER_UPDATED, { storeId: 'acme-downtown' });
    await staffOrderAt(5);
    await posOrder();
    const ours = await guestOrder(guest);
    const seen = await upTo(orders, ours, 'acme-downtown-4');
    expect(seen.map((event) => event.orderUpdated.order.id)).toEqual([ours]);
    const refused = await socket
      .subscribe('subscription { tableUpdated(storeId: "acme-downtown") { kind } }')
      .next();
    expect(codeOf(refused)).toBe('FORBIDDEN');
    await socket.dispose();
  });

  it('replays exactly its table’s orders after a cursor, and refuses a cursor of the store’s stream', async () => {
    const socket = await app.connect(guest);
    const first = await socket.live<OrderEvent>(ORDER_UPDATED, { storeId: 'acme-downtown' });
    const marker = await guestOrder(guest);
    const [{ orderUpdated }] = (await upTo(first, marker, 'acme-downtown-4')).slice(-1) as [OrderEvent];
    await first.close();

    const neighbour = await staffOrderAt(5);
    const missed = await staffOrderAt(4);
    await mutate(tokens['acme-staff']!, CANCEL, { orderId: neighbour });
    const last = await guestOrder(guest);
    const resumed = socket.subscribe<OrderEvent>(ORDER_UPDATED, {
      storeId: 'acme-downtown',
      after: orderUpdated.cursor,
    });
    const replayed = await upTo(resumed, last, 'acme-downtown-4');
    expect(replayed.map((event) => event.orderUpdated.order.id)).toEqual([missed, last]);

    const staffSocket = await app.connect(tokens['acme-staff']);
    const store = await staffSocket.live<OrderEvent>(ORDER_UPDATED, { storeId: 'acme-downtown' });
    const staffCursorOrder = await posOrder();
    const [storeEvent] = await store.until((data) => data.orderUpdated.order.id === staffCursorOrder);
    const foreignCursor = await socket
      .subscribe(ORDER_UPDATED, { storeId: 'acme-downtown', after: storeEvent!.orderUpdated.cursor })
      .next();
    expect(codeOf(foreignCursor)).toBe('BAD_USER_INPUT');
    await Promise.all([socket.dispose(), staffSocket.dispose()]);
  });

  it('replays exactly its table’s orders after a cursor over SSE', async () => {
    const first = await app.sse(guest).live<OrderEvent>(ORDER_UPDATED, { storeId: 'acme-downtown' });
    const marker = await guestOrder(guest);
    const [{ orderUpdated }] = (await upTo(first, marker, 'acme-downtown-4')).slice(-1) as [OrderEvent];
    await first.close();
    await staffOrderAt(5);
    await posOrder();
    const missed = await staffOrderAt(4);
    const last = await guestOrder(guest);
    const resumed = app
      .sse(guest)
      .subscribe<OrderEvent>(ORDER_UPDATED, { storeId: 'acme-downtown', after: orderUpdated.cursor });
    const replayed = await upTo(resumed, last, 'acme-downtown-4');
    expect(replayed.map((event) => event.orderUpdated.order.id)).toEqual([missed, last]);
    await resumed.close();
  });

  it('cannot tell another table’s order from one that does not exist, nor reach the staff’s streams', async () => {
    const neighbour = await staffOrderAt(5);
    for (const query of [
      CANCEL,
      'mutation ($orderId: ID!) { recordPayment(orderId: $orderId, amount: 1) { id } }',
      'mutation ($orderId: ID!) { updateOrderStatus(orderId: $orderId, status: COMPLETED) { id } }',
    ]) {
      const hidden = await app.gql(query, { orderId: neighbour }, { token: guest });
      const missing = await app.gql(query, { orderId: 'no-such-order' }, { token: guest });
      expect(codeOf(hidden), query).toBeDefined();
      expect(JSON.stringify(hidden.errors).replace(neighbour, 'X'), query).toBe(
        JSON.stringify(missing.errors).replace('no-such-order', 'X'),
      );
    }
    const socket = await app.connect(guest);
    for (const query of [
      'subscription { tableUpdated(storeId: "acme-downtown") { kind } }',
      'subscription { kdsTicket(stationId: "acme-downtown-grill") { kind } }',
      'subscription { inventoryAlert(storeId: "acme-downtown") { kind } }',
      'subscription { dashboardMetrics(storeId: "acme-downtown") { openOrders } }',
      'subscription { presenceChanged(storeId: "acme-downtown") { kind } }',
    ]) {
      expect(codeOf(await socket.subscribe(query).next()), query).toBe('FORBIDDEN');
      expect(codeOf(await app.sse(guest).subscribe(query).next()), query).toBe('FORBIDDEN');
    }
    await socket.dispose();
  });

  it('follows exactly its table’s orders over SSE', async () => {
    const orders = await app.sse(guest).live<OrderEvent>(ORDER_UPDATED, { storeId: 'acme-downtown' });
    await staffOrderAt(5);
    await posOrder();
    const ours = await staffOrderAt(4);
    const seen = await upTo(orders, ours, 'acme-downtown-4');
    expect(seen.map((event) => event.orderUpdated.order.id)).toEqual([ours]);
    await orders.close();
  });
});

describe('seating the next party', () => {
  it('ends the previous party’s guest token on every transport; the new party’s token works', async () => {
    const previous = await seatWithToken('acme-downtown-7');
    const socket = await app.connect(previous);
    const overWs = await socket.live<OrderEvent>(ORDER_UPDATED, { storeId: 'acme-downtown' });
    const overSse = await app.sse(previous).live<OrderEvent>(ORDER_UPDATED, { storeId: 'acme-downtown' });
    const theirs = await guestOrder(previous);
    await upTo(overWs, theirs, 'acme-downtown-7');
    await upTo(overSse, theirs, 'acme-downtown-7');
    await mutate(tokens['acme-staff']!, CANCEL, { orderId: theirs });
    await mutate(tokens['acme-staff']!, SET_STATUS, { tableId: 'acme-downtown-7', status: 'FREE' });
    // Tokens carry whole seconds: the next party sits down in a later second than the token was issued.
    const issuedAt = decodeJwt(previous).iat as number;
    await eventually(() => Math.floor(Date.now() / 1000) > issuedAt, 5_000);
    const next = await seatWithToken('acme-downtown-7', 1);

    expect((await socket.closed).code).toBe(4401);
    let last = await overSse.next();
    while (last.data) last = await overSse.next();
    expect(codeOf(last)).toBe('UNAUTHENTICATED');
    expect(codeOf(await app.gql(ORDERS, { storeId: 'acme-downtown' }, { token: previous }))).toBe(
      'UNAUTHENTICATED',
    );
    await expect(app.connect(previous)).rejects.toMatchObject({ code: 4401 });

    const ordered = await guestOrder(next);
    const list = await mutate<{ orders: { edges: { node: { id: string } }[] } }>(next, ORDERS, {
      storeId: 'acme-downtown',
    });
    // The new party sees its own order, not the previous party's at the same table.
    expect(list.orders.edges.map((edge) => edge.node.id)).toEqual([ordered]);
  });

  it('ends a token of the previous party even when the next party sits down in the second it was issued', async () => {
    const first = await seatWithToken('acme-downtown-11');
    const { seating } = decodeJwt(first);
    expect(decodeJwt(first)).toMatchObject({ table: 'acme-downtown-11', seating: expect.any(String) });
    await mutate(tokens['acme-staff']!, SET_STATUS, { tableId: 'acme-downtown-11', status: 'FREE' });
    const next = await seatWithToken('acme-downtown-11', 3);
    const ordered = await guestOrder(next);
    // The first party's token as if issued in the very second the next party sat down: whole seconds cannot
    // tell it from the next party's, the party it names can.
    const previous = await signToken(
      {
        sub: 'guest:acme-downtown-11',
        tid: 'acme',
        roles: ['CUSTOMER'],
        stores: ['acme-downtown'],
        table: 'acme-downtown-11',
        seating: seating as string,
      },
      { secret: TEST_JWT_SECRET },
    );

    expect(codeOf(await app.gql(ORDERS, { storeId: 'acme-downtown' }, { token: previous }))).toBe(
      'UNAUTHENTICATED',
    );
    const placed = await app.gql(
      CREATE_ORDER,
      { input: { storeId: 'acme-downtown', channel: 'TABLE', items: fries } },
      { token: previous },
    );
    expect(codeOf(placed)).toBe('UNAUTHENTICATED');
    expect(codeOf(await app.gql(ORDER, { id: ordered }, { token: previous }))).toBe('UNAUTHENTICATED');
    const overSse = await app.sse(previous).subscribe(ORDER_UPDATED, { storeId: 'acme-downtown' }).next();
    expect(codeOf(overSse)).toBe('UNAUTHENTICATED');
    const socket = await app.connect(previous);
    const overWs = await socket.subscribe(ORDER_UPDATED, { storeId: 'acme-downtown' }).next();
    expect(codeOf(overWs)).toBe('UNAUTHENTICATED');
    await socket.dispose();
    // The next party's token works.
    expect((await app.gql(ORDER, { id: ordered }, { token: next })).errors).toBeUndefined();
  });
});
