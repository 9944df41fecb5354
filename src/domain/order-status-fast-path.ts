import { randomUUID } from 'node:crypto';
import { canSeeOrder, isStaff } from '../auth/policy';
import type { Principal } from '../auth/principal';
import type { StatementEvent } from '../events/one-statement';
import type { Publisher } from '../events/publisher';
import type { NewEvent } from '../events/types';
import { Prisma } from '../generated/prisma/client';
import type { OrderStatus } from '../generated/prisma/enums';
import { emitKdsEvent, emitOrderEvent, type KdsTicketView, type OrderView } from './order-records';
import { canTransition } from './order-status';
import { goIfAsRead, IF_GO, type RowsAsRead, utc, versionSql } from './rows-as-read';
import { orderViewSql, ticketViewSql } from './view-sql';

/**
 * updateOrderStatus and recordPayment in two round trips instead of six and nine: a read of the order (its view and
 * the versions of its row and items, rows-as-read.ts) outside any transaction, then one statement
 * (src/events/one-statement.ts) that moves the order only if neither changed since (the row locked, compared whole),
 * with the STATUS_CHANGED event inside. It covers ACCEPTED, IN_PROGRESS, READY and COMPLETED (which also takes the
 * order's open tickets off the kitchen displays, as closeOpenTickets) by staff, of an order not at a table (a
 * table's status follows its orders). Cancelling (stock, a notification), a table's order, any refusal, and an
 * order that changed in between take the transaction (orders.ts), which answers exactly as before. recordPayment:
 * see payInOneStatement.
 */

const FAST_MOVES: ReadonlySet<OrderStatus> = new Set(['ACCEPTED', 'IN_PROGRESS', 'READY', 'COMPLETED']);

/** The order's view and the versions of its row and items (rows-as-read.ts). */
const READ_ORDER = `
  SELECT ${versionSql('Order', 'id', 'o."id"')} AS "version",
    ${versionSql('OrderItem', 'orderId', 'o."id"')} AS "itemsVersion", ${orderViewSql('o')}::text AS "view"
  FROM "Order" o WHERE o."id" = $1 AND o."tenantId" = $2`;

/** READ_ORDER and the order's tickets' version, with the views of those not bumped yet (a move that closes them). */
const READ_ORDER_AND_TICKETS = READ_ORDER.replace(
  ' AS "view"',
  ` AS "view", ${versionSql('KdsTicket', 'orderId', 'o."id"')} AS "ticketsVersion",
    (SELECT COALESCE(json_agg(${ticketViewSql} ORDER BY k."id"), '[]'::json)
      FROM "KdsTicket" k JOIN "Station" s ON s."id" = k."stationId"
      WHERE k."orderId" = o."id" AND k."status" <> 'BUMPED')::text AS "openTickets"`,
);

/** A change of one order the fast path makes: the order after it, and the SET list and extra CTEs that write it. */
interface OrderChange {
  after: OrderView;
  set: Prisma.Sql;
  /** Further writes (each must be conditional on `(SELECT "ok" FROM "go")`), comma-led, or empty. */
  more?: Prisma.Sql;
  /** Further rows the change relies on (rows-as-read.ts), after the order and its items. */
  asRead?: RowsAsRead[];
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
  plan: (order: OrderView, at: string, read: Record<string, unknown>) => OrderChange | undefined,
  withTickets = false,
): Promise<OrderView | undefined> {
  if (!isStaff(principal)) return undefined;
  const sql = withTickets ? READ_ORDER_AND_TICKETS : READ_ORDER;
  const [row] = await publisher.read(sql, [orderId, principal.tenantId]);
  if (!row) return undefined;
  const order = JSON.parse(String(row.view)) as OrderView;
  if (order.tableId || !canSeeOrder(principal, order)) return undefined;
  const at = new Date().toISOString();
  const change = plan(order, at, row);
  if (!change) return undefined;
  const events: StatementEvent[] = [];
  change.announce((event) => events.push(event), order, change.after);
  const ctes = Prisma.sql`
    ${goIfAsRead([
      { table: 'Order', column: 'id', value: orderId, version: String(row.version), lock: true },
      { table: 'OrderItem', column: 'orderId', value: orderId, version: String(row.itemsVersion) },
      ...(change.asRead ?? []),
    ])},
    "changed" AS (UPDATE "Order" SET ${change.set} WHERE "id" = ${orderId} AND ${IF_GO})
    ${change.more ?? Prisma.empty}`;
  const outcome = await publisher.runStatement({ ctes, events });
  return outcome.ok ? change.after : undefined;
}

/** updateOrderStatus's fast path (see the top of the file). */
export function moveOrderInOneStatement(
  publisher: Publisher,
  principal: Principal,
  orderId: string,
  to: OrderStatus,
): Promise<OrderView | undefined> {
  if (!FAST_MOVES.has(to)) return Promise.resolve(undefined);
  const completes = to === 'COMPLETED';
  const plan = (order: OrderView, at: string, read: Record<string, unknown>): OrderChange | undefined => {
    if (!canTransition(order.status, to)) return undefined;
    const readyAt =
      to === 'READY' ? at : to === 'IN_PROGRESS' && order.status === 'READY' ? null : order.readyAt;
    const completedAt = completes ? at : order.completedAt;
    const when = new Date(at);
    // COMPLETED takes the open tickets off the displays, as closeOpenTickets (BUMPED, in id order).
    const closed = completes
      ? (JSON.parse(String(read.openTickets)) as KdsTicketView[]).map(
          (ticket): KdsTicketView => ({ ...ticket, status: 'BUMPED', bumpedAt: at }),
        )
      : [];
    return {
      after: { ...order, status: to, updatedAt: at, readyAt, completedAt },
      set: Prisma.sql`"status" = ${to}::"OrderStatus", "updatedAt" = ${utc(at)}, "readyAt" = ${utc(readyAt)},
        "completedAt" = ${utc(completedAt)}`,
      asRead: completes
        ? [
            {
              table: 'KdsTicket',
              column: 'orderId',
              value: orderId,
              version: String(read.ticketsVersion),
              lock: true,
            },
          ]
        : [],
      more: completes
        ? Prisma.sql`, "closed" AS (
            UPDATE "KdsTicket" SET "status" = 'BUMPED', "bumpedAt" = ${utc(at)}
            WHERE "orderId" = ${orderId} AND "status" <> 'BUMPED' AND ${IF_GO})`
        : Prisma.empty,
      announce: (emit, before, after) => {
        const tenantId = principal.tenantId;
        const previousStatus = before.status;
        emitOrderEvent(emit, tenantId, { kind: 'STATUS_CHANGED', order: after, previousStatus, at: when });
        if (!completes) return;
        emitOrderEvent(emit, tenantId, { kind: 'COMPLETED', order: after, previousStatus, at: when });
        for (const ticket of closed) emitKdsEvent(emit, tenantId, { kind: 'BUMPED', ticket, at: when });
      },
    };
  };
  return changeOrderInOneStatement(publisher, principal, orderId, plan, completes);
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
