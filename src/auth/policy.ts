import { allows, allowsWithoutLimits, REVOCABLE_BY_MANAGERS, STAFF_ROLES } from './permissions';
import type { Principal, Role } from './principal';

/**
 * The finer authorization rules as pure functions: which stores, stations, orders, products and devices a caller
 * may touch. Which roles may do what at all is permissions.ts's table (the rules' `refinedBy` names these); the
 * role lists below are read from it.
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

/** A caller who works in the store: any staff role (a customer who also has one counts as staff). */
export function isStaff(principal: Principal): boolean {
  return hasAnyRole(principal, STAFF_ROLES);
}

/** Signed-in customers act for themselves only, whatever else their token says. */
export function isCustomerOnly(principal: Principal): boolean {
  return principal.roles.includes('CUSTOMER') && !isStaff(principal);
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
// Menu and tables.

/** `menu.manage` in the product's store. */
export function canManageMenu(principal: Principal, storeId: string): boolean {
  return allows(principal, 'menu.manage') && canAccessStore(principal, storeId);
}

/** `menu.setAvailability` in the product's store; KITCHEN (its limit) only for products routed to its bound stations. */
export function canSetAvailability(principal: Principal, product: { storeId: string; stationId: string }) {
  if (!canAccessStore(principal, product.storeId)) return false;
  if (allowsWithoutLimits(principal, 'menu.setAvailability')) return true;
  return principal.roles.includes('KITCHEN') && principal.stations.includes(product.stationId);
}

/** Staff see every product (`menu.readArchived`); customers (guests included) the active menu: archived ones only as they go. */
export function canSeeProduct(principal: Principal, product: { storeId: string; active: boolean }): boolean {
  if (!canAccessStore(principal, product.storeId)) return false;
  return product.active || allows(principal, 'menu.readArchived');
}

/** `table.work` in the table's store. */
export function canWorkTables(principal: Principal, storeId: string): boolean {
  return allows(principal, 'table.work') && canAccessStore(principal, storeId);
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

/**
 * Who sees whose device (`presence.read`): managers and admins every device of their stores; staff (its limit) the
 * staff and kitchen devices of their stores (not managers' or admins'); nobody else any.
 */
export function canSeeDevice(
  viewer: Principal,
  device: { storeId: string; roles: readonly Role[] },
): boolean {
  if (!canAccessStore(viewer, device.storeId)) return false;
  if (allowsWithoutLimits(viewer, 'presence.read')) return true;
  if (!allows(viewer, 'presence.read')) return false;
  return !device.roles.some((role) => role === 'ADMIN' || role === 'MANAGER');
}

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
    target.roles.length > 0 &&
    target.roles.every((role) => (REVOCABLE_BY_MANAGERS as readonly Role[]).includes(role));
  const ownStores = target.storeIds.includes('*')
    ? hasAllStores(principal)
    : target.storeIds.length > 0 && target.storeIds.every((storeId) => canAccessStore(principal, storeId));
  return revocableRoles && ownStores;
}

/** Whether the caller may end anyone's sessions but their own (the rest is canRevokeSessionsOf's). */
export function mayRevokeOthers(principal: Principal): boolean {
  return isAdmin(principal) || principal.roles.includes('MANAGER');
}

/**
 * The caller as these rules and the permission table see it: every field of a principal they read, and nothing
 * else (not the token id, its times, nor the current store). The user id is kept only for callers with the CUSTOMER
 * role, the one rule that reads it for what it shows (`canSeeOrder`: a customer's own orders); staff of equal
 * scopes get one blank user. So two callers with equal scopes (compared by their JSON) are allowed exactly the same
 * rows and events: the fan-out engine keys its groups on it, and a subscription plan's selection reads it only.
 * (`canRevokeSessionsOf` reads the user for "their own", but it decides a mutation, never what an event shows.)
 */
export function authorizationScope(principal: Principal): Principal {
  const scope: Principal = {
    tenantId: principal.tenantId,
    userId: principal.roles.includes('CUSTOMER') ? principal.userId : '',
    roles: [...principal.roles].sort(),
    stores: principal.stores,
    stations: principal.stations,
  };
  if (principal.table !== undefined) scope.table = principal.table;
  return scope;
}
