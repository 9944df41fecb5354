import type { Db, Tx } from '../db/types';

/** Stock of the tenant's products that have an inventory item; untracked products are absent from the map. */
export async function productAvailability(
  db: Db | Tx,
  tenantId: string,
  productIds: readonly string[],
): Promise<Map<string, { available: boolean; quantity: number }>> {
  if (productIds.length === 0) return new Map();
  const items = await db.inventoryItem.findMany({
    where: { tenantId, productId: { in: [...productIds] } },
    select: { productId: true, quantity: true },
  });
  return new Map(
    items.map((item) => [item.productId, { available: item.quantity > 0, quantity: item.quantity }]),
  );
}
