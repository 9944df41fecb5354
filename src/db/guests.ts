import type { Db, Tx } from './types';

/**
 * Guests at a table (a QR code on the table, `npm run token -- --table <id>`) hold tokens with the claim
 * `table` and the user id `guest:<tableId>`: one pseudo-user per table, without a User row. Seating the next
 * party ends them: a guest token issued before the second the table's last seating began is revoked.
 */
const GUEST_PREFIX = 'guest:';

export function guestUserId(tableId: string): string {
  return `${GUEST_PREFIX}${tableId}`;
}

/** The table of a guest user id, or undefined for any other user id. */
export function tableOfGuest(userId: string): string | undefined {
  return userId.startsWith(GUEST_PREFIX) ? userId.slice(GUEST_PREFIX.length) : undefined;
}

/**
 * Guest tokens issued at or before this second (since epoch) are revoked: those of the parties before the one
 * seated at `seatedAt`. Whole seconds, like a token's `iat`: a token issued in the very second the party was
 * seated (before or after it) stays valid.
 */
export function guestTokensRevokedBefore(seatedAt: Date | null): number | undefined {
  return seatedAt ? Math.floor(seatedAt.getTime() / 1000) - 1 : undefined;
}

/** The durable answer for a table's guest tokens: when its last seating began, from PostgreSQL. */
export async function guestTokensOfTableRevokedBefore(
  db: Db | Tx,
  tenantId: string,
  tableId: string,
): Promise<number | undefined> {
  const table = await db.diningTable.findFirst({
    where: { id: tableId, tenantId },
    select: { seatedAt: true },
  });
  return guestTokensRevokedBefore(table?.seatedAt ?? null);
}
