import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { InventoryAlertEventView } from '../../src/domain/inventory';
import { consumeStockForOrder, releaseStockForOrder } from '../../src/domain/inventory-stock';
import { as, createDomainFixture, type DomainFixture, drainFor, nextWithin } from '../support/domain-fixture';

// Seed: every store has Burger (50, threshold 10), Fries (100, threshold 20), Lemonade (40, threshold 8).
const BURGER = 'acme-downtown-burger-stock';
const FRIES = 'acme-downtown-fries-stock';
const LEMONADE = 'acme-downtown-lemonade-stock';
const UPTOWN_BURGER = 'acme-uptown-burger-stock';
const GLOBEX_BURGER = 'globex-central-burger-stock';

const manager = as('acme-manager');
const admin = as('acme-admin');
const staff = as('acme-staff');
const kitchen = as('acme-kitchen');

let f: DomainFixture;
let orderSeq = 0;

beforeAll(async () => {
  f = await createDomainFixture();
});

afterAll(async () => {
  await f.close();
});

/** Resets the three downtown items and the uptown burger to the seed state, without alerts. */
beforeEach(async () => {
  const db = f.deps.db;
  await db.inventoryAlert.deleteMany({});
  await db.stockMovement.deleteMany({});
  await db.inventoryTransfer.deleteMany({});
  await db.notification.deleteMany({});
  const seed: Record<string, number> = { Burger: 50, Fries: 100, Lemonade: 40 };
  for (const [name, quantity] of Object.entries(seed)) {
    await db.inventoryItem.updateMany({ where: { name }, data: { quantity } });
  }
  await db.product.updateMany({ data: { available: true, soldOut: false, unavailableReason: null } });
});

async function quantity(itemId: string): Promise<number> {
  return (await f.deps.db.inventoryItem.findUniqueOrThrow({ where: { id: itemId } })).quantity;
}

async function setQuantity(itemId: string, value: number): Promise<void> {
  await f.deps.db.inventoryItem.update({ where: { id: itemId }, data: { quantity: value } });
}

function sell(productId: string, count: number, storeId = 'acme-downtown') {
  orderSeq += 1;
  const orderId = `order-${orderSeq}`;
  return f.deps.publisher
    .run((tx, emit) =>
      consumeStockForOrder(tx, emit, {
        tenantId: 'acme',
        storeId,
        orderId,
        actorId: 'acme-staff',
        lines: [{ productId, quantity: count }],
      }),
    )
    .then(() => orderId);
}

function alertsOf(itemId: string) {
  return f.deps.db.inventoryAlert.findMany({
    where: { inventoryItemId: itemId },
    orderBy: { createdAt: 'asc' },
  });
}

async function inventoryEventsSince(afterId: bigint) {
  return (await f.events(afterId)).filter((e) => e.kind.startsWith('inventory.'));
}

describe('reading inventory', () => {
  it("lists a store's items by name with quantity, threshold and availability", async () => {
    await setQuantity(LEMONADE, 0);
    const items = await f.inventory.inventoryItems(staff, 'acme-downtown');
    expect(items.map((i) => [i.name, i.quantity, i.lowStockThreshold, i.available])).toEqual([
      ['Burger', 50, 10, true],
      ['Fries', 100, 20, true],
      ['Lemonade', 0, 8, false],
    ]);
  });

  it('refuses stores the caller may not access, roles without inventory access and other tenants', async () => {
    await expect(f.inventory.inventoryItems(staff, 'acme-uptown')).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
    await expect(f.inventory.inventoryItems(as('acme-customer'), 'acme-downtown')).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
    await expect(f.inventory.inventoryItems(manager, 'globex-central')).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
  });

  it('lets the kitchen read stock', async () => {
    expect(await f.inventory.inventoryItems(kitchen, 'acme-downtown')).toHaveLength(3);
  });
});

