import type { Tx } from '../db/types';
import { badInput, type DomainError } from '../errors';
import { type InventoryAlert, type InventoryItem, Prisma } from '../generated/prisma/client';
import type { MovementReason } from '../generated/prisma/enums';
import { INT_COLUMN_MAX } from './column-ranges';
import { evaluateStock, highestSeverity, openAlertKey, severityRank } from './inventory-alerts';
import { alertView, emitInventoryEvent } from './inventory-records';
import { syncAvailabilityWithStock } from './menu-records';
import { type Emit, raiseNotification } from './notification-records';

/**
 * Stock per store: every change is a StockMovement written in the same transaction as the new quantity,
 * alert transitions (inventory-alerts.ts) and the events on the store's inventory topic.
 *
 * Concurrency: each change is one atomic `UPDATE ... SET quantity = quantity + delta`, which locks the item
 * row until commit. Concurrent changes of one item therefore run one after another, and each sees the
 * alerts the previous one committed; the unique openKey is the last line of defence against duplicates.
 */

/** Well below PostgreSQL's int range, so no single change can overflow a quantity by itself. */
export const MAX_CHANGE = 1_000_000;
/** What the quantity column holds: restocks past it are refused, however many there are. */
const MAX_STOCK = INT_COLUMN_MAX;

export interface StockChange {
  itemId: string;
  delta: number;
  /** The argument a refusal names. */
  field?: string;
  reason: MovementReason;
  actorId: string | null;
  orderId?: string;
  transferId?: string;
  note?: string;
}

/**
 * Applies delta to the item (locking its row) and records the movement. A change that would take the
 * quantity below zero throws `refuse(quantityBefore)`, one that would take it past what the column holds a
 * BAD_USER_INPUT naming `change.field`; either rolls back the whole transaction.
 */
