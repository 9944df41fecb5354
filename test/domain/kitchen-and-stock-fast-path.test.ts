import pg from 'pg';
import { beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { StatementOutcome } from '../../src/events/one-statement';
import type { EventEnvelope } from '../../src/events/types';
import { as, onStatement, useDomainFixture } from '../support/domain-fixture';
import { eventually } from '../support/eventually';

/**
 * adjustInventory, markItemReady and bumpTicket in two round trips (a read, then one statement: src/domain/*-fast-path.ts):
 * the rows and events of the transaction they stand in for, and the transaction whenever the statement cannot say
 * the change (a refusal, an alert to raise, ...) or a row changed between the read and the write.
 */

const manager = as('acme-manager');
const fx = useDomainFixture();
const db = () => fx.database.handle.db;

// Seed: Burger 50 (threshold 10).
const BURGER = 'acme-downtown-burger-stock';

let statements: StatementOutcome[];
let published: EventEnvelope[] = [];
beforeAll(() => fx.listen((events) => published.push(...events)));
beforeEach(async () => {
  await db().inventoryAlert.deleteMany({});
  await db().stockMovement.deleteMany({ where: { inventoryItemId: BURGER } });
  await db().inventoryItem.updateMany({ where: { name: 'Burger' }, data: { quantity: 50 } });
  statements = [];
  published = [];
  onStatement(fx, (outcome) => statements.push(outcome));
  return () => vi.restoreAllMocks();
});

/** The next publisher.read returns what it read, after `meanwhile` changed the database. */
function changeAfterRead(meanwhile: () => Promise<unknown>) {
  const read = fx.deps.publisher.read;
  vi.spyOn(fx.deps.publisher, 'read').mockImplementationOnce(async (text, values) => {
    const rows = await read(text, values);
    await meanwhile();
    return rows;
  });
}

const itemRow = () => db().inventoryItem.findUniqueOrThrow({ where: { id: BURGER } });

describe('adjustInventory in one statement', () => {
  it('changes the stock, records the movement and announces ADJUSTMENT as the transaction does', async () => {
    const after = await fx.lastEventId();
    const adjusted = await fx.inventory.adjustInventory(manager, BURGER, -5, ' spill ');

    expect(statements.map((outcome) => outcome.ok)).toEqual([true]);
    const row = await itemRow();
    expect(adjusted).toMatchObject({ id: BURGER, quantity: 45, available: true });
    expect(adjusted.updatedAt).toBe(row.updatedAt.toISOString());
    expect(row.quantity).toBe(45);
    const movements = await db().stockMovement.findMany({ where: { inventoryItemId: BURGER } });
    expect(movements.map((m) => [m.reason, m.delta, m.quantityAfter, m.note, m.actorId])).toEqual([
      ['ADJUSTMENT', -5, 45, 'spill', manager.userId],
    ]);
    const events = await fx.events(after);
    expect(events.map((e) => [e.topic, e.kind, e.payload.severity, e.payload.item])).toEqual([
      ['t:acme:store:acme-downtown:inventory', 'inventory.ADJUSTMENT', 'LOW', adjusted],
    ]);
    expect(published.map((e) => [e.id, e.payload])).toEqual(events.map((e) => [e.id.toString(), e.payload]));
  });

  it('changes nothing and takes the transaction when the item changed after it was read', async () => {
    changeAfterRead(() => db().inventoryItem.update({ where: { id: BURGER }, data: { quantity: 30 } }));
    const adjusted = await fx.inventory.adjustInventory(manager, BURGER, 2, 'count');
    expect(statements.map((outcome) => outcome.ok)).toEqual([false]);
    expect(adjusted.quantity).toBe(32);
    expect((await itemRow()).quantity).toBe(32);
    expect(await db().stockMovement.count({ where: { inventoryItemId: BURGER } })).toBe(1);
  });

  it('takes the transaction when the stock crosses the alert threshold, which raises the alert', async () => {
    const after = await fx.lastEventId();
    const adjusted = await fx.inventory.adjustInventory(manager, BURGER, -40, 'count'); // 10: the threshold
    expect(statements).toEqual([]);
    expect(adjusted.quantity).toBe(10);
    expect((await fx.events(after)).map((e) => e.kind)).toEqual([
      'inventory.ADJUSTMENT',
      'inventory.LOW_STOCK',
    ]);
    // Back above it with the alert open: RESTOCKED, the transaction's again.
    await fx.inventory.adjustInventory(manager, BURGER, 5, 'count');
    expect(statements).toEqual([]);
    expect((await fx.events(after)).map((e) => e.kind).slice(2)).toEqual([
      'inventory.ADJUSTMENT',
      'inventory.RESTOCKED',
    ]);
    // No alert open, above the threshold: one statement.
    await fx.inventory.adjustInventory(manager, BURGER, 1, 'count');
    expect(statements.map((outcome) => outcome.ok)).toEqual([true]);
  });

  it('leaves refusals to the transaction, which writes nothing', async () => {
    await expect(fx.inventory.adjustInventory(manager, BURGER, -51, 'count')).rejects.toMatchObject({
      code: 'BAD_USER_INPUT',
      details: { field: 'delta', quantity: 50 },
    });
    await expect(
      fx.inventory.adjustInventory(manager, 'globex-central-burger-stock', 1, 'count'),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(
      fx.inventory.adjustInventory(as('acme-manager', { stores: ['acme-uptown'] }), BURGER, 1, 'count'),
    ).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect(statements).toEqual([]);
    expect((await itemRow()).quantity).toBe(50);
    expect(await db().stockMovement.count({ where: { inventoryItemId: BURGER } })).toBe(0);
  });
});

const staff = as('acme-staff');
/** The demo kitchen device: bound to the downtown grill. */
const grill = as('acme-kitchen');

/** The next publisher.read finds nothing: the mutation takes its transaction, as before the fast paths. */
function slowly() {
  vi.spyOn(fx.deps.publisher, 'read').mockResolvedValueOnce([]);
}

/** Events with what differs between two like orders (ids, times, numbers, the order of items by id) taken out. */
function shape(events: { topic: string; kind: string; payload: unknown }[]) {
  const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(-\d+)?$/;
  const iso = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
  const norm = (value: unknown, key = ''): unknown => {
    if (Array.isArray(value)) {
      const list = value.map((v) => norm(v));
      return key === 'items' ? list.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))) : list;
    }
    if (value && typeof value === 'object')
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, norm(v, k)]));
    if (typeof value === 'number' && (key === 'number' || key === 'orderNumber')) return '<n>';
    if (typeof value !== 'string') return value;
    if (uuid.test(value)) return '<id>';
    if (iso.test(value)) return '<at>';
    return value.replace(/#\d+/g, '#<n>');
  };
  return events.map((e) => [e.topic, e.kind, norm(e.payload)]);
}

