import type { Role } from '../auth/principal';

/**
 * Where device presence lives: one entry per user and store, counting that user's connections in the store
 * on every instance. Redis holds it when instances share one (registry-redis.ts); otherwise this instance's
 * memory does (registry-memory.ts), with the same rules:
 *
 * - A connection is registered with a lease; the instance holding it renews it (re-registering it if the
 *   registry lost it, e.g. after a Redis outage). A lease that runs out (its instance died) is reaped by
 *   any instance's sweep, and so is the device when that was its last connection: OFFLINE at once.
 * - Unregistering the last connection with a grace period keeps the device listed (with 0 connections) until
 *   the grace runs out; a connection registered meanwhile takes it back without any change being announced.
 *   Without grace the device goes OFFLINE at once.
 * - Every change that subscribers should hear of is returned exactly once, to the one caller that made it:
 *   ONLINE when the device appears or its connection count changes (never for a drop to 0 under grace),
 *   OFFLINE when it is gone. Each carries a revision, increasing across the registry, so a subscriber can
 *   drop a change older than what it already knows.
 *
 * No PostgreSQL: presence is state, not history, and costs no write per connect.
 */

export interface DeviceIdentity {
  tenantId: string;
  storeId: string;
  userId: string;
}

export interface DeviceDescription {
  name: string;
  roles: Role[];
  stationIds: string[];
}

export interface DeviceEntry extends DeviceIdentity, DeviceDescription {
  /** Open connections now (0 while in grace). */
  connections: number;
  /** Milliseconds since epoch, on the registry's clock. */
  since: number;
  lastSeenAt: number;
  revision: number;
}

export interface PresenceChange {
  kind: 'ONLINE' | 'OFFLINE';
  device: DeviceEntry;
  occurredAt: number;
  /** Already published on its store's presence topic by the registry (Redis: in the registering script). */
  published?: boolean;
}

export interface ConnectionRegistration extends DeviceIdentity, DeviceDescription {
  /** Unique across instances. */
  connectionId: string;
}

export interface StationRef {
  tenantId: string;
  stationId: string;
}

export interface PresenceRegistry {
  /** True when every instance sees the same registry (Redis); false for this instance's memory. */
  readonly shared: boolean;
  /** Registers connections or renews their lease (re-registering those the registry no longer has). */
  register(connections: readonly ConnectionRegistration[]): Promise<PresenceChange[]>;
  /**
   * The connection closed; its device keeps its entry for graceMs if that was its last connection. `store`: the
   * connection's (its registration's), so a registry that publishes changes can publish this one.
   */
  unregister(
    connectionId: string,
    graceMs: number,
    store?: { tenantId: string; storeId: string },
  ): Promise<PresenceChange[]>;
  /** Reaps expired leases and devices whose grace ran out. */
  sweep(): Promise<PresenceChange[]>;
  /** The store's devices, including those in grace. */
  devices(tenantId: string, storeId: string): Promise<DeviceEntry[]>;

  // The station-offline alert's state, shared like the entries.
  /** When the station was first seen offline (now, if it was not yet), and the registry's now. */
  markStationOffline(station: StationRef): Promise<{ since: number; now: number }>;
  /** True for exactly one caller until the station is back: that caller raises the alert. */
  claimStationAlert(station: StationRef): Promise<boolean>;
  /** Gives the claim back (raising the alert failed): a later claim may succeed. */
  releaseStationAlert(station: StationRef): Promise<void>;
  /** The station is back: its offline clock stops and its alert may be raised again later. */
  markStationBack(station: StationRef): Promise<void>;
  /** Stations with an offline clock running. */
  offlineStations(): Promise<StationRef[]>;
  /** True when `holder` holds `name` for the next ttlMs (one instance at a time does a periodic job). */
  takeTurn(name: string, holder: string, ttlMs: number): Promise<boolean>;

  close(): Promise<void>;
}

/** Unambiguous keys from ids that may contain any character. */
export const storeKeyOf = (tenantId: string, storeId: string) =>
  `${encodeURIComponent(tenantId)}:${encodeURIComponent(storeId)}`;
export const deviceKeyOf = (device: DeviceIdentity) =>
  `${storeKeyOf(device.tenantId, device.storeId)}:${encodeURIComponent(device.userId)}`;
export const stationKeyOf = (station: StationRef) =>
  `${encodeURIComponent(station.tenantId)}:${encodeURIComponent(station.stationId)}`;
export function stationOfKey(key: string): StationRef {
  const [tenantId = '', stationId = ''] = key.split(':');
  return { tenantId: decodeURIComponent(tenantId), stationId: decodeURIComponent(stationId) };
}
