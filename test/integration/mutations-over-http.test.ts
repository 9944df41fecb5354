import { beforeAll, describe, expect, it } from 'vitest';
import { useTestServer } from '../support/server';

// Every mutation over the real HTTP server: its happy path, its bad inputs (each refused with a typed error and
// without writing anything), and its tenant scoping with two tenants.

const ORDER_FIELDS = 'id status balanceCents items { id productId }';
const M = {
  createOrder: `mutation ($input: CreateOrderInput!) { createOrder(input: $input) { ${ORDER_FIELDS} } }`,
  updateOrderStatus: `mutation ($orderId: ID!, $status: OrderStatus!) { updateOrderStatus(orderId: $orderId, status: $status) { id status } }`,
  cancelOrder: `mutation ($orderId: ID!, $reason: String!) { cancelOrder(orderId: $orderId, reason: $reason) { id status cancelReason } }`,
  recordPayment: `mutation ($orderId: ID!, $amount: Int!) { recordPayment(orderId: $orderId, amount: $amount) { id balanceCents } }`,
  startItem: 'mutation ($id: ID!) { startItem(itemId: $id) { id status } }',
  markItemReady: 'mutation ($id: ID!) { markItemReady(itemId: $id) { id status } }',
  bumpTicket: 'mutation ($id: ID!) { bumpTicket(ticketId: $id) { id status } }',
  recallTicket: 'mutation ($id: ID!) { recallTicket(ticketId: $id) { id status } }',
  adjustInventory: `mutation ($itemId: ID!, $delta: Int!, $reason: String!) { adjustInventory(itemId: $itemId, delta: $delta, reason: $reason) { id quantity } }`,
  restockInventory: `mutation ($itemId: ID!, $quantity: Int!) { restockInventory(itemId: $itemId, quantity: $quantity) { id quantity } }`,
  transferInventory: `mutation ($itemId: ID!, $toStoreId: ID!, $quantity: Int!) { transferInventory(itemId: $itemId, toStoreId: $toStoreId, quantity: $quantity) { quantity fromItem { quantity } toItem { storeId quantity } } }`,
  acknowledgeInventoryAlert: `mutation ($alertId: ID!) { acknowledgeInventoryAlert(alertId: $alertId) { id status } }`,
  sendNotification: `mutation ($input: SendNotificationInput!) { sendNotification(input: $input) { id audience title } }`,
  markNotificationRead: 'mutation ($id: ID!) { markNotificationRead(id: $id) { id read } }',
  markAllNotificationsRead: 'mutation { markAllNotificationsRead }',
  updateNotificationPreferences: `mutation ($input: NotificationPreferencesInput!) { updateNotificationPreferences(input: $input) { mutedKinds minSeverity } }`,
  revokeSessions: 'mutation ($userId: ID!) { revokeSessions(userId: $userId) { userId } }',
};

type Order = { id: string; status: string; balanceCents: number; items: { id: string; productId: string }[] };

const { app, tokens } = useTestServer();
const LONG = 'x'.repeat(201);

async function call<T = Record<string, unknown>>(
  name: keyof typeof M,
  variables: Record<string, unknown>,
  user = 'acme-manager',
) {
  return app.gql<T>(M[name], variables, { token: tokens[user] });
}

async function ok<T = Record<string, unknown>>(
  name: keyof typeof M,
  variables: Record<string, unknown>,
  user = 'acme-manager',
): Promise<T> {
  const result = await call<Record<string, T>>(name, variables, user);
  expect(result.errors, `${name} ${JSON.stringify(result.errors)}`).toBeUndefined();
  return result.data![name]!;
}

const orderInput = (overrides: Record<string, unknown> = {}) => ({
  storeId: 'acme-downtown',
  channel: 'POS',
  items: [{ productId: 'acme-downtown-burger', quantity: 1 }],
  ...overrides,
});

