import { canWatchStation } from '../auth/policy';
import type { Principal } from '../auth/principal';
import type { StatementEvent } from '../events/one-statement';
import type { Publisher } from '../events/publisher';
import type { NewEvent } from '../events/types';
import { Prisma } from '../generated/prisma/client';
import { announceNotification, draftNotification, type RaiseNotificationInput } from './notification-records';
import { emitKdsEvent, emitOrderEvent, type KdsTicketView, type OrderView } from './order-records';
import { isTerminal, kitchenBumpMovesOrder, kitchenStartMovesOrder } from './order-status';
import { goIfAsRead, IF_GO, type RowsAsRead, utc, versionSql } from './rows-as-read';
import { orderViewSql, ticketViewSql } from './view-sql';

/**
 * markItemReady and bumpTicket in two round trips instead of sixteen and twelve (docs/architecture.md, "Hot
 * mutations in one statement"): a read of the ticket, its order and the versions of the rows the kitchen's
 * transaction relies on, then one statement that writes the item, ticket and order changes, the ORDER_READY
 * notification of an order's last bump, and the events, if those rows are still as read (rows-as-read.ts), locking
 * them in the order the transaction does. A refusal (not found, not the caller's station, an order that is over, an
 * item already READY, a ticket already bumped), an order at a table (its table's status follows it), a caller who
 * works through the store's expo device, and a row that changed in between take the transaction (kds.ts), which
 * answers as before.
 */

/** The ticket `ticket` (SQL) of tenant $2 with its order, their views and versions. */
const readTicket = (ticket: string, more = '') => `
  SELECT ${versionSql('KdsTicket', 'id', 'k."id"')} AS "ticketVersion",
    ${versionSql('OrderItem', 'ticketId', 'k."id"')} AS "ticketItemsVersion",
    ${versionSql('KdsTicket', 'orderId', 'o."id"')} AS "ticketsVersion",
    ${versionSql('Order', 'id', 'o."id"')} AS "orderVersion",
    ${versionSql('OrderItem', 'orderId', 'o."id"')} AS "orderItemsVersion",
    (SELECT count(*)::int FROM "KdsTicket" t
      WHERE t."orderId" = o."id" AND t."id" <> k."id" AND t."status" <> 'BUMPED') AS "otherOpen",
    ${ticketViewSql}::text AS "ticket", ${orderViewSql('o')}::text AS "order" ${more}
  FROM "KdsTicket" k JOIN "Order" o ON o."id" = k."orderId" JOIN "Station" s ON s."id" = k."stationId"
  WHERE k."id" = ${ticket} AND k."tenantId" = $2`;

const READ_TICKET = readTicket('$1');
const READ_ITEM = readTicket(
  `(SELECT "ticketId" FROM "OrderItem" WHERE "id" = $1 AND "tenantId" = $2)`,
  `, ${versionSql('OrderItem', 'id', '$1')} AS "itemVersion"`,
);

interface KitchenRead {
  row: Record<string, unknown>;
  ticket: KdsTicketView;
  order: OrderView;
  /** Versions of the rows (rows-as-read.ts). */
  version: (key: string) => string;
}

/** The ticket and its order as read, if the statement can work on them for the caller (else undefined). */
async function readForKitchen(
  publisher: Publisher,
  principal: Principal,
  sql: string,
  id: string,
): Promise<KitchenRead | undefined> {
  const [row] = await publisher.read(sql, [id, principal.tenantId]);
  if (!row) return undefined;
  const ticket = JSON.parse(String(row.ticket)) as KdsTicketView;
  const order = JSON.parse(String(row.order)) as OrderView;
  // Through the store's expo device: the transaction looks the device up.
  if (
    isTerminal(order.status) ||
    !canWatchStation(principal, { id: ticket.stationId, storeId: ticket.storeId })
  )
    return undefined;
  return { row, ticket, order, version: (key) => String(row[key]) };
}

