import { canSeeOrder, isStaff } from '../auth/policy';
import type { Principal } from '../auth/principal';
import type { StatementEvent } from '../events/one-statement';
import type { Publisher } from '../events/publisher';
import type { NewEvent } from '../events/types';
import { Prisma } from '../generated/prisma/client';
import type { OrderStatus } from '../generated/prisma/enums';
import { emitOrderEvent, type OrderView } from './order-records';
import { canTransition } from './order-status';

/**
 * updateOrderStatus in two round trips instead of six: a read of the order (its view and a version of its row
 * and items) outside any transaction, then one statement (src/events/one-statement.ts) that moves the order only
 * if neither changed since (the row locked, compared whole), with the STATUS_CHANGED event inside. It covers the
 * moves that change nothing else: ACCEPTED, IN_PROGRESS and READY by staff, of an order not at a table (a table's
 * status follows its orders). COMPLETED (closes tickets), cancelling, a table's order, any refusal, and an order
 * that changed in between take the transaction (orders.ts), which answers exactly as before.
 */

const FAST_MOVES: ReadonlySet<OrderStatus> = new Set(['ACCEPTED', 'IN_PROGRESS', 'READY']);

const iso = (column: string) => `to_char(${column}, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/** The order's view (as toOrderView makes it) and the versions of its row and items, as text. */
const READ_ORDER = `
  SELECT o::text AS "version",
    (SELECT COALESCE(string_agg(i::text, ',' ORDER BY i."id"), '') FROM "OrderItem" i WHERE i."orderId" = o."id")
      AS "itemsVersion",
    json_build_object('id', o."id", 'number', o."number", 'storeId', o."storeId", 'status', o."status",
      'channel', o."channel", 'tableNumber', o."tableNumber", 'tableId', o."tableId", 'seatingId', o."seatingId",
      'customerId', o."customerId", 'priority', o."priority",
      'items', COALESCE((
        SELECT json_agg(json_build_object('id', i."id", 'productId', i."productId", 'ticketId', i."ticketId",
          'name', i."name", 'quantity', i."quantity", 'unitPriceCents', i."unitPriceCents", 'notes', i."notes",
          'status', i."status") ORDER BY i."id")
        FROM "OrderItem" i WHERE i."orderId" = o."id"), '[]'::json),
      'totalCents', o."totalCents", 'paidCents', o."paidCents", 'currency', o."currency",
      'cancelReason', o."cancelReason", 'createdAt', ${iso('o."createdAt"')}, 'updatedAt', ${iso('o."updatedAt"')},
      'readyAt', ${iso('o."readyAt"')}, 'completedAt', ${iso('o."completedAt"')},
      'cancelledAt', ${iso('o."cancelledAt"')})::text AS "view"
  FROM "Order" o WHERE o."id" = $1 AND o."tenantId" = $2`;

/** The moved order, or undefined: not a fast move, a refusal to explain, or the order changed (nothing written). */
export async function moveOrderInOneStatement(
  publisher: Publisher,
  principal: Principal,
  orderId: string,
  to: OrderStatus,
): Promise<OrderView | undefined> {
  if (!FAST_MOVES.has(to) || !isStaff(principal)) return undefined;
  const [row] = await publisher.read(READ_ORDER, [orderId, principal.tenantId]);
  if (!row) return undefined;
  const order = JSON.parse(String(row.view)) as OrderView;
  if (order.tableId || !canSeeOrder(principal, order) || !canTransition(order.status, to)) return undefined;
  const now = new Date();
  const at = now.toISOString();
  const moved: OrderView = {
    ...order,
    status: to,
    updatedAt: at,
    readyAt: to === 'READY' ? at : to === 'IN_PROGRESS' && order.status === 'READY' ? null : order.readyAt,
  };
  const events: StatementEvent[] = [];
  const emit = (event: NewEvent) => events.push(event);
  emitOrderEvent(emit, principal.tenantId, {
    kind: 'STATUS_CHANGED',
    order: moved,
    previousStatus: order.status,
    at: now,
  });
  const stamp = Prisma.sql`(${at}::timestamptz AT TIME ZONE 'UTC')`;
  const ctes = Prisma.sql`
    "cur" AS MATERIALIZED (
      SELECT o."id" FROM "Order" o WHERE o."id" = ${orderId} AND o::text = ${row.version} FOR UPDATE),
    "go" AS MATERIALIZED (
      SELECT EXISTS (SELECT 1 FROM "cur")
        AND (SELECT COALESCE(string_agg(i::text, ',' ORDER BY i."id"), '') FROM "OrderItem" i
             WHERE i."orderId" = ${orderId}) = ${row.itemsVersion} AS "ok",
        NULL::jsonb AS "patch"),
    "moved" AS (
      UPDATE "Order" SET "status" = ${to}::"OrderStatus", "updatedAt" = ${stamp},
        "readyAt" = ${moved.readyAt}::timestamptz AT TIME ZONE 'UTC'
      WHERE "id" = ${orderId} AND (SELECT "ok" FROM "go"))`;
  const outcome = await publisher.runStatement({ ctes, events });
  return outcome.ok ? moved : undefined;
}
