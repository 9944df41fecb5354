import { beforeEach, describe, expect, it } from 'vitest';
import type { TableEventPayload } from '../../src/domain/table-records';
import { as, downtownOrder, nextWithin, useDomainFixture } from '../support/domain-fixture';

const admin = as('acme-admin');
const manager = as('acme-manager');
const staff = as('acme-staff');
const kitchen = as('acme-kitchen');
const customer = as('acme-customer');

const T7 = 'acme-downtown-7'; // 2 seats
const T12 = 'acme-downtown-12'; // 6 seats

const f = useDomainFixture();

/** Every downtown table free, as seeded. */
beforeEach(async () => {
  await f.deps.db.diningTable.updateMany({
    where: { storeId: 'acme-downtown' },
    data: { status: 'FREE', partySize: null, seatedAt: null },
  });
});

async function tableEventsSince(afterId: bigint): Promise<TableEventPayload[]> {
  return (await f.events(afterId)).filter((e) => e.kind.startsWith('table.')).map((e) => e.payload);
}

const moves = (events: TableEventPayload[]) => events.map((e) => [e.kind, e.previousStatus, e.table.status]);

const orderAt = (tableNumber: number, productId = 'acme-downtown-fries', who = staff) =>
  f.orders.createOrder(
    who,
    downtownOrder({ channel: 'TABLE', tableNumber, items: [{ productId, quantity: 1 }] }),
  );

async function ready(orderId: string) {
  for (const status of ['ACCEPTED', 'IN_PROGRESS', 'READY'] as const) {
    await f.orders.updateOrderStatus(staff, orderId, status);
  }
}