describe('adjustInventory', () => {
  it('changes the quantity, records an ADJUSTMENT movement with the reason and announces it', async () => {
    const before = await f.lastEventId();
    const item = await f.inventory.adjustInventory(manager, BURGER, -5, 'dropped a tray');
    expect(item).toMatchObject({ id: BURGER, quantity: 45, available: true });
    const movements = await f.deps.db.stockMovement.findMany({ where: { inventoryItemId: BURGER } });
    expect(movements).toMatchObject([
      { delta: -5, quantityAfter: 45, reason: 'ADJUSTMENT', note: 'dropped a tray', actorId: 'acme-manager' },
    ]);
    const events = await inventoryEventsSince(before);
    expect(events.map((e) => [e.topic, e.kind, e.payload.severity, e.payload.item.quantity])).toEqual([
      ['t:acme:store:acme-downtown:inventory', 'inventory.ADJUSTMENT', 'LOW', 45],
    ]);
  });

  it('refuses a zero, fractional or huge delta and a missing or overlong reason', async () => {
    for (const [delta, reason] of [
      [0, 'count'],
      [1.5, 'count'],
      [2_000_000, 'count'],
      [1, '   '],
      [1, 'x'.repeat(201)],
    ] as const) {
      await expect(f.inventory.adjustInventory(manager, BURGER, delta, reason)).rejects.toMatchObject({
        code: 'BAD_USER_INPUT',
      });
    }
    expect(await quantity(BURGER)).toBe(50);
  });

  it('refuses to go below zero and changes nothing', async () => {
    const before = await f.lastEventId();
    await expect(f.inventory.adjustInventory(manager, BURGER, -51, 'count')).rejects.toMatchObject({
      code: 'BAD_USER_INPUT',
      details: { quantity: 50 },
    });
    expect(await quantity(BURGER)).toBe(50);
    expect(await f.deps.db.stockMovement.count()).toBe(0);
    expect(await inventoryEventsSince(before)).toEqual([]);
  });

  it('is for managers and admins of the item’s tenant only', async () => {
    await expect(f.inventory.adjustInventory(staff, BURGER, 1, 'count')).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
    await expect(f.inventory.adjustInventory(manager, GLOBEX_BURGER, 1, 'count')).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    const downtownManager = as('acme-manager', { stores: ['acme-downtown'] });
    await expect(
      f.inventory.adjustInventory(downtownManager, UPTOWN_BURGER, 1, 'count'),
    ).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
    expect((await f.inventory.adjustInventory(admin, BURGER, 1, 'count')).quantity).toBe(51);
  });

  it('raises LOW_STOCK when it takes the item to its threshold', async () => {
    const before = await f.lastEventId();
    await f.inventory.adjustInventory(manager, BURGER, -40, 'spoiled');
    const events = await inventoryEventsSince(before);
    expect(events.map((e) => [e.kind, e.payload.severity])).toEqual([
      ['inventory.ADJUSTMENT', 'LOW'],
      ['inventory.LOW_STOCK', 'NORMAL'],
    ]);
    expect(events[1]?.payload.alert).toMatchObject({
      kind: 'LOW_STOCK',
      status: 'OPEN',
      quantityAtRaise: 10,
    });
  });
});

describe('restockInventory', () => {
  it('adds stock; without a recovery it is announced as an ADJUSTMENT', async () => {
    const before = await f.lastEventId();
    expect((await f.inventory.restockInventory(manager, BURGER, 10)).quantity).toBe(60);
    const movements = await f.deps.db.stockMovement.findMany({ where: { inventoryItemId: BURGER } });
    expect(movements).toMatchObject([{ delta: 10, quantityAfter: 60, reason: 'RESTOCK' }]);
    expect((await inventoryEventsSince(before)).map((e) => e.kind)).toEqual(['inventory.ADJUSTMENT']);
  });

  it('resolves open alerts and announces RESTOCKED when the item recovers above its threshold', async () => {
    await setQuantity(BURGER, 12);
    await sell('acme-downtown-burger', 12);
    const before = await f.lastEventId();
    await f.inventory.restockInventory(manager, BURGER, 11);
    const events = await inventoryEventsSince(before);
    expect(events.map((e) => [e.kind, e.payload.severity, e.payload.item.quantity])).toEqual([
      ['inventory.RESTOCKED', 'URGENT', 11],
    ]);
    const alerts = await alertsOf(BURGER);
    expect(alerts.map((a) => [a.kind, a.status, a.openKey])).toEqual([
      ['LOW_STOCK', 'RESOLVED', null],
      ['OUT_OF_STOCK', 'RESOLVED', null],
    ]);
    expect(alerts.every((a) => a.resolvedAt instanceof Date)).toBe(true);
  });

  it('refuses a quantity that is not a positive whole number', async () => {
    for (const q of [0, -3, 2.5]) {
      await expect(f.inventory.restockInventory(manager, BURGER, q)).rejects.toMatchObject({
        code: 'BAD_USER_INPUT',
      });
    }
    await expect(f.inventory.restockInventory(staff, BURGER, 1)).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });
});

