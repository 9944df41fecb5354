import { canAccessStore } from '../auth/policy';
import type { Principal } from '../auth/principal';
import type { StatementEvent } from '../events/one-statement';
import type { Publisher } from '../events/publisher';
import type { NewEvent } from '../events/types';
import { Prisma } from '../generated/prisma/client';
import {
  type CreateOrderInput,
  draftOrder,
  type OrderableProduct,
  sumByProduct,
  type ValidLine,
} from './order-placement';
import { emitKdsEvent, emitOrderEvent, isRush, type OrderView } from './order-records';
import type { StoreView } from './stores';

/**
 * createOrder in one statement (src/events/one-statement.ts), for the common order: no table, no customer to
 * look up, products the service has placed before, stock that stays above every alert threshold. Everything else,
 * and every refusal, goes the transaction's way (orders.ts), which is also what fills the cache below.
 *
 * What the statement knows without reading first comes from that cache: the store's currency and the products'
 * names, prices and stations. The cache needs no invalidation to be correct: the statement checks each value it
 * relied on against the rows (and the stock against alert thresholds and open alerts, on the locked rows), and
 * changes nothing when one differs; the service then forgets those entries and places the order the slow way.
 */

const MAX_CACHED_PRODUCTS = 50_000;

export class PlacementCache {
  private readonly stores = new Map<string, StoreView>();
  private readonly products = new Map<string, OrderableProduct>();

  rememberStore(tenantId: string, store: StoreView) {
    this.stores.set(`${tenantId}:${store.id}`, store);
  }

  rememberProducts(tenantId: string, storeId: string, products: Map<string, OrderableProduct>) {
    if (this.products.size + products.size > MAX_CACHED_PRODUCTS) this.products.clear();
    for (const product of products.values())
      this.products.set(`${tenantId}:${storeId}:${product.id}`, product);
  }

  forget(tenantId: string, storeId: string, productIds: Iterable<string>) {
    this.stores.delete(`${tenantId}:${storeId}`);
    for (const id of productIds) this.products.delete(`${tenantId}:${storeId}:${id}`);
  }

  lookup(tenantId: string, storeId: string, lines: readonly ValidLine[]) {
    const store = this.stores.get(`${tenantId}:${storeId}`);
    if (!store) return undefined;
    const products = new Map<string, OrderableProduct>();
    for (const { productId } of lines) {
      const product = this.products.get(`${tenantId}:${storeId}:${productId}`);
      if (!product) return undefined;
      products.set(productId, product);
    }
    return { store, products };
  }
}

/** The order placed in one statement, or undefined: not a fast-path order, or something changed (nothing written). */
export async function placeOrderInOneStatement(
  publisher: Publisher,
  cache: PlacementCache,
  args: { principal: Principal; input: CreateOrderInput; lines: ValidLine[]; customerId: string | null },
): Promise<OrderView | undefined> {
  const { principal, input, lines, customerId } = args;
  const tenantId = principal.tenantId;
  if (input.channel === 'TABLE' || !canAccessStore(principal, input.storeId)) return undefined;
  const cached = cache.lookup(tenantId, input.storeId, lines);
  if (!cached) return undefined;
  const { store, products } = cached;
  const now = new Date();
  const { order, tickets } = draftOrder({
    tenantId,
    store,
    number: 0, // the statement's: patched into the events and the views below
    input,
    customerId,
    table: null,
    lines,
    products,
    now,
  });
  const events: StatementEvent[] = [];
  const emit = (event: NewEvent) =>
    events.push({
      ...event,
      patch: event.kind.startsWith('order.') ? ['order', 'number'] : ['ticket', 'orderNumber'],
    });
  emitOrderEvent(emit, tenantId, { kind: 'CREATED', order, at: now });
  for (const ticket of tickets) {
    const alert = isRush(ticket.priority) ? 'RUSH' : 'NEW_TICKET';
    emitKdsEvent(emit, tenantId, { kind: 'ORDER_INCOMING', ticket, alert, at: now });
  }
  const outcome = await publisher.runStatement({
    ctes: placementCtes(order, principal.userId, tenantId, products),
    events,
  });
  if (!outcome.ok) {
    cache.forget(tenantId, store.id, products.keys());
    return undefined;
  }
  const number = outcome.patch as number;
  order.number = number;
  for (const ticket of tickets) ticket.orderNumber = number;
  return order;
}

/**
 * The store's row locked (its next number), the stock rows locked in id order (as takeStockForSale), the cached
 * values checked ("go"), then the writes of orders.ts's transaction, each only if "go" says ok.
 */
