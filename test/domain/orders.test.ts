import { beforeAll, describe, expect, it } from 'vitest';
import type { OrderView } from '../../src/domain/order-records';
import { OrderService, type OrderStreamEvent } from '../../src/domain/orders';
import { coalesce } from '../../src/domain/stream-iterators';
import { as, downtownOrder, nextWithin, useDomainFixture } from '../support/domain-fixture';

const staff = as('acme-staff');
const manager = as('acme-manager');
const customer = as('acme-customer');

const fx = useDomainFixture({ orders: { updateCoalesceMs: 150 } });

beforeAll(async () => {
  await fx.database.handle.db.user.create({
    data: {
      id: 'acme-customer-2',
      tenantId: 'acme',
      name: 'Second Customer',
      email: 'acme-customer-2@example.com',
      roles: ['CUSTOMER'],
      storeIds: ['acme-downtown'],
    },
  });
  // Plenty of stock, so the many orders below never run out; one test makes it short on purpose.
  await fx.database.handle.db.inventoryItem.updateMany({ data: { quantity: 10_000 } });
});

const stockOf = async (productId: string) =>
  (await fx.database.handle.db.inventoryItem.findUniqueOrThrow({ where: { productId } })).quantity;

const orderCount = () => fx.database.handle.db.order.count();

