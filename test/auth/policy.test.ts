import { describe, expect, it } from 'vitest';
import {
  canAccessStore,
  canRevokeSessionsOf,
  canSeeOrder,
  canWatchStation,
  hasAllStores,
  hasAnyRole,
  isAdmin,
  isPlatformAdmin,
  visibleStores,
} from '../../src/auth/policy';
import type { Principal } from '../../src/auth/principal';

function principal(overrides: Partial<Principal> = {}): Principal {
  return {
    userId: 'u',
    tenantId: 'acme',
    roles: ['STAFF'],
    stores: ['acme-downtown'],
    stations: [],
    ...overrides,
  };
}

const admin = principal({ userId: 'acme-admin', roles: ['ADMIN'], stores: '*' });
const staff = principal({ userId: 'acme-staff' });
const kitchen = principal({ userId: 'acme-kitchen', roles: ['KITCHEN'], stations: ['acme-downtown-grill'] });
const customer = principal({ userId: 'acme-customer', roles: ['CUSTOMER'] });

const grill = { id: 'acme-downtown-grill', storeId: 'acme-downtown' };
const bar = { id: 'acme-downtown-bar', storeId: 'acme-downtown' };
const uptownGrill = { id: 'acme-uptown-grill', storeId: 'acme-uptown' };

describe('roles', () => {
  it('hasAnyRole is true when one of the roles matches', () => {
    expect(hasAnyRole(staff, ['MANAGER', 'STAFF'])).toBe(true);
    expect(hasAnyRole(staff, ['MANAGER', 'ADMIN'])).toBe(false);
    expect(hasAnyRole(staff, [])).toBe(false);
  });

  it('isAdmin only for ADMIN', () => {
    expect(isAdmin(admin)).toBe(true);
    expect(isAdmin(principal({ roles: ['MANAGER', 'STAFF'] }))).toBe(false);
  });
});

describe('isPlatformAdmin', () => {
  it('is an admin of a listed platform tenant, nobody else', () => {
    expect(isPlatformAdmin(admin, ['acme'])).toBe(true);
    expect(isPlatformAdmin(admin, [])).toBe(false);
    expect(isPlatformAdmin(admin, ['globex'])).toBe(false);
    expect(isPlatformAdmin(staff, ['acme'])).toBe(false);
  });
});

describe('stores', () => {
  it('canAccessStore: listed stores, or any store for "*"', () => {
    expect(canAccessStore(staff, 'acme-downtown')).toBe(true);
    expect(canAccessStore(staff, 'acme-uptown')).toBe(false);
    expect(canAccessStore(admin, 'acme-uptown')).toBe(true);
    expect(canAccessStore(principal({ stores: [] }), 'acme-downtown')).toBe(false);
  });

  it('hasAllStores only for "*"', () => {
    expect(hasAllStores(admin)).toBe(true);
    expect(hasAllStores(principal({ stores: ['acme-downtown', 'acme-uptown'] }))).toBe(false);
  });

  it("visibleStores filters the tenant's stores", () => {
    const tenantStores = ['acme-downtown', 'acme-uptown'];
    expect(visibleStores(admin, tenantStores)).toEqual(['acme-downtown', 'acme-uptown']);
    expect(visibleStores(staff, tenantStores)).toEqual(['acme-downtown']);
    expect(visibleStores(principal({ stores: ['globex-central'] }), tenantStores)).toEqual([]);
  });
});

describe('canWatchStation', () => {
  it('a device bound to stations sees only those', () => {
    expect(canWatchStation(kitchen, grill)).toBe(true);
    expect(canWatchStation(kitchen, bar)).toBe(false);
  });

  it('anyone else with access to the store sees every station of it', () => {
    expect(canWatchStation(staff, bar)).toBe(true);
    expect(canWatchStation(staff, uptownGrill)).toBe(false);
  });

  it('an admin bound to stations still sees every station of its stores', () => {
    expect(canWatchStation({ ...admin, stations: ['acme-downtown-grill'] }, uptownGrill)).toBe(true);
  });

  it('a binding never opens a store the token does not allow', () => {
    expect(canWatchStation(principal({ stations: ['acme-uptown-grill'] }), uptownGrill)).toBe(false);
  });
});

describe('canSeeOrder', () => {
  const order = { storeId: 'acme-downtown', customerId: 'acme-customer' };

  it('staff roles see the orders of their stores', () => {
    expect(canSeeOrder(staff, order)).toBe(true);
    expect(canSeeOrder(kitchen, { storeId: 'acme-downtown', customerId: null })).toBe(true);
    expect(canSeeOrder(staff, { ...order, storeId: 'acme-uptown' })).toBe(false);
  });

  it('a customer sees only its own orders', () => {
    expect(canSeeOrder(customer, order)).toBe(true);
    expect(canSeeOrder(customer, { ...order, customerId: 'someone-else' })).toBe(false);
    expect(canSeeOrder(customer, { ...order, customerId: null })).toBe(false);
  });

  it('a customer of another store does not see it, even its own id', () => {
    expect(canSeeOrder(customer, { storeId: 'acme-uptown', customerId: 'acme-customer' })).toBe(false);
  });
});

describe('canRevokeSessionsOf', () => {
  const manager = principal({
    userId: 'acme-manager',
    roles: ['MANAGER'],
    stores: ['acme-downtown', 'acme-uptown'],
  });
  const user = (roles: Principal['roles'], storeIds: string[], id = 'target') => ({ id, roles, storeIds });

  it('lets anyone end their own sessions, and an admin anyone’s', () => {
    expect(canRevokeSessionsOf(customer, user(['CUSTOMER'], ['acme-downtown'], 'acme-customer'))).toBe(true);
    expect(canRevokeSessionsOf(admin, user(['MANAGER'], ['*']))).toBe(true);
    expect(canRevokeSessionsOf(staff, user(['KITCHEN'], ['acme-downtown']))).toBe(false);
  });

  it('lets a manager end STAFF and KITCHEN users whose every store is the manager’s', () => {
    expect(canRevokeSessionsOf(manager, user(['KITCHEN'], ['acme-downtown']))).toBe(true);
    expect(canRevokeSessionsOf(manager, user(['STAFF', 'KITCHEN'], ['acme-downtown', 'acme-uptown']))).toBe(
      true,
    );
    expect(canRevokeSessionsOf(manager, user(['STAFF'], ['acme-downtown', 'acme-airport']))).toBe(false);
    expect(canRevokeSessionsOf(manager, user(['STAFF'], ['*']))).toBe(false);
    expect(canRevokeSessionsOf({ ...manager, stores: '*' }, user(['STAFF'], ['*']))).toBe(true);
    expect(canRevokeSessionsOf(manager, user(['STAFF'], []))).toBe(false);
  });

  it('never lets a manager end an admin’s, a manager’s or a customer’s sessions', () => {
    for (const roles of [['ADMIN'], ['MANAGER'], ['STAFF', 'MANAGER'], ['CUSTOMER'], []] as const) {
      expect(canRevokeSessionsOf(manager, user(roles, ['acme-downtown']))).toBe(false);
    }
  });
});
