import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoData, demoUsers, findDemoTable, findDemoUser } from '../../src/db/demo-data';
import { seed } from '../../src/db/seed';
import { createTestDatabase, type TestDatabase } from '../support/db';

const ids = (rows: { id: string }[]) => rows.map((row) => row.id).sort();

/** Rows of the demo data: 2 tenants, 3 stores of 3 stations, 3 products and 12 tables each, 5 users per tenant. */
const DEMO_COUNTS = {
  tenants: 2,
  stores: 3,
  stations: 9,
  products: 9,
  inventoryItems: 9,
  tables: 36,
  users: 10,
};
describe('demo data', () => {
  it('has the binding tenants, stores, stations, products and stock items', () => {
    expect(demoData.tenants).toEqual([
      { id: 'acme', name: 'Acme Burgers' },
      { id: 'globex', name: 'Globex Diner' },
    ]);
    expect(demoData.stores.map((s) => [s.id, s.tenantId, s.currency])).toEqual([
      ['acme-downtown', 'acme', 'USD'],
      ['acme-uptown', 'acme', 'USD'],
      ['globex-central', 'globex', 'USD'],
    ]);
    expect(demoData.stations.filter((s) => s.storeId === 'acme-uptown')).toEqual([
      {
        id: 'acme-uptown-grill',
        tenantId: 'acme',
        storeId: 'acme-uptown',
        name: 'Grill',
        kind: 'PREP',
        targetSeconds: 600,
      },
      {
        id: 'acme-uptown-bar',
        tenantId: 'acme',
        storeId: 'acme-uptown',
        name: 'Bar',
        kind: 'PREP',
        targetSeconds: 300,
      },
      {
        id: 'acme-uptown-expo',
        tenantId: 'acme',
        storeId: 'acme-uptown',
        name: 'Expo',
        kind: 'EXPO',
        targetSeconds: 900,
      },
    ]);
    expect(
      demoData.products
        .filter((p) => p.storeId === 'globex-central')
        .map((p) => [p.id, p.priceCents, p.stationId]),
    ).toEqual([
      ['globex-central-burger', 1099, 'globex-central-grill'],
      ['globex-central-fries', 399, 'globex-central-grill'],
      ['globex-central-lemonade', 299, 'globex-central-bar'],
    ]);
    expect(
      demoData.inventoryItems
        .filter((i) => i.storeId === 'acme-downtown')
        .map((i) => [i.id, i.productId, i.quantity, i.lowStockThreshold]),
    ).toEqual([
      ['acme-downtown-burger-stock', 'acme-downtown-burger', 50, 10],
      ['acme-downtown-fries-stock', 'acme-downtown-fries', 100, 20],
      ['acme-downtown-lemonade-stock', 'acme-downtown-lemonade', 40, 8],
    ]);
  });

  it('puts a category on every product and tables 1 to 12 of 2 to 6 seats in every store', () => {
    expect(
      demoData.products.filter((p) => p.storeId === 'acme-downtown').map((p) => [p.name, p.category]),
    ).toEqual([
      ['Burger', 'Mains'],
      ['Fries', 'Sides'],
      ['Lemonade', 'Drinks'],
    ]);
    for (const store of demoData.stores) {
      const tables = demoData.tables.filter((table) => table.storeId === store.id);
      expect(tables.map((table) => table.number)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
      expect(tables.every((table) => table.tenantId === store.tenantId)).toBe(true);
      expect(new Set(tables.map((table) => table.seats))).toEqual(new Set([2, 4, 6]));
    }
    expect(findDemoTable('acme-downtown-12')).toEqual({
      id: 'acme-downtown-12',
      tenantId: 'acme',
      storeId: 'acme-downtown',
      number: 12,
      seats: 6,
    });
    expect(findDemoTable('acme-downtown-13')).toBeUndefined();
  });

  it('has five users per tenant, scoped to the first store except admin and manager', () => {
    expect(demoUsers.map((u) => [u.id, u.roles, u.storeIds, u.stationIds])).toEqual([
      ['acme-admin', ['ADMIN'], ['*'], []],
      ['acme-manager', ['MANAGER'], ['*'], []],
      ['acme-staff', ['STAFF'], ['acme-downtown'], []],
      ['acme-kitchen', ['KITCHEN'], ['acme-downtown'], ['acme-downtown-grill']],
      ['acme-customer', ['CUSTOMER'], ['acme-downtown'], []],
      ['globex-admin', ['ADMIN'], ['*'], []],
      ['globex-manager', ['MANAGER'], ['*'], []],
      ['globex-staff', ['STAFF'], ['globex-central'], []],
      ['globex-kitchen', ['KITCHEN'], ['globex-central'], ['globex-central-grill']],
      ['globex-customer', ['CUSTOMER'], ['globex-central'], []],
    ]);
  });

  it('finds a demo user by id', () => {
    expect(findDemoUser('globex-kitchen')).toMatchObject({
      tenantId: 'globex',
      email: 'globex-kitchen@example.com',
    });
    expect(findDemoUser('nobody')).toBeUndefined();
  });
});

describe('seed', () => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(() => database?.drop());

  const counts = async () => {
    const db = database.handle.db;
    return {
      tenants: await db.tenant.count(),
      stores: await db.store.count(),
      stations: await db.station.count(),
      products: await db.product.count(),
      inventoryItems: await db.inventoryItem.count(),
      tables: await db.diningTable.count(),
      users: await db.user.count(),
    };
  };

  it('creates exactly the demo rows', async () => {
    await seed(database.handle.db);
    const db = database.handle.db;
    expect(ids(await db.tenant.findMany())).toEqual(['acme', 'globex']);
    expect(ids(await db.store.findMany())).toEqual(ids(demoData.stores));
    expect(ids(await db.station.findMany())).toEqual(ids(demoData.stations));
    expect(ids(await db.product.findMany())).toEqual(ids(demoData.products));
    expect(ids(await db.inventoryItem.findMany())).toEqual(ids(demoData.inventoryItems));
    expect(ids(await db.diningTable.findMany())).toEqual(ids(demoData.tables));
    expect(ids(await db.user.findMany())).toEqual(ids(demoData.users));
    expect(await db.user.findUniqueOrThrow({ where: { id: 'acme-kitchen' } })).toMatchObject({
      tenantId: 'acme',
      email: 'acme-kitchen@example.com',
      roles: ['KITCHEN'],
      storeIds: ['acme-downtown'],
      stationIds: ['acme-downtown-grill'],
    });
    expect(await counts()).toEqual(DEMO_COUNTS);
  });

  it('is idempotent and keeps operational state such as stock levels', async () => {
    const db = database.handle.db;
    await db.inventoryItem.update({ where: { id: 'acme-uptown-fries-stock' }, data: { quantity: 7 } });
    await db.user.update({ where: { id: 'acme-staff' }, data: { roles: ['CUSTOMER'] } });
    await db.diningTable.update({
      where: { id: 'acme-uptown-3' },
      data: { status: 'SEATED', partySize: 5, seats: 2 },
    });
    await db.product.update({
      where: { id: 'acme-uptown-fries' },
      data: { available: false, category: 'x' },
    });

    await seed(db);

    expect(await counts()).toEqual(DEMO_COUNTS);
    expect(
      (await db.inventoryItem.findUniqueOrThrow({ where: { id: 'acme-uptown-fries-stock' } })).quantity,
    ).toBe(7);
    expect((await db.user.findUniqueOrThrow({ where: { id: 'acme-staff' } })).roles).toEqual(['STAFF']);
    expect(await db.diningTable.findUniqueOrThrow({ where: { id: 'acme-uptown-3' } })).toMatchObject({
      status: 'SEATED',
      partySize: 5,
      seats: 6,
    });
    expect(await db.product.findUniqueOrThrow({ where: { id: 'acme-uptown-fries' } })).toMatchObject({
      available: false,
      category: 'Sides',
    });
  });

  it('is what the seeded test template contains', async () => {
    const seeded = await createTestDatabase({ seed: true });
    try {
      expect(ids(await seeded.handle.db.user.findMany())).toEqual(ids(demoData.users));
      expect(await seeded.handle.db.inventoryItem.count()).toBe(9);
    } finally {
      await seeded.drop();
    }
  });
});