describe('alert rules under sales', () => {
  it('raises LOW_STOCK once for a burst of ten concurrent sales under the threshold', async () => {
    await setQuantity(BURGER, 12);
    const before = await f.lastEventId();
    await Promise.all(Array.from({ length: 10 }, () => sell('acme-downtown-burger', 1)));
    expect(await quantity(BURGER)).toBe(2);
    const alerts = await alertsOf(BURGER);
    expect(alerts.map((a) => [a.kind, a.status, a.quantityAtRaise])).toEqual([['LOW_STOCK', 'OPEN', 10]]);
    const kinds = (await inventoryEventsSince(before)).map((e) => e.kind);
    expect(kinds).toEqual(['inventory.LOW_STOCK']);
    const sales = await f.deps.db.stockMovement.count({ where: { inventoryItemId: BURGER, reason: 'SALE' } });
    expect(sales).toBe(10);
  });

  it('re-arms only after recovering above the threshold', async () => {
    await setQuantity(BURGER, 11);
    await sell('acme-downtown-burger', 2); // 9: LOW_STOCK
    await f.inventory.restockInventory(manager, BURGER, 1); // 10: still low, nothing new
    await sell('acme-downtown-burger', 1); // 9: still the same alert
    expect((await alertsOf(BURGER)).map((a) => a.status)).toEqual(['OPEN']);

    await f.inventory.restockInventory(manager, BURGER, 5); // 14: recovered
    await sell('acme-downtown-burger', 4); // 10: raised again
    expect((await alertsOf(BURGER)).map((a) => [a.kind, a.status])).toEqual([
      ['LOW_STOCK', 'RESOLVED'],
      ['LOW_STOCK', 'OPEN'],
    ]);
  });

  it('does not raise again while an acknowledged alert is unresolved', async () => {
    await setQuantity(BURGER, 10);
    await sell('acme-downtown-burger', 1);
    const [alert] = await alertsOf(BURGER);
    await f.inventory.acknowledgeInventoryAlert(staff, alert!.id);
    await sell('acme-downtown-burger', 3);
    expect((await alertsOf(BURGER)).map((a) => [a.kind, a.status])).toEqual([['LOW_STOCK', 'ACKNOWLEDGED']]);
  });

  it('grades LOW_STOCK by how far under the threshold the sale takes it', async () => {
    await setQuantity(LEMONADE, 9);
    await sell('acme-downtown-lemonade', 7); // 2 of 8 left: 25%
    expect((await alertsOf(LEMONADE)).map((a) => [a.kind, a.severity])).toEqual([['LOW_STOCK', 'HIGH']]);
  });

  it('raises OUT_OF_STOCK at zero, notifies the store’s managers and takes the product off the menu', async () => {
    await setQuantity(LEMONADE, 3);
    await sell('acme-downtown-lemonade', 1); // 2: LOW_STOCK HIGH
    const before = await f.lastEventId();
    await sell('acme-downtown-lemonade', 2); // 0
    const alerts = await alertsOf(LEMONADE);
    expect(alerts.map((a) => [a.kind, a.severity, a.status])).toEqual([
      ['LOW_STOCK', 'HIGH', 'OPEN'],
      ['OUT_OF_STOCK', 'URGENT', 'OPEN'],
    ]);
    const events = await f.events(before);
    expect(events.map((e) => [e.topic, e.kind])).toEqual([
      ['t:acme:store:acme-downtown:inventory', 'inventory.OUT_OF_STOCK'],
      ['t:acme:store:acme-downtown:role:MANAGER:notifications', 'notification.CREATED'],
      ['t:acme:store:acme-downtown:menu', 'menu.AVAILABILITY_CHANGED'],
    ]);
    expect(events[2]?.payload.product).toMatchObject({
      id: 'acme-downtown-lemonade',
      available: false,
      soldOut: true,
    });
    expect(events[1]?.payload.notification).toMatchObject({
      audience: 'ROLE',
      targetRole: 'MANAGER',
      targetStoreId: 'acme-downtown',
      kind: 'OUT_OF_STOCK',
      severity: 'URGENT',
      title: 'Lemonade is out of stock',
    });
    const managerInbox = await f.notifications.notifications(manager);
    expect(managerInbox.edges.map((e) => e.node.kind)).toEqual(['OUT_OF_STOCK']);
    expect((await f.notifications.notifications(staff)).edges).toEqual([]);
  });
});

