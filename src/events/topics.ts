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
  /** Ephemeral (no outbox): the latest dashboard metrics of a store, or of a tenant's every store. */
  storeDashboard: (tenantId: string, storeId: string) => `t:${tenantId}:store:${storeId}:dashboard`,
  tenantDashboard: (tenantId: string) => `t:${tenantId}:dashboard`,
  /** Ephemeral (no outbox): devices of a store coming and going. */
  storePresence: (tenantId: string, storeId: string) => `t:${tenantId}:store:${storeId}:presence`,
  userNotifications: (tenantId: string, userId: string) => `t:${tenantId}:user:${userId}:notifications`,
  storeRoleNotifications: (tenantId: string, storeId: string, role: Role) =>
    `t:${tenantId}:store:${storeId}:role:${role}:notifications`,
  storeNotifications: (tenantId: string, storeId: string) => `t:${tenantId}:store:${storeId}:notifications`,
  tenantNotifications: (tenantId: string) => `t:${tenantId}:notifications`,
  systemNotifications: () => 'sys:notifications',
  /** Ephemeral control plane: revoked tokens/users, so every instance closes the affected sockets sooner. */
  revocations: () => 'sys:revocations',
} as const;

// Parsing: what a topic string says, read here only (the builders above are the only writers).

const TENANT_TOPIC = /^t:([^:]+):/;
const STORE_TOPIC = /^t:([^:]+):store:([^:]+):/;

/** The tenant a topic belongs to, or null for `sys:` topics; throws on anything that is not a topic. */
export function tenantOfTopic(topic: string): string | null {
  if (topic.startsWith('sys:')) return null;
  const match = TENANT_TOPIC.exec(topic);
  if (!match) throw new Error(`Malformed topic: ${topic}`);
  return match[1] ?? null;
}

/** The tenant and store of a store's topic (orders, kds, inventory, menu, ...), or null for any other topic. */
export function storeOfTopic(topic: string): { tenantId: string; storeId: string } | null {
  const match = STORE_TOPIC.exec(topic);
  return match?.[1] && match[2] ? { tenantId: match[1], storeId: match[2] } : null;
}

/**
 * The metric label for a topic: its last segment (`orders`, `kds`, `inventory`, `dashboard`,
 * `notifications`, ...) or the `sys:` name. Bounded, unlike topics themselves (one per store or user).
 */
export function topicKind(topic: string): string {
  if (topic.startsWith('sys:')) return topic.slice(4) || 'sys';
  const last = topic.slice(topic.lastIndexOf(':') + 1);
  return KNOWN_KINDS.has(last) ? last : 'other';
}

const KNOWN_KINDS = new Set([
  'orders',
  'kds',
  'inventory',
  'dashboard',
  'notifications',
  'menu',
  'tables',
  'presence',
]);
