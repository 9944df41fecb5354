import type { Role } from '../generated/prisma/enums';

/**
 * Every topic names its tenant first, so no subscription can ever be wired to another tenant's
 * events by accident. System-wide broadcasts are the one exception and live under `sys:`.
 */
export const topics = {
  storeOrders: (tenantId: string, storeId: string) => `t:${tenantId}:store:${storeId}:orders`,
  stationKds: (tenantId: string, stationId: string) => `t:${tenantId}:station:${stationId}:kds`,
  /** Every ticket of a store: what an expo station (and a manager) watches. */
  storeKds: (tenantId: string, storeId: string) => `t:${tenantId}:store:${storeId}:kds`,
  storeInventory: (tenantId: string, storeId: string) => `t:${tenantId}:store:${storeId}:inventory`,
  /** Products created, edited, archived, 86'd and back. */
  storeMenu: (tenantId: string, storeId: string) => `t:${tenantId}:store:${storeId}:menu`,
  /** Dining tables: seatings, status, the orders at each table. */
  storeTables: (tenantId: string, storeId: string) => `t:${tenantId}:store:${storeId}:tables`,
  /** The order events of one dining table (also on storeOrders): what the table's guests follow. */
  tableOrders: (tenantId: string, tableId: string) => `t:${tenantId}:table:${tableId}:orders`,
  storeDashboard: (tenantId: string, storeId: string) => `t:${tenantId}:store:${storeId}:dashboard`,
  /** Ephemeral (no outbox): devices of a store coming and going. */
  storePresence: (tenantId: string, storeId: string) => `t:${tenantId}:store:${storeId}:presence`,
  userNotifications: (tenantId: string, userId: string) => `t:${tenantId}:user:${userId}:notifications`,
  storeRoleNotifications: (tenantId: string, storeId: string, role: Role) =>
    `t:${tenantId}:store:${storeId}:role:${role}:notifications`,
  storeNotifications: (tenantId: string, storeId: string) => `t:${tenantId}:store:${storeId}:notifications`,
  tenantNotifications: (tenantId: string) => `t:${tenantId}:notifications`,
  systemNotifications: () => 'sys:notifications',
  /** Control plane: revoked tokens/users, so every instance closes the affected sockets. */
  revocations: () => 'sys:revocations',
} as const;

/** The tenant a topic belongs to, or null for `sys:` topics. */
export function tenantOfTopic(topic: string): string | null {
  if (topic.startsWith('sys:')) return null;
  const match = /^t:([^:]+):/.exec(topic);
  if (!match) throw new Error(`Malformed topic: ${topic}`);
  return match[1] ?? null;
}
