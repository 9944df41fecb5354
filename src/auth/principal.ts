import type { Role } from '../generated/prisma/enums';

export type { Role };
export const ROLES = ['ADMIN', 'MANAGER', 'STAFF', 'KITCHEN', 'CUSTOMER'] as const satisfies readonly Role[];

/** Who is calling: built from verified JWT claims, never from anything else the client sends. */
export interface Principal {
  userId: string;
  tenantId: string;
  roles: readonly Role[];
  /** Store ids the caller may act in, or '*' for every store of the tenant. */
  stores: readonly string[] | '*';
  /** Station ids a KDS device is bound to; empty when not bound. */
  stations: readonly string[];
  /**
   * The dining table a guest token is bound to (claim `table`): such a caller is a CUSTOMER of that table's
   * store who orders at that table and sees the orders of the party seated there, nothing else of the store's.
   */
  table?: string;
  /** The party at that table the guest token was issued for (claim `seating`), when it names one. */
  seating?: string;
  /** The store the connection/request works in (connection_init storeId or x-store-id), if any. */
  currentStoreId?: string;
  /** JWT id, for revocation. */
  tokenId?: string;
  /** Seconds since epoch. */
  issuedAt?: number;
  expiresAt?: number;
}
