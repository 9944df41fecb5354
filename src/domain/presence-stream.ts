import type { Role } from '../auth/principal';
import type { DeviceEntry } from '../presence/registry';

/**
 * What a presence subscriber receives (the views of devices and their changes), and how a subscriber's stream
 * merges a store's changes into them (src/domain/presence.ts plans it).
 */

export interface DevicePresenceView {
  storeId: string;
  userId: string;
  name: string;
  roles: Role[];
  stationIds: string[];
  connections: number;
  since: string;
  lastSeenAt: string;
  /** Orders changes of one device (increasing across the registry). */
  revision: number;
}

export type PresenceEventKind = 'ONLINE' | 'OFFLINE';

export interface PresenceEventView {
  kind: PresenceEventKind;
  storeId: string;
  device: DevicePresenceView;
  occurredAt: string;
}

export function toDeviceView(entry: DeviceEntry): DevicePresenceView {
  return {
    storeId: entry.storeId,
    userId: entry.userId,
    name: entry.name,
    roles: [...entry.roles],
    stationIds: [...entry.stationIds],
    connections: entry.connections,
    since: new Date(entry.since).toISOString(),
    lastSeenAt: new Date(entry.lastSeenAt).toISOString(),
    revision: entry.revision,
  };
}

export function bySinceThenUser(a: DeviceEntry, b: DeviceEntry): number {
  return a.since - b.since || (a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0);
}

/**
 * How a presence subscriber's stream merges changes (a state plan's rules, src/domain/state-stream): one entry per
 * device (user); a change older by revision than what the subscriber knows is dropped, so the race between
 * listening and loading never shows a device twice or brings back one that left; and an ONLINE that changes
 * nothing the subscriber was shown, or an OFFLINE for a device it was never shown, is not delivered.
 */
export const presenceMerge = {
  keyOf: (event: PresenceEventView) => event.device.userId,
  isNewer: (event: PresenceEventView, than: PresenceEventView) =>
    event.device.revision > than.device.revision,
  changes(event: PresenceEventView, shown: PresenceEventView | undefined): boolean {
    if (event.kind === 'OFFLINE') return shown?.kind === 'ONLINE';
    return !(shown?.kind === 'ONLINE' && shown.device.connections === event.device.connections);
  },
};

export function presenceEvent(
  kind: PresenceEventKind,
  device: DeviceEntry,
  occurredAt: number,
): PresenceEventView {
  return {
    kind,
    storeId: device.storeId,
    device: toDeviceView(device),
    occurredAt: new Date(occurredAt).toISOString(),
  };
}
