import { afterEach, describe, expect, it } from 'vitest';
import { TableUpdatesDocument } from '../../src/client/gql/graphql';
import { useTestServer, type WsClient } from '../support/server';

const TABLE =
  'id storeId number seats status partySize seatedAt openOrders { id status paidCents totalCents }';
const TABLES = `query ($storeId: ID) { tables(storeId: $storeId) { ${TABLE} } }`;
const SEAT = `mutation ($tableId: ID!, $partySize: Int!) { seatTable(tableId: $tableId, partySize: $partySize) { ${TABLE} } }`;
const SET_STATUS = `mutation ($tableId: ID!, $status: TableStatus!) { setTableStatus(tableId: $tableId, status: $status) { ${TABLE} } }`;
const CREATE_ORDER = `mutation ($input: CreateOrderInput!) {
  createOrder(input: $input) { id totalCents tableId tableNumber items { id ticketId } }
}`;
const BUMP = `mutation ($ticketId: ID!) { bumpTicket(ticketId: $ticketId) { id status } }`;
const PAY = `mutation ($orderId: ID!, $amount: Int!) { recordPayment(orderId: $orderId, amount: $amount) { id paidCents } }`;
const RECALL = `mutation ($ticketId: ID!) { recallTicket(ticketId: $ticketId) { id status } }`;
const CANCEL = `mutation ($orderId: ID!) { cancelOrder(orderId: $orderId, reason: "changed their mind") { id } }`;
const ORDER_STATUS = `mutation ($orderId: ID!, $status: OrderStatus!) { updateOrderStatus(orderId: $orderId, status: $status) { id status } }`;
const STATUSES = ['FREE', 'RESERVED', 'SEATED', 'ORDERED', 'SERVED', 'PAYING', 'NEEDS_CLEANING'] as const;
/** What staff may set by hand from each status (the rest follows seatTable and the orders). */
const BY_HAND: Record<string, readonly string[]> = {
  FREE: ['RESERVED'],
  RESERVED: ['FREE'],
  SEATED: ['FREE'],
  ORDERED: ['PAYING'],
  SERVED: ['PAYING'],
  PAYING: [],
  NEEDS_CLEANING: ['FREE'],
};
type Table = {
  id: string;
  number: number;
  status: string;
  partySize: number | null;
  openOrders: { id: string; status: string }[];
};
type Order = {
  id: string;
  totalCents: number;
  tableId: string | null;
  items: { id: string; ticketId: string }[];
};

const { app, tokens } = useTestServer();
const sockets: WsClient[] = [];
afterEach(() => Promise.all(sockets.splice(0).map((socket) => socket.dispose())));

const as = <T = Record<string, unknown>>(
  user: string,
  query: string,
  variables: Record<string, unknown> = {},
) => app.gql<T>(query, variables, { token: tokens[user] });

async function ok<T>(user: string, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const result = await as<T>(user, query, variables);
  expect(result.errors, JSON.stringify(result.errors)).toBeUndefined();
  return result.data as T;
}

const errorOf = (result: { errors?: Array<{ message: string; extensions?: Record<string, unknown> }> }) =>
  result.errors?.[0];

async function connect(user: string) {
  const socket = await app.connect(tokens[user]);
  sockets.push(socket);
  return socket;
}

async function watchTables(user: string, after?: string) {
  const socket = await connect(user);
  return socket.live(TableUpdatesDocument, { storeId: 'acme-downtown', after });
}

const orderAt = (tableNumber: number, productId = 'acme-downtown-burger') =>
  ok<{ createOrder: Order }>('acme-staff', CREATE_ORDER, {
    input: { storeId: 'acme-downtown', channel: 'TABLE', tableNumber, items: [{ productId, quantity: 1 }] },
  }).then((data) => data.createOrder);

