import { randomUUID } from 'node:crypto';
import { canAccessStore } from '../auth/policy';
import type { Principal } from '../auth/principal';
import type { StatementEvent } from '../events/one-statement';
import type { Publisher } from '../events/publisher';
import type { InventoryItem } from '../generated/prisma/client';
import { Prisma } from '../generated/prisma/client';
import { INT_COLUMN_MAX } from './column-ranges';
import { emitInventoryEvent, type InventoryItemView, itemView } from './inventory-records';
import { goIfAsRead, IF_GO, utc, versionSql } from './rows-as-read';

/**
 * adjustInventory in two round trips instead of seven (docs/architecture.md, "Hot mutations in one statement"):
 * a read of the item, then one statement that changes its quantity, writes the ADJUSTMENT movement and the
 * ADJUSTMENT event if the item's row is still as read (rows-as-read.ts). It covers the change that raises,
 * resolves and re-stocks nothing: no unresolved alert, stock above zero before and above the alert threshold
 * after. A change that crosses the threshold or zero (alerts, the menu's availability), a refusal (more than in
 * stock, past what the column holds, another store's item), and an item that changed in between take the
 * transaction (inventory.ts), which answers as before.
 */

const READ_ITEM = `
  SELECT i."id", i."tenantId", i."storeId", i."productId", i."name", i."quantity", i."lowStockThreshold",
    ${versionSql('InventoryItem', 'id', 'i."id"')} AS "version",
    EXISTS (SELECT 1 FROM "InventoryAlert" a WHERE a."inventoryItemId" = i."id" AND a."openKey" IS NOT NULL)
      AS "alerted"
  FROM "InventoryItem" i WHERE i."id" = $1 AND i."tenantId" = $2`;

type ItemAsRead = Omit<InventoryItem, 'updatedAt'> & { version: string; alerted: boolean };

/** The item after the adjustment, or undefined: not one the statement can say, or it changed (nothing written). */
export async function adjustInOneStatement(
  publisher: Publisher,
  principal: Principal,
  change: { itemId: string; delta: number; note: string },
): Promise<InventoryItemView | undefined> {
  const [row] = (await publisher.read(READ_ITEM, [change.itemId, principal.tenantId])) as ItemAsRead[];
  if (!row || row.alerted || !canAccessStore(principal, row.storeId)) return undefined;
  const { version, alerted: _, ...read } = row;
  const quantity = read.quantity + change.delta;
  if (read.quantity <= 0 || quantity <= Math.max(read.lowStockThreshold, 0) || quantity > INT_COLUMN_MAX)
    return undefined;
  const at = new Date();
  const item: InventoryItem = { ...read, quantity, updatedAt: at };
  const events: StatementEvent[] = [];
  emitInventoryEvent((event) => events.push(event), item, 'ADJUSTMENT', 'LOW');
  const id = read.id;
  const when = utc(at.toISOString());
  const ctes = Prisma.sql`
    ${goIfAsRead(
      [{ table: 'InventoryItem', column: 'id', value: id, version, lock: true }],
      // Alerts change only under the item's lock, taken above.
      [
        Prisma.sql`NOT EXISTS (SELECT 1 FROM "InventoryAlert" a
          WHERE a."inventoryItemId" = ${id} AND a."openKey" IS NOT NULL)`,
      ],
    )},
    "stock" AS (
      UPDATE "InventoryItem" SET "quantity" = ${quantity}::int, "updatedAt" = ${when} WHERE "id" = ${id} AND ${IF_GO}),
    "movement" AS (
      INSERT INTO "StockMovement" ("id", "tenantId", "storeId", "inventoryItemId", "delta", "quantityAfter",
        "reason", "note", "actorId", "createdAt")
      SELECT ${randomUUID()}, ${read.tenantId}, ${read.storeId}, ${id}, ${change.delta}::int, ${quantity}::int,
        'ADJUSTMENT'::"MovementReason", ${change.note}, ${principal.userId}, ${when}
      WHERE ${IF_GO})`;
  const outcome = await publisher.runStatement({ ctes, events });
  return outcome.ok ? itemView(item) : undefined;
}