/** The notification the order's last bump raises (on both paths). */
export function orderReadyNotification(
  order: { id: string; tenantId: string; storeId: string; number: number },
  actorId: string,
): RaiseNotificationInput {
  return {
    tenantId: order.tenantId,
    audience: 'ROLE',
    targetRole: 'STAFF',
    targetStoreId: order.storeId,
    kind: 'ORDER_READY',
    title: `Order #${order.number} is ready`,
    body: `Order #${order.number} is ready to serve.`,
    data: { orderId: order.id, orderNumber: order.number },
    createdById: actorId,
  };
}

const ready = <T extends { status: string }>(item: T): T => ({ ...item, status: 'READY' });

/** markItemReady's fast path: the ticket after, or undefined (nothing written; take the transaction). */
export async function markItemReadyInOneStatement(
  publisher: Publisher,
  principal: Principal,
  itemId: string,
): Promise<KdsTicketView | undefined> {
  const read = await readForKitchen(publisher, principal, READ_ITEM, itemId);
  if (!read) return undefined;
  const { ticket, order, version } = read;
  const tenantId = principal.tenantId;
  const item = ticket.items.find((i) => i.id === itemId);
  if (!item || item.status === 'READY') return undefined;
  const starts = kitchenStartMovesOrder(order.status);
  if (starts && order.tableId) return undefined;
  const at = new Date().toISOString();
  let after: KdsTicketView = { ...ticket, items: ticket.items.map((i) => (i.id === itemId ? ready(i) : i)) };
  if (ticket.status === 'OPEN') after = { ...after, status: 'IN_PROGRESS', startedAt: at };
  const finished = after.items.every((i) => i.status === 'READY');
  if (finished) after = { ...after, status: 'READY', readyAt: at };
  const orderAfter: OrderView = {
    ...order,
    ...(starts ? { status: 'IN_PROGRESS', updatedAt: at } : {}),
    items: order.items.map((i) => (i.id === itemId ? ready(i) : i)),
  };
  const events: StatementEvent[] = [];
  const emit = (event: NewEvent) => events.push(event);
  const when = new Date(at);
  if (starts)
    emitOrderEvent(emit, tenantId, {
      kind: 'STATUS_CHANGED',
      order: orderAfter,
      previousStatus: order.status,
      at: when,
    });
  emitKdsEvent(emit, tenantId, { kind: 'ITEM_READY', ticket: after, at: when });
  emitOrderEvent(emit, tenantId, { kind: 'ITEM_READY', order: orderAfter, at: when });
  if (finished) emitKdsEvent(emit, tenantId, { kind: 'ORDER_COMPLETE', ticket: after, at: when });
  // As the transaction: the item, the ticket, the order (only when it moves), each locked in turn.
  const rows: RowsAsRead[] = [
    { table: 'OrderItem', column: 'id', value: itemId, version: version('itemVersion'), lock: true },
    { table: 'KdsTicket', column: 'id', value: ticket.id, version: version('ticketVersion'), lock: true },
    { table: 'Order', column: 'id', value: order.id, version: version('orderVersion'), lock: starts },
    { table: 'OrderItem', column: 'orderId', value: order.id, version: version('orderItemsVersion') },
  ];
  const ctes = Prisma.sql`${goIfAsRead(rows)},
    "item_ready" AS (
      UPDATE "OrderItem" SET "status" = 'READY', "readyAt" = ${utc(at)}, "startedAt" = COALESCE("startedAt", ${utc(at)})
      WHERE "id" = ${itemId} AND ${IF_GO}),
    "ticket_moved" AS (
      UPDATE "KdsTicket" SET "status" = ${after.status}::"TicketStatus", "startedAt" = ${utc(after.startedAt)},
        "readyAt" = ${utc(after.readyAt)}
      WHERE "id" = ${ticket.id} AND ${IF_GO})${
        starts
          ? Prisma.sql`,
    "order_started" AS (
      UPDATE "Order" SET "status" = 'IN_PROGRESS', "updatedAt" = ${utc(at)} WHERE "id" = ${order.id} AND ${IF_GO})`
          : Prisma.empty
      }`;
  const outcome = await publisher.runStatement({ ctes, events });
  return outcome.ok ? after : undefined;
}