describe('who may work the tables', () => {
  it('lets floor staff, managers and admins read and seat, and no one else', async () => {
    const tables = await ok<{ tables: Table[] }>('acme-staff', TABLES, { storeId: 'acme-downtown' });
    expect(tables.tables.map((t) => t.number)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(
      (await ok<{ tables: Table[] }>('acme-admin', TABLES, { storeId: 'acme-uptown' })).tables,
    ).toHaveLength(12);
    for (const user of ['acme-kitchen', 'acme-customer']) {
      expect(errorOf(await as(user, TABLES, { storeId: 'acme-downtown' }))?.extensions?.code).toBe(
        'FORBIDDEN',
      );
      expect(
        errorOf(await as(user, SEAT, { tableId: 'acme-downtown-1', partySize: 2 }))?.extensions?.code,
      ).toBe('FORBIDDEN');
      expect(
        errorOf(await as(user, SET_STATUS, { tableId: 'acme-downtown-1', status: 'RESERVED' }))?.extensions
          ?.code,
      ).toBe('FORBIDDEN');
    }
    expect(errorOf(await app.gql(TABLES, { storeId: 'acme-downtown' }))?.extensions?.code).toBe(
      'UNAUTHENTICATED',
    );
    const foreign = await as('globex-manager', SEAT, { tableId: 'acme-downtown-1', partySize: 2 });
    expect(errorOf(foreign)?.extensions?.code).toBe('NOT_FOUND');
    expect(errorOf(await as('globex-manager', TABLES, { storeId: 'acme-downtown' }))?.extensions?.code).toBe(
      'NOT_FOUND',
    );
    expect(errorOf(await as('acme-staff', TABLES, { storeId: 'acme-uptown' }))?.extensions?.code).toBe(
      'FORBIDDEN',
    );
  });

  it('answers an invalid transition with CONFLICT and the current status', async () => {
    await ok('acme-staff', SEAT, { tableId: 'acme-downtown-2', partySize: 3 });
    const again = errorOf(await as('acme-staff', SEAT, { tableId: 'acme-downtown-2', partySize: 3 }));
    expect(again).toMatchObject({
      message: 'Table 2 is SEATED: it cannot be seated',
      extensions: { code: 'CONFLICT', status: 'SEATED', tableId: 'acme-downtown-2' },
    });
    const byHand = errorOf(
      await as('acme-staff', SET_STATUS, { tableId: 'acme-downtown-2', status: 'SERVED' }),
    );
    expect(byHand).toMatchObject({ extensions: { code: 'CONFLICT', status: 'SEATED' } });
    const tooMany = errorOf(await as('acme-staff', SEAT, { tableId: 'acme-downtown-1', partySize: 3 }));
    expect(tooMany).toMatchObject({ extensions: { code: 'BAD_USER_INPUT', field: 'partySize' } });
    const atFreeTable = errorOf(
      await as('acme-staff', CREATE_ORDER, {
        input: {
          storeId: 'acme-downtown',
          channel: 'TABLE',
          tableNumber: 1,
          items: [{ productId: 'acme-downtown-fries', quantity: 1 }],
        },
      }),
    );
    expect(atFreeTable).toMatchObject({ extensions: { code: 'CONFLICT', status: 'FREE' } });
    await ok('acme-staff', SET_STATUS, { tableId: 'acme-downtown-2', status: 'FREE' });
  });
});

describe('tableUpdated', () => {
  it('shows the floor a table moving with its orders, the kitchen and the payments', async () => {
    const floor = await watchTables('acme-staff');
    const next = async () => (await floor.next()).data!.tableUpdated;

    await ok('acme-staff', SEAT, { tableId: 'acme-downtown-9', partySize: 3 });
    expect(await next()).toMatchObject({
      kind: 'STATUS_CHANGED',
      previousStatus: 'FREE',
      table: { number: 9, status: 'SEATED', partySize: 3, openOrders: [] },
    });

    const order = await orderAt(9);
    expect(order.tableId).toBe('acme-downtown-9');
    expect(await next()).toMatchObject({
      kind: 'ORDER_ADDED',
      previousStatus: 'SEATED',
      table: { status: 'ORDERED', openOrders: [{ id: order.id, status: 'PENDING' }] },
    });

    await ok('acme-kitchen', BUMP, { ticketId: order.items[0]!.ticketId });
    expect(await next()).toMatchObject({
      kind: 'ORDER_UPDATED',
      previousStatus: 'ORDERED',
      table: { status: 'SERVED', openOrders: [{ id: order.id, status: 'READY' }] },
    });

    await ok('acme-staff', SET_STATUS, { tableId: 'acme-downtown-9', status: 'PAYING' });
    expect(await next()).toMatchObject({
      kind: 'STATUS_CHANGED',
      previousStatus: 'SERVED',
      table: { status: 'PAYING' },
    });

    await ok('acme-staff', PAY, { orderId: order.id, amount: order.totalCents });
    expect(await next()).toMatchObject({
      kind: 'ORDER_UPDATED',
      previousStatus: 'PAYING',
      table: { status: 'NEEDS_CLEANING' },
    });

    await ok('acme-staff', SET_STATUS, { tableId: 'acme-downtown-9', status: 'FREE' });
    expect(await next()).toMatchObject({
      kind: 'STATUS_CHANGED',
      previousStatus: 'NEEDS_CLEANING',
      table: { status: 'FREE', partySize: null, openOrders: [] },
    });
  });

  it('resumes after a cursor', async () => {
    const first = await watchTables('acme-manager');
    await ok('acme-staff', SET_STATUS, { tableId: 'acme-downtown-10', status: 'RESERVED' });
    const { cursor } = (await first.next()).data!.tableUpdated;
    await first.close();
    await ok('acme-staff', SEAT, { tableId: 'acme-downtown-10', partySize: 2 });
    await ok('acme-staff', SET_STATUS, { tableId: 'acme-downtown-10', status: 'FREE' });
    const socket = await connect('acme-manager');
    const resumed = socket.subscribe(TableUpdatesDocument, {
      storeId: 'acme-downtown',
      after: cursor,
    });
    const missed = (await resumed.take(2)).map((r) => r.data!.tableUpdated);
    expect(missed.map((e) => [e.previousStatus, e.table.status])).toEqual([
      ['RESERVED', 'SEATED'],
      ['SEATED', 'FREE'],
    ]);
  });

  it('is not for customers or kitchen devices, nor for another store or tenant', async () => {
    for (const [user, storeId] of [
      ['acme-customer', 'acme-downtown'],
      ['acme-kitchen', 'acme-downtown'],
      ['acme-staff', 'acme-uptown'],
      ['globex-manager', 'acme-downtown'],
    ] as const) {
      const socket = await connect(user);
      const refused = await socket.subscribe(TableUpdatesDocument, { storeId }).next();
      expect(['FORBIDDEN', 'NOT_FOUND'], user).toContain(refused.errors?.[0]?.extensions?.code);
      expect(refused.data ?? null).toBeNull();
    }
  });
});

describe('the status follows the orders, over the wire', () => {
  type Event = { kind: string; previousStatus: string | null; table: Table };
  const moves = (events: Event[]) => events.map((e) => [e.kind, e.previousStatus, e.table.status]);

  it('every order READY or later serves the table; a recall, a new order or a cancellation move it back', async () => {
    const floor = await watchTables('acme-manager');
    const read = async (n: number) => (await floor.take(n)).map((r) => r.data!.tableUpdated as Event);
    await ok('acme-staff', SEAT, { tableId: 'acme-downtown-6', partySize: 5 });
    const burger = await orderAt(6);
    const fries = await orderAt(6, 'acme-downtown-fries');
    await ok('acme-kitchen', BUMP, { ticketId: burger.items[0]!.ticketId });
    await ok('acme-kitchen', BUMP, { ticketId: fries.items[0]!.ticketId });
    await ok('acme-kitchen', RECALL, { ticketId: fries.items[0]!.ticketId });
    await ok('acme-kitchen', BUMP, { ticketId: fries.items[0]!.ticketId });
    await ok('acme-staff', SET_STATUS, { tableId: 'acme-downtown-6', status: 'PAYING' });
    const dessert = await orderAt(6, 'acme-downtown-fries');
    await ok('acme-staff', CANCEL, { orderId: dessert.id });
    await ok('acme-staff', PAY, { orderId: burger.id, amount: burger.totalCents });
    await ok('acme-staff', PAY, { orderId: fries.id, amount: fries.totalCents });
    expect(moves(await read(12))).toEqual([
      ['STATUS_CHANGED', 'FREE', 'SEATED'],
      ['ORDER_ADDED', 'SEATED', 'ORDERED'],
      ['ORDER_ADDED', null, 'ORDERED'],
      ['ORDER_UPDATED', null, 'ORDERED'], // one of two orders ready: not served yet
      ['ORDER_UPDATED', 'ORDERED', 'SERVED'],
      ['ORDER_UPDATED', 'SERVED', 'ORDERED'], // recalled to the kitchen
      ['ORDER_UPDATED', 'ORDERED', 'SERVED'],
      ['STATUS_CHANGED', 'SERVED', 'PAYING'],
      ['ORDER_ADDED', 'PAYING', 'ORDERED'], // the party ordered again after asking for the bill
      ['ORDER_UPDATED', 'ORDERED', 'SERVED'], // ... and cancelled it
      ['ORDER_UPDATED', null, 'SERVED'], // paid in part
      ['ORDER_UPDATED', 'SERVED', 'NEEDS_CLEANING'],
    ]);
  });

  it('all orders cancelled: SEATED again; paid before served: cleaning once served; an earlier party moves nothing', async () => {
    const floor = await watchTables('acme-staff');
    const read = async (n: number) => (await floor.take(n)).map((r) => r.data!.tableUpdated as Event);
    await ok('acme-staff', SEAT, { tableId: 'acme-downtown-8', partySize: 2 });
    const cancelled = await orderAt(8);
    await ok('acme-staff', CANCEL, { orderId: cancelled.id });
    const prepaid = await orderAt(8);
    await ok('acme-staff', PAY, { orderId: prepaid.id, amount: prepaid.totalCents });
    await ok('acme-kitchen', BUMP, { ticketId: prepaid.items[0]!.ticketId });
    expect(moves(await read(6))).toEqual([
      ['STATUS_CHANGED', 'FREE', 'SEATED'],
      ['ORDER_ADDED', 'SEATED', 'ORDERED'],
      ['ORDER_UPDATED', 'ORDERED', 'SEATED'],
      ['ORDER_ADDED', 'SEATED', 'ORDERED'],
      ['ORDER_UPDATED', null, 'ORDERED'], // paid, not served yet
      ['ORDER_UPDATED', 'ORDERED', 'NEEDS_CLEANING'],
    ]);
    await ok('acme-staff', SET_STATUS, { tableId: 'acme-downtown-8', status: 'FREE' });
    await ok('acme-staff', SEAT, { tableId: 'acme-downtown-8', partySize: 1 });
    // The previous party's order is handed over: the new party's table does not move, and nothing is announced.
    await ok('acme-staff', ORDER_STATUS, { orderId: prepaid.id, status: 'COMPLETED' });
    await ok('acme-staff', SET_STATUS, { tableId: 'acme-downtown-8', status: 'FREE' });
    expect(moves(await read(3))).toEqual([
      ['STATUS_CHANGED', 'NEEDS_CLEANING', 'FREE'],
      ['STATUS_CHANGED', 'FREE', 'SEATED'],
      ['STATUS_CHANGED', 'SEATED', 'FREE'],
    ]);
  });

  it('refuses every other status by hand, and seating a table with a party, with CONFLICT and the current status', async () => {
    const tableId = 'acme-downtown-5';
    const tryEverything = async (current: string) => {
      for (const status of STATUSES) {
        if (status === current || BY_HAND[current]!.includes(status)) continue;
        const refused = errorOf(await as('acme-staff', SET_STATUS, { tableId, status }));
        expect(refused, `${current} → ${status}`).toMatchObject({
          message: expect.stringContaining(`is ${current}`),
          extensions: { code: 'CONFLICT', status: current, tableId },
        });
      }
      const seat = errorOf(await as('acme-staff', SEAT, { tableId, partySize: 1 }));
      if (current === 'FREE' || current === 'RESERVED') expect(seat).toBeUndefined();
      else
        expect(seat, `seat at ${current}`).toMatchObject({
          extensions: { code: 'CONFLICT', status: current },
        });
      if (current === 'FREE' || current === 'RESERVED') {
        await ok('acme-staff', SET_STATUS, { tableId, status: 'FREE' });
      }
      const same = await ok<{ setTableStatus: Table }>('acme-staff', SET_STATUS, {
        tableId,
        status: current,
      });
      expect(same.setTableStatus.status).toBe(current);
    };
    await tryEverything('FREE');
    await ok('acme-staff', SET_STATUS, { tableId, status: 'RESERVED' });
    await tryEverything('RESERVED');
    await ok('acme-staff', SET_STATUS, { tableId, status: 'FREE' });
    await ok('acme-staff', SEAT, { tableId, partySize: 2 });
    await tryEverything('SEATED');
    const order = await orderAt(5);
    await tryEverything('ORDERED');
    await ok('acme-kitchen', BUMP, { ticketId: order.items[0]!.ticketId });
    await tryEverything('SERVED');
    await ok('acme-staff', SET_STATUS, { tableId, status: 'PAYING' });
    await tryEverything('PAYING');
    await ok('acme-staff', PAY, { orderId: order.id, amount: order.totalCents });
    await tryEverything('NEEDS_CLEANING');
    await ok('acme-staff', SET_STATUS, { tableId, status: 'FREE' });
  });

  it('reads the tables of the connection’s current store without storeId', async () => {
    const tables = await app.gql<{ tables: Table[] }>(
      TABLES,
      {},
      {
        token: tokens['acme-staff'],
        storeId: 'acme-downtown',
      },
    );
    expect(tables.data?.tables.map((t) => t.id)[0]).toBe('acme-downtown-1');
    const socket = await app.connect(tokens['acme-manager'], { storeId: 'acme-uptown' });
    sockets.push(socket);
    const overWs = await socket.subscribe<{ tables: Table[] }>(TABLES, {}).next();
    expect(overWs.data?.tables.map((t) => t.id)[0]).toBe('acme-uptown-1');
  });
});
