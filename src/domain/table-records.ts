import type { Tx } from '../db/types';
import { badInput, notFound } from '../errors';
import { topics } from '../events/topics';
import type { DiningTable } from '../generated/prisma/client';
import type { OrderStatus, TableStatus } from '../generated/prisma/enums';
import { type Emit, type OrderView, orderInclude, toOrderView } from './order-records';
import { isOccupied, statusAfterOrderChange, tableConflict } from './table-status';

/**
 * The shape a dining table takes in query results and table events (the same JSON in both), with the orders
 * of the party at it, and how an order at a table moves the table along (table-status.ts has the rules).
 */

export const TABLE_EVENT_KINDS = ['STATUS_CHANGED', 'ORDER_ADDED', 'ORDER_UPDATED'] as const;
export type TableEventKind = (typeof TABLE_EVENT_KINDS)[number];

export interface TableView {
  id: string;
  storeId: string;
  number: number;
  seats: number;
  status: TableStatus;
  partySize: number | null;
  seatedAt: string | null;
  /** The party seated last (not exposed: it decides what the table's guests see). */
  seatingId: string | null;
  /** Orders of the party at the table that are not completed or cancelled; none once the table is freed. */
  openOrders: OrderView[];
}

export interface TableEventPayload {
  kind: TableEventKind;
  table: TableView;
  /** Set when the event changed the table's status. */
  previousStatus: TableStatus | null;
  occurredAt: string;
}

const CLOSED_ORDERS: OrderStatus[] = ['COMPLETED', 'CANCELLED'];

/** Whether the table's last seating is still at it (its orders are the table's open orders). */
const hasParty = (table: DiningTable) =>
  table.seatingId !== null && (isOccupied(table.status) || table.status === 'NEEDS_CLEANING');

/** The tables with their open orders: two queries however many tables. */
export async function toTableViews(tx: Tx, tables: readonly DiningTable[]): Promise<TableView[]> {
  const seatings = tables.filter(hasParty).map((table) => table.seatingId as string);
  const orders =
    seatings.length === 0
      ? []
      : await tx.order.findMany({
          where: { seatingId: { in: seatings }, status: { notIn: CLOSED_ORDERS } },
          include: orderInclude,
          orderBy: { number: 'asc' },
        });
  return tables.map((table) => ({
    id: table.id,
    storeId: table.storeId,
    number: table.number,
    seats: table.seats,
    status: table.status,
    // Kept in the row for the last party; shown while it is at the table.
    partySize: hasParty(table) ? table.partySize : null,
    seatedAt: hasParty(table) ? (table.seatedAt?.toISOString() ?? null) : null,
    seatingId: table.seatingId,
    openOrders: hasParty(table)
      ? orders
          .filter((order) => order.tableId === table.id && order.seatingId === table.seatingId)
          .map(toOrderView)
      : [],
  }));
}

export async function loadTableView(tx: Tx, tenantId: string, tableId: string): Promise<TableView> {
  const table = await tx.diningTable.findFirst({ where: { id: tableId, tenantId } });
  if (!table) throw notFound('Table', tableId);
  const [view] = await toTableViews(tx, [table]);
  return view as TableView;
}

/** Locks the table's row until commit: changes of one table (seating, its orders) apply one after another. */
export async function lockTable(
  tx: Tx,
  where: { tenantId: string } & ({ id: string } | { storeId: string; number: number }),
) {
  const rows =
    'id' in where
      ? await tx.$queryRaw<{ id: string }[]>`
          SELECT "id" FROM "DiningTable" WHERE "id" = ${where.id} AND "tenantId" = ${where.tenantId} FOR UPDATE`
      : await tx.$queryRaw<{ id: string }[]>`
          SELECT "id" FROM "DiningTable"
          WHERE "storeId" = ${where.storeId} AND "number" = ${where.number} AND "tenantId" = ${where.tenantId}
          FOR UPDATE`;
  const id = rows[0]?.id;
  return id === undefined ? null : tx.diningTable.findUniqueOrThrow({ where: { id } });
}

export function emitTableEvent(
  emit: Emit,
  tenantId: string,
  event: { kind: TableEventKind; table: TableView; previousStatus?: TableStatus | null; at: Date },
): void {
  const payload: TableEventPayload = {
    kind: event.kind,
    table: event.table,
    previousStatus: event.previousStatus ?? null,
    occurredAt: event.at.toISOString(),
  };
  emit({
    tenantId,
    topic: topics.storeTables(tenantId, event.table.storeId),
    kind: `table.${event.kind}`,
    payload,
  });
}

/**
 * The table a TABLE order is placed at, locked, with the party it belongs to: BAD_USER_INPUT when the store has
 * no such table, CONFLICT with its status when nobody is seated at it.
 */
export async function tableForNewOrder(
  tx: Tx,
  args: { tenantId: string; storeId: string; tableNumber: number },
): Promise<{ id: string; seatingId: string }> {
  const table = await lockTable(tx, {
    tenantId: args.tenantId,
    storeId: args.storeId,
    number: args.tableNumber,
  });
  if (!table) {
    throw badInput(`The store has no table ${args.tableNumber}`, { field: 'tableNumber' });
  }
  if (!isOccupied(table.status) || table.seatingId === null) {
    throw tableConflict(table, 'seat a party there before ordering');
  }
  return { id: table.id, seatingId: table.seatingId };
}

/**
 * An order of the party at a table was placed (ORDER_ADDED) or changed status or was paid (ORDER_UPDATED):
 * the table's status follows its orders, and the table is announced with its open orders. Orders of an earlier
 * party leave the table as it is.
 */
export async function followOrderAtTable(
  tx: Tx,
  emit: Emit,
  order: Pick<OrderView, 'tableId' | 'seatingId'> & { tenantId: string },
  kind: 'ORDER_ADDED' | 'ORDER_UPDATED',
  at: Date,
): Promise<void> {
  if (!order.tableId || !order.seatingId) return;
  const table = await lockTable(tx, { tenantId: order.tenantId, id: order.tableId });
  if (!table || table.seatingId !== order.seatingId) return;
  const orders = await tx.order.findMany({
    where: { tableId: table.id, seatingId: table.seatingId },
    select: { status: true, totalCents: true, paidCents: true },
  });
  const status = statusAfterOrderChange(table.status, orders, kind === 'ORDER_ADDED');
  const moved = status !== table.status;
  const row = moved ? await tx.diningTable.update({ where: { id: table.id }, data: { status } }) : table;
  const [view] = await toTableViews(tx, [row]);
  emitTableEvent(emit, order.tenantId, {
    kind,
    table: view as TableView,
    previousStatus: moved ? table.status : null,
    at,
  });
}
