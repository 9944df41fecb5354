import { requirePermission } from '../auth/permissions';
import { canAccessStore, visibleStores } from '../auth/policy';
import type { Principal, Role } from '../auth/principal';
import { remembered } from '../db/remembered';
import type { Db, Tx } from '../db/types';
import { badInput, forbidden, notFound } from '../errors';
import type { StationKind } from '../generated/prisma/enums';
import type { ServiceDeps } from './services';

export interface StoreView {
  id: string;
  name: string;
  currency: string;
  timezone: string;
}

export interface StationView {
  id: string;
  storeId: string;
  name: string;
  kind: StationKind;
  targetSeconds: number;
}

export interface UserView {
  id: string;
  name: string;
  email: string;
  roles: Role[];
  tenant: { id: string; name: string };
  stores: StoreView[];
  currentStore: StoreView | null;
  stationIds: string[];
}

export interface StationRef {
  id: string;
  storeId: string;
  kind: StationKind;
  targetSeconds: number;
}

const storeSelect = { id: true, name: true, currency: true, timezone: true } as const;

/**
 * The store of the caller's tenant, or NOT_FOUND (another tenant's stores do not exist for the caller);
 * a store of the own tenant outside the caller's `stores` claim is FORBIDDEN, as the `store` auth scope says.
 */
export async function requireStore(
  db: Db | Tx,
  principal: Principal,
  storeId: string,
  options: { cached?: boolean } = {},
): Promise<StoreView> {
  const store = options.cached
    ? await knownStore(db as Db, principal.tenantId, storeId)
    : await findStore(db, principal.tenantId, storeId);
  if (!store) throw notFound('Store', storeId);
  if (!canAccessStore(principal, store.id)) throw forbidden(`No access to store ${storeId}`);
  return store;
}

function findStore(db: Db | Tx, tenantId: string, storeId: string): Promise<StoreView | null> {
  return db.store.findFirst({ where: { id: storeId, tenantId }, select: storeSelect });
}

const storesByDb = new WeakMap<Db, (tenantId: string, storeId: string) => Promise<StoreView | null>>();

/**
 * A store row as read up to a minute ago. No operation edits a store or moves it to another tenant, and a
 * subscription starts on every (re)connect of every screen: they read stores from here (found ones only:
 * a store not found is asked again).
 */
function knownStore(db: Db, tenantId: string, storeId: string): Promise<StoreView | null> {
  let lookup = storesByDb.get(db);
  if (!lookup) {
    lookup = remembered(
      60_000,
      (tenant, store) => findStore(db, tenant, store),
      (found) => found !== null,
    );
    storesByDb.set(db, lookup);
  }
  return lookup(tenantId, storeId);
}

/** Bounds of a station's target time, in seconds. */
export const STATION_TARGET = { min: 30, max: 4 * 3600 } as const;

export class StoreService {
  constructor(private readonly deps: ServiceDeps) {}

  async me(principal: Principal): Promise<UserView> {
    const user = await this.deps.db.user.findFirst({
      where: { id: principal.userId, tenantId: principal.tenantId },
      include: { tenant: { select: { id: true, name: true } } },
    });
    if (!user) throw notFound('User', principal.userId);
    const stores = await this.stores(principal);
    return {
      id: user.id,
      name: user.name,
      email: user.email,
      roles: [...principal.roles],
      tenant: user.tenant,
      stores,
      currentStore: stores.find((store) => store.id === principal.currentStoreId) ?? null,
      stationIds: [...principal.stations],
    };
  }

  async stores(principal: Principal): Promise<StoreView[]> {
    const all = await this.deps.db.store.findMany({
      where: { tenantId: principal.tenantId },
      select: storeSelect,
      orderBy: { name: 'asc' },
    });
    const visible = new Set(
      visibleStores(
        principal,
        all.map((store) => store.id),
      ),
    );
    return all.filter((store) => visible.has(store.id));
  }

  store(principal: Principal, storeId: string): Promise<StoreView> {
    return requireStore(this.deps.db, principal, storeId);
  }

  async stations(principal: Principal, storeId: string): Promise<StationView[]> {
    await requireStore(this.deps.db, principal, storeId);
    return this.deps.db.station.findMany({
      where: { tenantId: principal.tenantId, storeId },
      select: { id: true, storeId: true, name: true, kind: true, targetSeconds: true },
      orderBy: { name: 'asc' },
    });
  }

  /**
   * Sets how long a ticket may stay open at a station before it is late (the KDS target time).
   * Managers and admins of the station's store; 30 seconds to 4 hours.
   */
  async setStationTargetTime(
    principal: Principal,
    stationId: string,
    targetSeconds: number,
  ): Promise<StationView> {
    requirePermission(principal, 'station.setTargetTime');
    if (
      !Number.isInteger(targetSeconds) ||
      targetSeconds < STATION_TARGET.min ||
      targetSeconds > STATION_TARGET.max
    ) {
      throw badInput(`targetSeconds must be ${STATION_TARGET.min} to ${STATION_TARGET.max}`, {
        field: 'targetSeconds',
      });
    }
    const station = await this.findStation(principal, stationId);
    if (!station) throw notFound('Station', stationId);
    if (!canAccessStore(principal, station.storeId)) throw forbidden(`No access to station ${stationId}`);
    return this.deps.db.station.update({
      where: { id: station.id },
      data: { targetSeconds },
      select: { id: true, storeId: true, name: true, kind: true, targetSeconds: true },
    });
  }

  /** The station within the caller's tenant, or null; used by the `station` auth scope. */
  findStation(principal: Principal, stationId: string): Promise<StationRef | null> {
    return this.deps.db.station.findFirst({
      where: { id: stationId, tenantId: principal.tenantId },
      select: { id: true, storeId: true, kind: true, targetSeconds: true },
    });
  }
}