describe('consumeStockForOrder and releaseStockForOrder', () => {
  it('fails the whole order when one line lacks stock, naming the product', async () => {
    await setQuantity(LEMONADE, 2);
    const attempt = f.deps.publisher.run((tx, emit) =>
      consumeStockForOrder(tx, emit, {
        tenantId: 'acme',
        storeId: 'acme-downtown',
        orderId: 'order-too-big',
        actorId: 'acme-staff',
        lines: [
          { productId: 'acme-downtown-burger', quantity: 2 },
          { productId: 'acme-downtown-lemonade', quantity: 2 },
          { productId: 'acme-downtown-lemonade', quantity: 1 },
        ],
      }),
    );
    await expect(attempt).rejects.toMatchObject({
      code: 'BAD_USER_INPUT',
      message: 'Only 2 Lemonade left',
      details: { productId: 'acme-downtown-lemonade', available: 2, requested: 3 },
    });
    expect([await quantity(BURGER), await quantity(LEMONADE)]).toEqual([50, 2]);
    expect(await f.deps.db.stockMovement.count()).toBe(0);
  });

  it('says when a product is out of stock', async () => {
    await setQuantity(FRIES, 0);
    await expect(sell('acme-downtown-fries', 1)).rejects.toMatchObject({
      message: 'Fries is out of stock',
      details: { productId: 'acme-downtown-fries', available: 0 },
    });
  });

  it('gives back what a cancelled order took, once', async () => {
    const orderId = await sell('acme-downtown-burger', 45); // 5: LOW_STOCK
    const release = () =>
      f.deps.publisher.run((tx, emit) =>
        releaseStockForOrder(tx, emit, {
          tenantId: 'acme',
          storeId: 'acme-downtown',
          orderId,
          actorId: 'acme-staff',
        }),
      );
    await release();
    await release();
    expect(await quantity(BURGER)).toBe(50);
    const reversals = await f.deps.db.stockMovement.findMany({ where: { orderId, reason: 'SALE_REVERSAL' } });
    expect(reversals.map((m) => [m.delta, m.quantityAfter])).toEqual([[45, 50]]);
    expect((await alertsOf(BURGER)).map((a) => a.status)).toEqual(['RESOLVED']);
  });
});

