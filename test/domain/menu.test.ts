import { beforeEach, describe, expect, it } from 'vitest';
import type { MenuEventPayload } from '../../src/domain/menu-records';
import { as, downtownOrder, nextWithin, useDomainFixture } from '../support/domain-fixture';
import { eventually } from '../support/eventually';

// Seed: every store has Burger (1099, grill, 50 in stock), Fries (399, grill, 100), Lemonade (299, bar, 40).
const BURGER = 'acme-downtown-burger';
const FRIES = 'acme-downtown-fries';
const LEMONADE = 'acme-downtown-lemonade';

const admin = as('acme-admin');
const manager = as('acme-manager');
const staff = as('acme-staff');
const kitchen = as('acme-kitchen'); // bound to acme-downtown-grill
const customer = as('acme-customer');

const f = useDomainFixture();

/** The seeded downtown menu, stock and availability. */
beforeEach(async () => {
  const db = f.deps.db;
  for (const [id, priceCents, quantity] of [
    [BURGER, 1099, 50],
    [FRIES, 399, 100],
    [LEMONADE, 299, 40],
  ] as const) {
    await db.product.update({
      where: { id },
      data: { priceCents, active: true, available: true, soldOut: false, unavailableReason: null },
    });
    await db.inventoryItem.update({ where: { id: `${id}-stock` }, data: { quantity } });
  }
});

async function menuEventsSince(afterId: bigint): Promise<MenuEventPayload[]> {
  return (await f.events(afterId)).filter((e) => e.kind.startsWith('menu.')).map((e) => e.payload);
}

const order = (productId: string, quantity = 1) =>
  f.orders.createOrder(staff, downtownOrder({ items: [{ productId, quantity }] }));

