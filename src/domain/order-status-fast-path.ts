import { randomUUID } from 'node:crypto';
import { canSeeOrder, isStaff } from '../auth/policy';
import type { Principal } from '../auth/principal';
import type { StatementEvent } from '../events/one-statement';
import type { Publisher } from '../events/publisher';
import type { NewEvent } from '../events/types';
import { Prisma } from '../generated/prisma/client';
import type { OrderStatus } from '../generated/prisma/enums';
import { emitOrderEvent, type OrderView } from './order-records';
import { canTransition } from './order-status';
import { goIfAsRead, IF_GO, isoSql, utc, versionSql } from './rows-as-read';

/**
 * updateOrderStatus and recordPayment in two round trips instead of six and nine: a read of the order (its view and a version of its row
 * and items) outside any transaction, then one statement (src/events/one-statement.ts) that moves the order only
 * if neither changed since (the row locked, compared whole), with the STATUS_CHANGED event inside. It covers the
 * moves that change nothing else: ACCEPTED, IN_PROGRESS and READY by staff, of an order not at a table (a table's
 * status follows its orders). COMPLETED (closes tickets), cancelling, a table's order, any refusal, and an order
 * that changed in between take the transaction (orders.ts), which answers exactly as before. recordPayment: see
 * payInOneStatement.
 */

const FAST_MOVES: ReadonlySet<OrderStatus> = new Set(['ACCEPTED', 'IN_PROGRESS', 'READY']);

/** SQL text, for a read, of the view of order `o` as toOrderView makes it (JSON). */
export const orderViewSql = (o: string) => `json_build_object('id', ${o}."id", 'number', ${o}."number",
    'storeId', ${o}."storeId", 'status', ${o}."status", 'channel', ${o}."channel", 'tableNumber', ${o}."tableNumber",
    'tableId', ${o}."tableId", 'seatingId', ${o}."seatingId", 'customerId', ${o}."customerId",
    'priority', ${o}."priority",
    'items', COALESCE((
      SELECT json_agg(json_build_object('id', i."id", 'productId', i."productId", 'ticketId', i."ticketId",
        'name', i."name", 'quantity', i."quantity", 'unitPriceCents', i."unitPriceCents", 'notes', i."notes",
        'status', i."status") ORDER BY i."id")
      FROM "OrderItem" i WHERE i."orderId" = ${o}."id"), '[]'::json),
    'totalCents', ${o}."totalCents", 'paidCents', ${o}."paidCents", 'currency', ${o}."currency",
    'cancelReason', ${o}."cancelReason", 'createdAt', ${isoSql(`${o}."createdAt"`)},
    'updatedAt', ${isoSql(`${o}."updatedAt"`)}, 'readyAt', ${isoSql(`${o}."readyAt"`)},
    'completedAt', ${isoSql(`${o}."completedAt"`)}, 'cancelledAt', ${isoSql(`${o}."cancelledAt"`)})`;

/** The order's view and the versions of its row and items (rows-as-read.ts). */
const READ_ORDER = `
  SELECT ${versionSql('Order', 'id', 'o."id"')} AS "version",
    ${versionSql('OrderItem', 'orderId', 'o."id"')} AS "itemsVersion", ${orderViewSql('o')}::text AS "view"
  FROM "Order" o WHERE o."id" = $1 AND o."tenantId" = $2`;

/** A change of one order the fast path makes: the order after it, and the SET list and extra CTEs that write it. */
interface OrderChange {
  after: OrderView;
  set: Prisma.Sql;
  /** Further writes (each must be conditional on `(SELECT "ok" FROM "go")`), comma-led, or empty. */
  more?: Prisma.Sql;
  /** Emits the change's events from the order as read and after. */
  announce(emit: (event: NewEvent) => void, before: OrderView, after: OrderView): void;
}