describe('transferInventory', () => {
  it('moves stock to the same-named item of the other store in one transaction', async () => {
    const before = await f.lastEventId();
    const transfer = await f.inventory.transferInventory(manager, {
      itemId: BURGER,
      toStoreId: 'acme-uptown',
      quantity: 5,
    });
    expect(transfer).toMatchObject({
      quantity: 5,
      fromItem: { id: BURGER, quantity: 45 },
      toItem: { id: UPTOWN_BURGER, quantity: 55 },
    });
    const row = await f.deps.db.inventoryTransfer.findUniqueOrThrow({ where: { id: transfer.id } });
    expect(row).toMatchObject({
      fromStoreId: 'acme-downtown',
      toStoreId: 'acme-uptown',
      actorId: 'acme-manager',
    });
    const movements = await f.deps.db.stockMovement.findMany({ where: { transferId: transfer.id } });
    expect(movements.map((m) => [m.inventoryItemId, m.reason, m.delta]).sort()).toEqual([
      [BURGER, 'TRANSFER_OUT', -5],
      [UPTOWN_BURGER, 'TRANSFER_IN', 5],
    ]);
    const events = await inventoryEventsSince(before);
    expect(events.map((e) => [e.topic, e.kind, e.payload.item.quantity])).toEqual([
      ['t:acme:store:acme-downtown:inventory', 'inventory.TRANSFER_COMPLETE', 45],
      ['t:acme:store:acme-uptown:inventory', 'inventory.TRANSFER_COMPLETE', 55],
    ]);
  });

  it('refuses more than the source has, changing nothing', async () => {
    const before = await f.lastEventId();
    await expect(
      f.inventory.transferInventory(manager, { itemId: BURGER, toStoreId: 'acme-uptown', quantity: 51 }),
    ).rejects.toMatchObject({ code: 'BAD_USER_INPUT', message: 'Only 50 Burger left' });
    expect([await quantity(BURGER), await quantity(UPTOWN_BURGER)]).toEqual([50, 50]);
    expect(await f.deps.db.inventoryTransfer.count()).toBe(0);
    expect(await inventoryEventsSince(before)).toEqual([]);
  });

  it('leaves both sides unchanged when the destination side fails', async () => {
    await setQuantity(UPTOWN_BURGER, 2_147_483_647); // the largest int: adding one overflows
    const before = await f.lastEventId();
    await expect(
      f.inventory.transferInventory(manager, { itemId: BURGER, toStoreId: 'acme-uptown', quantity: 1 }),
    ).rejects.toThrow();
    expect([await quantity(BURGER), await quantity(UPTOWN_BURGER)]).toEqual([50, 2_147_483_647]);
    expect(await f.deps.db.inventoryTransfer.count()).toBe(0);
    expect(await f.deps.db.stockMovement.count()).toBe(0);
    expect(await inventoryEventsSince(before)).toEqual([]);
  });

  it('runs opposite transfers at the same time without deadlocking or losing stock', async () => {
    const both = Array.from({ length: 4 }, () => [
      f.inventory.transferInventory(manager, { itemId: BURGER, toStoreId: 'acme-uptown', quantity: 2 }),
      f.inventory.transferInventory(manager, {
        itemId: UPTOWN_BURGER,
        toStoreId: 'acme-downtown',
        quantity: 1,
      }),
    ]).flat();
    await Promise.all(both);
    expect([await quantity(BURGER), await quantity(UPTOWN_BURGER)]).toEqual([46, 54]);
    expect(await f.deps.db.inventoryTransfer.count()).toBe(8);
  });

  it('refuses the same store, another tenant’s store, a mismatched item and bad quantities', async () => {
    const transfer = (input: Partial<Parameters<typeof f.inventory.transferInventory>[1]>) =>
      f.inventory.transferInventory(manager, {
        itemId: BURGER,
        toStoreId: 'acme-uptown',
        quantity: 1,
        ...input,
      });
    await expect(transfer({ toStoreId: 'acme-downtown' })).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    await expect(transfer({ toStoreId: 'globex-central' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(transfer({ toItemId: 'acme-uptown-fries-stock' })).rejects.toMatchObject({
      code: 'BAD_USER_INPUT',
    });
    await expect(transfer({ toItemId: GLOBEX_BURGER })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(transfer({ quantity: 0 })).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    await expect(
      f.inventory.transferInventory(staff, { itemId: BURGER, toStoreId: 'acme-uptown', quantity: 1 }),
    ).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect((await transfer({ toItemId: UPTOWN_BURGER })).toItem.quantity).toBe(51);
  });
});

describe('acknowledgeInventoryAlert and inventoryAlerts', () => {
  async function lowBurgerAlert() {
    await setQuantity(BURGER, 10);
    await sell('acme-downtown-burger', 1);
    const [alert] = await alertsOf(BURGER);
    return alert!;
  }

  it('records who acknowledged and when, and announces it once', async () => {
    const alert = await lowBurgerAlert();
    const before = await f.lastEventId();
    const acknowledged = await f.inventory.acknowledgeInventoryAlert(staff, alert.id);
    expect(acknowledged).toMatchObject({
      id: alert.id,
      status: 'ACKNOWLEDGED',
      acknowledgedById: 'acme-staff',
    });
    expect(Date.parse(acknowledged.acknowledgedAt!)).not.toBeNaN();
    const again = await f.inventory.acknowledgeInventoryAlert(manager, alert.id);
    expect(again).toEqual(acknowledged);
    const events = await inventoryEventsSince(before);
    expect(events.map((e) => [e.kind, e.payload.severity, e.payload.alert.acknowledgedById])).toEqual([
      ['inventory.ACKNOWLEDGED', 'NORMAL', 'acme-staff'],
    ]);
  });

  it('refuses resolved alerts, the kitchen and other tenants', async () => {
    const alert = await lowBurgerAlert();
    await expect(f.inventory.acknowledgeInventoryAlert(kitchen, alert.id)).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
    await expect(f.inventory.acknowledgeInventoryAlert(as('globex-manager'), alert.id)).rejects.toMatchObject(
      {
        code: 'NOT_FOUND',
      },
    );
    await f.inventory.restockInventory(manager, BURGER, 20);
    await expect(f.inventory.acknowledgeInventoryAlert(manager, alert.id)).rejects.toMatchObject({
      code: 'CONFLICT',
    });
  });

  it('lists open or resolved alerts of a store', async () => {
    await lowBurgerAlert();
    await f.inventory.restockInventory(manager, BURGER, 20);
    await setQuantity(LEMONADE, 8);
    await sell('acme-downtown-lemonade', 1);
    const open = await f.inventory.inventoryAlerts(staff, 'acme-downtown', true);
    expect(open.map((a) => [a.productId, a.kind, a.status])).toEqual([
      ['acme-downtown-lemonade', 'LOW_STOCK', 'OPEN'],
    ]);
    const resolved = await f.inventory.inventoryAlerts(staff, 'acme-downtown', false);
    expect(resolved.map((a) => [a.productId, a.status])).toEqual([['acme-downtown-burger', 'RESOLVED']]);
    expect(await f.inventory.inventoryAlerts(staff, 'acme-downtown')).toHaveLength(2);
    await expect(f.inventory.inventoryAlerts(staff, 'acme-uptown', true)).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
  });
});

describe('subscribeInventoryAlerts', () => {
  const streams: AsyncIterableIterator<InventoryAlertEventView>[] = [];
  const open = async (...args: Parameters<typeof f.inventory.subscribeInventoryAlerts>) => {
    const stream = await f.inventory.subscribeInventoryAlerts(...args);
    streams.push(stream);
    return stream;
  };

  afterEach(async () => {
    await Promise.all(streams.splice(0).map((s) => s.return?.()));
  });

  it('delivers a store’s events at or above minSeverity with a cursor', async () => {
    // From 40 straight to 0: LOW_STOCK and OUT_OF_STOCK, both URGENT at zero; the ADJUSTMENT (LOW) is filtered.
    const stream = await open(manager, { storeId: 'acme-downtown', minSeverity: 'URGENT' });
    await f.inventory.adjustInventory(manager, LEMONADE, -40, 'spilled');
    const low = await nextWithin(stream);
    expect(low).toMatchObject({ kind: 'LOW_STOCK', severity: 'URGENT', alert: { kind: 'LOW_STOCK' } });
    const event = await nextWithin(stream);
    expect(event).toMatchObject({
      kind: 'OUT_OF_STOCK',
      severity: 'URGENT',
      item: { id: LEMONADE, quantity: 0, available: false },
      alert: { kind: 'OUT_OF_STOCK', status: 'OPEN' },
    });
    expect(event.cursor).toEqual(expect.any(String));
    expect(await drainFor(stream, 150)).toEqual([]);
  });

  it('filters by product and resumes after a cursor', async () => {
    const stream = await open(manager, { storeId: 'acme-downtown', productIds: ['acme-downtown-fries'] });
    await f.inventory.adjustInventory(manager, BURGER, -1, 'count');
    await f.inventory.adjustInventory(manager, FRIES, -1, 'count');
    const first = await nextWithin(stream);
    expect([first.kind, first.item.id]).toEqual(['ADJUSTMENT', FRIES]);
    await f.inventory.adjustInventory(manager, FRIES, -2, 'count');
    const resumed = await open(manager, { storeId: 'acme-downtown', after: first.cursor });
    expect((await nextWithin(resumed)).item.quantity).toBe(97);
  });

  it('uses the connection’s current store, or every store for callers with all stores', async () => {
    const current = await open(staff, { minSeverity: null }).catch((e) => e);
    expect(current).toMatchObject({ code: 'BAD_USER_INPUT' });
    const staffStream = await open(as('acme-staff', { currentStoreId: 'acme-downtown' }));
    const tenantStream = await open(manager);
    await f.inventory.adjustInventory(manager, UPTOWN_BURGER, -1, 'count');
    await f.inventory.adjustInventory(manager, BURGER, -1, 'count');
    expect((await nextWithin(tenantStream)).item.storeId).toBe('acme-uptown');
    expect((await nextWithin(tenantStream)).item.storeId).toBe('acme-downtown');
    expect((await nextWithin(staffStream)).item.id).toBe(BURGER);
  });

  it('never delivers another tenant’s events', async () => {
    const globex = await open(as('globex-manager'));
    await f.inventory.adjustInventory(manager, BURGER, -1, 'count');
    expect(await drainFor(globex, 200)).toEqual([]);
    await expect(open(as('globex-manager'), { storeId: 'acme-downtown' })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
  });
});