describe('reading the menu', () => {
  it('lists the active menu by category and name, with availability and stock', async () => {
    await f.menu.updateProduct(manager, { productId: 'acme-uptown-fries', active: false });
    const menu = await f.menu.products(customer, 'acme-downtown');
    expect(menu.map((p) => [p.category, p.name, p.priceCents, p.available, p.stockQuantity])).toEqual([
      ['Drinks', 'Lemonade', 299, true, 40],
      ['Mains', 'Burger', 1099, true, 50],
      ['Sides', 'Fries', 399, true, 100],
    ]);
    const uptown = await f.menu.products(manager, 'acme-uptown');
    expect(uptown.map((p) => p.id)).not.toContain('acme-uptown-fries');
    const withArchived = await f.menu.products(manager, 'acme-uptown', { includeArchived: true });
    expect(withArchived.find((p) => p.id === 'acme-uptown-fries')).toMatchObject({ active: false });
    await f.menu.updateProduct(manager, { productId: 'acme-uptown-fries', active: true });
  });

  it('reads a product whose stock was zeroed outside the domain as sold out, and announces its restock', async () => {
    await f.deps.db.inventoryItem.update({ where: { id: `${LEMONADE}-stock` }, data: { quantity: 0 } });
    const lemonade = (await f.menu.products(staff, 'acme-downtown')).find((p) => p.id === LEMONADE);
    expect(lemonade).toMatchObject({ available: false, soldOut: true, unavailableReason: 'Out of stock' });
    await expect(f.menu.setProductAvailability(staff, LEMONADE, true)).rejects.toMatchObject({
      code: 'CONFLICT',
    });
    const before = await f.lastEventId();
    await f.inventory.restockInventory(manager, `${LEMONADE}-stock`, 5);
    expect((await menuEventsSince(before)).map((e) => [e.kind, e.product.available])).toEqual([
      ['AVAILABILITY_CHANGED', true],
    ]);
  });

  it('keeps a product 86ed by hand off when its stock runs out, and does not bring it back by hand at zero', async () => {
    await f.menu.setProductAvailability(staff, FRIES, false, 'fryer down');
    await f.inventory.adjustInventory(manager, `${FRIES}-stock`, -100, 'count');
    await expect(f.menu.setProductAvailability(staff, FRIES, true)).rejects.toMatchObject({
      code: 'CONFLICT',
    });
    const before = await f.lastEventId();
    await f.inventory.restockInventory(manager, `${FRIES}-stock`, 10);
    expect(await menuEventsSince(before)).toEqual([]);
    expect((await f.menu.products(staff, 'acme-downtown')).find((p) => p.id === FRIES)).toMatchObject({
      available: false,
      unavailableReason: 'fryer down',
    });
  });

  it('shows archived products to staff only, and other stores and tenants not at all', async () => {
    await expect(f.menu.products(customer, 'acme-downtown', { includeArchived: true })).rejects.toMatchObject(
      {
        code: 'FORBIDDEN',
      },
    );
    await expect(f.menu.products(staff, 'acme-uptown')).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(f.menu.products(manager, 'globex-central')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});

describe('createProduct', () => {
  it('adds a product to the menu and announces it', async () => {
    const before = await f.lastEventId();
    const product = await f.menu.createProduct(manager, {
      storeId: 'acme-downtown',
      name: '  Milkshake ',
      priceCents: 549,
      stationId: 'acme-downtown-bar',
      category: 'Drinks',
      description: 'Vanilla',
      initialStock: 12,
      lowStockThreshold: 3,
    });
    expect(product).toMatchObject({
      storeId: 'acme-downtown',
      name: 'Milkshake',
      priceCents: 549,
      stationId: 'acme-downtown-bar',
      category: 'Drinks',
      description: 'Vanilla',
      active: true,
      available: true,
      soldOut: false,
      stockQuantity: 12,
    });
    expect(await menuEventsSince(before)).toEqual([
      { kind: 'PRODUCT_CREATED', product, previousPriceCents: null, occurredAt: expect.any(String) },
    ]);
    const item = await f.deps.db.inventoryItem.findUniqueOrThrow({ where: { productId: product.id } });
    expect(item).toMatchObject({ name: 'Milkshake', quantity: 12, lowStockThreshold: 3 });
    const placed = await order(product.id, 2);
    expect(placed.items[0]).toMatchObject({ name: 'Milkshake', unitPriceCents: 549 });
  });

  it('tracks no stock without initialStock, and starts sold out with initialStock 0', async () => {
    const untracked = await f.menu.createProduct(admin, {
      storeId: 'acme-downtown',
      name: 'Water',
      priceCents: 0,
      stationId: 'acme-downtown-bar',
    });
    expect(untracked).toMatchObject({ available: true, stockQuantity: null, category: null });
    const soldOut = await f.menu.createProduct(admin, {
      storeId: 'acme-downtown',
      name: 'Pie',
      priceCents: 450,
      stationId: 'acme-downtown-grill',
      initialStock: 0,
    });
    expect(soldOut).toMatchObject({ available: false, soldOut: true, unavailableReason: 'Out of stock' });
    await expect(order(soldOut.id)).rejects.toMatchObject({
      code: 'BAD_USER_INPUT',
      message: 'Pie is out of stock',
    });
  });

  it('refuses bad input with BAD_USER_INPUT, other roles with FORBIDDEN, foreign stations with NOT_FOUND', async () => {
    const input = {
      storeId: 'acme-downtown',
      name: 'Soup',
      priceCents: 500,
      stationId: 'acme-downtown-grill',
    };
    const before = await f.lastEventId();
    for (const [bad, field] of [
      [{ name: ' ' }, 'name'],
      [{ name: 'x'.repeat(101) }, 'name'],
      [{ priceCents: -1 }, 'priceCents'],
      [{ priceCents: 1.5 }, 'priceCents'],
      [{ priceCents: 100_000_001 }, 'priceCents'],
      [{ category: 'x'.repeat(51) }, 'category'],
      [{ description: 'x'.repeat(501) }, 'description'],
      [{ initialStock: -1 }, 'initialStock'],
      [{ initialStock: 1_000_001 }, 'initialStock'],
      [{ lowStockThreshold: 2 }, 'lowStockThreshold'],
    ] as const) {
      await expect(f.menu.createProduct(manager, { ...input, ...bad })).rejects.toMatchObject({
        code: 'BAD_USER_INPUT',
        details: { field },
      });
    }
    for (const who of [staff, kitchen, customer]) {
      await expect(f.menu.createProduct(who, input)).rejects.toMatchObject({ code: 'FORBIDDEN' });
    }
    await expect(
      f.menu.createProduct(as('acme-manager', { stores: ['acme-uptown'] }), input),
    ).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(
      f.menu.createProduct(manager, { ...input, stationId: 'acme-uptown-grill' }),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(
      f.menu.createProduct(manager, { ...input, stationId: 'globex-central-grill' }),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(
      f.menu.createProduct(manager, { ...input, storeId: 'globex-central' }),
    ).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    expect(await menuEventsSince(before)).toEqual([]);
    expect(await f.deps.db.product.count({ where: { name: 'Soup' } })).toBe(0);
  });
});

describe('updateProduct', () => {
  it('reprices: PRICE_CHANGED with the old price, and orders keep the price they were placed at', async () => {
    const placed = await order(BURGER, 2);
    const before = await f.lastEventId();
    const product = await f.menu.updateProduct(manager, { productId: BURGER, priceCents: 1299 });
    expect(product.priceCents).toBe(1299);
    expect(await menuEventsSince(before)).toEqual([
      { kind: 'PRICE_CHANGED', product, previousPriceCents: 1099, occurredAt: expect.any(String) },
    ]);
    const again = await f.orders.order(staff, placed.id);
    expect(again.items[0]?.unitPriceCents).toBe(1099);
    expect(again.totalCents).toBe(2198);
    expect((await order(BURGER, 2)).totalCents).toBe(2598);
  });

  it('edits name, category, description and station as PRODUCT_UPDATED; an empty text clears it', async () => {
    const before = await f.lastEventId();
    const product = await f.menu.updateProduct(admin, {
      productId: FRIES,
      name: 'Curly fries',
      category: '',
      description: 'Seasoned',
      stationId: 'acme-downtown-bar',
    });
    expect(product).toMatchObject({
      name: 'Curly fries',
      category: null,
      description: 'Seasoned',
      stationId: 'acme-downtown-bar',
    });
    expect((await menuEventsSince(before)).map((e) => e.kind)).toEqual(['PRODUCT_UPDATED']);
    const unchanged = await f.menu.updateProduct(admin, { productId: FRIES, name: 'Curly fries' });
    expect(unchanged).toEqual(product);
    expect((await menuEventsSince(before)).length).toBe(1);
    await f.menu.updateProduct(admin, {
      productId: FRIES,
      name: 'Fries',
      category: 'Sides',
      description: '',
      stationId: 'acme-downtown-grill',
    });
  });

  it('archives: PRODUCT_ARCHIVED, off the menu, and ordering it is BAD_USER_INPUT naming it', async () => {
    const before = await f.lastEventId();
    const archived = await f.menu.updateProduct(manager, { productId: LEMONADE, active: false });
    expect(archived.active).toBe(false);
    expect((await menuEventsSince(before)).map((e) => e.kind)).toEqual(['PRODUCT_ARCHIVED']);
    expect((await f.menu.products(staff, 'acme-downtown')).map((p) => p.id)).not.toContain(LEMONADE);
    await expect(order(LEMONADE)).rejects.toMatchObject({
      code: 'BAD_USER_INPUT',
      message: 'Lemonade is no longer on the menu',
      details: { productId: LEMONADE, field: 'items.0.productId' },
    });
    const back = await f.menu.updateProduct(manager, { productId: LEMONADE, active: true });
    expect(back.active).toBe(true);
    expect((await menuEventsSince(before)).map((e) => e.kind)).toEqual([
      'PRODUCT_ARCHIVED',
      'PRODUCT_UPDATED',
    ]);
  });

  it('refuses other roles, stores and tenants, and bad input', async () => {
    for (const who of [staff, kitchen, customer]) {
      await expect(f.menu.updateProduct(who, { productId: BURGER, priceCents: 1 })).rejects.toMatchObject({
        code: 'FORBIDDEN',
      });
    }
    await expect(
      f.menu.updateProduct(as('acme-manager', { stores: ['acme-uptown'] }), {
        productId: BURGER,
        priceCents: 1,
      }),
    ).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(
      f.menu.updateProduct(manager, { productId: 'globex-central-burger', priceCents: 1 }),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(f.menu.updateProduct(manager, { productId: BURGER, name: '' })).rejects.toMatchObject({
      code: 'BAD_USER_INPUT',
      details: { field: 'name' },
    });
    await expect(
      f.menu.updateProduct(manager, { productId: BURGER, stationId: 'globex-central-grill' }),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect((await f.deps.db.product.findUniqueOrThrow({ where: { id: BURGER } })).priceCents).toBe(1099);
  });
});

describe('setProductAvailability', () => {
  it('86s a product by hand with a reason, refuses orders naming it, and brings it back', async () => {
    const before = await f.lastEventId();
    const off = await f.menu.setProductAvailability(staff, FRIES, false, ' fryer down ');
    expect(off).toMatchObject({ available: false, soldOut: false, unavailableReason: 'fryer down' });
    await expect(order(FRIES)).rejects.toMatchObject({
      code: 'BAD_USER_INPUT',
      message: 'Fries is not available: fryer down',
      details: { productId: FRIES, reason: 'fryer down' },
    });
    // The same again changes nothing and announces nothing.
    await f.menu.setProductAvailability(staff, FRIES, false, 'fryer down');
    const on = await f.menu.setProductAvailability(manager, FRIES, true, 'ignored when available');
    expect(on).toMatchObject({ available: true, unavailableReason: null });
    expect((await menuEventsSince(before)).map((e) => [e.kind, e.product.available])).toEqual([
      ['AVAILABILITY_CHANGED', false],
      ['AVAILABILITY_CHANGED', true],
    ]);
    expect((await order(FRIES)).items[0]?.name).toBe('Fries');
  });

  it('lets a kitchen device change only products routed to its stations', async () => {
    expect(await f.menu.setProductAvailability(kitchen, BURGER, false)).toMatchObject({ available: false });
    await expect(f.menu.setProductAvailability(kitchen, LEMONADE, false)).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
    const unbound = as('acme-kitchen', { stations: [] });
    await expect(f.menu.setProductAvailability(unbound, FRIES, false)).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
    await expect(f.menu.setProductAvailability(customer, FRIES, false)).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
    await expect(f.menu.setProductAvailability(staff, 'acme-uptown-fries', false)).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
    await expect(f.menu.setProductAvailability(admin, 'globex-central-fries', false)).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    await expect(f.menu.setProductAvailability(staff, FRIES, false, 'x'.repeat(201))).rejects.toMatchObject({
      code: 'BAD_USER_INPUT',
      details: { field: 'reason' },
    });
  });

  it('refuses archived products and sold-out ones (a restock brings those back) with CONFLICT', async () => {
    await f.menu.updateProduct(manager, { productId: LEMONADE, active: false });
    await expect(f.menu.setProductAvailability(staff, LEMONADE, false)).rejects.toMatchObject({
      code: 'CONFLICT',
    });
    await f.menu.updateProduct(manager, { productId: LEMONADE, active: true });
    await f.inventory.adjustInventory(manager, `${LEMONADE}-stock`, -40, 'spilled');
    await expect(f.menu.setProductAvailability(staff, LEMONADE, true)).rejects.toMatchObject({
      code: 'CONFLICT',
      message: 'Lemonade is out of stock: restock it to bring it back',
    });
  });
});

describe('automatic 86', () => {
  it('takes a product off when an order takes its last stock, and brings it back when that order is cancelled', async () => {
    await f.deps.db.inventoryItem.update({ where: { id: `${LEMONADE}-stock` }, data: { quantity: 3 } });
    const before = await f.lastEventId();
    const placed = await order(LEMONADE, 3);
    expect(
      (await menuEventsSince(before)).map((e) => [e.kind, e.product.available, e.product.soldOut]),
    ).toEqual([['AVAILABILITY_CHANGED', false, true]]);
    await expect(order(LEMONADE)).rejects.toMatchObject({
      code: 'BAD_USER_INPUT',
      message: 'Lemonade is out of stock',
    });
    const middle = await f.lastEventId();
    await f.orders.cancelOrder(staff, placed.id, 'changed their mind');
    expect(
      (await menuEventsSince(middle)).map((e) => [e.kind, e.product.available, e.product.stockQuantity]),
    ).toEqual([['AVAILABILITY_CHANGED', true, 3]]);
  });

  it('follows adjustments, restocks and transfers; a product 86ed by hand stays off', async () => {
    const before = await f.lastEventId();
    await f.inventory.adjustInventory(manager, `${FRIES}-stock`, -100, 'count');
    await f.inventory.restockInventory(manager, `${FRIES}-stock`, 5);
    await f.inventory.transferInventory(manager, {
      itemId: `${FRIES}-stock`,
      toStoreId: 'acme-uptown',
      quantity: 5,
    });
    await f.inventory.restockInventory(manager, `${FRIES}-stock`, 10);
    expect((await menuEventsSince(before)).map((e) => [e.product.id, e.product.available])).toEqual([
      [FRIES, false],
      [FRIES, true],
      [FRIES, false],
      [FRIES, true],
    ]);

    await f.menu.setProductAvailability(staff, BURGER, false, 'no buns');
    const middle = await f.lastEventId();
    await f.inventory.adjustInventory(manager, `${BURGER}-stock`, -50, 'count');
    await f.inventory.restockInventory(manager, `${BURGER}-stock`, 20);
    expect(await menuEventsSince(middle)).toEqual([]);
    expect((await f.menu.products(staff, 'acme-downtown')).find((p) => p.id === BURGER)).toMatchObject({
      available: false,
      soldOut: false,
      unavailableReason: 'no buns',
    });
  });
});

describe('concurrent availability changes', () => {
  it('apply one after another: the events alternate and the last one is the product as stored', async () => {
    const before = await f.lastEventId();
    const changes = Array.from({ length: 12 }, (_, i) =>
      f.menu.setProductAvailability(i % 3 === 0 ? kitchen : staff, BURGER, i % 2 === 1, `batch ${i}`),
    );
    await Promise.all(changes);
    const events = await menuEventsSince(before);
    expect(events.length).toBeGreaterThan(0);
    for (let i = 1; i < events.length; i++) {
      const [previous, current] = [events[i - 1]!, events[i]!];
      expect(
        current.product.available !== previous.product.available ||
          current.product.unavailableReason !== previous.product.unavailableReason,
      ).toBe(true);
    }
    const stored = (await f.menu.products(staff, 'acme-downtown')).find((p) => p.id === BURGER)!;
    expect(events.at(-1)!.product).toMatchObject({
      available: stored.available,
      unavailableReason: stored.unavailableReason,
    });
  });

  it('orders racing for the last stock and a restock leave the product as the last event says', async () => {
    await f.deps.db.inventoryItem.update({ where: { id: `${FRIES}-stock` }, data: { quantity: 4 } });
    const before = await f.lastEventId();
    const outcomes = await Promise.allSettled([
      order(FRIES, 2),
      order(FRIES, 2),
      order(FRIES, 2),
      f.inventory.restockInventory(manager, `${FRIES}-stock`, 1),
      f.menu.setProductAvailability(staff, FRIES, true),
    ]);
    for (const outcome of outcomes) {
      if (outcome.status === 'rejected') {
        expect(['BAD_USER_INPUT', 'CONFLICT']).toContain((outcome.reason as { code: string }).code);
      }
    }
    const stored = (await f.menu.products(staff, 'acme-downtown')).find((p) => p.id === FRIES)!;
    const events = (await menuEventsSince(before)).filter((e) => e.product.id === FRIES);
    for (let i = 1; i < events.length; i++) {
      expect(events[i]!.product.available).not.toBe(events[i - 1]!.product.available);
    }
    if (events.length > 0) expect(events.at(-1)!.product.available).toBe(stored.available);
    expect(stored.available).toBe((stored.stockQuantity ?? 0) > 0);
  });
});

describe('a stock change racing a change by hand', () => {
  it('waits for the product a person is bringing back, and 86s it when it empties the stock', async () => {
    await f.menu.setProductAvailability(staff, FRIES, false, 'checking the fryer');
    await f.deps.db.inventoryItem.update({ where: { id: `${FRIES}-stock` }, data: { quantity: 1 } });
    const before = await f.lastEventId();
    // Staff bringing the fries back, caught between reading one left in stock and committing: the row is theirs.
    let release = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    let holding = () => {};
    const isHeld = new Promise<void>((resolve) => (holding = resolve));
    const byHand = f.deps.db.$transaction(
      async (tx) => {
        await tx.$queryRaw`SELECT "id" FROM "Product" WHERE "id" = ${FRIES} FOR UPDATE`;
        holding();
        await held;
        await tx.product.update({
          where: { id: FRIES },
          data: { available: true, soldOut: false, unavailableReason: null },
        });
      },
      { timeout: 60_000 },
    );
    await isHeld;
    let settled = false;
    const lastOne = f.inventory
      .adjustInventory(manager, `${FRIES}-stock`, -1, 'the last portion went to the bin')
      .finally(() => (settled = true));
    // The stock change either waits for the product's row or (as it did) went past it.
    await eventually(async () => {
      if (settled) return true;
      const [lockWaits] = await f.deps.db.$queryRaw<{ waiting: bigint }[]>`
        SELECT count(*) AS "waiting" FROM pg_stat_activity
        WHERE "datname" = current_database() AND "wait_event_type" = 'Lock'`;
      return (lockWaits?.waiting ?? 0n) > 0n;
    });
    release();
    await byHand;
    await lastOne;

    const row = await f.deps.db.product.findUniqueOrThrow({ where: { id: FRIES } });
    expect(row).toMatchObject({ available: false, soldOut: true });
    const events = (await menuEventsSince(before)).filter((e) => e.product.id === FRIES);
    expect(events.at(-1)?.product).toMatchObject({ available: false, soldOut: true, stockQuantity: 0 });
  });
});

describe('menuUpdated stream', () => {
  it('shows customers the active menu and a product leaving it; staff see every change', async () => {
    const customerStream = await f.menu.subscribeMenu(customer, 'acme-downtown');
    const staffStream = await f.menu.subscribeMenu(staff, 'acme-downtown');
    try {
      await f.menu.updateProduct(manager, { productId: LEMONADE, active: false });
      await f.menu.updateProduct(manager, { productId: LEMONADE, description: 'while archived' });
      await f.menu.updateProduct(manager, { productId: FRIES, priceCents: 449 });
      await f.menu.updateProduct(manager, { productId: 'acme-uptown-fries', priceCents: 449 });
      expect((await nextWithin(customerStream)).kind).toBe('PRODUCT_ARCHIVED');
      expect(await nextWithin(customerStream)).toMatchObject({
        kind: 'PRICE_CHANGED',
        previousPriceCents: 399,
      });
      const staffKinds = [];
      for (let i = 0; i < 3; i++) staffKinds.push((await nextWithin(staffStream)).kind);
      expect(staffKinds).toEqual(['PRODUCT_ARCHIVED', 'PRODUCT_UPDATED', 'PRICE_CHANGED']);
    } finally {
      await customerStream.return?.();
      await staffStream.return?.();
      await f.menu.updateProduct(manager, { productId: LEMONADE, active: true, description: '' });
      await f.menu.updateProduct(manager, { productId: 'acme-uptown-fries', priceCents: 399 });
    }
  });

  it('refuses another tenant’s store and another stream’s cursor', async () => {
    await expect(f.menu.subscribeMenu(manager, 'globex-central')).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    await expect(f.menu.subscribeMenu(staff, 'acme-uptown')).rejects.toMatchObject({ code: 'FORBIDDEN' });
    const uptown = await f.menu.subscribeMenu(manager, 'acme-uptown');
    await f.menu.updateProduct(manager, { productId: 'acme-uptown-burger', priceCents: 1199 });
    const { cursor } = await nextWithin(uptown);
    await uptown.return?.();
    await expect(f.menu.subscribeMenu(manager, 'acme-downtown', cursor)).rejects.toMatchObject({
      code: 'BAD_USER_INPUT',
    });
  });
});