/**
 * Reads the order, lets `plan` decide (undefined: take the transaction), then writes the change in one statement
 * if the order's row and items are still as read. The order after the change, or undefined when nothing was written.
 */
async function changeOrderInOneStatement(
  publisher: Publisher,
  principal: Principal,
  orderId: string,
  plan: (order: OrderView, at: string) => OrderChange | undefined,
): Promise<OrderView | undefined> {
  if (!isStaff(principal)) return undefined;
  const [row] = await publisher.read(READ_ORDER, [orderId, principal.tenantId]);
  if (!row) return undefined;
  const order = JSON.parse(String(row.view)) as OrderView;
  if (order.tableId || !canSeeOrder(principal, order)) return undefined;
  const at = new Date().toISOString();
  const change = plan(order, at);
  if (!change) return undefined;
  const events: StatementEvent[] = [];
  change.announce((event) => events.push(event), order, change.after);
  const ctes = Prisma.sql`
    ${goIfAsRead([
      { table: 'Order', column: 'id', value: orderId, version: String(row.version), lock: true },
      { table: 'OrderItem', column: 'orderId', value: orderId, version: String(row.itemsVersion) },
    ])},
    "changed" AS (UPDATE "Order" SET ${change.set} WHERE "id" = ${orderId} AND ${IF_GO})
    ${change.more ?? Prisma.empty}`;
  const outcome = await publisher.runStatement({ ctes, events });
  return outcome.ok ? change.after : undefined;
}

/** updateOrderStatus's fast path: ACCEPTED, IN_PROGRESS, READY (see the top of the file). */
export function moveOrderInOneStatement(
  publisher: Publisher,
  principal: Principal,
  orderId: string,
  to: OrderStatus,
): Promise<OrderView | undefined> {
  if (!FAST_MOVES.has(to)) return Promise.resolve(undefined);
  return changeOrderInOneStatement(publisher, principal, orderId, (order, at) => {
    if (!canTransition(order.status, to)) return undefined;
    const readyAt =
      to === 'READY' ? at : to === 'IN_PROGRESS' && order.status === 'READY' ? null : order.readyAt;
    return {
      after: { ...order, status: to, updatedAt: at, readyAt },
      set: Prisma.sql`"status" = ${to}::"OrderStatus", "updatedAt" = ${utc(at)}, "readyAt" = ${utc(readyAt)}`,
      announce: (emit, before, after) =>
        emitOrderEvent(emit, principal.tenantId, {
          kind: 'STATUS_CHANGED',
          order: after,
          previousStatus: before.status,
          at: new Date(at),
        }),
    };
  });
}

/**
 * recordPayment's fast path: a payment within the balance of an order that is not cancelled and not at a table,
 * the order row (paidCents) and the Payment row in one statement with PAID or UPDATED. Refusals take the transaction.
 */
export function payInOneStatement(
  publisher: Publisher,
  principal: Principal,
  orderId: string,
  amountCents: number,
): Promise<OrderView | undefined> {
  return changeOrderInOneStatement(publisher, principal, orderId, (order, at) => {
    if (order.status === 'CANCELLED' || amountCents > order.totalCents - order.paidCents) return undefined;
    const after = { ...order, paidCents: order.paidCents + amountCents, updatedAt: at };
    return {
      after,
      set: Prisma.sql`"paidCents" = "paidCents" + ${amountCents}::int, "updatedAt" = ${utc(at)}`,
      more: Prisma.sql`, "paid" AS (
        INSERT INTO "Payment" ("id", "tenantId", "orderId", "amountCents", "createdAt")
        SELECT ${randomUUID()}, ${principal.tenantId}, ${orderId}, ${amountCents}::int, ${utc(at)}
        WHERE ${IF_GO})`,
      announce: (emit) =>
        emitOrderEvent(emit, principal.tenantId, {
          kind: after.paidCents === after.totalCents ? 'PAID' : 'UPDATED',
          order: after,
          at: new Date(at),
        }),
    };
  });
}