async function ticketOf(order: { id: string }, station: 'grill' | 'bar') {
  return db().kdsTicket.findFirstOrThrow({
    where: { orderId: order.id, stationId: `acme-downtown-${station}` },
    include: { items: { orderBy: { id: 'asc' } } },
  });
}

/** Two like orders, accepted: one for the fast path, one for the transaction. */
async function twoOrders() {
  const orders = [];
  for (let i = 0; i < 2; i++) {
    const order = await fx.orders.createOrder(staff, {
      storeId: 'acme-downtown',
      channel: 'POS',
      items: [
        { productId: 'acme-downtown-burger', quantity: 1 },
        { productId: 'acme-downtown-fries', quantity: 1 },
        { productId: 'acme-downtown-lemonade', quantity: 1 },
      ],
    });
    orders.push(await fx.orders.updateOrderStatus(staff, order.id, 'ACCEPTED'));
  }
  statements = [];
  return orders as [(typeof orders)[0], (typeof orders)[0]];
}

/** Does `act` on both orders (the second through the transaction): each one's events. */
async function bothWays<T>(orders: { id: string }[], act: (order: { id: string }) => Promise<T>) {
  const runs = [];
  for (const [i, order] of orders.entries()) {
    const after = await fx.lastEventId();
    if (i === 1) slowly();
    const result = await act(order);
    runs.push({ result, events: await fx.events(after) });
  }
  return runs as [(typeof runs)[0], (typeof runs)[0]];
}

