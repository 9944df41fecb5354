import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { KdsStreamEvent } from '../../src/domain/kds';
import { KdsService } from '../../src/domain/kds';
import type { OrderView } from '../../src/domain/order-records';
import { as, downtownOrder, nextWithin, useDomainFixture } from '../support/domain-fixture';

const staff = as('acme-staff');
const manager = as('acme-manager');
/** The demo kitchen device: bound to the downtown grill. */
const grillDevice = as('acme-kitchen');
const expoDevice = as('acme-kitchen', { stations: ['acme-downtown-expo'] });

const fx = useDomainFixture();

beforeAll(async () => {
  await fx.database.handle.db.inventoryItem.updateMany({ data: { quantity: 10_000 } });
});

/** Every test starts with an empty board. */
beforeEach(async () => {
  await fx.database.handle.db.kdsTicket.updateMany({ data: { status: 'BUMPED', lateAt: new Date() } });
});

const db = () => fx.database.handle.db;

async function ticketsOf(order: OrderView) {
  const tickets = await db().kdsTicket.findMany({ where: { orderId: order.id }, include: { items: true } });
  const byStation = (suffix: string) => tickets.find((t) => t.stationId === `acme-downtown-${suffix}`)!;
  return { grill: byStation('grill'), bar: byStation('bar') };
}

const itemOf = (order: OrderView, productId: string) =>
  order.items.find((i) => i.productId === productId)!.id;

describe('kdsTickets', () => {
  it('lists a station’s open tickets, most urgent first, then oldest first', async () => {
    const normal = await fx.orders.createOrder(staff, downtownOrder());
    const urgent = await fx.orders.createOrder(staff, downtownOrder({ priority: 'URGENT' }));
    const low = await fx.orders.createOrder(staff, downtownOrder({ priority: 'LOW' }));
    const high = await fx.orders.createOrder(staff, downtownOrder({ priority: 'HIGH' }));
    const normalLater = await fx.orders.createOrder(staff, downtownOrder());
    const tickets = await fx.kds.kdsTickets(grillDevice, 'acme-downtown-grill');
    expect(tickets.map((t) => [t.orderNumber, t.priority])).toEqual([
      [urgent.number, 'URGENT'],
      [high.number, 'HIGH'],
      [normal.number, 'NORMAL'],
      [normalLater.number, 'NORMAL'],
      [low.number, 'LOW'],
    ]);
    expect(tickets.every((t) => t.stationId === 'acme-downtown-grill')).toBe(true);
  });

  it('describes each ticket with its order, its items and the station’s target', async () => {
    await fx.tables.seatTable(staff, 'acme-downtown-12', 4);
    const order = await fx.orders.createOrder(staff, downtownOrder({ channel: 'TABLE', tableNumber: 12 }));
    const [ticket] = await fx.kds.kdsTickets(staff, 'acme-downtown-bar');
    expect(ticket).toMatchObject({
      orderId: order.id,
      orderNumber: order.number,
      storeId: 'acme-downtown',
      stationId: 'acme-downtown-bar',
      status: 'OPEN',
      priority: 'NORMAL',
      channel: 'TABLE',
      tableNumber: 12,
      items: [
        {
          productId: 'acme-downtown-lemonade',
          name: 'Lemonade',
          quantity: 3,
          notes: null,
          status: 'PENDING',
        },
      ],
      firedAt: order.createdAt,
      startedAt: null,
      bumpedAt: null,
      targetSeconds: 300,
    });
  });

  it('shows an expo station every open ticket of its store', async () => {
    const order = await fx.orders.createOrder(staff, downtownOrder());
    const tickets = await fx.kds.kdsTickets(expoDevice, 'acme-downtown-expo');
    expect(tickets.map((t) => t.stationId).sort()).toEqual(['acme-downtown-bar', 'acme-downtown-grill']);
    expect(tickets.every((t) => t.orderId === order.id)).toBe(true);
  });

  it('keeps a bound device to its stations, hides other tenants’ stations and turns customers away', async () => {
    await expect(fx.kds.kdsTickets(grillDevice, 'acme-downtown-bar')).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
    await expect(fx.kds.kdsTickets(manager, 'globex-central-grill')).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    await expect(fx.kds.kdsTickets(as('acme-customer'), 'acme-downtown-grill')).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
  });
});

