import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ACTIONS, allows, allowsWithoutLimits } from '../../src/auth/permissions';
import {
  authorizationScope,
  canAccessStore,
  canManageMenu,
  canSeeDevice,
  canSeeOrder,
  canSeeProduct,
  canSetAvailability,
  canWatchStation,
  canWorkTables,
  hasAllStores,
  isAdmin,
  isStaff,
  isTableGuest,
} from '../../src/auth/policy';
import { type Principal, ROLES } from '../../src/auth/principal';
import { groupKeyOf } from '../../src/fanout/engine';

// "Callers with equal authorization scopes are allowed the same": the fan-out engine shares one execution per
// event among them. Shown for every rule that decides what a row or an event shows, on small worlds where every
// field matters: a caller and its scope answer every question alike.

const STORES = ['s1', 's2'];
const STATIONS = ['st1', 'st2'];
const USERS = ['u1', 'u2'];
const TABLES = ['t1', 't2'];

const principal: fc.Arbitrary<Principal> = fc
  .record({
    userId: fc.constantFrom(...USERS),
    tenantId: fc.constantFrom('acme', 'other'),
    roles: fc.uniqueArray(fc.constantFrom(...ROLES), { minLength: 1, maxLength: 3 }),
    stores: fc.oneof(fc.constant('*' as const), fc.subarray(STORES)),
    stations: fc.subarray(STATIONS),
    table: fc.option(fc.constantFrom(...TABLES), { nil: undefined }),
    currentStoreId: fc.option(fc.constantFrom(...STORES), { nil: undefined }),
    tokenId: fc.constantFrom('a', 'b'),
    issuedAt: fc.nat(),
    expiresAt: fc.nat(),
  })
  .map(({ table, currentStoreId, ...rest }) => ({
    ...rest,
    ...(table !== undefined && { table }),
    ...(currentStoreId !== undefined && { currentStoreId }),
  }));

/** Every answer the rules give a caller, over every row of the small world. */
function answers(caller: Principal): unknown[] {
  const out: unknown[] = [isAdmin(caller), isStaff(caller), isTableGuest(caller), hasAllStores(caller)];
  for (const action of ACTIONS) out.push(allows(caller, action), allowsWithoutLimits(caller, action));
  for (const storeId of STORES) {
    out.push(canAccessStore(caller, storeId), canManageMenu(caller, storeId), canWorkTables(caller, storeId));
    for (const stationId of STATIONS) {
      out.push(canWatchStation(caller, { id: stationId, storeId }));
      out.push(canSetAvailability(caller, { storeId, stationId }));
    }
    for (const active of [true, false]) out.push(canSeeProduct(caller, { storeId, active }));
    for (const roles of [['ADMIN'], ['MANAGER'], ['STAFF'], ['KITCHEN'], ['STAFF', 'MANAGER']] as const)
      out.push(canSeeDevice(caller, { storeId, roles }));
    for (const customerId of [...USERS, null])
      for (const tableId of [...TABLES, null])
        for (const seatingId of ['seat1', null])
          for (const guestSeating of ['seat1', null])
            out.push(canSeeOrder(caller, { storeId, customerId, tableId, seatingId }, guestSeating));
  }
  return out;
}

describe('authorizationScope', () => {
  it('answers every rule as the caller it was taken from', () => {
    fc.assert(
      fc.property(principal, (caller) => {
        expect(answers(authorizationScope(caller))).toEqual(answers(caller));
      }),
      { numRuns: 300 },
    );
  });

  it('keeps no token, time or current store, and the user only for customers', () => {
    const staff: Principal = {
      userId: 'u1',
      tenantId: 'acme',
      roles: ['STAFF', 'ADMIN'],
      stores: ['s1'],
      stations: [],
    };
    const other = { ...staff, userId: 'u2', tokenId: 'x', issuedAt: 1, expiresAt: 2, currentStoreId: 's1' };
    expect(authorizationScope(other)).toEqual(authorizationScope(staff));
    expect(authorizationScope(staff).roles).toEqual(['ADMIN', 'STAFF']);
    const customer: Principal = { ...staff, roles: ['CUSTOMER'] };
    expect(authorizationScope({ ...customer, userId: 'u2' })).not.toEqual(authorizationScope(customer));
    expect(authorizationScope({ ...customer, table: 't1' })).not.toEqual(authorizationScope(customer));
  });

  it('is what the fan-out engine groups subscribers by, with the current store', () => {
    const query =
      'subscription ($storeId: ID!, $after: String) { orderUpdated(storeId: $storeId, after: $after) { cursor } }';
    const args = (after: string | null) => ({ variableValues: { storeId: 's1', after } }) as never;
    const staff: Principal = {
      userId: 'u1',
      tenantId: 'acme',
      roles: ['STAFF'],
      stores: ['s1'],
      stations: [],
    };
    const key = (caller: Principal, after: string | null = null) => groupKeyOf(query, args(after), caller);
    expect(key({ ...staff, userId: 'u2', tokenId: 't', expiresAt: 1 }, 'cursor')).toBe(key(staff));
    expect(key(staff)).not.toBe(key({ ...staff, stations: ['st1'] }));
    expect(key(staff)).not.toBe(key({ ...staff, currentStoreId: 's1' }));
    const customer: Principal = { ...staff, roles: ['CUSTOMER'] };
    expect(key(customer)).not.toBe(key({ ...customer, userId: 'u2' }));
  });
});