describe('markItemReady in one statement', () => {
  beforeEach(() => db().inventoryItem.updateMany({ data: { quantity: 10_000 } }));

  it('starts the ticket and the order, and announces it all as the transaction does', async () => {
    const orders = await twoOrders();
    const burgers = await Promise.all(orders.map((o) => ticketOf(o, 'grill')));
    const [fast, slow] = await bothWays(orders, async (order) =>
      fx.kds.markItemReady(grill, burgers[orders.indexOf(order as never)]!.items[0]!.id),
    );
    expect(statements.map((outcome) => outcome.ok)).toEqual([true]);
    expect(shape(fast.events)).toEqual(shape(slow.events));
    expect(fast.events.map((e) => e.kind)).toEqual([
      'order.STATUS_CHANGED',
      'kds.ITEM_READY',
      'kds.ITEM_READY',
      'order.ITEM_READY',
    ]);
    const [ticket] = (await fx.kds.kdsTickets(grill, 'acme-downtown-grill')).filter(
      (t) => t.orderId === orders[0].id,
    );
    expect(fast.result).toEqual(ticket);
    expect(fast.events[1]?.payload.ticket).toEqual(ticket);
    expect(fast.events[3]?.payload.order).toEqual(await fx.orders.order(staff, orders[0].id));
    const item = await db().orderItem.findUniqueOrThrow({ where: { id: burgers[0]!.items[0]!.id } });
    expect(item.readyAt?.toISOString()).toBe(fast.events[0]?.payload.occurredAt);
    expect(item.startedAt).toEqual(item.readyAt);
  });

  it('finishes the ticket with its last item (ORDER_COMPLETE), as the transaction does', async () => {
    const orders = await twoOrders();
    const bars = await Promise.all(orders.map((o) => ticketOf(o, 'bar')));
    const [fast, slow] = await bothWays(orders, (order) =>
      fx.kds.markItemReady(staff, bars[orders.indexOf(order as never)]!.items[0]!.id),
    );
    expect(statements.map((outcome) => outcome.ok)).toEqual([true]);
    expect(shape(fast.events)).toEqual(shape(slow.events));
    expect(fast.events.map((e) => e.kind).slice(-2)).toEqual(['kds.ORDER_COMPLETE', 'kds.ORDER_COMPLETE']);
    expect(fast.result).toMatchObject({ status: 'READY', startedAt: fast.result.readyAt });
    expect((await ticketOf(orders[0], 'bar')).status).toBe('READY');
  });

  it('changes nothing and takes the transaction when the ticket changed after it was read', async () => {
    const [order] = await twoOrders();
    const ticket = await ticketOf(order, 'grill');
    // The other item of the ticket is made ready in between: this one is now the ticket's last.
    changeAfterRead(() =>
      db().orderItem.update({ where: { id: ticket.items[1]!.id }, data: { status: 'READY' } }),
    );
    const after = await fx.lastEventId();
    const result = await fx.kds.markItemReady(grill, ticket.items[0]!.id);
    expect(statements.map((outcome) => outcome.ok)).toEqual([false]);
    expect(result.status).toBe('READY');
    expect((await fx.events(after)).map((e) => e.kind)).toContain('kds.ORDER_COMPLETE');
  });

  it('leaves refusals to the transaction, which writes nothing', async () => {
    const [order] = await twoOrders();
    const grillTicket = await ticketOf(order, 'grill');
    const barTicket = await ticketOf(order, 'bar');
    await fx.kds.markItemReady(grill, grillTicket.items[0]!.id);
    statements = [];
    const after = await fx.lastEventId();
    await expect(fx.kds.markItemReady(grill, grillTicket.items[0]!.id)).rejects.toMatchObject({
      code: 'BAD_USER_INPUT',
    });
    await expect(fx.kds.markItemReady(grill, barTicket.items[0]!.id)).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
    await expect(fx.kds.markItemReady(grill, 'no-such-item')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await fx.events(after)).toEqual([]);
    await fx.orders.cancelOrder(staff, order.id, 'left');
    const cancelled = await fx.lastEventId();
    await expect(fx.kds.markItemReady(staff, barTicket.items[0]!.id)).rejects.toMatchObject({
      code: 'BAD_USER_INPUT',
    });
    expect(statements).toEqual([]);
    expect(await fx.events(cancelled)).toEqual([]);
  });
});

