import { isTableGuest } from '../auth/policy';
import type { Principal } from '../auth/principal';
import { guestTokensRevokedBefore } from '../db/guests';
import type { Db, Tx } from '../db/types';
import { badInput, DomainError, forbidden } from '../errors';
import { topics } from '../events/topics';

/**
 * What a guest token at a table (claim `table`) reaches: the party seated at its table, found anew for every
 * operation. A guest orders at that table only and sees that party's orders only: the table's order topic,
 * filtered to its seating, with cursors bound to that seating.
 */

export interface GuestTable {
  tableId: string;
  storeId: string;
  number: number;
  /** The party the guest belongs to (the table's last seating); null when nobody was ever seated there. */
  seatingId: string | null;
}

const ended = () =>
  new DomainError('UNAUTHENTICATED', 'This table token has ended: a new party was seated at the table', {
    reason: 'TABLE_TOKEN_ENDED',
  });

/**
 * The guest's table and party. A token issued before the table's last seating began belongs to an earlier party:
 * UNAUTHENTICATED, whatever a cache on the authentication path said (the revocation also closes its sessions).
 */
export async function requireGuestTable(
  db: Db | Tx,
  principal: Principal & { table: string },
): Promise<GuestTable> {
  const table = await db.diningTable.findFirst({
    where: { id: principal.table, tenantId: principal.tenantId },
    select: { id: true, storeId: true, number: true, seatingId: true, seatedAt: true },
  });
  if (!table) throw ended();
  // A token naming its party ends with it; one that does not, by the second it was issued.
  if (principal.seating !== undefined && principal.seating !== table.seatingId) throw ended();
  const revokedBefore = guestTokensRevokedBefore(table.seatedAt);
  if (revokedBefore !== undefined && (principal.issuedAt ?? 0) <= revokedBefore) throw ended();
  if (principal.stores === '*' || !principal.stores.includes(table.storeId))
    throw forbidden('Not your table');
  return { tableId: table.id, storeId: table.storeId, number: table.number, seatingId: table.seatingId };
}

/** The seating whose orders the caller may see when it is a table guest; undefined for everyone else. */
export async function guestSeatingOf(db: Db | Tx, principal: Principal): Promise<string | null | undefined> {
  return isTableGuest(principal) ? (await requireGuestTable(db, principal)).seatingId : undefined;
}

/**
 * The order stream a caller follows in a store: the store's orders, or for a table guest its table's orders,
 * with a stream key naming the seating (a cursor of another party is refused).
 */
export async function orderStreamOf(
  db: Db,
  principal: Principal,
  storeId: string,
): Promise<{ topic: string; streamKey: string; guestSeating: string | null | undefined }> {
  if (!isTableGuest(principal)) {
    const topic = topics.storeOrders(principal.tenantId, storeId);
    return { topic, streamKey: topic, guestSeating: undefined };
  }
  const guest = await requireGuestTable(db, principal);
  if (guest.storeId !== storeId) throw forbidden(`No access to store ${storeId}`);
  const topic = topics.tableOrders(principal.tenantId, guest.tableId);
  return { topic, streamKey: `${topic}:seating:${guest.seatingId ?? 'none'}`, guestSeating: guest.seatingId };
}

/**
 * A guest's order as placed at its own table: channel TABLE (BAD_USER_INPUT otherwise), its table's number
 * filled in; another table is FORBIDDEN, whether the store has it or not.
 */
export function orderAtGuestTable<T extends { channel: string; tableNumber?: number | null }>(
  guest: GuestTable,
  input: T,
): T {
  if (input.channel !== 'TABLE')
    throw badInput('A guest at a table orders through TABLE', { field: 'channel' });
  if (input.tableNumber != null && input.tableNumber !== guest.number) {
    throw forbidden('A table token orders at its own table only');
  }
  return { ...input, tableNumber: guest.number };
}

/** The table as locked for the order still seats the guest's party (else a new one was seated meanwhile). */
export function assertGuestParty(guest: GuestTable, table: { seatingId: string }): void {
  if (table.seatingId !== guest.seatingId) throw ended();
}