describe('reading the floor', () => {
  it('lists the store’s tables by number with seats, status and open orders', async () => {
    const tables = await f.tables.tables(staff, 'acme-downtown');
    expect(tables.map((t) => [t.number, t.seats, t.status])).toEqual(
      Array.from({ length: 12 }, (_, i) => [i + 1, 2 + 2 * (i % 3), 'FREE']),
    );
    expect(tables[0]).toMatchObject({ partySize: null, seatedAt: null, openOrders: [] });
  });

  it('is for floor staff, managers and admins of the store', async () => {
    expect(await f.tables.tables(admin, 'acme-uptown')).toHaveLength(12);
    for (const who of [kitchen, customer]) {
      await expect(f.tables.tables(who, 'acme-downtown')).rejects.toMatchObject({ code: 'FORBIDDEN' });
    }
    await expect(f.tables.tables(staff, 'acme-uptown')).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(f.tables.tables(manager, 'globex-central')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});

describe('seatTable', () => {
  it('seats a party at a free or reserved table and announces it', async () => {
    const before = await f.lastEventId();
    const seated = await f.tables.seatTable(staff, T12, 5);
    expect(seated).toMatchObject({ id: T12, status: 'SEATED', partySize: 5, openOrders: [] });
    expect(Date.parse(seated.seatedAt!)).toBeGreaterThan(Date.now() - 60_000);
    await f.tables.setTableStatus(staff, T7, 'RESERVED');
    expect((await f.tables.seatTable(manager, T7, 2)).status).toBe('SEATED');
    expect(moves(await tableEventsSince(before))).toEqual([
      ['STATUS_CHANGED', 'FREE', 'SEATED'],
      ['STATUS_CHANGED', 'FREE', 'RESERVED'],
      ['STATUS_CHANGED', 'RESERVED', 'SEATED'],
    ]);
  });

  it('refuses a table with a party (CONFLICT with its status), bad party sizes, other roles and stores', async () => {
    await f.tables.seatTable(staff, T12, 2);
    await expect(f.tables.seatTable(staff, T12, 2)).rejects.toMatchObject({
      code: 'CONFLICT',
      details: { status: 'SEATED' },
    });
    for (const partySize of [0, 7, 1.5]) {
      await expect(f.tables.seatTable(staff, 'acme-downtown-3', partySize)).rejects.toMatchObject({
        code: 'BAD_USER_INPUT',
        details: { field: 'partySize' },
      });
    }
    for (const who of [kitchen, customer]) {
      await expect(f.tables.seatTable(who, 'acme-downtown-3', 2)).rejects.toMatchObject({
        code: 'FORBIDDEN',
      });
    }
    await expect(f.tables.seatTable(staff, 'acme-uptown-3', 2)).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(f.tables.seatTable(admin, 'globex-central-3', 2)).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    expect((await f.deps.db.diningTable.findUniqueOrThrow({ where: { id: 'acme-downtown-3' } })).status).toBe(
      'FREE',
    );
  });
});

describe('setTableStatus', () => {
  it('moves by hand where staff may, and answers CONFLICT with the current status elsewhere', async () => {
    const before = await f.lastEventId();
    await expect(f.tables.setTableStatus(staff, T12, 'SEATED')).rejects.toMatchObject({
      code: 'CONFLICT',
      details: { status: 'FREE' },
    });
    await expect(f.tables.setTableStatus(staff, T12, 'PAYING')).rejects.toMatchObject({ code: 'CONFLICT' });
    await f.tables.seatTable(staff, T12, 3);
    await expect(f.tables.setTableStatus(staff, T12, 'NEEDS_CLEANING')).rejects.toMatchObject({
      code: 'CONFLICT',
      details: { status: 'SEATED' },
    });
    const unchanged = await f.tables.setTableStatus(staff, T12, 'SEATED');
    expect(unchanged.status).toBe('SEATED');
    const left = await f.tables.setTableStatus(staff, T12, 'FREE');
    expect(left).toMatchObject({ status: 'FREE', partySize: null, seatedAt: null });
    expect(moves(await tableEventsSince(before))).toEqual([
      ['STATUS_CHANGED', 'FREE', 'SEATED'],
      ['STATUS_CHANGED', 'SEATED', 'FREE'],
    ]);
  });
});

describe('a table follows its orders', () => {
  it('from seating to cleaning: ORDERED, SERVED, ORDERED again, PAYING, NEEDS_CLEANING, then FREE', async () => {
    await f.tables.seatTable(staff, T12, 4);
    const before = await f.lastEventId();
    const first = await orderAt(12);
    expect(first).toMatchObject({ tableNumber: 12, tableId: T12 });
    await ready(first.id);
    const second = await orderAt(12, 'acme-downtown-lemonade');
    await ready(second.id);
    await f.tables.setTableStatus(staff, T12, 'PAYING');
    await f.orders.recordPayment(staff, first.id, first.totalCents);
    await f.orders.recordPayment(staff, second.id, second.totalCents - 1);
    expect((await f.tables.tables(staff, 'acme-downtown'))[11]).toMatchObject({
      status: 'PAYING',
      openOrders: [{ id: first.id }, { id: second.id }],
    });
    await f.orders.recordPayment(staff, second.id, 1);
    const events = await tableEventsSince(before);
    expect(
      events.filter((e) => e.previousStatus !== null).map((e) => [e.kind, e.previousStatus, e.table.status]),
    ).toEqual([
      ['ORDER_ADDED', 'SEATED', 'ORDERED'],
      ['ORDER_UPDATED', 'ORDERED', 'SERVED'],
      ['ORDER_ADDED', 'SERVED', 'ORDERED'],
      ['ORDER_UPDATED', 'ORDERED', 'SERVED'],
      ['STATUS_CHANGED', 'SERVED', 'PAYING'],
      ['ORDER_UPDATED', 'PAYING', 'NEEDS_CLEANING'],
    ]);
    expect(events[0]?.table.openOrders.map((o) => o.id)).toEqual([first.id]);
    const freed = await f.tables.setTableStatus(staff, T12, 'FREE');
    expect(freed).toMatchObject({ status: 'FREE', openOrders: [] });
  });

  it('is moved by the kitchen too: the last bump serves the table, a recall takes it back', async () => {
    await f.tables.seatTable(staff, T7, 2);
    const placed = await orderAt(7, 'acme-downtown-burger');
    const [ticket] = await f.kds
      .kdsTickets(kitchen, 'acme-downtown-grill')
      .then((all) => all.filter((t) => t.orderId === placed.id));
    await f.kds.bumpTicket(kitchen, ticket!.id);
    expect((await f.tables.tables(staff, 'acme-downtown'))[6]?.status).toBe('SERVED');
    await f.kds.recallTicket(kitchen, ticket!.id);
    expect((await f.tables.tables(staff, 'acme-downtown'))[6]?.status).toBe('ORDERED');
  });

  it('goes back to SEATED when its only order is cancelled; paid before served it cleans once served', async () => {
    await f.tables.seatTable(staff, T7, 2);
    const cancelled = await orderAt(7);
    await f.orders.cancelOrder(staff, cancelled.id, 'wrong table');
    expect((await f.tables.tables(staff, 'acme-downtown'))[6]?.status).toBe('SEATED');
    const prepaid = await orderAt(7);
    await f.orders.recordPayment(staff, prepaid.id, prepaid.totalCents);
    expect((await f.tables.tables(staff, 'acme-downtown'))[6]?.status).toBe('ORDERED');
    await ready(prepaid.id);
    expect((await f.tables.tables(staff, 'acme-downtown'))[6]?.status).toBe('NEEDS_CLEANING');
  });

  it('refuses TABLE orders at a table nobody is seated at (CONFLICT) or that the store lacks (BAD_USER_INPUT)', async () => {
    await expect(orderAt(5)).rejects.toMatchObject({ code: 'CONFLICT', details: { status: 'FREE' } });
    await expect(orderAt(13)).rejects.toMatchObject({
      code: 'BAD_USER_INPUT',
      details: { field: 'tableNumber' },
    });
    const pos = await f.orders.createOrder(staff, downtownOrder({ channel: 'POS', tableNumber: 5 }));
    expect(pos).toMatchObject({ tableNumber: 5, tableId: null });
  });

  it('is not moved by the orders of an earlier party', async () => {
    await f.tables.seatTable(staff, T7, 2);
    const earlier = await orderAt(7);
    await f.orders.recordPayment(staff, earlier.id, earlier.totalCents);
    await f.tables.setTableStatus(staff, T7, 'PAYING');
    await ready(earlier.id);
    await f.tables.setTableStatus(staff, T7, 'FREE');
    await f.tables.seatTable(staff, T7, 1);
    const before = await f.lastEventId();
    await f.orders.updateOrderStatus(staff, earlier.id, 'COMPLETED');
    expect(await tableEventsSince(before)).toEqual([]);
    expect((await f.tables.tables(staff, 'acme-downtown'))[6]).toMatchObject({
      status: 'SEATED',
      openOrders: [],
    });
  });

  it('applies concurrent changes of its orders one after another', async () => {
    await f.tables.seatTable(staff, T12, 6);
    const orders = await Promise.all([
      orderAt(12),
      orderAt(12, 'acme-downtown-burger'),
      orderAt(12, 'acme-downtown-lemonade'),
    ]);
    await Promise.all(orders.map((order) => ready(order.id)));
    expect((await f.tables.tables(staff, 'acme-downtown'))[11]?.status).toBe('SERVED');
    await Promise.all(orders.map((order) => f.orders.recordPayment(staff, order.id, order.totalCents)));
    expect((await f.tables.tables(staff, 'acme-downtown'))[11]?.status).toBe('NEEDS_CLEANING');
  });
});

describe('tableUpdated stream', () => {
  it('delivers the store’s table events to floor staff, and none of another store', async () => {
    const stream = await f.tables.subscribeTables(staff, 'acme-downtown');
    try {
      await f.tables.seatTable(manager, 'acme-uptown-2', 2);
      await f.tables.seatTable(manager, T7, 2);
      expect(await nextWithin(stream)).toMatchObject({
        kind: 'STATUS_CHANGED',
        previousStatus: 'FREE',
        table: { id: T7, status: 'SEATED', partySize: 2 },
        cursor: expect.any(String),
      });
    } finally {
      await stream.return?.();
      await f.tables.setTableStatus(manager, 'acme-uptown-2', 'FREE');
    }
  });

  it('refuses kitchen, customers, other stores and other tenants', async () => {
    for (const who of [kitchen, customer]) {
      await expect(f.tables.subscribeTables(who, 'acme-downtown')).rejects.toMatchObject({
        code: 'FORBIDDEN',
      });
    }
    await expect(f.tables.subscribeTables(staff, 'acme-uptown')).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(f.tables.subscribeTables(admin, 'globex-central')).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
  });
});
