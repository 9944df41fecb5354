import type { Tx } from '../db/types';
import { notFound } from '../errors';
import { topics } from '../events/topics';
import type { Prisma } from '../generated/prisma/client';
import type { Emit } from './order-records';

/**
 * The shape a product takes in query results and menu events (the same JSON in both), and the two ways a
 * product's availability changes besides a person: its stock running out and coming back.
 */

export const MENU_EVENT_KINDS = [
  'PRODUCT_CREATED',
  'PRODUCT_UPDATED',
  'PRICE_CHANGED',
  'AVAILABILITY_CHANGED',
  'PRODUCT_ARCHIVED',
] as const;
export type MenuEventKind = (typeof MENU_EVENT_KINDS)[number];

/** The reason a product carries while its stock is exhausted. */
export const SOLD_OUT_REASON = 'Out of stock';

export interface ProductView {
  id: string;
  storeId: string;
  stationId: string;
  name: string;
  priceCents: number;
  category: string | null;
  description: string | null;
  /** False: archived (off the menu, kept for history). */
  active: boolean;
  /** Orderable right now: not 86'd by hand, and stock left when stock is tracked. */
  available: boolean;
  unavailableReason: string | null;
  /** Unavailable because the stock ran out: a restock brings it back. */
  soldOut: boolean;
  stockQuantity: number | null;
  updatedAt: string;
}

export interface MenuEventPayload {
  kind: MenuEventKind;
  product: ProductView;
  /** Set when the event changed the price. */
  previousPriceCents: number | null;
  occurredAt: string;
}

export const productInclude = {
  inventoryItem: { select: { quantity: true } },
} satisfies Prisma.ProductInclude;
export type ProductRow = Prisma.ProductGetPayload<{ include: typeof productInclude }>;

export function toProductView(row: ProductRow): ProductView {
  const stock = row.inventoryItem?.quantity ?? null;
  // Stock is checked too: a quantity set to zero outside the domain (a manual fix in the database) still reads sold out.
  const soldOut = row.soldOut || (row.available && stock !== null && stock <= 0);
  return {
    id: row.id,
    storeId: row.storeId,
    stationId: row.stationId,
    name: row.name,
    priceCents: row.priceCents,
    category: row.category,
    description: row.description,
    active: row.active,
    available: row.available && !soldOut,
    unavailableReason: row.unavailableReason ?? (soldOut ? SOLD_OUT_REASON : null),
    soldOut,
    stockQuantity: stock,
    updatedAt: row.updatedAt.toISOString(),
  };
}

export async function loadProductView(tx: Tx, tenantId: string, productId: string): Promise<ProductView> {
  const row = await tx.product.findFirst({ where: { id: productId, tenantId }, include: productInclude });
  if (!row) throw notFound('Product', productId);
  return toProductView(row);
}

export function emitMenuEvent(
  emit: Emit,
  tenantId: string,
  event: { kind: MenuEventKind; product: ProductView; previousPriceCents?: number | null; at: Date },
): void {
  const payload: MenuEventPayload = {
    kind: event.kind,
    product: event.product,
    previousPriceCents: event.previousPriceCents ?? null,
    occurredAt: event.at.toISOString(),
  };
  emit({
    tenantId,
    topic: topics.storeMenu(tenantId, event.product.storeId),
    kind: `menu.${event.kind}`,
    payload,
  });
}

/**
 * The automatic 86: a stock change that empties a product's stock makes it unavailable (sold out), one that
 * refills it makes a sold-out product available again. A product 86'd by hand stays so either way. Runs in
 * the stock change's transaction, after the item's row was locked, so concurrent changes apply one by one.
 */
export async function syncAvailabilityWithStock(
  tx: Tx,
  emit: Emit,
  item: { tenantId: string; productId: string; quantity: number },
  quantityBefore: number,
): Promise<void> {
  const emptied = quantityBefore > 0 && item.quantity <= 0;
  const refilled = quantityBefore <= 0 && item.quantity > 0;
  if (!emptied && !refilled) return;
  // Wait for a change by hand in flight (it holds the product's row): without the lock, a sale emptying the stock
  // skipped a product being brought back by hand (its committed row still said 86'd), and the product came back
  // available with no stock and no event saying otherwise. Stock is locked first on both paths of a stock change.
  await tx.$queryRaw`
    SELECT "id" FROM "Product" WHERE "id" = ${item.productId} AND "tenantId" = ${item.tenantId} FOR UPDATE`;
  const at = new Date();
  const { count } = await tx.product.updateMany({
    where: emptied
      ? { id: item.productId, tenantId: item.tenantId, available: true }
      : { id: item.productId, tenantId: item.tenantId, soldOut: true },
    data: emptied
      ? { available: false, soldOut: true, unavailableReason: SOLD_OUT_REASON, updatedAt: at }
      : { available: true, soldOut: false, unavailableReason: null, updatedAt: at },
  });
  const product = await loadProductView(tx, item.tenantId, item.productId);
  // A product whose stock was emptied outside the domain was read as sold out without the flag: its refill is news too.
  if (count === 0 && !(refilled && product.available)) return;
  emitMenuEvent(emit, item.tenantId, { kind: 'AVAILABILITY_CHANGED', product, at });
}
