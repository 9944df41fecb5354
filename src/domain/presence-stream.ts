import type { Role } from '../auth/principal';
import type { DeviceEntry } from '../presence/registry';

/**
 * What a presence subscriber receives (the views of devices and their changes), and the stream that turns a
 * store's changes into them for one subscriber (src/domain/presence.ts opens it).
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
 * A store's presence as one subscriber sees it. Changes that arrive before the current entries are loaded
 * wait for them; a change older (by revision) than what the subscriber knows is dropped, so the race between
 * subscribing and loading never shows a device twice or brings back one that left. Only the newest unread
 * change per device is kept, and an OFFLINE for a device the subscriber was never shown is dropped with it.
 */
export class PresenceStream implements AsyncIterableIterator<PresenceEventView> {
  private loaded = false;
  private readonly early: Array<[PresenceEventKind, DeviceEntry, number]> = [];
  private readonly revisions = new Map<string, number>();
  /** userId -> connection count the subscriber was last shown as ONLINE. */
  private readonly shown = new Map<string, number>();
  private readonly unread = new Map<string, PresenceEventView>();
  private waiter: ((result: IteratorResult<PresenceEventView>) => void) | undefined;
  private finished = false;
  private release: (() => void) | undefined;

  constructor(private readonly visible: (device: DeviceEntry) => boolean) {}

  onReturn(release: () => void): void {
    this.release = release;
  }

  start(current: readonly DeviceEntry[]): void {
    for (const device of [...current].sort(bySinceThenUser)) this.accept('ONLINE', device, device.since);
    this.loaded = true;
    for (const [kind, device, occurredAt] of this.early.splice(0)) this.accept(kind, device, occurredAt);
  }

  receive(kind: PresenceEventKind, device: DeviceEntry, occurredAt: number): void {
    if (this.finished) return;
    if (this.loaded) this.accept(kind, device, occurredAt);
    else this.early.push([kind, device, occurredAt]);
  }

  private accept(kind: PresenceEventKind, device: DeviceEntry, occurredAt: number): void {
    if (!this.visible(device)) return;
    if (device.revision <= (this.revisions.get(device.userId) ?? -1)) return;
    this.revisions.set(device.userId, device.revision);
    const event: PresenceEventView = {
      kind,
      storeId: device.storeId,
      device: toDeviceView(device),
      occurredAt: new Date(occurredAt).toISOString(),
    };
    this.unread.delete(device.userId); // re-inserted last: devices keep the order of their latest change
    this.unread.set(device.userId, event);
    this.wake();
  }

  private takeUnread(): PresenceEventView | undefined {
    for (const [userId, event] of this.unread) {
      this.unread.delete(userId);
      if (event.kind === 'OFFLINE') {
        if (!this.shown.delete(userId)) continue;
      } else {
        if (this.shown.get(userId) === event.device.connections) continue;
        this.shown.set(userId, event.device.connections);
      }
      return event;
    }
    return undefined;
  }

  private wake(): void {
    if (!this.waiter) return;
    const event = this.takeUnread();
    if (!event) return;
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter({ done: false, value: event });
  }

  next(): Promise<IteratorResult<PresenceEventView>> {
    if (this.finished) return Promise.resolve({ done: true, value: undefined });
    const event = this.takeUnread();
    if (event) return Promise.resolve({ done: false, value: event });
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }

  return(): Promise<IteratorResult<PresenceEventView>> {
    if (!this.finished) {
      this.finished = true;
      this.unread.clear();
      this.early.length = 0;
      this.release?.();
      this.waiter?.({ done: true, value: undefined });
      this.waiter = undefined;
    }
    return Promise.resolve({ done: true, value: undefined });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<PresenceEventView> {
    return this;
  }
}