export async function changeStock(
  tx: Tx,
  change: StockChange,
  refuse: (item: InventoryItem, quantityBefore: number) => Error,
): Promise<InventoryItem> {
  // Adding only where the result fits: the UPDATE matches no row instead of overflowing in PostgreSQL.
  const ceiling = change.delta > 0 ? { quantity: { lte: MAX_STOCK - change.delta } } : {};
  const item = await tx.inventoryItem
    .update({ where: { id: change.itemId, ...ceiling }, data: { quantity: { increment: change.delta } } })
    .catch(async (error: unknown) => {
      if (!(error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2025')) throw error;
      const full = await tx.inventoryItem.findUnique({ where: { id: change.itemId } });
      if (!full) throw error;
      throw badInput(
        `${full.name} holds ${full.quantity}: adding ${change.delta} would pass the most an item holds, ${MAX_STOCK}`,
        { field: change.field, quantity: full.quantity, max: MAX_STOCK },
      );
    });
  if (item.quantity < 0) throw refuse(item, item.quantity - change.delta);
  await tx.stockMovement.create({
    data: {
      tenantId: item.tenantId,
      storeId: item.storeId,
      inventoryItemId: item.id,
      delta: change.delta,
      quantityAfter: item.quantity,
      reason: change.reason,
      note: change.note ?? null,
      orderId: change.orderId ?? null,
      transferId: change.transferId ?? null,
      actorId: change.actorId,
    },
  });
  return item;
}

/**
 * Raises, dedups and resolves the item's alerts for its new quantity and announces each transition.
 * Returns true when the change resolved open alerts (a RESTOCKED event was emitted).
 */
export async function applyAlertRules(
  tx: Tx,
  emit: Emit,
  item: InventoryItem,
  actorId: string | null,
  preloaded?: InventoryAlert[],
): Promise<boolean> {
  const unresolved =
    preloaded ??
    (await tx.inventoryAlert.findMany({ where: { inventoryItemId: item.id, openKey: { not: null } } }));
  const transition = evaluateStock(
    { quantity: item.quantity, threshold: item.lowStockThreshold },
    new Set(unresolved.map((alert) => alert.kind)),
  );
  if (transition.restocked) await resolveAlerts(tx, emit, item, unresolved);
  for (const { kind, severity } of transition.raise) {
    const openKey = openAlertKey(item.id, kind);
    const { count } = await tx.inventoryAlert.createMany({
      data: [
        {
          tenantId: item.tenantId,
          storeId: item.storeId,
          inventoryItemId: item.id,
          kind,
          severity,
          quantityAtRaise: item.quantity,
          openKey,
        },
      ],
      skipDuplicates: true,
    });
    if (count === 0) continue;
    const alert = alertView(
      await tx.inventoryAlert.findUniqueOrThrow({ where: { openKey } }),
      item.productId,
    );
    emitInventoryEvent(emit, item, kind, severity, alert);
    if (kind === 'OUT_OF_STOCK') await notifyManagersOutOfStock(tx, emit, item, actorId);
  }
  return transition.restocked;
}

async function resolveAlerts(
  tx: Tx,
  emit: Emit,
  item: InventoryItem,
  unresolved: InventoryAlert[],
): Promise<void> {
  const resolvedAt = new Date();
  await tx.inventoryAlert.updateMany({
    where: { id: { in: unresolved.map((alert) => alert.id) } },
    data: { status: 'RESOLVED', openKey: null, resolvedAt },
  });
  const mostSevere = unresolved.reduce((a, b) =>
    severityRank(b.severity) > severityRank(a.severity) ? b : a,
  );
  const closed = alertView({ ...mostSevere, status: 'RESOLVED', openKey: null, resolvedAt }, item.productId);
  emitInventoryEvent(emit, item, 'RESTOCKED', highestSeverity(unresolved.map((a) => a.severity)), closed);
}

async function notifyManagersOutOfStock(tx: Tx, emit: Emit, item: InventoryItem, actorId: string | null) {
  await raiseNotification(tx, emit, {
    tenantId: item.tenantId,
    audience: 'ROLE',
    targetRole: 'MANAGER',
    targetStoreId: item.storeId,
    kind: 'OUT_OF_STOCK',
    severity: 'URGENT',
    title: `${item.name} is out of stock`,
    body: `${item.name} ran out. Restock it or take it off the menu.`,
    data: { inventoryItemId: item.id, productId: item.productId, storeId: item.storeId },
    createdById: actorId ?? undefined,
  });
}

export function requirePositiveInt(value: number, field: string): number {
  if (!Number.isInteger(value) || value < 1 || value > MAX_CHANGE) {
    throw badInput(`${field} must be a whole number from 1 to ${MAX_CHANGE}`, { field });
  }
  return value;
}

export function insufficientStock(item: InventoryItem, left: number, requested: number): DomainError {
  const message = left <= 0 ? `${item.name} is out of stock` : `Only ${left} ${item.name} left`;
  return badInput(message, {
    productId: item.productId,
    itemId: item.id,
    available: Math.max(left, 0),
    requested,
  });
}

/**
 * Takes the stock an order needs (one SALE movement per product), inside the order's transaction.
 * Products without an inventory item are not stock-tracked and are skipped. Insufficient stock throws
 * BAD_USER_INPUT, so the whole order fails and nothing is taken.
 */
export async function consumeStockForOrder(
  tx: Tx,
  emit: Emit,
  args: {
    tenantId: string;
    storeId: string;
    orderId: string;
    actorId: string;
    lines: { productId: string; quantity: number }[];
  },
): Promise<void> {
  const wanted = new Map<string, number>();
  for (const line of args.lines) {
    requirePositiveInt(line.quantity, 'quantity');
    wanted.set(line.productId, (wanted.get(line.productId) ?? 0) + line.quantity);
  }
  if (wanted.size === 0) return;
  const items = await takeStockForSale(tx, { ...args, wanted });
  // The first item (in id order) that went below zero refuses the order, as one change at a time would.
  for (const { item, taken } of items) {
    if (item.quantity < 0) throw insufficientStock(item, item.quantity + taken, taken);
  }
  const open = await tx.inventoryAlert.findMany({
    where: { inventoryItemId: { in: items.map(({ item }) => item.id) }, openKey: { not: null } },
  });
  for (const { item, taken } of items) {
    const unresolved = open.filter((alert) => alert.inventoryItemId === item.id);
    await applyAlertRules(tx, emit, item, args.actorId, unresolved);
    await syncAvailabilityWithStock(tx, emit, item, item.quantity + taken);
  }
}

/**
 * One statement for what changeStock does per item (lock, decrement, SALE movement): an order's stock
 * used to cost three round trips per product. Rows are locked in id order, as consecutive changes did.
 */
async function takeStockForSale(
  tx: Tx,
  args: { tenantId: string; storeId: string; orderId: string; actorId: string; wanted: Map<string, number> },
): Promise<{ item: InventoryItem; taken: number }[]> {
  const wanted = [...args.wanted].map(
    ([productId, quantity]) => Prisma.sql`(${productId}, ${quantity}::int)`,
  );
  const at = Prisma.sql`(${new Date().toISOString()}::timestamptz AT TIME ZONE 'UTC')`;
  const rows = await tx.$queryRaw<Array<InventoryItem & { taken: number }>>`
    WITH "wanted" ("productId", "taken") AS (VALUES ${Prisma.join(wanted)}),
    "locked" AS MATERIALIZED (
      SELECT i."id", w."taken" FROM "InventoryItem" i JOIN "wanted" w ON w."productId" = i."productId"
      WHERE i."tenantId" = ${args.tenantId} AND i."storeId" = ${args.storeId}
      ORDER BY i."id" FOR UPDATE OF i
    ),
    "updated" AS (
      UPDATE "InventoryItem" i SET "quantity" = i."quantity" - l."taken", "updatedAt" = ${at}
      FROM "locked" l WHERE i."id" = l."id"
      RETURNING i."id", i."tenantId", i."storeId", i."productId", i."name", i."quantity",
        i."lowStockThreshold", i."updatedAt", l."taken"
    ),
    "movements" AS (
      INSERT INTO "StockMovement" ("id", "tenantId", "storeId", "inventoryItemId", "delta", "quantityAfter",
        "reason", "orderId", "actorId", "createdAt")
      SELECT gen_random_uuid()::text, u."tenantId", u."storeId", u."id", -u."taken", u."quantity",
        'SALE'::"MovementReason", ${args.orderId}, ${args.actorId}, ${at}
      FROM "updated" u
    )
    SELECT * FROM "updated" ORDER BY "id"`;
  return rows.map(({ taken, ...item }) => ({ item, taken }));
}

/** Gives back what a cancelled order's SALE movements took (SALE_REVERSAL); a second call changes nothing. */
export async function releaseStockForOrder(
  tx: Tx,
  emit: Emit,
  args: { tenantId: string; storeId: string; orderId: string; actorId: string },
): Promise<void> {
  const net = await tx.stockMovement.groupBy({
    by: ['inventoryItemId'],
    where: {
      tenantId: args.tenantId,
      storeId: args.storeId,
      orderId: args.orderId,
      reason: { in: ['SALE', 'SALE_REVERSAL'] },
    },
    _sum: { delta: true },
    orderBy: { inventoryItemId: 'asc' },
  });
  for (const row of net) {
    const taken = -(row._sum.delta ?? 0);
    if (taken <= 0) continue;
    const item = await changeStock(
      tx,
      {
        itemId: row.inventoryItemId,
        delta: taken,
        reason: 'SALE_REVERSAL',
        orderId: args.orderId,
        actorId: args.actorId,
      },
      () => new Error('unreachable: a reversal adds stock'),
    );
    await applyAlertRules(tx, emit, item, args.actorId);
    await syncAvailabilityWithStock(tx, emit, item, item.quantity - taken);
  }
}