/** bumpTicket's fast path: the ticket after, or undefined (nothing written; take the transaction). */
export async function bumpInOneStatement(
  publisher: Publisher,
  principal: Principal,
  ticketId: string,
): Promise<KdsTicketView | undefined> {
  const read = await readForKitchen(publisher, principal, READ_TICKET, ticketId);
  if (!read) return undefined;
  const { row, ticket, order, version } = read;
  if (ticket.status === 'BUMPED') return undefined;
  const completes = row.otherOpen === 0 && kitchenBumpMovesOrder(order.status);
  if (completes && order.tableId) return undefined;
  const at = new Date().toISOString();
  const when = new Date(at);
  const after: KdsTicketView = {
    ...ticket,
    status: 'BUMPED',
    bumpedAt: at,
    readyAt: ticket.readyAt ?? at,
    items: ticket.items.map(ready),
  };
  const events: StatementEvent[] = [];
  const emit = (event: NewEvent) => events.push(event);
  emitKdsEvent(emit, principal.tenantId, { kind: 'BUMPED', ticket: after, at: when });
  let more = Prisma.empty;
  if (completes) {
    const orderAfter: OrderView = {
      ...order,
      status: 'READY',
      readyAt: at,
      updatedAt: at,
      items: order.items.map((i) => (i.ticketId === ticket.id ? ready(i) : i)),
    };
    emitOrderEvent(emit, principal.tenantId, {
      kind: 'STATUS_CHANGED',
      order: orderAfter,
      previousStatus: order.status,
      at: when,
    });
    const input = orderReadyNotification({ ...order, tenantId: principal.tenantId }, principal.userId);
    const note = draftNotification(input, when);
    announceNotification(emit, note);
    more = Prisma.sql`,
    "order_ready" AS (
      UPDATE "Order" SET "status" = 'READY', "readyAt" = ${utc(at)}, "updatedAt" = ${utc(at)}
      WHERE "id" = ${order.id} AND ${IF_GO}),
    "notified" AS (
      INSERT INTO "Notification" ("id", "tenantId", "audience", "targetUserId", "targetRole", "targetStoreId",
        "includeCustomers", "kind", "severity", "title", "body", "data", "createdById", "createdAt")
      SELECT ${note.id}, ${note.tenantId}, ${note.audience}::"NotificationAudience", ${note.targetUserId},
        ${note.targetRole}::"Role", ${note.targetStoreId}, ${note.includeCustomers}, ${note.kind},
        ${note.severity}::"Severity", ${note.title}, ${note.body}, ${note.data == null ? null : JSON.stringify(note.data)}::jsonb,
        ${note.createdById}, ${utc(at)}
      WHERE ${IF_GO})`;
  }
  // The order's tickets (this one among them) locked, not only this one: a bump of another of its tickets at the
  // same time waits here and then sees this one's as a change (the transaction), instead of both counting the other
  // open and neither making the order READY. Then its items, then the order (only when it moves).
  const rows: RowsAsRead[] = [
    {
      table: 'KdsTicket',
      column: 'orderId',
      value: order.id,
      version: version('ticketsVersion'),
      lock: true,
    },
    {
      table: 'OrderItem',
      column: 'ticketId',
      value: ticket.id,
      version: version('ticketItemsVersion'),
      lock: true,
    },
    { table: 'Order', column: 'id', value: order.id, version: version('orderVersion'), lock: completes },
    { table: 'OrderItem', column: 'orderId', value: order.id, version: version('orderItemsVersion') },
  ];
  const ctes = Prisma.sql`${goIfAsRead(rows)},
    "bumped" AS (
      UPDATE "KdsTicket" SET "status" = 'BUMPED', "bumpedAt" = ${utc(at)}, "readyAt" = ${utc(after.readyAt)}
      WHERE "id" = ${ticket.id} AND ${IF_GO}),
    "items_ready" AS (
      UPDATE "OrderItem" SET "status" = 'READY', "readyAt" = ${utc(at)}
      WHERE "ticketId" = ${ticket.id} AND "status" <> 'READY' AND ${IF_GO})${more}`;
  const outcome = await publisher.runStatement({ ctes, events });
  return outcome.ok ? after : undefined;
}