function placementCtes(
  order: OrderView,
  actorId: string,
  tenantId: string,
  products: Map<string, OrderableProduct>,
): Prisma.Sql {
  const storeId = order.storeId;
  const ok = Prisma.sql`(SELECT "ok" FROM "go")`;
  const at = Prisma.sql`(${order.createdAt}::timestamptz AT TIME ZONE 'UTC')`;
  const wanted = sumByProduct(order.items.map((item) => ({ ...item, notes: null }))).map(
    (line) => Prisma.sql`(${line.productId}, ${line.quantity}::int)`,
  );
  const expected = [...products.values()].map(
    (p) =>
      Prisma.sql`(${p.id}, ${p.name}, ${p.priceCents}::int, ${p.stationId}, ${p.stationKind}, ${p.targetSeconds}::int)`,
  );
  const ticketRows = new Map<string, Prisma.Sql>();
  for (const item of order.items) {
    const product = products.get(item.productId) as OrderableProduct;
    ticketRows.set(
      item.ticketId as string,
      Prisma.sql`(${item.ticketId}, ${tenantId}, ${storeId}, ${product.stationId}, ${order.id}, 'OPEN'::"TicketStatus", ${order.priority}::"Severity", ${at})`,
    );
  }
  const itemRows = order.items.map(
    (item) =>
      Prisma.sql`(${item.id}, ${tenantId}, ${order.id}, ${item.productId}, ${item.ticketId}, ${item.name}, ${item.quantity}::int, ${item.unitPriceCents}::int, ${item.notes}, 'PENDING'::"ItemStatus")`,
  );
  return Prisma.sql`
    "store" AS MATERIALIZED (
      SELECT "nextOrderNumber" AS "number" FROM "Store"
      WHERE "id" = ${storeId} AND "tenantId" = ${tenantId} AND "currency" = ${order.currency} FOR UPDATE),
    "wanted" ("productId", "taken") AS (VALUES ${Prisma.join(wanted)}),
    "locked" AS MATERIALIZED (
      SELECT i."id", i."quantity", i."lowStockThreshold", w."taken",
        EXISTS (SELECT 1 FROM "InventoryAlert" a WHERE a."inventoryItemId" = i."id" AND a."openKey" IS NOT NULL)
          AS "alerted"
      FROM "InventoryItem" i JOIN "wanted" w ON w."productId" = i."productId"
      WHERE i."tenantId" = ${tenantId} AND i."storeId" = ${storeId} AND EXISTS (SELECT 1 FROM "store")
      ORDER BY i."id" FOR UPDATE OF i),
    "expected" ("id", "name", "priceCents", "stationId", "stationKind", "targetSeconds") AS (
      VALUES ${Prisma.join(expected)}),
    "go" AS MATERIALIZED (
      SELECT "ok", CASE WHEN "ok" THEN to_jsonb((SELECT "number" FROM "store")) END AS "patch" FROM (
        SELECT EXISTS (SELECT 1 FROM "store")
          AND (SELECT count(*) FROM "Product" p JOIN "Station" s ON s."id" = p."stationId"
               JOIN "expected" e ON e."id" = p."id"
               WHERE p."tenantId" = ${tenantId} AND p."storeId" = ${storeId} AND p."name" = e."name"
                 AND p."priceCents" = e."priceCents" AND p."stationId" = e."stationId" AND p."active"
                 AND p."available" AND NOT p."soldOut" AND s."kind"::text = e."stationKind"
                 AND s."targetSeconds" = e."targetSeconds") = ${products.size}
          -- No alert to raise or resolve and no availability to change: the stock stays above its threshold.
          AND NOT EXISTS (SELECT 1 FROM "locked"
               WHERE "alerted" OR "quantity" - "taken" <= GREATEST("lowStockThreshold", 0)) AS "ok") AS c),
    "numbered" AS (
      UPDATE "Store" SET "nextOrderNumber" = "nextOrderNumber" + 1 WHERE "id" = ${storeId} AND ${ok}),
    "order" AS (
      INSERT INTO "Order" ("id", "tenantId", "storeId", "number", "status", "channel", "tableNumber", "tableId",
        "seatingId", "customerId", "priority", "totalCents", "paidCents", "currency", "createdAt", "updatedAt")
      SELECT ${order.id}, ${tenantId}, ${storeId}, "number", 'PENDING'::"OrderStatus",
        ${order.channel}::"OrderChannel", ${order.tableNumber}::int, NULL, NULL, ${order.customerId},
        ${order.priority}::"Severity", ${order.totalCents}::int, 0, ${order.currency}, ${at}, ${at}
      FROM "store" WHERE ${ok}),
    "tickets" AS (
      INSERT INTO "KdsTicket" ("id", "tenantId", "storeId", "stationId", "orderId", "status", "priority", "firedAt")
      SELECT * FROM (VALUES ${Prisma.join([...ticketRows.values()])}) AS v WHERE ${ok}),
    "items" AS (
      INSERT INTO "OrderItem" ("id", "tenantId", "orderId", "productId", "ticketId", "name", "quantity",
        "unitPriceCents", "notes", "status")
      SELECT * FROM (VALUES ${Prisma.join(itemRows)}) AS v WHERE ${ok}),
    "stock" AS (
      UPDATE "InventoryItem" i SET "quantity" = i."quantity" - l."taken", "updatedAt" = ${at}
      FROM "locked" l WHERE i."id" = l."id" AND ${ok}
      RETURNING i."id", i."tenantId", i."storeId", i."quantity", l."taken"),
    "movements" AS (
      INSERT INTO "StockMovement" ("id", "tenantId", "storeId", "inventoryItemId", "delta", "quantityAfter",
        "reason", "orderId", "actorId", "createdAt")
      SELECT gen_random_uuid()::text, u."tenantId", u."storeId", u."id", -u."taken", u."quantity",
        'SALE'::"MovementReason", ${order.id}, ${actorId}, ${at}
      FROM "stock" u)`;
}