/** Takes the item down to its threshold through the API, which raises a LOW_STOCK alert. */
async function raiseLowStock(itemId: string): Promise<{ id: string }> {
  const item = await app.server.db.db.inventoryItem.findUniqueOrThrow({ where: { id: itemId } });
  await ok('adjustInventory', { itemId, delta: item.lowStockThreshold - item.quantity, reason: 'count' });
  const alerts = await app.gql<{ inventoryAlerts: { id: string; kind: string; itemId: string }[] }>(
    '{ inventoryAlerts(storeId: "acme-downtown", open: true) { id kind itemId } }',
    {},
    { token: tokens['acme-manager'] },
  );
  const alert = alerts.data?.inventoryAlerts.find((a) => a.itemId === itemId && a.kind === 'LOW_STOCK');
  expect(alert).toBeDefined();
  return alert!;
}

async function ticketOf(orderId: string, stationId = 'acme-downtown-grill') {
  return app.server.db.db.kdsTicket.findFirstOrThrow({ where: { orderId, stationId } });
}

describe('every mutation over HTTP: the happy path', () => {
  it('runs each of the seventeen mutations of the contract once, with its documented result', async () => {
    const order = await ok<Order>('createOrder', { input: orderInput() }, 'acme-staff');
    expect(order).toMatchObject({ status: 'PENDING', balanceCents: 1099 });

    const burger = order.items[0]!.id;
    const ticketId = (await ticketOf(order.id)).id;
    expect(await ok('startItem', { id: burger }, 'acme-kitchen')).toEqual({
      id: ticketId,
      status: 'IN_PROGRESS',
    });
    expect(await ok('markItemReady', { id: burger }, 'acme-kitchen')).toEqual({
      id: ticketId,
      status: 'READY',
    });
    expect(await ok('bumpTicket', { id: ticketId }, 'acme-kitchen')).toEqual({
      id: ticketId,
      status: 'BUMPED',
    });
    expect(await ok('recallTicket', { id: ticketId }, 'acme-kitchen')).toMatchObject({ id: ticketId });
    expect(await ok('recordPayment', { orderId: order.id, amount: 1099 }, 'acme-staff')).toEqual({
      id: order.id,
      balanceCents: 0,
    });

    const other = await ok<Order>('createOrder', { input: orderInput() }, 'acme-staff');
    expect(await ok('updateOrderStatus', { orderId: other.id, status: 'ACCEPTED' }, 'acme-staff')).toEqual({
      id: other.id,
      status: 'ACCEPTED',
    });
    expect(await ok('cancelOrder', { orderId: other.id, reason: 'guest left' }, 'acme-staff')).toEqual({
      id: other.id,
      status: 'CANCELLED',
      cancelReason: 'guest left',
    });

    const lemonade = 'acme-downtown-lemonade-stock';
    const before = await app.server.db.db.inventoryItem.findUniqueOrThrow({ where: { id: lemonade } });
    expect(await ok('adjustInventory', { itemId: lemonade, delta: -1, reason: 'spilled' })).toEqual({
      id: lemonade,
      quantity: before.quantity - 1,
    });
    expect(await ok('restockInventory', { itemId: lemonade, quantity: 3 })).toEqual({
      id: lemonade,
      quantity: before.quantity + 2,
    });
    expect(
      await ok('transferInventory', { itemId: lemonade, toStoreId: 'acme-uptown', quantity: 2 }),
    ).toMatchObject({
      quantity: 2,
      fromItem: { quantity: before.quantity },
      toItem: { storeId: 'acme-uptown' },
    });

    const alert = await raiseLowStock(lemonade);
    expect(await ok('acknowledgeInventoryAlert', { alertId: alert.id }, 'acme-staff')).toEqual({
      id: alert.id,
      status: 'ACKNOWLEDGED',
    });

    const sent = await ok<{ id: string }>('sendNotification', {
      input: { audience: 'STORE', targetStoreId: 'acme-downtown', title: 'Inspection', body: 'at noon' },
    });
    expect(await ok('markNotificationRead', { id: sent.id }, 'acme-staff')).toEqual({
      id: sent.id,
      read: true,
    });
    await ok('sendNotification', {
      input: { audience: 'USER', targetUserId: 'acme-staff', title: 'Shift', body: 'swap' },
    });
    expect(await ok('markAllNotificationsRead', {}, 'acme-staff')).toBeGreaterThanOrEqual(1);
    expect(
      await ok(
        'updateNotificationPreferences',
        { input: { mutedKinds: ['MESSAGE'], minSeverity: 'HIGH' } },
        'acme-staff',
      ),
    ).toEqual({ mutedKinds: ['MESSAGE'], minSeverity: 'HIGH' });
    expect(await ok('revokeSessions', { userId: 'acme-kitchen' }, 'acme-admin')).toEqual({
      userId: 'acme-kitchen',
    });
    tokens['acme-kitchen'] = await app.token('acme-kitchen', { expiresIn: '1h' });
  }, 60_000); // seventeen mutations one after another: seconds apiece on a loaded machine
});

