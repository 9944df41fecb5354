import { describe, expect, it } from 'vitest';
import { type Subscription, useTestServer } from '../support/server';

// What the domain does on its own when things change, seen through the GraphQL API and the subscriptions: stock
// alerts deduplicated under a burst of sales and re-armed after recovery, transfer events and atomicity,
// out-of-stock products on the menu, a late ticket marked once, the dashboard throttle's trailing edge,
// notifications the domain raises, and coalesced order updates.

const THROTTLE_MS = 2000;
const COALESCE_MS = 2500;

const CREATE_ORDER = `mutation ($input: CreateOrderInput!) { createOrder(input: $input) { id number totalCents items { id } } }`;
const ADJUST = `mutation ($itemId: ID!, $delta: Int!) { adjustInventory(itemId: $itemId, delta: $delta, reason: "count") { quantity } }`;
const RESTOCK = `mutation ($itemId: ID!, $quantity: Int!) { restockInventory(itemId: $itemId, quantity: $quantity) { quantity } }`;
const TRANSFER = `mutation ($itemId: ID!, $toStoreId: ID!, $quantity: Int!, $toItemId: ID) {
  transferInventory(itemId: $itemId, toStoreId: $toStoreId, quantity: $quantity, toItemId: $toItemId) { quantity }
}`;
const INVENTORY_EVENTS = /* GraphQL */ `
  subscription ($storeId: ID, $productIds: [ID!]) {
    inventoryAlert(storeId: $storeId, productIds: $productIds) {
      kind severity item { id storeId quantity available } alert { id status }
    }
  }
`;
const TICKET_EVENTS = /* GraphQL */ `
  subscription ($stationId: ID!) { kdsTicket(stationId: $stationId) { kind alert ticket { id orderId late } } }
`;
const DASHBOARD_EVENTS = /* GraphQL */ `
  subscription ($storeId: ID) { dashboardMetrics(storeId: $storeId) { storeId ordersToday computedAt } }
`;
const NOTIFICATION_EVENTS =
  'subscription { notifications { notification { kind title targetRole targetStoreId } } }';
const ORDER_EVENTS = /* GraphQL */ `
  subscription ($storeId: ID!) { orderUpdated(storeId: $storeId) { kind previousStatus order { id status balanceCents } } }
`;

type InventoryEvent = {
  inventoryAlert: {
    kind: string;
    severity: string;
    item: { id: string; storeId: string; quantity: number; available: boolean };
    alert: { id: string; status: string } | null;
  };
};

const { app, tokens } = useTestServer({
  env: {
    RATE_LIMIT_MUTATIONS: '1000',
    DASHBOARD_THROTTLE_MS: String(THROTTLE_MS),
    ORDER_UPDATE_COALESCE_MS: String(COALESCE_MS),
  },
});

async function gqlOk<T>(
  query: string,
  variables: Record<string, unknown>,
  user = 'acme-manager',
): Promise<T> {
  const result = await app.gql<T>(query, variables, { token: tokens[user] });
  expect(result.errors, JSON.stringify(result.errors)).toBeUndefined();
  return result.data!;
}

async function placeOrder(storeId: string, product: string, quantity = 1, priority = 'NORMAL') {
  const data = await gqlOk<{
    createOrder: { id: string; number: number; totalCents: number; items: { id: string }[] };
  }>(
    CREATE_ORDER,
    {
      input: { storeId, channel: 'POS', priority, items: [{ productId: `${storeId}-${product}`, quantity }] },
    },
    storeId === 'acme-downtown' ? 'acme-staff' : 'acme-manager', // staff work downtown only
  );
  return data.createOrder;
}

/**
 * What a subscription received before the event of `marker()`, a later change it may see: events arrive in
 * commit order, so this is everything the changes before the marker delivered, duplicates included.
 */
async function receivedBefore<T>(
  subscription: Subscription<T>,
  marker: () => Promise<unknown>,
  isMarker: (data: T) => boolean,
): Promise<T[]> {
  await marker();
  return (await subscription.until(isMarker)).slice(0, -1);
}