describe('working a ticket', () => {
  it('starting an item starts the ticket and a waiting order', async () => {
    const order = await fx.orders.createOrder(staff, downtownOrder());
    const since = await fx.lastEventId();
    const ticket = await fx.kds.startItem(grillDevice, itemOf(order, 'acme-downtown-burger'));
    expect(ticket).toMatchObject({ status: 'IN_PROGRESS', startedAt: expect.any(String) });
    expect(ticket.items.map((i) => i.status)).toEqual(['IN_PROGRESS', 'PENDING']);
    expect((await fx.orders.order(staff, order.id)).status).toBe('IN_PROGRESS');
    const events = await fx.events(since);
    expect(events.map((e) => [e.kind, e.topic])).toEqual([
      ['order.STATUS_CHANGED', 't:acme:store:acme-downtown:orders'],
      ['kds.ITEM_STARTED', 't:acme:station:acme-downtown-grill:kds'],
      ['kds.ITEM_STARTED', 't:acme:store:acme-downtown:kds'],
    ]);
    expect(events[0]!.payload).toMatchObject({ previousStatus: 'PENDING', order: { status: 'IN_PROGRESS' } });
  });

  it('refuses to start an item twice', async () => {
    const order = await fx.orders.createOrder(staff, downtownOrder());
    const burger = itemOf(order, 'acme-downtown-burger');
    await fx.kds.startItem(grillDevice, burger);
    await expect(fx.kds.startItem(grillDevice, burger)).rejects.toMatchObject({
      code: 'BAD_USER_INPUT',
      message: 'The item is already IN_PROGRESS',
    });
  });

  it('announces ready items to the kitchen and the floor, and completes the ticket with its last item', async () => {
    const order = await fx.orders.createOrder(staff, downtownOrder());
    await fx.kds.startItem(grillDevice, itemOf(order, 'acme-downtown-burger'));
    const since = await fx.lastEventId();
    const first = await fx.kds.markItemReady(grillDevice, itemOf(order, 'acme-downtown-burger'));
    expect(first.status).toBe('IN_PROGRESS');
    const last = await fx.kds.markItemReady(grillDevice, itemOf(order, 'acme-downtown-fries'));
    expect(last).toMatchObject({ status: 'READY', readyAt: expect.any(String) });
    expect((await fx.events(since)).map((e) => e.kind)).toEqual([
      'kds.ITEM_READY',
      'kds.ITEM_READY',
      'order.ITEM_READY',
      'kds.ITEM_READY',
      'kds.ITEM_READY',
      'order.ITEM_READY',
      'kds.ORDER_COMPLETE',
      'kds.ORDER_COMPLETE',
    ]);
    await expect(
      fx.kds.markItemReady(grillDevice, itemOf(order, 'acme-downtown-fries')),
    ).rejects.toMatchObject({
      code: 'BAD_USER_INPUT',
    });
  });

  it('makes the order READY and tells the floor staff when its last ticket is bumped', async () => {
    const order = await fx.orders.createOrder(staff, downtownOrder());
    const { grill, bar } = await ticketsOf(order);
    const bumped = await fx.kds.bumpTicket(grillDevice, grill.id);
    expect(bumped).toMatchObject({ status: 'BUMPED', bumpedAt: expect.any(String) });
    expect(bumped.items.every((i) => i.status === 'READY')).toBe(true);
    expect((await fx.orders.order(staff, order.id)).status).toBe('PENDING');
    const since = await fx.lastEventId();
    await fx.kds.bumpTicket(staff, bar.id);
    const after = await fx.orders.order(staff, order.id);
    expect(after).toMatchObject({ status: 'READY', readyAt: expect.any(String) });
    const events = await fx.events(since);
    expect(events.map((e) => e.kind)).toEqual([
      'kds.BUMPED',
      'kds.BUMPED',
      'order.STATUS_CHANGED',
      'notification.CREATED',
    ]);
    expect(events[2]!.payload).toMatchObject({ previousStatus: 'PENDING', order: { status: 'READY' } });
    const notification = await db().notification.findFirstOrThrow({
      where: { kind: 'ORDER_READY', data: { path: ['orderId'], equals: order.id } },
    });
    expect(notification).toMatchObject({
      audience: 'ROLE',
      targetRole: 'STAFF',
      targetStoreId: 'acme-downtown',
    });
    await expect(fx.kds.bumpTicket(staff, bar.id)).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
  });

  it('recalls a bumped ticket, putting a READY order back IN_PROGRESS', async () => {
    const order = await fx.orders.createOrder(staff, downtownOrder());
    const { grill, bar } = await ticketsOf(order);
    await fx.kds.bumpTicket(staff, grill.id);
    await fx.kds.bumpTicket(staff, bar.id);
    const since = await fx.lastEventId();
    const recalled = await fx.kds.recallTicket(staff, bar.id);
    expect(recalled).toMatchObject({ status: 'IN_PROGRESS', bumpedAt: null, recalledAt: expect.any(String) });
    expect((await fx.orders.order(staff, order.id)).status).toBe('IN_PROGRESS');
    const events = await fx.events(since);
    expect(events.map((e) => [e.kind, e.payload.alert ?? e.payload.previousStatus])).toEqual([
      ['kds.RECALLED', 'RECALLED'],
      ['kds.RECALLED', 'RECALLED'],
      ['order.STATUS_CHANGED', 'READY'],
    ]);
    expect((await fx.kds.kdsTickets(staff, 'acme-downtown-bar')).map((t) => t.id)).toEqual([bar.id]);
  });

  it('recalls only bumped tickets', async () => {
    const order = await fx.orders.createOrder(staff, downtownOrder());
    const { grill } = await ticketsOf(order);
    await expect(fx.kds.recallTicket(staff, grill.id)).rejects.toMatchObject({
      code: 'BAD_USER_INPUT',
      message: 'Only a bumped ticket can be recalled',
    });
  });

  it('refuses work on a cancelled order', async () => {
    const order = await fx.orders.createOrder(staff, downtownOrder());
    await fx.orders.cancelOrder(staff, order.id, 'changed mind');
    await expect(fx.kds.startItem(grillDevice, itemOf(order, 'acme-downtown-burger'))).rejects.toMatchObject({
      code: 'BAD_USER_INPUT',
      message: `Order #${order.number} is CANCELLED`,
    });
  });

  it('lets a bound device work only its station, the store’s expo device work every station', async () => {
    const order = await fx.orders.createOrder(staff, downtownOrder());
    const { bar } = await ticketsOf(order);
    await expect(fx.kds.bumpTicket(grillDevice, bar.id)).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(
      fx.kds.startItem(grillDevice, itemOf(order, 'acme-downtown-lemonade')),
    ).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
    expect((await fx.kds.bumpTicket(expoDevice, bar.id)).status).toBe('BUMPED');
  });

  it('hides another tenant’s items and tickets, and unknown ids', async () => {
    const order = await fx.orders.createOrder(staff, downtownOrder());
    const { grill } = await ticketsOf(order);
    const globex = as('globex-admin');
    await expect(fx.kds.startItem(globex, itemOf(order, 'acme-downtown-burger'))).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    await expect(fx.kds.bumpTicket(globex, grill.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(fx.kds.recallTicket(staff, 'no-such-ticket')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(fx.kds.markItemReady(staff, 'no-such-item')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('is not for customers', async () => {
    const order = await fx.orders.createOrder(staff, downtownOrder());
    const { grill } = await ticketsOf(order);
    await expect(fx.kds.bumpTicket(as('acme-customer'), grill.id)).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
  });
});

describe('late tickets', () => {
  it('marks tickets past their station’s target once and announces each with a LATE alert', async () => {
    const order = await fx.orders.createOrder(staff, downtownOrder());
    const { grill, bar } = await ticketsOf(order);
    const firedAt = grill.firedAt.getTime();
    const since = await fx.lastEventId();
    expect(await fx.kds.sweepLate(new Date(firedAt + 300_000))).toBe(0);
    expect(await fx.kds.sweepLate(new Date(firedAt + 301_000))).toBe(1);
    expect(await fx.kds.sweepLate(new Date(firedAt + 601_000))).toBe(1);
    expect(await fx.kds.sweepLate(new Date(firedAt + 900_000))).toBe(0);
    const events = await fx.events(since);
    expect(events.map((e) => [e.kind, e.topic, e.payload.alert, e.payload.ticket.id])).toEqual([
      ['kds.LATE', 't:acme:station:acme-downtown-bar:kds', 'LATE', bar.id],
      ['kds.LATE', 't:acme:store:acme-downtown:kds', 'LATE', bar.id],
      ['kds.LATE', 't:acme:station:acme-downtown-grill:kds', 'LATE', grill.id],
      ['kds.LATE', 't:acme:store:acme-downtown:kds', 'LATE', grill.id],
    ]);
    expect(events[0]!.payload.ticket.lateAt).toBe(new Date(firedAt + 301_000).toISOString());
  });

  it('never marks a bumped ticket late', async () => {
    const order = await fx.orders.createOrder(staff, downtownOrder());
    const { grill, bar } = await ticketsOf(order);
    await fx.kds.bumpTicket(staff, grill.id);
    await fx.kds.bumpTicket(staff, bar.id);
    expect(await fx.kds.sweepLate(new Date(grill.firedAt.getTime() + 3_600_000))).toBe(0);
  });

  it('sweeps on its own once started, and stops', async () => {
    const sweeper = new KdsService(fx.deps, { lateSweepIntervalMs: 20 });
    const order = await fx.orders.createOrder(staff, downtownOrder());
    const { bar } = await ticketsOf(order);
    await db().kdsTicket.update({
      where: { id: bar.id },
      data: { firedAt: new Date(Date.now() - 3_600_000) },
    });
    sweeper.start();
    try {
      const deadline = Date.now() + 5000;
      let lateAt: Date | null = null;
      while (!lateAt && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        lateAt = (await db().kdsTicket.findUniqueOrThrow({ where: { id: bar.id } })).lateAt;
      }
      expect(lateAt).toBeInstanceOf(Date);
    } finally {
      await sweeper.stop();
    }
  });
});

describe('subscribeTickets', () => {
  it('delivers a station only its tickets and an expo station every ticket of its store', async () => {
    const grillStream = await fx.kds.subscribeTickets(grillDevice, 'acme-downtown-grill');
    const barStream = await fx.kds.subscribeTickets(staff, 'acme-downtown-bar');
    const expoStream = await fx.kds.subscribeTickets(expoDevice, 'acme-downtown-expo');
    const uptownStream = await fx.kds.subscribeTickets(manager, 'acme-uptown-grill');
    try {
      const order = await fx.orders.createOrder(staff, downtownOrder({ priority: 'URGENT' }));
      expect(await nextWithin(grillStream)).toMatchObject({
        kind: 'ORDER_INCOMING',
        alert: 'RUSH',
        ticket: { orderId: order.id, stationId: 'acme-downtown-grill' },
        cursor: expect.any(String),
      });
      expect(await nextWithin(barStream)).toMatchObject({ ticket: { stationId: 'acme-downtown-bar' } });
      const expo: KdsStreamEvent[] = [await nextWithin(expoStream), await nextWithin(expoStream)];
      expect(expo.map((e) => e.ticket.stationId).sort()).toEqual([
        'acme-downtown-bar',
        'acme-downtown-grill',
      ]);
      const uptown = await fx.orders.createOrder(manager, {
        storeId: 'acme-uptown',
        channel: 'POS',
        items: [{ productId: 'acme-uptown-burger', quantity: 1 }],
      });
      expect(await nextWithin(uptownStream)).toMatchObject({ ticket: { orderId: uptown.id } });
      const { grill } = await ticketsOf(order);
      await fx.kds.bumpTicket(grillDevice, grill.id);
      expect(await nextWithin(grillStream)).toMatchObject({ kind: 'BUMPED', ticket: { id: grill.id } });
    } finally {
      await Promise.all([grillStream, barStream, expoStream, uptownStream].map((s) => s.return?.()));
    }
  });

  it('refuses a station the caller may not watch before streaming', async () => {
    await expect(fx.kds.subscribeTickets(grillDevice, 'acme-downtown-bar')).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
    await expect(fx.kds.subscribeTickets(manager, 'globex-central-bar')).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
  });
});
