import {
  type DeviceEntry,
  deviceKeyOf,
  type PresenceChange,
  type PresenceRegistry,
  type StationRef,
  stationKeyOf,
  stationOfKey,
  storeKeyOf,
} from './registry';

interface StoredDevice extends DeviceEntry {
  /** Connection count last announced (0: never announced). */
  announced: number;
  /** While in grace: when the device goes OFFLINE. */
  offlineAt?: number;
}

/**
 * The registry in this instance's memory (no REDIS_URL): the rules of registry.ts for the connections of
 * one instance. `clock` is injectable for unit tests.
 */
export function createMemoryPresenceRegistry(options: {
  leaseMs: number;
  clock?: () => number;
}): PresenceRegistry {
  const clock = options.clock ?? Date.now;
  const devices = new Map<string, StoredDevice>();
  const byStore = new Map<string, Set<string>>();
  const connections = new Map<string, { deviceKey: string; leaseUntil: number }>();
  const offlineSince = new Map<string, number>();
  const alerted = new Set<string>();
  const turns = new Map<string, { holder: string; until: number }>();
  let revision = 0;

  function snapshot(device: StoredDevice): DeviceEntry {
    const { announced: _announced, offlineAt: _offlineAt, ...entry } = device;
    return { ...entry, roles: [...entry.roles], stationIds: [...entry.stationIds] };
  }

  function announce(device: StoredDevice, now: number): PresenceChange[] {
    if (device.connections <= 0 || device.connections === device.announced) return [];
    device.announced = device.connections;
    device.revision = ++revision;
    return [{ kind: 'ONLINE', device: snapshot(device), occurredAt: now }];
  }

  function remove(key: string, now: number): PresenceChange[] {
    const device = devices.get(key);
    if (!device) return [];
    devices.delete(key);
    const storeKey = storeKeyOf(device.tenantId, device.storeId);
    byStore.get(storeKey)?.delete(key);
    if (byStore.get(storeKey)?.size === 0) byStore.delete(storeKey);
    if (device.announced <= 0) return [];
    device.connections = 0;
    device.revision = ++revision;
    return [{ kind: 'OFFLINE', device: snapshot(device), occurredAt: now }];
  }

  function dropConnection(connectionId: string, graceMs: number, now: number): PresenceChange[] {
    const connection = connections.get(connectionId);
    if (!connection) return [];
    connections.delete(connectionId);
    const device = devices.get(connection.deviceKey);
    if (!device) return [];
    device.connections -= 1;
    device.lastSeenAt = now;
    if (device.connections > 0) return announce(device, now);
    if (graceMs > 0) {
      device.offlineAt = now + graceMs;
      return [];
    }
    return remove(connection.deviceKey, now);
  }

  return {
    shared: false,
    async register(registrations) {
      const now = clock();
      const changes: PresenceChange[] = [];
      for (const registration of registrations) {
        const { connectionId, ...fields } = registration;
        const known = connections.get(connectionId);
        if (known && devices.has(known.deviceKey)) {
          known.leaseUntil = now + options.leaseMs;
          (devices.get(known.deviceKey) as StoredDevice).lastSeenAt = now;
          continue;
        }
        const key = deviceKeyOf(fields);
        connections.set(connectionId, { deviceKey: key, leaseUntil: now + options.leaseMs });
        let device = devices.get(key);
        if (!device) {
          device = { ...fields, connections: 0, announced: 0, since: now, lastSeenAt: now, revision: 0 };
          devices.set(key, device);
          const storeKey = storeKeyOf(fields.tenantId, fields.storeId);
          byStore.set(storeKey, (byStore.get(storeKey) ?? new Set()).add(key));
        }
        Object.assign(device, {
          name: fields.name,
          roles: [...fields.roles],
          stationIds: [...fields.stationIds],
          lastSeenAt: now,
          offlineAt: undefined,
        });
        device.connections += 1;
        changes.push(...announce(device, now));
      }
      return changes;
    },
    async unregister(connectionId, graceMs) {
      return dropConnection(connectionId, graceMs, clock());
    },
    async sweep() {
      const now = clock();
      const changes: PresenceChange[] = [];
      for (const [connectionId, connection] of connections) {
        if (connection.leaseUntil <= now) changes.push(...dropConnection(connectionId, 0, now));
      }
      for (const [key, device] of devices) {
        if (device.offlineAt !== undefined && device.offlineAt <= now && device.connections <= 0) {
          changes.push(...remove(key, now));
        }
      }
      return changes;
    },
    async devices(tenantId, storeId) {
      const keys = byStore.get(storeKeyOf(tenantId, storeId)) ?? new Set<string>();
      return [...keys].flatMap((key) => {
        const device = devices.get(key);
        return device ? [snapshot(device)] : [];
      });
    },
    async markStationOffline(station) {
      const now = clock();
      const key = stationKeyOf(station);
      if (!offlineSince.has(key)) offlineSince.set(key, now);
      return { since: offlineSince.get(key) as number, now };
    },
    async claimStationAlert(station) {
      const key = stationKeyOf(station);
      if (alerted.has(key)) return false;
      alerted.add(key);
      return true;
    },
    async releaseStationAlert(station) {
      alerted.delete(stationKeyOf(station));
    },
    async markStationBack(station: StationRef) {
      const key = stationKeyOf(station);
      offlineSince.delete(key);
      alerted.delete(key);
    },
    async offlineStations() {
      return [...offlineSince.keys()].map(stationOfKey);
    },
    async takeTurn(name, holder, ttlMs) {
      const now = clock();
      const turn = turns.get(name);
      if (turn && turn.until > now && turn.holder !== holder) return false;
      turns.set(name, { holder, until: now + ttlMs });
      return true;
    },
    async close() {},
  };
}
