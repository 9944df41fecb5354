import { DomainError } from '../errors';
import type { OrderStatus, TableStatus } from '../generated/prisma/enums';

/**
 * How a dining table's status moves. Staff seat a party (seatTable) and set a few statuses by hand; the rest
 * follows the orders of the party at the table. Pure rules: tables.ts and table-records.ts apply them.
 */

export const TABLE_STATUSES = [
  'FREE',
  'RESERVED',
  'SEATED',
  'ORDERED',
  'SERVED',
  'PAYING',
  'NEEDS_CLEANING',
] as const satisfies readonly TableStatus[];

/** A party is at the table: it may order, and its orders move the status. */
export const OCCUPIED: readonly TableStatus[] = ['SEATED', 'ORDERED', 'SERVED', 'PAYING'];

/** What staff may set by hand (setTableStatus). Seating goes through seatTable; the rest follows the orders. */
export const MANUAL_TRANSITIONS: Readonly<Record<TableStatus, readonly TableStatus[]>> = {
  FREE: ['RESERVED'],
  RESERVED: ['FREE'],
  SEATED: ['FREE'], // the party left without ordering
  ORDERED: ['PAYING'], // the bill was asked for
  SERVED: ['PAYING'],
  PAYING: [],
  NEEDS_CLEANING: ['FREE'],
};

export function isOccupied(status: TableStatus): boolean {
  return OCCUPIED.includes(status);
}

export function canSeat(status: TableStatus): boolean {
  return status === 'FREE' || status === 'RESERVED';
}

/** CONFLICT naming the table's current status (`extensions.status`). */
export function tableConflict(table: { id: string; number: number; status: TableStatus }, wanted: string) {
  return new DomainError('CONFLICT', `Table ${table.number} is ${table.status}: ${wanted}`, {
    tableId: table.id,
    status: table.status,
  });
}

export function assertManualTransition(
  table: { id: string; number: number; status: TableStatus },
  to: TableStatus,
): void {
  if (MANUAL_TRANSITIONS[table.status].includes(to)) return;
  const wanted =
    to === 'SEATED'
      ? 'seat a party with seatTable'
      : OCCUPIED.includes(to) || to === 'NEEDS_CLEANING'
        ? `${to} follows its orders`
        : `it cannot be set ${to}`;
  throw tableConflict(table, wanted);
}

const SERVED_ORDER: readonly OrderStatus[] = ['READY', 'COMPLETED'];

/**
 * The status after a change to the orders of the party at the table: a new order makes it ORDERED; once every
 * order (cancelled ones aside) is READY or later it is SERVED, and once they are also paid in full it needs
 * cleaning. A bill asked for (PAYING) stays asked for until paid or until a new order. A table without a
 * party (FREE, RESERVED, NEEDS_CLEANING) does not move.
 */
export function statusAfterOrderChange(
  current: TableStatus,
  orders: readonly { status: OrderStatus; totalCents: number; paidCents: number }[],
  orderAdded: boolean,
): TableStatus {
  if (!isOccupied(current)) return current;
  if (orderAdded) return 'ORDERED';
  const live = orders.filter((order) => order.status !== 'CANCELLED');
  if (live.length === 0) return 'SEATED';
  const served = live.every((order) => SERVED_ORDER.includes(order.status));
  const paid = live.every((order) => order.paidCents >= order.totalCents);
  if (served && paid) return 'NEEDS_CLEANING';
  if (current === 'PAYING') return 'PAYING';
  return served ? 'SERVED' : 'ORDERED';
}
