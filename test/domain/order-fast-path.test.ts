import { beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { StatementOutcome } from '../../src/events/one-statement';
import type { EventEnvelope } from '../../src/events/types';
import { as, downtownOrder, nextWithin, onStatement, useDomainFixture } from '../support/domain-fixture';

/**
 * createOrder in one statement (src/domain/order-fast-path.ts): the same rows, events and guarantees as the
 * transaction it stands in for, and the transaction whenever a value it relied on changed.
 */

const staff = as('acme-staff');
const fx = useDomainFixture();
const db = () => fx.database.handle.db;

let statements: StatementOutcome[];
let published: EventEnvelope[] = [];
beforeAll(() => fx.listen((events) => published.push(...events)));
beforeEach(async () => {
  await db().inventoryItem.updateMany({ data: { quantity: 10_000 } });
  statements = [];
  published = [];
  onStatement(fx, (outcome) => statements.push(outcome));
  return () => vi.restoreAllMocks();
});

const stockOf = async (productId: string) =>
  (await db().inventoryItem.findUniqueOrThrow({ where: { productId } })).quantity;

describe('createOrder in one statement', () => {
  it('writes and announces exactly what the transaction does: rows, stock, numbered events chained per topic', async () => {
    const before = await fx.lastEventId();
    const first = await fx.orders.createOrder(staff, downtownOrder()); // the transaction, which fills the cache
    const afterFirst = await fx.lastEventId();
    const burgers = await stockOf('acme-downtown-burger');
    statements = [];
    const second = await fx.orders.createOrder(staff, downtownOrder());

    expect(statements.map((outcome) => outcome.ok)).toEqual([true]);
    expect(second.number).toBe(first.number + 1);
    expect(await fx.orders.order(staff, second.id)).toEqual(second);
    expect(await stockOf('acme-downtown-burger')).toBe(burgers - 2);
    const movements = await db().stockMovement.findMany({
      where: { orderId: second.id },
      orderBy: { id: 'asc' },
    });
    expect(movements.map((m) => [m.reason, m.delta]).sort()).toEqual([
      ['SALE', -1],
      ['SALE', -2],
      ['SALE', -3],
    ]);
    const tickets = await db().kdsTicket.count({ where: { orderId: second.id } });
    expect(tickets).toBe(second.items.reduce((set, item) => set.add(item.ticketId), new Set()).size);

    const stored = await fx.events(afterFirst);
    const firstEvents = (await fx.events(before)).filter((e) => e.id <= afterFirst);
    // The same kinds on the same topics as the transaction's order, numbers in every payload.
    const shape = (events: { topic: string; kind: string }[]) => events.map((e) => [e.topic, e.kind]);
    expect(shape(stored)).toEqual(shape(firstEvents));
    for (const event of stored) {
      const number = event.kind.startsWith('order.')
        ? event.payload.order.number
        : event.payload.ticket.orderNumber;
      expect(number).toBe(second.number);
    }
    // Published as stored (payload, id, chain).
    const mine = published.filter((e) => BigInt(e.id) > afterFirst);
    expect(mine.map((e) => [e.id, e.topic, e.payload])).toEqual(
      stored.map((e) => [e.id.toString(), e.topic, e.payload]),
    );
    const rows = await db().event.findMany({ where: { id: { gt: afterFirst } }, orderBy: { id: 'asc' } });
    for (const row of rows) {
      const previous = await db().event.findFirst({
        where: { topic: row.topic, id: { lt: row.id } },
        orderBy: { id: 'desc' },
      });
      expect(row.prevId).toBe(previous?.id ?? null);
    }
  });

  it('keeps numbers consecutive and each topic in commit order when orders race', async () => {
    await fx.orders.createOrder(staff, downtownOrder());
    const after = await fx.lastEventId();
    const stream = await fx.orders.subscribeOrders(staff, 'acme-downtown');
    const orders = await Promise.all(
      Array.from({ length: 16 }, () => fx.orders.createOrder(staff, downtownOrder())),
    );
    expect(statements.filter((outcome) => outcome.ok).length).toBeGreaterThan(0);
    const numbers = orders.map((order) => order.number).sort((a, b) => a - b);
    expect(numbers).toEqual(Array.from({ length: 16 }, (_, i) => (numbers[0] as number) + i));
    // On the store's orders topic, event ids follow order numbers (both drawn under the store's row lock),
    // and each event names the one before it.
    const created = (await fx.events(after)).filter((e) => e.kind === 'order.CREATED');
    expect(created.map((e) => e.payload.order.number)).toEqual(numbers);
    const rows = await db().event.findMany({
      where: { id: { gt: after }, kind: 'order.CREATED' },
      orderBy: { id: 'asc' },
    });
    for (const [i, row] of rows.slice(1).entries()) expect(row.prevId).toBe(rows[i]?.id);
    // A subscriber of the store's orders receives them in that order, whatever order the units published in.
    const received = [];
    for (let i = 0; i < 16; i++) received.push((await nextWithin(stream)).order.number);
    expect(received).toEqual(numbers);
    await stream.return?.();
  });

  it('changes nothing and takes the transaction when a price it relied on changed', async () => {
    await fx.orders.createOrder(staff, downtownOrder());
    await db().product.update({ where: { id: 'acme-downtown-fries' }, data: { priceCents: 450 } });
    statements = [];
    const store = await db().store.findUniqueOrThrow({ where: { id: 'acme-downtown' } });
    const count = await db().order.count();

    const order = await fx.orders.createOrder(staff, downtownOrder());
    expect(statements.map((outcome) => outcome.ok)).toEqual([false]);
    expect(order.items.find((item) => item.productId === 'acme-downtown-fries')?.unitPriceCents).toBe(450);
    expect(order.number).toBe(store.nextOrderNumber);
    expect(await db().order.count()).toBe(count + 1);
    await fx.orders.createOrder(staff, downtownOrder()); // the cache holds the new price again
    expect(statements.map((outcome) => outcome.ok)).toEqual([false, true]);
  });

  it('takes the transaction when the stock would reach its threshold, which raises the alert', async () => {
    await fx.orders.createOrder(staff, downtownOrder());
    const item = await db().inventoryItem.findUniqueOrThrow({ where: { productId: 'acme-downtown-burger' } });
    await db().inventoryItem.update({
      where: { id: item.id },
      data: { quantity: item.lowStockThreshold + 1 },
    });
    const after = await fx.lastEventId();
    statements = [];

    await fx.orders.createOrder(staff, downtownOrder()); // takes 2 burgers: threshold - 1 left
    expect(statements.map((outcome) => outcome.ok)).toEqual([false]);
    expect((await fx.events(after)).map((e) => e.kind)).toContain('inventory.LOW_STOCK');
    expect(await stockOf('acme-downtown-burger')).toBe(item.lowStockThreshold - 1);
  });
});

describe('updateOrderStatus in one statement', () => {
  it('moves the order and announces it as the transaction does', async () => {
    const order = await fx.orders.createOrder(staff, downtownOrder());
    const after = await fx.lastEventId();
    statements = [];
    const moved = await fx.orders.updateOrderStatus(staff, order.id, 'ACCEPTED');
    expect(statements.map((outcome) => outcome.ok)).toEqual([true]);
    expect(await fx.orders.order(staff, order.id)).toEqual(moved);
    const events = await fx.events(after);
    expect(events.map((e) => [e.kind, e.payload.previousStatus, e.payload.order])).toEqual([
      ['order.STATUS_CHANGED', 'PENDING', moved],
    ]);
  });

  it('changes nothing and takes the transaction when the order changed after it was read', async () => {
    const order = await fx.orders.createOrder(staff, downtownOrder());
    const read = fx.deps.publisher.read;
    vi.spyOn(fx.deps.publisher, 'read').mockImplementationOnce(async (text, values) => {
      const rows = await read(text, values);
      await db().order.update({ where: { id: order.id }, data: { paidCents: 100 } }); // a payment in between
      return rows;
    });
    statements = [];
    const moved = await fx.orders.updateOrderStatus(staff, order.id, 'ACCEPTED');
    expect(statements.map((outcome) => outcome.ok)).toEqual([false]);
    expect(moved).toMatchObject({ status: 'ACCEPTED', paidCents: 100 });
    expect(await fx.orders.order(staff, order.id)).toEqual(moved);
  });
});

describe('recordPayment in one statement', () => {
  it('records the payment and announces UPDATED, then PAID for the balance, as the transaction does', async () => {
    const order = await fx.orders.createOrder(staff, downtownOrder());
    const after = await fx.lastEventId();
    statements = [];
    const part = await fx.orders.recordPayment(staff, order.id, 100);
    const rest = await fx.orders.recordPayment(staff, order.id, order.totalCents - 100);
    expect(statements.map((outcome) => outcome.ok)).toEqual([true, true]);
    expect(part.paidCents).toBe(100);
    expect(await fx.orders.order(staff, order.id)).toEqual(rest);
    const payments = await db().payment.findMany({
      where: { orderId: order.id },
      orderBy: { amountCents: 'asc' },
    });
    expect(payments.map((p) => p.amountCents).sort((a, b) => a - b)).toEqual(
      [100, order.totalCents - 100].sort((a, b) => a - b),
    );
    const events = await fx.events(after);
    expect(events.map((e) => [e.kind, e.payload.order.paidCents])).toEqual([
      ['order.UPDATED', 100],
      ['order.PAID', order.totalCents],
    ]);
    // Over the balance: refused by the transaction, as before.
    await expect(fx.orders.recordPayment(staff, order.id, 1)).rejects.toMatchObject({
      code: 'BAD_USER_INPUT',
    });
  });
});
