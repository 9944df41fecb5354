import { Prisma } from '../generated/prisma/client';
import { demoData } from './demo-data';
import type { Db, Tx } from './types';

/**
 * Loads the demo data (src/db/demo-data.ts), idempotently: missing rows are created and existing
 * ones get their descriptive fields back, while operational state (stock quantities, order
 * numbers, session revocations, availability, table status) is left as it is.
 */
export async function seed(db: Db): Promise<void> {
  await db.$transaction(upsertDemoData, { timeout: 30_000, maxWait: 30_000 });
}

async function upsertDemoData(tx: Tx): Promise<void> {
  for (const tenant of demoData.tenants) {
    const { id, ...fields } = tenant;
    await tx.tenant.upsert({ where: { id }, create: tenant, update: fields });
  }
  for (const store of demoData.stores) {
    const { id, ...fields } = store;
    await tx.store.upsert({ where: { id }, create: store, update: fields });
  }
  for (const station of demoData.stations) {
    const { id, ...fields } = station;
    await tx.station.upsert({ where: { id }, create: station, update: fields });
  }
  for (const product of demoData.products) {
    const { id, ...fields } = product;
    await tx.product.upsert({ where: { id }, create: product, update: fields });
  }
  for (const item of demoData.inventoryItems) {
    const { id, quantity: _quantity, ...fields } = item;
    await tx.inventoryItem.upsert({ where: { id }, create: item, update: fields });
  }
  // One statement for every store's tables (an upsert each was 36 round trips).
  const tables = demoData.tables.map(
    (t) => Prisma.sql`(${t.id}, ${t.tenantId}, ${t.storeId}, ${t.number}::int, ${t.seats}::int)`,
  );
  await tx.$executeRaw`
    INSERT INTO "DiningTable" ("id", "tenantId", "storeId", "number", "seats") VALUES ${Prisma.join(tables)}
    ON CONFLICT ("id") DO UPDATE SET "tenantId" = EXCLUDED."tenantId", "storeId" = EXCLUDED."storeId",
      "number" = EXCLUDED."number", "seats" = EXCLUDED."seats"`;
  for (const user of demoData.users) {
    const { id, ...fields } = user;
    await tx.user.upsert({ where: { id }, create: user, update: fields });
  }
}

/** Which demo users (src/db/demo-data.ts) this database holds: all of them once the demo data is loaded. */
export async function loadedDemoUserIds(db: Db): Promise<ReadonlySet<string>> {
  const users = await db.user.findMany({
    where: { id: { in: demoData.users.map((user) => user.id) } },
    select: { id: true },
  });
  return new Set(users.map((user) => user.id));
}
