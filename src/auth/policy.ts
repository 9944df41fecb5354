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

/** Customers see only their own orders; every other role sees the orders of stores it may access. */
export function canSeeOrder(
  principal: Principal,
  order: { storeId: string; customerId: string | null },
): boolean {
  if (!canAccessStore(principal, order.storeId)) return false;
  const staffRoles: Role[] = ['ADMIN', 'MANAGER', 'STAFF', 'KITCHEN'];
  if (hasAnyRole(principal, staffRoles)) return true;
  return principal.roles.includes('CUSTOMER') && order.customerId === principal.userId;
}

/** Stores the caller may see, given every store id of its tenant. */
export function visibleStores(principal: Principal, tenantStoreIds: readonly string[]): string[] {
  return principal.stores === '*'
    ? [...tenantStoreIds]
    : tenantStoreIds.filter((id) => principal.stores.includes(id));
}