describe('bumpTicket in one statement', () => {
  beforeEach(() => db().inventoryItem.updateMany({ data: { quantity: 10_000 } }));

  it('bumps the ticket and readies its items, as the transaction does', async () => {
    const orders = await twoOrders();
    const tickets = await Promise.all(orders.map((o) => ticketOf(o, 'grill')));
    const [fast, slow] = await bothWays(orders, (order) =>
      fx.kds.bumpTicket(grill, tickets[orders.indexOf(order as never)]!.id),
    );
    expect(statements.map((outcome) => outcome.ok)).toEqual([true]);
    expect(shape(fast.events)).toEqual(shape(slow.events));
    expect(fast.events.map((e) => e.kind)).toEqual(['kds.BUMPED', 'kds.BUMPED']);
    const row = await ticketOf(orders[0], 'grill');
    expect(row).toMatchObject({ status: 'BUMPED', bumpedAt: row.readyAt });
    expect(row.items.map((i) => [i.status, i.readyAt])).toEqual(row.items.map(() => ['READY', row.bumpedAt]));
    expect(fast.result).toMatchObject({ status: 'BUMPED', bumpedAt: row.bumpedAt?.toISOString() });
    expect(fast.events[0]?.payload.ticket).toEqual(fast.result);
  });

  it('makes the order READY with its last bump and tells the floor, as the transaction does', async () => {
    const orders = await twoOrders();
    for (const order of orders) await fx.kds.bumpTicket(grill, (await ticketOf(order, 'grill')).id);
    statements = [];
    const bars = await Promise.all(orders.map((o) => ticketOf(o, 'bar')));
    const [fast, slow] = await bothWays(orders, (order) =>
      fx.kds.bumpTicket(staff, bars[orders.indexOf(order as never)]!.id),
    );
    expect(statements.map((outcome) => outcome.ok)).toEqual([true]);
    expect(shape(fast.events)).toEqual(shape(slow.events));
    expect(fast.events.map((e) => e.kind)).toEqual([
      'kds.BUMPED',
      'kds.BUMPED',
      'order.STATUS_CHANGED',
      'notification.CREATED',
    ]);
    expect(fast.events[2]?.payload.order).toEqual(await fx.orders.order(staff, orders[0].id));
    const [note] = await db().notification.findMany({
      where: { data: { path: ['orderId'], equals: orders[0].id } },
    });
    expect(note).toBeDefined();
    expect(fast.events[3]?.payload.notification).toMatchObject({
      id: note?.id,
      kind: 'ORDER_READY',
      createdAt: note?.createdAt.toISOString(),
      data: { orderId: orders[0].id },
    });
  });

  it('changes nothing and takes the transaction when another ticket of the order was bumped in between', async () => {
    const [order] = await twoOrders();
    const grillTicket = await ticketOf(order, 'grill');
    const barTicket = await ticketOf(order, 'bar');
    changeAfterRead(() => db().kdsTicket.update({ where: { id: barTicket.id }, data: { status: 'BUMPED' } }));
    const after = await fx.lastEventId();
    await fx.kds.bumpTicket(grill, grillTicket.id);
    expect(statements.map((outcome) => outcome.ok)).toEqual([false]);
    // Now the order's last bump: the transaction makes it READY.
    expect((await fx.events(after)).map((e) => e.kind)).toContain('order.STATUS_CHANGED');
    expect((await fx.orders.order(staff, order.id)).status).toBe('READY');
  });

  it('leaves refusals to the transaction, which writes nothing', async () => {
    const [order] = await twoOrders();
    const grillTicket = await ticketOf(order, 'grill');
    const barTicket = await ticketOf(order, 'bar');
    await fx.kds.bumpTicket(grill, grillTicket.id);
    statements = [];
    const after = await fx.lastEventId();
    await expect(fx.kds.bumpTicket(grill, grillTicket.id)).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    await expect(fx.kds.bumpTicket(grill, barTicket.id)).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(fx.kds.bumpTicket(grill, 'no-such-ticket')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(statements).toEqual([]);
    expect(await fx.events(after)).toEqual([]);
  });
});

describe('updateOrderStatus to COMPLETED in one statement', () => {
  beforeEach(() => db().inventoryItem.updateMany({ data: { quantity: 10_000 } }));

  /** Two like READY orders whose grill ticket is bumped and bar ticket still open. */
  async function readyOrders() {
    const orders = await twoOrders();
    for (const order of orders) {
      await fx.kds.bumpTicket(grill, (await ticketOf(order, 'grill')).id);
      await fx.orders.updateOrderStatus(staff, order.id, 'IN_PROGRESS');
      await fx.orders.updateOrderStatus(staff, order.id, 'READY');
    }
    statements = [];
    return orders;
  }

  it('completes the order and takes its open tickets off the displays, as the transaction does', async () => {
    const orders = await readyOrders();
    const [fast, slow] = await bothWays(orders, (order) =>
      fx.orders.updateOrderStatus(staff, order.id, 'COMPLETED'),
    );
    expect(statements.map((outcome) => outcome.ok)).toEqual([true]);
    expect(shape(fast.events)).toEqual(shape(slow.events));
    expect(fast.events.map((e) => e.kind)).toEqual([
      'order.STATUS_CHANGED',
      'order.COMPLETED',
      'kds.BUMPED',
      'kds.BUMPED',
    ]);
    expect(fast.result).toEqual(await fx.orders.order(staff, orders[0].id));
    expect(fast.result).toMatchObject({ status: 'COMPLETED', completedAt: fast.result.updatedAt });
    const bar = await ticketOf(orders[0], 'bar');
    expect(bar.status).toBe('BUMPED');
    expect(fast.events[2]?.payload.ticket).toMatchObject({
      id: bar.id,
      status: 'BUMPED',
      bumpedAt: bar.bumpedAt?.toISOString(),
    });
  });

  it('changes nothing and takes the transaction when a ticket was bumped after the read', async () => {
    const [order] = await readyOrders();
    const bar = await ticketOf(order, 'bar');
    changeAfterRead(() => db().kdsTicket.update({ where: { id: bar.id }, data: { status: 'BUMPED' } }));
    const after = await fx.lastEventId();
    const completed = await fx.orders.updateOrderStatus(staff, order.id, 'COMPLETED');
    expect(statements.map((outcome) => outcome.ok)).toEqual([false]);
    expect(completed.status).toBe('COMPLETED');
    // Nothing left open: no BUMPED from the transaction either.
    expect((await fx.events(after)).map((e) => e.kind)).toEqual(['order.STATUS_CHANGED', 'order.COMPLETED']);
  });
});

/**
 * Runs `race` with the tenant's event lock held by another session, so each transaction stops at its events (its
 * last writes) and none commits before the others got there; releases it once `waiting` transactions wait on a
 * lock (that one, or another's row), then returns what `race` gave.
 */
async function withEventsHeld<T>(waiting: number, race: () => Promise<T>): Promise<T> {
  const holder = new pg.Client({ connectionString: fx.database.url });
  await holder.connect();
  const key = `${0x45564e54}, hashtext('acme')`;
  try {
    await holder.query(`SELECT pg_advisory_lock(${key})`);
    const raced = race();
    await eventually(async () => {
      const { rows } = await holder.query(
        `SELECT count(*)::int AS n FROM pg_stat_activity
         WHERE datname = current_database() AND wait_event_type = 'Lock'`,
      );
      return rows[0].n === waiting;
    });
    await holder.query(`SELECT pg_advisory_unlock(${key})`);
    return await raced;
  } finally {
    await holder.end();
  }
}

describe('the kitchen paths racing each other', () => {
  beforeEach(() => db().inventoryItem.updateMany({ data: { quantity: 10_000 } }));

  it("readies a ticket whose last two items are marked at once: one statement waits for the other's and sees it", async () => {
    for (let round = 0; round < 5; round++) {
      const [order] = await twoOrders();
      const ticket = await ticketOf(order, 'grill');
      // Started: marking an item then leaves the ticket's row as it was, unless it was the ticket's last.
      await fx.kds.startItem(grill, ticket.items[0]!.id);
      const after = await fx.lastEventId();
      await Promise.all(ticket.items.map((item) => fx.kds.markItemReady(grill, item.id)));
      expect((await ticketOf(order, 'grill')).status).toBe('READY');
      const completes = (await fx.events(after)).filter((e) => e.kind === 'kds.ORDER_COMPLETE');
      expect(completes.length).toBe(2); // once, on the station's topic and the store's
    }
  });

  it("readies a ticket whose last two items are marked at once through the transaction: the second waits for the first's ticket lock and sees its item", async () => {
    const [order] = await twoOrders();
    const ticket = await ticketOf(order, 'grill');
    await fx.kds.startItem(grill, ticket.items[0]!.id);
    vi.spyOn(fx.deps.publisher, 'read').mockResolvedValue([]); // every read finds nothing: the transaction path
    const after = await fx.lastEventId();
    // Both transactions wait: on the event lock, or on the other's ticket lock.
    const views = await withEventsHeld(2, () =>
      Promise.all(ticket.items.map((item) => fx.kds.markItemReady(grill, item.id))),
    );
    expect((await ticketOf(order, 'grill')).status).toBe('READY');
    expect(views.map((view) => view.status).sort()).toEqual(['IN_PROGRESS', 'READY']);
    const completes = (await fx.events(after)).filter((e) => e.kind === 'kds.ORDER_COMPLETE');
    expect(completes.length).toBe(2); // once, on the station's topic and the store's
    expect(statements).toEqual([]);
  });

  it('makes the order READY when its last two tickets are bumped at once in one statement each', async () => {
    const [order] = await twoOrders();
    const tickets = await Promise.all([ticketOf(order, 'grill'), ticketOf(order, 'bar')]);
    const after = await fx.lastEventId();
    // The first statement waits on the event lock holding the order's tickets; the second waits on them.
    await withEventsHeld(2, () => Promise.all(tickets.map((ticket) => fx.kds.bumpTicket(staff, ticket.id))));
    // The second saw the first's bump as a change: its transaction made the order READY.
    expect(statements.map((outcome) => outcome.ok).sort()).toEqual([false, true]);
    expect((await fx.orders.order(staff, order.id)).status).toBe('READY');
    const kinds = (await fx.events(after)).map((e) => e.kind);
    expect(kinds.filter((kind) => kind === 'order.STATUS_CHANGED').length).toBe(1);
    expect(kinds.filter((kind) => kind === 'notification.CREATED').length).toBe(1);
  });

  it("makes the order READY when its last two tickets are bumped at once through the transaction: the second waits for the first's order lock and sees its bump", async () => {
    const [order] = await twoOrders();
    const tickets = await Promise.all([ticketOf(order, 'grill'), ticketOf(order, 'bar')]);
    vi.spyOn(fx.deps.publisher, 'read').mockResolvedValue([]); // the transaction path
    const after = await fx.lastEventId();
    // Both transactions wait: on the event lock, or on the other's order lock.
    await withEventsHeld(2, () => Promise.all(tickets.map((ticket) => fx.kds.bumpTicket(staff, ticket.id))));
    expect((await fx.orders.order(staff, order.id)).status).toBe('READY');
    const kinds = (await fx.events(after)).map((e) => e.kind);
    expect(kinds.filter((kind) => kind === 'order.STATUS_CHANGED').length).toBe(1);
    expect(kinds.filter((kind) => kind === 'notification.CREATED').length).toBe(1);
    expect(statements).toEqual([]);
  });
});