describe('createOrder', () => {
  it('numbers the order, prices it from the products and keeps the lines in order', async () => {
    const order = await fx.orders.createOrder(staff, downtownOrder());
    expect(order).toMatchObject({
      number: 1,
      storeId: 'acme-downtown',
      status: 'PENDING',
      channel: 'POS',
      priority: 'NORMAL',
      totalCents: 2 * 1099 + 399 + 3 * 299,
      paidCents: 0,
      currency: 'USD',
      customerId: null,
    });
    expect(
      order.items.map((item) => [item.productId, item.name, item.quantity, item.unitPriceCents, item.notes]),
    ).toEqual([
      ['acme-downtown-burger', 'Burger', 2, 1099, 'no onions'],
      ['acme-downtown-fries', 'Fries', 1, 399, null],
      ['acme-downtown-lemonade', 'Lemonade', 3, 299, null],
    ]);
    const second = await fx.orders.createOrder(staff, downtownOrder());
    expect(second.number).toBe(2);
  });

  it('fans out one ticket per station holding that station’s items, with the order’s priority', async () => {
    const order = await fx.orders.createOrder(staff, downtownOrder({ priority: 'HIGH' }));
    const tickets = await fx.database.handle.db.kdsTicket.findMany({
      where: { orderId: order.id },
      include: { items: { orderBy: { id: 'asc' } } },
      orderBy: { stationId: 'asc' },
    });
    expect(
      tickets.map((t) => [t.stationId, t.status, t.priority, t.items.map((item) => item.productId)]),
    ).toEqual([
      ['acme-downtown-bar', 'OPEN', 'HIGH', ['acme-downtown-lemonade']],
      ['acme-downtown-grill', 'OPEN', 'HIGH', ['acme-downtown-burger', 'acme-downtown-fries']],
    ]);
    const ticketOfItem = new Map(order.items.map((item) => [item.productId, item.ticketId]));
    expect(ticketOfItem.get('acme-downtown-lemonade')).toBe(tickets[0]!.id);
    expect(ticketOfItem.get('acme-downtown-burger')).toBe(tickets[1]!.id);
  });

  it('takes the stock the order needs, adding up lines of the same product', async () => {
    const before = await stockOf('acme-downtown-fries');
    await fx.orders.createOrder(staff, {
      storeId: 'acme-downtown',
      channel: 'POS',
      items: [
        { productId: 'acme-downtown-fries', quantity: 2 },
        { productId: 'acme-downtown-fries', quantity: 3, notes: 'extra salt' },
      ],
    });
    expect(await stockOf('acme-downtown-fries')).toBe(before - 5);
  });

  it('announces the order on the store topic and each ticket on its station and the store kitchen topic', async () => {
    const since = await fx.lastEventId();
    const order = await fx.orders.createOrder(staff, downtownOrder());
    const events = (await fx.events(since)).filter((e) => !e.kind.startsWith('inventory.'));
    expect(events.map((e) => [e.kind, e.topic])).toEqual([
      ['order.CREATED', 't:acme:store:acme-downtown:orders'],
      ['kds.ORDER_INCOMING', 't:acme:station:acme-downtown-grill:kds'],
      ['kds.ORDER_INCOMING', 't:acme:store:acme-downtown:kds'],
      ['kds.ORDER_INCOMING', 't:acme:station:acme-downtown-bar:kds'],
      ['kds.ORDER_INCOMING', 't:acme:store:acme-downtown:kds'],
    ]);
    expect(events[0]!.payload).toEqual({
      kind: 'CREATED',
      order,
      previousStatus: null,
      occurredAt: order.createdAt,
    });
    expect(events[1]!.payload).toMatchObject({
      kind: 'ORDER_INCOMING',
      alert: 'NEW_TICKET',
      ticket: {
        orderId: order.id,
        orderNumber: order.number,
        stationId: 'acme-downtown-grill',
        targetSeconds: 600,
        items: [{ name: 'Burger', quantity: 2, notes: 'no onions' }, { name: 'Fries' }],
      },
    });
  });

  it('rings RUSH for HIGH and URGENT orders', async () => {
    const since = await fx.lastEventId();
    await fx.orders.createOrder(staff, downtownOrder({ priority: 'URGENT' }));
    const incoming = (await fx.events(since)).filter((e) => e.kind === 'kds.ORDER_INCOMING');
    expect(incoming.map((e) => e.payload.alert)).toEqual(['RUSH', 'RUSH', 'RUSH', 'RUSH']);
  });

  it('lets customers order online or at a kiosk, always for themselves', async () => {
    const order = await fx.orders.createOrder(
      customer,
      downtownOrder({ channel: 'ONLINE', customerId: 'acme-customer-2' }),
    );
    expect(order.customerId).toBe('acme-customer');
    await expect(fx.orders.createOrder(customer, downtownOrder({ channel: 'POS' }))).rejects.toMatchObject({
      code: 'BAD_USER_INPUT',
      details: { field: 'channel' },
    });
  });

  it('records a customer given by staff, and refuses an unknown one', async () => {
    const order = await fx.orders.createOrder(staff, downtownOrder({ customerId: 'acme-customer-2' }));
    expect(order.customerId).toBe('acme-customer-2');
    await expect(
      fx.orders.createOrder(staff, downtownOrder({ customerId: 'globex-customer' })),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  const line = (quantity: number, notes?: string) => [{ productId: 'acme-downtown-burger', quantity, notes }];
  const invalid: [string, ReturnType<typeof downtownOrder>, string][] = [
    ['an empty order', downtownOrder({ items: [] }), 'items'],
    ['101 lines', downtownOrder({ items: Array.from({ length: 101 }, () => line(1)[0]!) }), 'items'],
    ['quantity 0', downtownOrder({ items: line(0) }), 'items.0.quantity'],
    ['a negative quantity', downtownOrder({ items: line(-2) }), 'items.0.quantity'],
    ['a fractional quantity', downtownOrder({ items: line(1.5) }), 'items.0.quantity'],
    ['quantity 100', downtownOrder({ items: line(100) }), 'items.0.quantity'],
    ['notes over 200 characters', downtownOrder({ items: line(1, 'x'.repeat(201)) }), 'items.0.notes'],
    ['table 0', downtownOrder({ channel: 'TABLE', tableNumber: 0 }), 'tableNumber'],
    ['table 1000', downtownOrder({ tableNumber: 1000 }), 'tableNumber'],
    ['a TABLE order without a table', downtownOrder({ channel: 'TABLE' }), 'tableNumber'],
  ];
  for (const [what, input, field] of invalid) {
    it(`refuses ${what} with BAD_USER_INPUT on ${field}, writing nothing`, async () => {
      const before = await orderCount();
      await expect(fx.orders.createOrder(staff, input)).rejects.toMatchObject({
        code: 'BAD_USER_INPUT',
        details: { field },
      });
      expect(await orderCount()).toBe(before);
    });
  }

  it('accepts 200 characters of notes, 99 of an item and table 999 (a POS order noting a table)', async () => {
    const order = await fx.orders.createOrder(manager, {
      storeId: 'acme-uptown',
      channel: 'POS',
      tableNumber: 999,
      items: [{ productId: 'acme-uptown-fries', quantity: 99, notes: 'y'.repeat(200) }],
    });
    expect(order).toMatchObject({ tableNumber: 999, items: [{ quantity: 99, notes: 'y'.repeat(200) }] });
  });

  it('refuses unknown products and products of another store or tenant as NOT_FOUND', async () => {
    for (const productId of ['no-such-product', 'acme-uptown-burger', 'globex-central-burger']) {
      await expect(
        fx.orders.createOrder(manager, downtownOrder({ items: [{ productId, quantity: 1 }] })),
      ).rejects.toMatchObject({ code: 'NOT_FOUND', details: { id: productId } });
    }
  });

  it('refuses an inactive product', async () => {
    const db = fx.database.handle.db;
    await db.product.update({ where: { id: 'acme-uptown-burger' }, data: { active: false } });
    try {
      await expect(
        fx.orders.createOrder(
          manager,
          downtownOrder({
            storeId: 'acme-uptown',
            items: [{ productId: 'acme-uptown-burger', quantity: 1 }],
          }),
        ),
      ).rejects.toMatchObject({ code: 'BAD_USER_INPUT', message: 'Burger is no longer on the menu' });
    } finally {
      await db.product.update({ where: { id: 'acme-uptown-burger' }, data: { active: true } });
    }
  });

  it('hides another tenant’s store and refuses an own store outside the caller’s claim', async () => {
    await expect(
      fx.orders.createOrder(manager, downtownOrder({ storeId: 'globex-central' })),
    ).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    await expect(
      fx.orders.createOrder(staff, downtownOrder({ storeId: 'acme-uptown' })),
    ).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
  });

  it('does not let the kitchen take orders', async () => {
    await expect(fx.orders.createOrder(as('acme-kitchen'), downtownOrder())).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
  });

  it('fails as a whole when stock is short: no order, no stock taken, no order number used', async () => {
    await fx.database.handle.db.inventoryItem.update({
      where: { productId: 'acme-downtown-lemonade' },
      data: { quantity: 5 },
    });
    const burgers = await stockOf('acme-downtown-burger');
    const before = await orderCount();
    const { nextOrderNumber } = await fx.database.handle.db.store.findUniqueOrThrow({
      where: { id: 'acme-downtown' },
    });
    await expect(
      fx.orders.createOrder(
        staff,
        downtownOrder({
          items: [
            { productId: 'acme-downtown-burger', quantity: 1 },
            { productId: 'acme-downtown-lemonade', quantity: 6 },
          ],
        }),
      ),
    ).rejects.toMatchObject({ code: 'BAD_USER_INPUT', details: { productId: 'acme-downtown-lemonade' } });
    expect(await stockOf('acme-downtown-burger')).toBe(burgers);
    expect(await orderCount()).toBe(before);
    const store = await fx.database.handle.db.store.findUniqueOrThrow({ where: { id: 'acme-downtown' } });
    expect(store.nextOrderNumber).toBe(nextOrderNumber);
    await fx.database.handle.db.inventoryItem.update({
      where: { productId: 'acme-downtown-lemonade' },
      data: { quantity: 10_000 },
    });
  });
});

describe('updateOrderStatus', () => {
  it('moves along legal transitions, announcing each with the previous status', async () => {
    const order = await fx.orders.createOrder(staff, downtownOrder());
    const since = await fx.lastEventId();
    await fx.orders.updateOrderStatus(staff, order.id, 'ACCEPTED');
    await fx.orders.updateOrderStatus(staff, order.id, 'IN_PROGRESS');
    const ready = await fx.orders.updateOrderStatus(staff, order.id, 'READY');
    expect(ready.readyAt).not.toBeNull();
    const done = await fx.orders.updateOrderStatus(staff, order.id, 'COMPLETED');
    expect(done).toMatchObject({ status: 'COMPLETED', completedAt: expect.any(String) });
    const orderEvents = (await fx.events(since)).filter((e) => e.kind.startsWith('order.'));
    expect(orderEvents.map((e) => [e.kind, e.payload.previousStatus, e.payload.order.status])).toEqual([
      ['order.STATUS_CHANGED', 'PENDING', 'ACCEPTED'],
      ['order.STATUS_CHANGED', 'ACCEPTED', 'IN_PROGRESS'],
      ['order.STATUS_CHANGED', 'IN_PROGRESS', 'READY'],
      ['order.STATUS_CHANGED', 'READY', 'COMPLETED'],
      ['order.COMPLETED', 'READY', 'COMPLETED'],
    ]);
  });

  it('takes a completed order’s tickets off the kitchen displays', async () => {
    const order = await fx.orders.createOrder(staff, downtownOrder());
    for (const status of ['ACCEPTED', 'IN_PROGRESS', 'READY'] as const) {
      await fx.orders.updateOrderStatus(staff, order.id, status);
    }
    const since = await fx.lastEventId();
    await fx.orders.updateOrderStatus(staff, order.id, 'COMPLETED');
    const tickets = await fx.database.handle.db.kdsTicket.findMany({ where: { orderId: order.id } });
    expect(tickets.map((t) => t.status)).toEqual(['BUMPED', 'BUMPED']);
    expect((await fx.events(since)).filter((e) => e.kind === 'kds.BUMPED')).toHaveLength(4);
  });

  it('refuses COMPLETED → IN_PROGRESS naming both statuses', async () => {
    const order = await fx.orders.createOrder(staff, downtownOrder());
    for (const status of ['ACCEPTED', 'IN_PROGRESS', 'READY', 'COMPLETED'] as const) {
      await fx.orders.updateOrderStatus(staff, order.id, status);
    }
    await expect(fx.orders.updateOrderStatus(staff, order.id, 'IN_PROGRESS')).rejects.toMatchObject({
      code: 'BAD_USER_INPUT',
      message: 'An order cannot move from COMPLETED to IN_PROGRESS',
    });
  });

  it('refuses skipping ahead (PENDING → READY)', async () => {
    const order = await fx.orders.createOrder(staff, downtownOrder());
    await expect(fx.orders.updateOrderStatus(staff, order.id, 'READY')).rejects.toMatchObject({
      code: 'BAD_USER_INPUT',
      message: 'An order cannot move from PENDING to READY',
    });
  });

  it('is for front-of-house roles, and another tenant’s or unknown order does not exist', async () => {
    const order = await fx.orders.createOrder(staff, downtownOrder());
    await expect(fx.orders.updateOrderStatus(as('acme-kitchen'), order.id, 'ACCEPTED')).rejects.toMatchObject(
      {
        code: 'FORBIDDEN',
      },
    );
    await expect(fx.orders.updateOrderStatus(customer, order.id, 'ACCEPTED')).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
    await expect(
      fx.orders.updateOrderStatus(as('globex-manager'), order.id, 'ACCEPTED'),
    ).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    await expect(fx.orders.updateOrderStatus(staff, 'no-such-order', 'ACCEPTED')).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
  });
});

describe('cancelOrder', () => {
  it('cancels, gives the stock back, clears the tickets and tells the kitchen', async () => {
    const burgers = await stockOf('acme-downtown-burger');
    const order = await fx.orders.createOrder(staff, downtownOrder());
    expect(await stockOf('acme-downtown-burger')).toBe(burgers - 2);
    const since = await fx.lastEventId();
    const cancelled = await fx.orders.cancelOrder(staff, order.id, '  customer left  ');
    expect(cancelled).toMatchObject({ status: 'CANCELLED', cancelReason: 'customer left' });
    expect(cancelled.cancelledAt).not.toBeNull();
    expect(await stockOf('acme-downtown-burger')).toBe(burgers);
    const tickets = await fx.database.handle.db.kdsTicket.findMany({ where: { orderId: order.id } });
    expect(tickets.map((t) => t.status)).toEqual(['BUMPED', 'BUMPED']);
    const notification = await fx.database.handle.db.notification.findFirstOrThrow({
      where: { kind: 'ORDER_CANCELLED', data: { path: ['orderId'], equals: order.id } },
    });
    expect(notification).toMatchObject({
      tenantId: 'acme',
      audience: 'ROLE',
      targetRole: 'KITCHEN',
      targetStoreId: 'acme-downtown',
      body: 'customer left',
    });
    const kinds = (await fx.events(since)).map((e) => e.kind).filter((k) => !k.startsWith('inventory.'));
    expect(kinds).toEqual([
      'order.STATUS_CHANGED',
      'order.CANCELLED',
      'kds.BUMPED',
      'kds.BUMPED',
      'kds.BUMPED',
      'kds.BUMPED',
      'notification.CREATED',
    ]);
  });

  it('refuses an empty or overlong reason', async () => {
    const order = await fx.orders.createOrder(staff, downtownOrder());
    for (const reason of ['', '   ', 'r'.repeat(201)]) {
      await expect(fx.orders.cancelOrder(staff, order.id, reason)).rejects.toMatchObject({
        code: 'BAD_USER_INPUT',
        details: { field: 'reason' },
      });
    }
  });

  it('refuses to cancel twice or to cancel a completed order', async () => {
    const order = await fx.orders.createOrder(staff, downtownOrder());
    await fx.orders.updateOrderStatus(staff, order.id, 'CANCELLED');
    await expect(fx.orders.cancelOrder(staff, order.id, 'again')).rejects.toMatchObject({
      code: 'BAD_USER_INPUT',
      message: 'An order cannot move from CANCELLED to CANCELLED',
    });
  });

  it('is not for the kitchen', async () => {
    const order = await fx.orders.createOrder(staff, downtownOrder());
    await expect(fx.orders.cancelOrder(as('acme-kitchen'), order.id, 'burnt')).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
  });
});

describe('recordPayment', () => {
  it('records partial payments as UPDATED and the final one as PAID', async () => {
    const order = await fx.orders.createOrder(staff, downtownOrder());
    const since = await fx.lastEventId();
    const partial = await fx.orders.recordPayment(staff, order.id, 1000);
    expect(partial.paidCents).toBe(1000);
    const paid = await fx.orders.recordPayment(staff, order.id, order.totalCents - 1000);
    expect(paid.paidCents).toBe(order.totalCents);
    expect((await fx.events(since)).map((e) => [e.kind, e.payload.order.paidCents])).toEqual([
      ['order.UPDATED', 1000],
      ['order.PAID', order.totalCents],
    ]);
    expect(await fx.database.handle.db.payment.count({ where: { orderId: order.id } })).toBe(2);
  });

  it('refuses zero, negative, fractional and more-than-owed amounts', async () => {
    const order = await fx.orders.createOrder(staff, downtownOrder());
    for (const amount of [0, -5, 1.5]) {
      await expect(fx.orders.recordPayment(staff, order.id, amount)).rejects.toMatchObject({
        code: 'BAD_USER_INPUT',
        details: { field: 'amount' },
      });
    }
    await expect(fx.orders.recordPayment(staff, order.id, order.totalCents + 1)).rejects.toMatchObject({
      code: 'BAD_USER_INPUT',
      details: { remaining: order.totalCents },
    });
  });

  it('is not for customers or the kitchen', async () => {
    const order = await fx.orders.createOrder(customer, downtownOrder({ channel: 'KIOSK' }));
    for (const who of [customer, as('acme-kitchen')]) {
      await expect(fx.orders.recordPayment(who, order.id, 100)).rejects.toMatchObject({ code: 'FORBIDDEN' });
    }
  });
});

describe('reading orders', () => {
  it('shows customers their own orders and hides everyone else’s as NOT_FOUND', async () => {
    const own = await fx.orders.createOrder(customer, downtownOrder({ channel: 'ONLINE' }));
    const other = await fx.orders.createOrder(
      { ...customer, userId: 'acme-customer-2' },
      downtownOrder({ channel: 'ONLINE' }),
    );
    const walkIn = await fx.orders.createOrder(staff, downtownOrder());
    expect((await fx.orders.order(customer, own.id)).id).toBe(own.id);
    for (const hidden of [other, walkIn]) {
      await expect(fx.orders.order(customer, hidden.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    }
    const listed = await fx.orders.orders(customer, { storeId: 'acme-downtown', first: 100 });
    expect(listed.edges.every((edge) => edge.node.customerId === 'acme-customer')).toBe(true);
    expect(listed.edges.map((edge) => edge.node.id)).toContain(own.id);
  });

  it('hides another tenant’s order', async () => {
    const order = await fx.orders.createOrder(staff, downtownOrder());
    await expect(fx.orders.order(as('globex-admin'), order.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('pages a store’s orders newest first, filtered by status', async () => {
    const created: OrderView[] = [];
    for (let i = 0; i < 3; i += 1)
      created.push(
        await fx.orders.createOrder(
          manager,
          downtownOrder({ storeId: 'acme-uptown', items: [{ productId: 'acme-uptown-fries', quantity: 1 }] }),
        ),
      );
    await fx.orders.updateOrderStatus(manager, created[1]!.id, 'ACCEPTED');
    const all = await fx.orders.orders(manager, { storeId: 'acme-uptown' });
    const numbers = all.edges.map((edge) => edge.node.number);
    expect(numbers).toEqual([...numbers].sort((a, b) => b - a));
    const page1 = await fx.orders.orders(manager, { storeId: 'acme-uptown', first: 2 });
    expect(page1.pageInfo).toMatchObject({ hasNextPage: true, endCursor: page1.edges[1]!.cursor });
    const page2 = await fx.orders.orders(manager, {
      storeId: 'acme-uptown',
      first: 2,
      after: page1.pageInfo.endCursor,
    });
    expect(page2.edges[0]!.node.number).toBe(page1.edges[1]!.node.number - 1);
    const accepted = await fx.orders.orders(manager, { storeId: 'acme-uptown', status: 'ACCEPTED' });
    expect(accepted.edges.map((edge) => edge.node.id)).toEqual([created[1]!.id]);
  });

  it('refuses a malformed cursor and page sizes outside 1..100', async () => {
    await expect(
      fx.orders.orders(manager, { storeId: 'acme-uptown', after: 'garbage' }),
    ).rejects.toMatchObject({
      code: 'BAD_USER_INPUT',
    });
    for (const first of [0, 101]) {
      await expect(fx.orders.orders(manager, { storeId: 'acme-uptown', first })).rejects.toMatchObject({
        code: 'BAD_USER_INPUT',
      });
    }
  });
});

describe('subscribeOrders', () => {
  it('delivers the store’s order events, and a customer only their own orders', async () => {
    const staffStream = await fx.orders.subscribeOrders(staff, 'acme-downtown');
    const customerStream = await fx.orders.subscribeOrders(customer, 'acme-downtown');
    try {
      const walkIn = await fx.orders.createOrder(staff, downtownOrder());
      const own = await fx.orders.createOrder(customer, downtownOrder({ channel: 'ONLINE' }));
      expect(await nextWithin(staffStream)).toMatchObject({ kind: 'CREATED', order: { id: walkIn.id } });
      expect(await nextWithin(staffStream)).toMatchObject({ kind: 'CREATED', order: { id: own.id } });
      const seen = await nextWithin(customerStream);
      expect(seen).toMatchObject({ kind: 'CREATED', order: { id: own.id }, cursor: expect.any(String) });
    } finally {
      await staffStream.return?.();
      await customerStream.return?.();
    }
  });

  it('resumes after a cursor without gaps or duplicates', async () => {
    const stream = await fx.orders.subscribeOrders(staff, 'acme-downtown');
    const order = await fx.orders.createOrder(staff, downtownOrder());
    const created = await nextWithin(stream);
    await stream.return?.();
    await fx.orders.updateOrderStatus(staff, order.id, 'ACCEPTED');
    const resumed = await fx.orders.subscribeOrders(staff, 'acme-downtown', created.cursor);
    try {
      expect(await nextWithin(resumed)).toMatchObject({ kind: 'STATUS_CHANGED', previousStatus: 'PENDING' });
    } finally {
      await resumed.return?.();
    }
  });

  it('releases its pub/sub subscription when the subscriber leaves a quiet stream', async () => {
    const handlers = () => fx.pubsub.stats!().handlers;
    const before = handlers();
    const stream = await fx.orders.subscribeOrders(manager, 'acme-uptown');
    expect(handlers()).toBe(before + 1);
    const waiting = stream.next().catch(() => undefined); // nothing happens in uptown meanwhile
    await stream.return?.();
    expect(handlers()).toBe(before);
    void waiting;
  });

  it('refuses another tenant’s store and a store outside the claim before streaming', async () => {
    await expect(fx.orders.subscribeOrders(staff, 'globex-central')).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    await expect(fx.orders.subscribeOrders(staff, 'acme-uptown')).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
  });

  it('coalesces a burst of UPDATED events of one order and keeps status changes in order', async () => {
    // A window far longer than the test: only the status changes release what is held, so timing cannot matter.
    const patient = new OrderService(fx.deps, { updateCoalesceMs: 60_000 });
    const order = await fx.orders.createOrder(staff, downtownOrder());
    const stream = await patient.subscribeOrders(staff, 'acme-downtown');
    try {
      await fx.orders.recordPayment(staff, order.id, 100);
      await fx.orders.recordPayment(staff, order.id, 200);
      await fx.orders.recordPayment(staff, order.id, 300);
      await fx.orders.updateOrderStatus(staff, order.id, 'ACCEPTED');
      await fx.orders.recordPayment(staff, order.id, 400);
      await fx.orders.updateOrderStatus(staff, order.id, 'IN_PROGRESS');
      const received: OrderStreamEvent[] = [];
      for (let i = 0; i < 4; i += 1) received.push(await nextWithin(stream));
      expect(received.map((e) => [e.kind, e.order.status, e.order.paidCents])).toEqual([
        ['UPDATED', 'PENDING', 600],
        ['STATUS_CHANGED', 'ACCEPTED', 600],
        ['UPDATED', 'ACCEPTED', 1000],
        ['STATUS_CHANGED', 'IN_PROGRESS', 1000],
      ]);
    } finally {
      await stream.return?.();
    }
  });
});

describe('coalesce', () => {
  type Item = { key: string | null; n: number };
  /** A source whose values the test pushes one by one. */
  function pushable() {
    const queue: Item[] = [];
    const waiting: ((result: IteratorResult<Item>) => void)[] = [];
    let returned = false;
    const source: AsyncIterator<Item> = {
      next: () =>
        new Promise((resolve) => {
          const value = queue.shift();
          if (value) resolve({ value, done: false });
          else waiting.push(resolve);
        }),
      return: async () => {
        returned = true;
        for (const resolve of waiting.splice(0)) resolve({ value: undefined, done: true });
        return { value: undefined, done: true };
      },
    };
    const push = (item: Item) => {
      const resolve = waiting.shift();
      if (resolve) resolve({ value: item, done: false });
      else queue.push(item);
    };
    return { source, push, returned: () => returned };
  }

  it('releases the newest held value per key after the window', async () => {
    const { source, push } = pushable();
    const stream = coalesce(source, { windowMs: 40, coalesceKey: (item) => item.key });
    push({ key: 'a', n: 1 });
    push({ key: 'b', n: 2 });
    push({ key: 'a', n: 3 });
    expect((await stream.next()).value).toEqual({ key: 'b', n: 2 });
    expect((await stream.next()).value).toEqual({ key: 'a', n: 3 });
  });

  it('releases held values before any value that is not coalescible', async () => {
    const { source, push } = pushable();
    const stream = coalesce(source, { windowMs: 60_000, coalesceKey: (item) => item.key });
    push({ key: 'a', n: 1 });
    push({ key: 'a', n: 2 });
    push({ key: null, n: 3 });
    expect((await stream.next()).value).toEqual({ key: 'a', n: 2 });
    expect((await stream.next()).value).toEqual({ key: null, n: 3 });
  });

  it('releases the source at once when returned while waiting', async () => {
    const { source, returned } = pushable();
    const stream = coalesce(source, { windowMs: 50, coalesceKey: (item) => item.key });
    const pending = stream.next();
    await stream.return?.();
    expect(returned()).toBe(true);
    expect(await pending).toEqual({ value: undefined, done: true });
  });
});
