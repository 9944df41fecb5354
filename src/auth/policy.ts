import type { Principal, Role } from './principal';

/**
 * Authorization rules as pure functions. Scope-auth (GraphQL fields) and domain services both call
 * these, so there is one definition of who may do what.
 */
export function hasAnyRole(principal: Principal, roles: readonly Role[]): boolean {
  return roles.some((role) => principal.roles.includes(role));
}

export function isAdmin(principal: Principal): boolean {
  return principal.roles.includes('ADMIN');
}

/** An admin of a tenant that operates the platform: may act across tenants (SYSTEM notifications, serverStats). */
export function isPlatformAdmin(principal: Principal, platformTenants: readonly string[]): boolean {
  return isAdmin(principal) && platformTenants.includes(principal.tenantId);
}

/** The caller may act in storeId of its own tenant. Callers check tenant membership of the store itself. */
export function canAccessStore(principal: Principal, storeId: string): boolean {
  return principal.stores === '*' || principal.stores.includes(storeId);
}

export function hasAllStores(principal: Principal): boolean {
  return principal.stores === '*';
}

/**
 * A KDS device bound to stations sees only those; anyone else with access to the station's
 * store may watch it. `station` is the station row as loaded within the caller's tenant.
 */
export function canWatchStation(principal: Principal, station: { id: string; storeId: string }): boolean {
  if (!canAccessStore(principal, station.storeId)) return false;
  if (principal.stations.length > 0 && !isAdmin(principal)) return principal.stations.includes(station.id);
  return true;
}

/** Roles of the people who work in a store (everyone but customers and table guests). */
export const STAFF_ROLES: readonly Role[] = ['ADMIN', 'MANAGER', 'STAFF', 'KITCHEN'];

/** A caller who works in the store: any staff role (a customer who also has one counts as staff). */
export function isStaff(principal: Principal): boolean {
  return hasAnyRole(principal, STAFF_ROLES);
}

/**
 * Customers see only their own orders; a table guest only the orders of its table's party (`guestSeating`,
 * the seating the domain resolved for it: none, nothing); every other role the orders of stores it may access.
 */
export function canSeeOrder(
  principal: Principal,
  order: { storeId: string; customerId: string | null; tableId?: string | null; seatingId?: string | null },
  guestSeating?: string | null,
): boolean {
  if (!canAccessStore(principal, order.storeId)) return false;
  if (isTableGuest(principal)) {
    return order.tableId === principal.table && guestSeating != null && order.seatingId === guestSeating;
  }
  if (isStaff(principal)) return true;
  return principal.roles.includes('CUSTOMER') && order.customerId === principal.userId;
}

// ---------------------------------------------------------------------------------------------------------
// Menu and tables: who may do what, in one place (the GraphQL scopes use the role lists, the domain the rest).

/** Create and edit products (prices, stations, archiving). */
export const MENU_MANAGERS: readonly Role[] = ['ADMIN', 'MANAGER'];
/** 86 a product or bring it back; KITCHEN only for products routed to its bound stations. */
export const AVAILABILITY_SETTERS: readonly Role[] = ['ADMIN', 'MANAGER', 'STAFF', 'KITCHEN'];
/** Seat parties, set table status, issue guest tokens, watch the floor (`tables`, `tableUpdated`). */
export const FLOOR_STAFF: readonly Role[] = ['ADMIN', 'MANAGER', 'STAFF'];

export function canManageMenu(principal: Principal, storeId: string): boolean {
  return hasAnyRole(principal, MENU_MANAGERS) && canAccessStore(principal, storeId);
}

export function canSetAvailability(principal: Principal, product: { storeId: string; stationId: string }) {
  if (!canAccessStore(principal, product.storeId)) return false;
  if (hasAnyRole(principal, ['ADMIN', 'MANAGER', 'STAFF'])) return true;
  return principal.roles.includes('KITCHEN') && principal.stations.includes(product.stationId);
}

/** Staff see every product; customers (guests included) the active menu: archived ones only as they go. */
export function canSeeProduct(principal: Principal, product: { storeId: string; active: boolean }): boolean {
  if (!canAccessStore(principal, product.storeId)) return false;
  return product.active || hasAnyRole(principal, ['ADMIN', 'MANAGER', 'STAFF', 'KITCHEN']);
}

export function canWorkTables(principal: Principal, storeId: string): boolean {
  return hasAnyRole(principal, FLOOR_STAFF) && canAccessStore(principal, storeId);
}

/** A guest token (claim `table`): it orders at that table only and sees its party's orders only. */
export function isTableGuest(principal: Principal): principal is Principal & { table: string } {
  return principal.table !== undefined;
}

/** Stores the caller may see, given every store id of its tenant. */
export function visibleStores(principal: Principal, tenantStoreIds: readonly string[]): string[] {
  return principal.stores === '*'
    ? [...tenantStoreIds]
    : tenantStoreIds.filter((id) => principal.stores.includes(id));
}

/** Roles whose connections are devices in presence: customers and table guests never appear. */
export const PRESENT_ROLES: readonly Role[] = ['ADMIN', 'MANAGER', 'STAFF', 'KITCHEN'];

/** Roles that may look at presence at all (a kitchen device sees only `Station.online`). */
export const PRESENCE_VIEWER_ROLES: readonly Role[] = ['ADMIN', 'MANAGER', 'STAFF'];

/**
 * Who sees whose device: managers and admins every device of their stores; staff the staff and kitchen
 * devices of their stores (not managers' or admins'); nobody else any.
 */
export function canSeeDevice(
  viewer: Principal,
  device: { storeId: string; roles: readonly Role[] },
): boolean {
  if (!canAccessStore(viewer, device.storeId)) return false;
  if (hasAnyRole(viewer, ['ADMIN', 'MANAGER'])) return true;
  if (!hasAnyRole(viewer, ['STAFF'])) return false;
  return !device.roles.some((role) => role === 'ADMIN' || role === 'MANAGER');
}

/** Roles whose sessions a manager may end (a lost tablet, a kitchen screen): never an admin's or a manager's. */
const REVOCABLE_BY_MANAGERS: readonly Role[] = ['STAFF', 'KITCHEN'];

/**
 * Whether the caller may end the sessions of `target`, a user of the caller's tenant: their own always; an admin
 * anyone's; a manager those of users whose every role is STAFF or KITCHEN and whose every store is the manager's.
 */
export function canRevokeSessionsOf(
  principal: Principal,
  target: { id: string; roles: readonly Role[]; storeIds: readonly string[] },
): boolean {
  if (target.id === principal.userId || isAdmin(principal)) return true;
  if (!principal.roles.includes('MANAGER')) return false;
  const revocableRoles =
    target.roles.length > 0 && target.roles.every((role) => REVOCABLE_BY_MANAGERS.includes(role));
  const ownStores = target.storeIds.includes('*')
    ? hasAllStores(principal)
    : target.storeIds.length > 0 && target.storeIds.every((storeId) => canAccessStore(principal, storeId));
  return revocableRoles && ownStores;
}

/** Whether the caller may end anyone's sessions but their own (the rest is canRevokeSessionsOf's). */
export function mayRevokeOthers(principal: Principal): boolean {
  return isAdmin(principal) || principal.roles.includes('MANAGER');
}