/** A marker for an inventory subscription: one less in stock (an ADJUSTMENT event of that item). */
const takeOne = (itemId: string) => () => gqlOk(ADJUST, { itemId, delta: -1 });
const isAdjustmentOf = (itemId: string, quantity: number) => (e: InventoryEvent) =>
  e.inventoryAlert.kind === 'ADJUSTMENT' &&
  e.inventoryAlert.item.id === itemId &&
  e.inventoryAlert.item.quantity === quantity;

const kinds = (events: { inventoryAlert: { kind: string } }[], kind: string) =>
  events.filter((e) => e.inventoryAlert.kind === kind).length;

async function quantityOf(itemId: string) {
  return (await app.server.db.db.inventoryItem.findUniqueOrThrow({ where: { id: itemId } })).quantity;
}

describe('inventory alerts through sales', () => {
  const BURGER = 'acme-downtown-burger-stock'; // threshold 10

  it('raises LOW_STOCK once for a burst of concurrent sales, RESTOCKED on recovery, and again only after it', async () => {
    await gqlOk(ADJUST, { itemId: BURGER, delta: 14 - (await quantityOf(BURGER)) });
    const socket = await app.connect(tokens['acme-manager']);
    const events = await socket.live<InventoryEvent>(INVENTORY_EVENTS, {
      storeId: 'acme-downtown',
      productIds: ['acme-downtown-burger'],
    });

    await Promise.all(Array.from({ length: 8 }, () => placeOrder('acme-downtown', 'burger')));
    expect(await quantityOf(BURGER)).toBe(6);
    const burst = (await receivedBefore(events, takeOne(BURGER), isAdjustmentOf(BURGER, 5))).map(
      (e) => e.inventoryAlert,
    );
    expect(burst.filter((e) => e.kind === 'LOW_STOCK')).toHaveLength(1);
    const firstAlert = burst.find((e) => e.kind === 'LOW_STOCK')!.alert!.id;

    await gqlOk(RESTOCK, { itemId: BURGER, quantity: 20 });
    const recovered = (await receivedBefore(events, takeOne(BURGER), isAdjustmentOf(BURGER, 24))).map(
      (e) => e.inventoryAlert,
    );
    expect(recovered).toEqual([
      expect.objectContaining({ kind: 'RESTOCKED', item: expect.objectContaining({ quantity: 25 }) }),
    ]);

    for (let i = 0; i < 14; i++) await placeOrder('acme-downtown', 'burger');
    const rearmed = (await receivedBefore(events, takeOne(BURGER), isAdjustmentOf(BURGER, 9))).map(
      (e) => e.inventoryAlert,
    );
    const lows = rearmed.filter((e) => e.kind === 'LOW_STOCK');
    expect(lows).toHaveLength(1);
    expect(lows[0]!.item.quantity).toBe(10);
    expect(lows[0]!.alert!.id).not.toBe(firstAlert);

    const alerts = await gqlOk<{
      inventoryAlerts: { id: string; kind: string; status: string; itemId: string }[];
    }>('{ inventoryAlerts(storeId: "acme-downtown") { id kind status itemId } }', {});
    const burgerLows = alerts.inventoryAlerts.filter((a) => a.itemId === BURGER && a.kind === 'LOW_STOCK');
    expect(burgerLows.map((a) => [a.id === firstAlert, a.status]).sort()).toEqual([
      [false, 'OPEN'],
      [true, 'RESOLVED'],
    ]);
    await socket.dispose();
  });

  it('announces a transfer on both sides and changes nothing when the destination item does not match', async () => {
    const FRIES = 'acme-downtown-fries-stock';
    const UPTOWN_FRIES = 'acme-uptown-fries-stock';
    const socket = await app.connect(tokens['acme-admin']);
    const events = await socket.live<InventoryEvent>(INVENTORY_EVENTS, {});
    const [from, to] = [await quantityOf(FRIES), await quantityOf(UPTOWN_FRIES)];

    await gqlOk(TRANSFER, { itemId: FRIES, toStoreId: 'acme-uptown', quantity: 5 });
    const mismatched = await app.gql(
      TRANSFER,
      { itemId: FRIES, toStoreId: 'acme-uptown', toItemId: 'acme-uptown-lemonade-stock', quantity: 5 },
      { token: tokens['acme-manager'] },
    );
    expect(mismatched.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect([await quantityOf(FRIES), await quantityOf(UPTOWN_FRIES)]).toEqual([from - 5, to + 5]);
    expect(await quantityOf('acme-uptown-lemonade-stock')).toBe(40);
    // Everything up to a later adjustment: the transfer's events, and none of the refused one.
    const transferred = (await receivedBefore(events, takeOne(FRIES), isAdjustmentOf(FRIES, from - 6))).map(
      (e) => e.inventoryAlert,
    );
    expect(
      kinds(
        transferred.map((inventoryAlert) => ({ inventoryAlert })),
        'TRANSFER_COMPLETE',
      ),
    ).toBe(2);
    expect(JSON.stringify(transferred)).not.toContain('lemonade');
    expect(
      transferred
        .filter((e) => e.kind === 'TRANSFER_COMPLETE')
        .map((e) => [e.item.id, e.item.quantity])
        .sort(),
    ).toEqual(
      [
        [FRIES, from - 5],
        [UPTOWN_FRIES, to + 5],
      ].sort(),
    );

    await socket.dispose();
  });

  it('shows an out-of-stock product as unavailable on the menu and refuses to order it', async () => {
    const LEMONADE = 'acme-downtown-lemonade-stock';
    await gqlOk(ADJUST, { itemId: LEMONADE, delta: -(await quantityOf(LEMONADE)) });
    const menu = await gqlOk<{ store: { products: { id: string; available: boolean }[] } }>(
      '{ store(id: "acme-downtown") { products { id available } } }',
      {},
    );
    expect(menu.store.products.find((p) => p.id === 'acme-downtown-lemonade')?.available).toBe(false);
    expect(menu.store.products.find((p) => p.id === 'acme-downtown-fries')?.available).toBe(true);

    const refused = await app.gql(
      CREATE_ORDER,
      {
        input: {
          storeId: 'acme-downtown',
          channel: 'POS',
          items: [{ productId: 'acme-downtown-lemonade', quantity: 1 }],
        },
      },
      { token: tokens['acme-staff'] },
    );
    expect(refused.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(refused.errors?.[0]?.message).toMatch(/Lemonade/);
    expect(refused.errors?.[0]?.message).toMatch(/out of stock/i);
    await gqlOk(RESTOCK, { itemId: LEMONADE, quantity: 40 });
  });
});

describe('kitchen display', () => {
  it('hints NEW_TICKET or RUSH for new tickets, and marks a late ticket once however often the sweep runs', async () => {
    await app.server.db.db.kdsTicket.updateMany({ data: { status: 'BUMPED' } }); // an empty board
    const kitchen = await app.connect(tokens['acme-manager']);
    const grill = await kitchen.live<{
      kdsTicket: {
        kind: string;
        alert: string | null;
        ticket: { id: string; orderId: string; late: boolean };
      };
    }>(TICKET_EVENTS, { stationId: 'acme-uptown-grill' });
    const normal = await placeOrder('acme-uptown', 'fries');
    const urgent = await placeOrder('acme-uptown', 'fries', 1, 'URGENT');
    const incoming = (await grill.take(2)).map((r) => r.data!.kdsTicket);
    expect(incoming.map((e) => [e.ticket.orderId, e.kind, e.alert])).toEqual([
      [normal.id, 'ORDER_INCOMING', 'NEW_TICKET'],
      [urgent.id, 'ORDER_INCOMING', 'RUSH'],
    ]);

    const later = new Date(Date.now() + 601_000); // past the grill's 600 s target
    await app.server.services.kds.sweepLate(later);
    await app.server.services.kds.sweepLate(new Date(later.getTime() + 60_000));
    const marker = await placeOrder('acme-uptown', 'fries');
    const late = (await grill.until((e) => e.kdsTicket.ticket.orderId === marker.id))
      .slice(0, -1)
      .map((e) => e.kdsTicket);
    expect(late.map((e) => [e.kind, e.alert])).toEqual([
      ['LATE', 'LATE'],
      ['LATE', 'LATE'],
    ]);
    expect(new Set(late.map((e) => e.ticket.orderId))).toEqual(new Set([normal.id, urgent.id]));
    await kitchen.dispose();
  });
});

describe('bump and recall', () => {
  it('makes the order READY when its last ticket is bumped and IN_PROGRESS again when one is recalled', async () => {
    const socket = await app.connect(tokens['acme-manager']);
    const orders = await socket.live<{
      orderUpdated: { kind: string; previousStatus: string; order: { id: string; status: string } };
    }>(ORDER_EVENTS, { storeId: 'acme-downtown' });
    const order = await placeOrder('acme-downtown', 'fries');
    await gqlOk(
      'mutation ($id: ID!, $to: OrderStatus!) { updateOrderStatus(orderId: $id, status: $to) { id } }',
      {
        id: order.id,
        to: 'ACCEPTED',
      },
    );
    const ticket = await app.server.db.db.kdsTicket.findFirstOrThrow({ where: { orderId: order.id } });
    await gqlOk(
      'mutation ($id: ID!) { bumpTicket(ticketId: $id) { id } }',
      { id: ticket.id },
      'acme-kitchen',
    );
    await gqlOk(
      'mutation ($id: ID!) { recallTicket(ticketId: $id) { id } }',
      { id: ticket.id },
      'acme-kitchen',
    );

    const statusChanges = (
      await receivedBefore(
        orders,
        () => placeOrder('acme-downtown', 'fries'),
        (e) => e.orderUpdated.kind === 'CREATED' && e.orderUpdated.order.id !== order.id,
      )
    )
      .map((e) => e.orderUpdated)
      .filter((e) => e.kind === 'STATUS_CHANGED')
      .map((e) => [e.previousStatus, e.order.status]);
    expect(statusChanges).toEqual([
      ['PENDING', 'ACCEPTED'],
      ['ACCEPTED', 'READY'],
      ['READY', 'IN_PROGRESS'],
    ]);
    await socket.dispose();
  });
});

describe('dashboard throttle', () => {
  it('pushes the current metrics at once, then at most a leading and a trailing push, the last with every change', async () => {
    const socket = await app.connect(tokens['acme-manager']);
    const live = await socket.live<{ dashboardMetrics: { storeId: string; ordersToday: number } }>(
      DASHBOARD_EVENTS,
      {
        storeId: 'acme-uptown',
      },
    );
    const initial = (await live.next()).data!.dashboardMetrics;
    expect(initial.storeId).toBe('acme-uptown');

    for (let i = 0; i < 3; i++) await placeOrder('acme-uptown', 'burger');
    const all = initial.ordersToday + 3;
    const pushes = (await live.until((e) => e.dashboardMetrics.ordersToday === all)).map(
      (e) => e.dashboardMetrics.ordersToday,
    );
    expect(pushes.length).toBeLessThanOrEqual(2);
    // No push repeats the last one: the next carries the next order.
    await placeOrder('acme-uptown', 'burger');
    expect((await live.next()).data!.dashboardMetrics.ordersToday).toBe(all + 1);
    await socket.dispose();
  });
});

describe('notifications the domain raises', () => {
  type Inbox = {
    notifications: {
      notification: { kind: string; title: string; targetRole: string; targetStoreId: string };
    };
  };

  it('tells the front of house when an order is READY and the kitchen when one is cancelled', async () => {
    const staff = await app.connect(tokens['acme-staff']);
    const kitchen = await app.connect(tokens['acme-kitchen']);
    const staffInbox = await staff.live<Inbox>(NOTIFICATION_EVENTS);
    const kitchenInbox = await kitchen.live<Inbox>(NOTIFICATION_EVENTS);

    const ready = await placeOrder('acme-downtown', 'fries');
    const ticket = await app.server.db.db.kdsTicket.findFirstOrThrow({ where: { orderId: ready.id } });
    await gqlOk(
      'mutation ($id: ID!) { bumpTicket(ticketId: $id) { id } }',
      { id: ticket.id },
      'acme-kitchen',
    );
    expect((await staffInbox.next()).data!.notifications.notification).toEqual({
      kind: 'ORDER_READY',
      title: `Order #${ready.number} is ready`,
      targetRole: 'STAFF',
      targetStoreId: 'acme-downtown',
    });

    const cancelled = await placeOrder('acme-downtown', 'fries');
    await gqlOk(
      'mutation ($id: ID!) { cancelOrder(orderId: $id, reason: "guest left") { id } }',
      { id: cancelled.id },
      'acme-staff',
    );
    expect((await kitchenInbox.next()).data!.notifications.notification).toMatchObject({
      kind: 'ORDER_CANCELLED',
      title: `Order #${cancelled.number} cancelled`,
      targetRole: 'KITCHEN',
    });
    // Nothing else reached either inbox before a message to the whole tenant.
    await gqlOk('mutation ($input: SendNotificationInput!) { sendNotification(input: $input) { id } }', {
      input: { audience: 'TENANT', title: 'last', body: 'b' },
    });
    for (const inbox of [kitchenInbox, staffInbox])
      expect((await inbox.next()).data!.notifications.notification.title).toBe('last');
    await staff.dispose();
    await kitchen.dispose();
  });
});

describe('order event coalescing', () => {
  it('delivers a burst of UPDATED events of one order once, and every status change individually, in order', async () => {
    const socket = await app.connect(tokens['acme-manager']);
    const orders = await socket.live<{
      orderUpdated: {
        kind: string;
        previousStatus: string | null;
        order: { id: string; status: string; balanceCents: number };
      };
    }>(ORDER_EVENTS, { storeId: 'acme-uptown' });
    const order = await placeOrder('acme-uptown', 'burger', 2);
    const pay = (amount: number) =>
      gqlOk('mutation ($id: ID!, $amount: Int!) { recordPayment(orderId: $id, amount: $amount) { id } }', {
        id: order.id,
        amount,
      });
    const status = (to: string) =>
      gqlOk(
        'mutation ($id: ID!, $to: OrderStatus!) { updateOrderStatus(orderId: $id, status: $to) { id } }',
        {
          id: order.id,
          to,
        },
      );

    for (const amount of [100, 100, 100]) await pay(amount);
    await status('ACCEPTED');
    await status('IN_PROGRESS');
    for (const amount of [50, 50]) await pay(amount);

    // A status change is never held back and releases what is held first: the marker of everything above.
    const events = (
      await receivedBefore(
        orders,
        () => status('READY'),
        (e) => e.orderUpdated.order.status === 'READY',
      )
    ).map((e) => e.orderUpdated);
    expect(events.map((e) => [e.kind, e.previousStatus, e.order.status, e.order.balanceCents])).toEqual([
      ['CREATED', null, 'PENDING', order.totalCents],
      ['UPDATED', null, 'PENDING', order.totalCents - 300],
      ['STATUS_CHANGED', 'PENDING', 'ACCEPTED', order.totalCents - 300],
      ['STATUS_CHANGED', 'ACCEPTED', 'IN_PROGRESS', order.totalCents - 300],
      ['UPDATED', null, 'IN_PROGRESS', order.totalCents - 400],
    ]);
    await socket.dispose();
  });
});