describe('every mutation over HTTP: bad inputs', () => {
  let order: Order;
  let completed: Order;
  const ticketIds = new Map<string, string>();
  const ticketIdOf = (o: Order) => ticketIds.get(o.id);

  beforeAll(async () => {
    order = await ok<Order>('createOrder', { input: orderInput() }, 'acme-staff');
    completed = await ok<Order>('createOrder', { input: orderInput() }, 'acme-staff');
    ticketIds.set(order.id, (await ticketOf(order.id)).id);
    for (const status of ['ACCEPTED', 'IN_PROGRESS', 'READY', 'COMPLETED']) {
      await ok('updateOrderStatus', { orderId: completed.id, status }, 'acme-staff');
    }
  });

  const cases: Array<[string, keyof typeof M, () => Record<string, unknown>, string, string?]> = [
    ['createOrder: no items', 'createOrder', () => ({ input: orderInput({ items: [] }) }), 'BAD_USER_INPUT'],
    [
      'createOrder: a negative quantity',
      'createOrder',
      () => ({ input: orderInput({ items: [{ productId: 'acme-downtown-burger', quantity: -1 }] }) }),
      'BAD_USER_INPUT',
    ],
    [
      'createOrder: an oversized note',
      'createOrder',
      () => ({
        input: orderInput({ items: [{ productId: 'acme-downtown-burger', quantity: 1, notes: LONG }] }),
      }),
      'BAD_USER_INPUT',
    ],
    [
      'createOrder: an unknown store',
      'createOrder',
      () => ({ input: orderInput({ storeId: 'nowhere' }) }),
      'NOT_FOUND',
    ],
    [
      'updateOrderStatus: COMPLETED → IN_PROGRESS',
      'updateOrderStatus',
      () => ({ orderId: completed.id, status: 'IN_PROGRESS' }),
      'BAD_USER_INPUT',
      'An order cannot move from COMPLETED to IN_PROGRESS',
    ],
    [
      'updateOrderStatus: an unknown order',
      'updateOrderStatus',
      () => ({ orderId: 'nope', status: 'ACCEPTED' }),
      'NOT_FOUND',
    ],
    [
      'cancelOrder: an empty reason',
      'cancelOrder',
      () => ({ orderId: order.id, reason: '' }),
      'BAD_USER_INPUT',
    ],
    [
      'cancelOrder: an oversized reason',
      'cancelOrder',
      () => ({ orderId: order.id, reason: LONG }),
      'BAD_USER_INPUT',
    ],
    [
      'cancelOrder: a completed order',
      'cancelOrder',
      () => ({ orderId: completed.id, reason: 'late' }),
      'BAD_USER_INPUT',
    ],
    [
      'cancelOrder: an unknown order',
      'cancelOrder',
      () => ({ orderId: 'nope', reason: 'late' }),
      'NOT_FOUND',
    ],
    [
      'recordPayment: a negative amount',
      'recordPayment',
      () => ({ orderId: order.id, amount: -5 }),
      'BAD_USER_INPUT',
    ],
    [
      'recordPayment: more than owed',
      'recordPayment',
      () => ({ orderId: order.id, amount: 1_000_000 }),
      'BAD_USER_INPUT',
    ],
    ['recordPayment: an unknown order', 'recordPayment', () => ({ orderId: 'nope', amount: 1 }), 'NOT_FOUND'],
    ['startItem: an unknown item', 'startItem', () => ({ id: 'nope' }), 'NOT_FOUND'],
    ['markItemReady: an unknown item', 'markItemReady', () => ({ id: 'nope' }), 'NOT_FOUND'],
    ['bumpTicket: an unknown ticket', 'bumpTicket', () => ({ id: 'nope' }), 'NOT_FOUND'],
    [
      'recallTicket: a ticket that was never bumped',
      'recallTicket',
      () => ({ id: ticketIdOf(order) }),
      'BAD_USER_INPUT',
    ],
    [
      'adjustInventory: a zero delta',
      'adjustInventory',
      () => ({ itemId: 'acme-downtown-fries-stock', delta: 0, reason: 'count' }),
      'BAD_USER_INPUT',
    ],
    [
      'adjustInventory: below zero',
      'adjustInventory',
      () => ({ itemId: 'acme-downtown-fries-stock', delta: -1_000_000, reason: 'count' }),
      'BAD_USER_INPUT',
    ],
    [
      'adjustInventory: an oversized reason',
      'adjustInventory',
      () => ({ itemId: 'acme-downtown-fries-stock', delta: 1, reason: LONG }),
      'BAD_USER_INPUT',
    ],
    [
      'adjustInventory: an unknown item',
      'adjustInventory',
      () => ({ itemId: 'nope', delta: 1, reason: 'count' }),
      'NOT_FOUND',
    ],
    [
      'restockInventory: a negative quantity',
      'restockInventory',
      () => ({ itemId: 'acme-downtown-fries-stock', quantity: -3 }),
      'BAD_USER_INPUT',
    ],
    [
      'restockInventory: an unknown item',
      'restockInventory',
      () => ({ itemId: 'nope', quantity: 3 }),
      'NOT_FOUND',
    ],
    [
      'transferInventory: to the same store',
      'transferInventory',
      () => ({ itemId: 'acme-downtown-fries-stock', toStoreId: 'acme-downtown', quantity: 1 }),
      'BAD_USER_INPUT',
    ],
    [
      'transferInventory: more than the source has',
      'transferInventory',
      () => ({ itemId: 'acme-downtown-fries-stock', toStoreId: 'acme-uptown', quantity: 1_000_000 }),
      'BAD_USER_INPUT',
    ],
    [
      'transferInventory: a negative quantity',
      'transferInventory',
      () => ({ itemId: 'acme-downtown-fries-stock', toStoreId: 'acme-uptown', quantity: -1 }),
      'BAD_USER_INPUT',
    ],
    [
      'acknowledgeInventoryAlert: an unknown alert',
      'acknowledgeInventoryAlert',
      () => ({ alertId: 'nope' }),
      'NOT_FOUND',
    ],
    [
      'sendNotification: an empty title',
      'sendNotification',
      () => ({ input: { audience: 'STORE', targetStoreId: 'acme-downtown', title: '', body: 'b' } }),
      'BAD_USER_INPUT',
    ],
    [
      'sendNotification: a USER audience without a user',
      'sendNotification',
      () => ({ input: { audience: 'USER', title: 't', body: 'b' } }),
      'BAD_USER_INPUT',
    ],
    [
      'markNotificationRead: an unknown notification',
      'markNotificationRead',
      () => ({ id: 'nope' }),
      'NOT_FOUND',
    ],
    [
      'updateNotificationPreferences: a malformed kind',
      'updateNotificationPreferences',
      () => ({ input: { mutedKinds: ['not a kind!'] } }),
      'BAD_USER_INPUT',
    ],
    ['revokeSessions: an unknown user', 'revokeSessions', () => ({ userId: 'nobody' }), 'NOT_FOUND'],
    [
      'createOrder: a quantity of 100',
      'createOrder',
      () => ({ input: orderInput({ items: [{ productId: 'acme-downtown-burger', quantity: 100 }] }) }),
      'BAD_USER_INPUT',
    ],
    [
      'createOrder: table 1000',
      'createOrder',
      () => ({ input: orderInput({ tableNumber: 1000 }) }),
      'BAD_USER_INPUT',
    ],
    ['recordPayment: zero', 'recordPayment', () => ({ orderId: order.id, amount: 0 }), 'BAD_USER_INPUT'],
    [
      'restockInventory: zero',
      'restockInventory',
      () => ({ itemId: 'acme-downtown-fries-stock', quantity: 0 }),
      'BAD_USER_INPUT',
    ],
    [
      'transferInventory: zero',
      'transferInventory',
      () => ({ itemId: 'acme-downtown-fries-stock', toStoreId: 'acme-uptown', quantity: 0 }),
      'BAD_USER_INPUT',
    ],
    [
      'sendNotification: a body of 2001 characters',
      'sendNotification',
      () => ({
        input: { audience: 'STORE', targetStoreId: 'acme-downtown', title: 't', body: 'x'.repeat(2001) },
      }),
      'BAD_USER_INPUT',
    ],
  ];

  it.each(cases)('%s', async (_name, mutation, variables, code, message) => {
    const user = mutation === 'revokeSessions' ? 'acme-admin' : 'acme-manager';
    const result = await call(mutation, variables(), user);
    expect(result.data ?? null).toBeNull();
    expect(result.errors?.[0]?.extensions?.code).toBe(code);
    if (message) expect(result.errors?.[0]?.message).toBe(message);
  });

  it('changes nothing when a mutation is refused', async () => {
    const fries = await app.server.db.db.inventoryItem.findUniqueOrThrow({
      where: { id: 'acme-downtown-fries-stock' },
    });
    await call('adjustInventory', { itemId: fries.id, delta: -1_000_000, reason: 'count' });
    await call('transferInventory', { itemId: fries.id, toStoreId: 'acme-uptown', quantity: 1_000_000 });
    const after = await app.server.db.db.inventoryItem.findUniqueOrThrow({ where: { id: fries.id } });
    expect(after.quantity).toBe(fries.quantity);
    const unchanged = await app.server.db.db.order.findUniqueOrThrow({ where: { id: completed.id } });
    expect(unchanged.status).toBe('COMPLETED');
  });
});

