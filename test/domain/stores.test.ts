import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { as, createDomainFixture, type DomainFixture } from '../support/domain-fixture';

let fx: DomainFixture;
beforeAll(async () => {
  fx = await createDomainFixture();
});
afterAll(() => fx.close());

describe('StoreService', () => {
  it('describes the caller: roles, tenant, visible stores and the current store', async () => {
    const me = await fx.stores.me(as('acme-staff', { currentStoreId: 'acme-downtown' }));
    expect(me).toEqual({
      id: 'acme-staff',
      name: 'Acme Burgers Staff',
      email: 'acme-staff@example.com',
      roles: ['STAFF'],
      tenant: { id: 'acme', name: 'Acme Burgers' },
      stores: [{ id: 'acme-downtown', name: 'Acme Downtown', currency: 'USD', timezone: 'UTC' }],
      currentStore: { id: 'acme-downtown', name: 'Acme Downtown', currency: 'USD', timezone: 'UTC' },
      stationIds: [],
    });
  });

  it('lists every store of the tenant for a caller with all stores, and only the own tenant', async () => {
    const stores = await fx.stores.stores(as('acme-manager'));
    expect(stores.map((store) => store.id)).toEqual(['acme-downtown', 'acme-uptown']);
  });

  it('lists only the stores in the caller’s stores claim', async () => {
    const stores = await fx.stores.stores(as('acme-kitchen'));
    expect(stores.map((store) => store.id)).toEqual(['acme-downtown']);
  });

  it('reads a store with its stations', async () => {
    const manager = as('acme-manager');
    expect(await fx.stores.store(manager, 'acme-uptown')).toMatchObject({
      id: 'acme-uptown',
      name: 'Acme Uptown',
    });
    const stations = await fx.stores.stations(manager, 'acme-uptown');
    expect(stations.map((s) => [s.id, s.kind, s.targetSeconds])).toEqual([
      ['acme-uptown-bar', 'PREP', 300],
      ['acme-uptown-expo', 'EXPO', 900],
      ['acme-uptown-grill', 'PREP', 600],
    ]);
  });

  it('hides another tenant’s store (NOT_FOUND) and refuses an own store outside the claim (FORBIDDEN)', async () => {
    await expect(fx.stores.store(as('acme-manager'), 'globex-central')).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    await expect(fx.stores.store(as('acme-staff'), 'acme-uptown')).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
  });

  it('finds a station only within the caller’s tenant', async () => {
    expect(await fx.stores.findStation(as('acme-kitchen'), 'acme-downtown-grill')).toEqual({
      id: 'acme-downtown-grill',
      storeId: 'acme-downtown',
      kind: 'PREP',
      targetSeconds: 600,
    });
    expect(await fx.stores.findStation(as('acme-kitchen'), 'globex-central-grill')).toBeNull();
    expect(await fx.stores.findStation(as('acme-kitchen'), 'no-such-station')).toBeNull();
  });

  it('refuses `me` for a token whose user does not exist in its tenant', async () => {
    await expect(fx.stores.me(as('acme-staff', { tenantId: 'globex' }))).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
  });
});

describe('setStationTargetTime', () => {
  it('sets the target a ticket is measured against, for managers of the station’s store', async () => {
    const station = await fx.stores.setStationTargetTime(as('acme-manager'), 'acme-uptown-bar', 120);
    expect(station).toEqual({
      id: 'acme-uptown-bar',
      storeId: 'acme-uptown',
      name: expect.any(String),
      kind: 'PREP',
      targetSeconds: 120,
    });
    expect((await fx.stores.findStation(as('acme-admin'), 'acme-uptown-bar'))?.targetSeconds).toBe(120);
  });

  it('refuses other roles, other stores, other tenants and out-of-range targets', async () => {
    await expect(
      fx.stores.setStationTargetTime(as('acme-staff'), 'acme-downtown-grill', 300),
    ).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
    const downtownManager = as('acme-manager', { stores: ['acme-downtown'] });
    await expect(
      fx.stores.setStationTargetTime(downtownManager, 'acme-uptown-grill', 300),
    ).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
    await expect(
      fx.stores.setStationTargetTime(as('acme-admin'), 'globex-central-grill', 300),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' });
    for (const targetSeconds of [29, 4 * 3600 + 1, 1.5]) {
      await expect(
        fx.stores.setStationTargetTime(as('acme-admin'), 'acme-downtown-grill', targetSeconds),
      ).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    }
    expect((await fx.stores.findStation(as('acme-admin'), 'acme-uptown-grill'))?.targetSeconds).toBe(600);
  });
});