describe('queries over HTTP: bad arguments', () => {
  const monthAgo = new Date(Date.now() - 40 * 86_400_000).toISOString();
  it.each([
    ['orders: first 0', '{ orders(storeId: "acme-downtown", first: 0) { edges { cursor } } }'],
    ['orders: first 101', '{ orders(storeId: "acme-downtown", first: 101) { edges { cursor } } }'],
    [
      'orders: a malformed cursor',
      '{ orders(storeId: "acme-downtown", first: 5, after: "nonsense") { edges { cursor } } }',
    ],
    ['notifications: first 0', '{ notifications(first: 0) { edges { cursor } } }'],
    [
      'notifications: a malformed cursor',
      '{ notifications(first: 5, after: "nonsense") { edges { cursor } } }',
    ],
    [
      'dashboardHistory: more than 31 days',
      `{ dashboardHistory(storeId: "acme-downtown", from: "${monthAgo}", to: "${new Date().toISOString()}") { takenAt } }`,
    ],
  ])('%s → BAD_USER_INPUT', async (_name, query) => {
    const result = await app.gql(query, {}, { token: tokens['acme-manager'] });
    expect(result.data ?? null).toBeNull();
    expect(result.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});

describe('tenant scoping of every mutation (acme and globex)', () => {
  let acmeOrder: Order;
  let acmeTicket: string;
  let acmeAlert: string;
  let acmeNotification: string;

  beforeAll(async () => {
    acmeOrder = await ok<Order>('createOrder', { input: orderInput() }, 'acme-staff');
    acmeTicket = (await ticketOf(acmeOrder.id)).id;
    acmeAlert = (await raiseLowStock('acme-downtown-burger-stock')).id;
    acmeNotification = (
      await ok<{ id: string }>(
        'sendNotification',
        {
          input: { audience: 'TENANT', title: 'Acme only', body: 'secret menu' },
        },
        'acme-admin',
      )
    ).id;
  });

  it("refuses a globex admin every acme object as NOT_FOUND, echoing nothing of acme's data", async () => {
    const foreign: Array<[keyof typeof M, Record<string, unknown>]> = [
      ['createOrder', { input: orderInput() }],
      ['updateOrderStatus', { orderId: acmeOrder.id, status: 'ACCEPTED' }],
      ['cancelOrder', { orderId: acmeOrder.id, reason: 'nope' }],
      ['recordPayment', { orderId: acmeOrder.id, amount: 1 }],
      ['startItem', { id: acmeOrder.items[0]!.id }],
      ['markItemReady', { id: acmeOrder.items[0]!.id }],
      ['bumpTicket', { id: acmeTicket }],
      ['recallTicket', { id: acmeTicket }],
      ['adjustInventory', { itemId: 'acme-downtown-fries-stock', delta: -1, reason: 'theft' }],
      ['restockInventory', { itemId: 'acme-downtown-fries-stock', quantity: 1 }],
      [
        'transferInventory',
        { itemId: 'acme-downtown-fries-stock', toStoreId: 'globex-central', quantity: 1 },
      ],
      [
        'transferInventory',
        { itemId: 'globex-central-fries-stock', toStoreId: 'acme-downtown', quantity: 1 },
      ],
      ['acknowledgeInventoryAlert', { alertId: acmeAlert }],
      [
        'sendNotification',
        { input: { audience: 'STORE', targetStoreId: 'acme-downtown', title: 't', body: 'b' } },
      ],
      [
        'sendNotification',
        { input: { audience: 'USER', targetUserId: 'acme-staff', title: 't', body: 'b' } },
      ],
      ['markNotificationRead', { id: acmeNotification }],
      ['revokeSessions', { userId: 'acme-staff' }],
    ];
    const fries = await app.server.db.db.inventoryItem.findUniqueOrThrow({
      where: { id: 'acme-downtown-fries-stock' },
    });
    for (const [mutation, variables] of foreign) {
      const result = await call(mutation, variables, 'globex-admin');
      expect(result.errors?.[0]?.extensions?.code, `${mutation} ${JSON.stringify(variables)}`).toBe(
        'NOT_FOUND',
      );
      expect(result.errors?.[0]?.message).not.toMatch(/Acme|Burger|Fries|Lemonade/); // ids it sent may be echoed; names are acme's data;
    }
    const after = await app.server.db.db.inventoryItem.findUniqueOrThrow({ where: { id: fries.id } });
    expect(after.quantity).toBe(fries.quantity);
    const order = await app.server.db.db.order.findUniqueOrThrow({ where: { id: acmeOrder.id } });
    expect(order.status).toBe('PENDING');
  });

  it("gives globex's markAllNotificationsRead nothing of acme's to count", async () => {
    expect(await ok('markAllNotificationsRead', {}, 'globex-admin')).toBe(0);
    const receipt = await app.server.db.db.notificationReceipt.findMany({
      where: { notificationId: acmeNotification, userId: 'globex-admin' },
    });
    expect(receipt).toEqual([]);
  });
});
