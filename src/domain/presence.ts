import { randomUUID } from 'node:crypto';
import { allows, requirePermission } from '../auth/permissions';
import { canAccessStore, canSeeDevice, visibleStores } from '../auth/policy';
import type { Principal } from '../auth/principal';
import { remembered } from '../db/remembered';
import { topics } from '../events/topics';
import type {
  ConnectionRegistration,
  DeviceEntry,
  PresenceChange,
  PresenceRegistry,
} from '../presence/registry';
import {
  bySinceThenUser,
  type DevicePresenceView,
  type PresenceEventKind,
  type PresenceEventView,
  presenceEvent,
  presenceMerge,
  toDeviceView,
} from './presence-stream';
import type { ServiceDeps } from './services';
import { openStatePlanStream } from './state-stream';
import { requireStore } from './stores';
import type { StatePlan } from './subscription-plans';

export type { DevicePresenceView, PresenceEventKind, PresenceEventView } from './presence-stream';

/**
 * Device presence: which screens and people are connected, per user and store, across every socket and
 * instance (docs/presence.md).
 *
 * The server tells this service when a WebSocket connection is acknowledged and when it closes; the
 * registry (src/presence) keeps the entries, in Redis when instances share one. A clean close (the client
 * closed with 1000, or 1001 while this instance is not shutting down) removes the connection at once; any
 * other end (a dropped network, a server closing it, a shutdown) keeps the device for `graceMs`, so a
 * device that reconnects within it, on any instance, never flickers. Each instance renews its connections'
 * leases every `leaseMs / 3`; the connections of an instance that died are reaped when their lease runs out.
 *
 * Changes are ephemeral pub/sub messages (no outbox, no replay: presence is state, not history), and a
 * subscriber starts from the current entries.
 */

export interface PresenceOptions {
  /** How long a device whose last connection dropped stays listed, waiting for it to come back. */
  graceMs: number;
  /** Lease of a connection in the registry: its instance renews it every third of this. */
  leaseMs: number;
}

/** What crosses pub/sub on a store's presence topic. */
export interface PresenceMessage {
  kind: PresenceEventKind;
  tenantId: string;
  storeId: string;
  device: DeviceEntry;
  occurredAt: number;
}

interface LocalConnection {
  id: string;
  /** Set once the store and name are known; undefined for connections that are not devices. */
  registration?: ConnectionRegistration;
  /** Settles when registration is decided (registered, skipped or failed). */
  settled: Promise<void>;
  closed: boolean;
}

/** A clean close: the client said goodbye (1000), or left with 1001 while this instance is not shutting down. */
export function isCleanClose(code: number, shuttingDown: boolean): boolean {
  return code === 1000 || (code === 1001 && !shuttingDown);
}

export class PresenceService {
  private readonly connections = new Map<object, LocalConnection>();
  private readonly inFlight = new Set<Promise<unknown>>();
  /** Lookups of a store's devices under way: the stations of one store listed together share one. */
  private readonly devicesLoading = new Map<string, Promise<DeviceEntry[]>>();
  private readonly userName: (tenantId: string, userId: string) => Promise<string | null>;
  private renewTimer: NodeJS.Timeout | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private stopWatchingRedis: (() => void) | undefined;
  private stopped = false;

  constructor(
    private readonly deps: ServiceDeps,
    readonly registry: PresenceRegistry,
    private readonly options: PresenceOptions,
    /** The user's name, null for no user of the tenant; by default looked up (and remembered) here. */
    userName?: (tenantId: string, userId: string) => Promise<string | null>,
  ) {
    this.userName =
      userName ??
      remembered(60_000, async (tenantId, userId) => {
        const user = await deps.db.user.findFirst({
          where: { id: userId, tenantId },
          select: { name: true },
        });
        return user?.name ?? null;
      });
  }

  /** How often this instance reaps expired leases and ended grace periods (any instance may). */
  get sweepIntervalMs(): number {
    return Math.max(
      50,
      Math.min(1000, Math.floor(Math.min(this.options.graceMs || 1000, this.options.leaseMs) / 4)),
    );
  }

  // Connection lifecycle, called by the server with an opaque handle per connection.

  /** A connection was acknowledged: it counts for its user in its store, if the user is a device at all. */
  connected(connection: object, principal: Principal): void {
    if (!allows(principal, 'presence.appear')) return;
    const local: LocalConnection = { id: randomUUID(), settled: Promise.resolve(), closed: false };
    this.connections.set(connection, local);
    local.settled = this.track(this.register(connection, local, principal));
  }

  /** The connection closed; `clean` as decided by isCleanClose. */
  disconnected(connection: object, clean: boolean): void {
    const local = this.connections.get(connection);
    if (!local) return;
    this.connections.delete(connection);
    local.closed = true;
    this.track(
      local.settled.then(async () => {
        if (!local.registration) return;
        const graceMs = clean ? 0 : this.options.graceMs;
        await this.announce(await this.registry.unregister(local.id, graceMs, local.registration));
      }),
    );
  }

  private async register(connection: object, local: LocalConnection, principal: Principal): Promise<void> {
    const storeId = await this.storeOfConnection(principal);
    if (!storeId) {
      if (this.connections.get(connection) === local) this.connections.delete(connection); // in no store's presence
      return;
    }
    const name = (await this.userName(principal.tenantId, principal.userId)) ?? principal.userId;
    if (local.closed) return; // closed while its store and name were looked up
    local.registration = {
      connectionId: local.id,
      tenantId: principal.tenantId,
      storeId,
      userId: principal.userId,
      name,
      roles: [...principal.roles],
      stationIds: [...principal.stations],
    };
    await this.announce(await this.registry.register([local.registration]));
  }

  /** The store a connection works in: its connection_init `storeId`, else the one store its token names. */
  private async storeOfConnection(principal: Principal): Promise<string | undefined> {
    if (principal.currentStoreId) return principal.currentStoreId;
    if (principal.stores === '*' || principal.stores.length !== 1) return undefined;
    const [storeId] = principal.stores as [string];
    const known = await requireStore(this.deps.db, principal, storeId, { cached: true }).catch(() => null);
    return known?.id;
  }

  // Reading presence.

  /**
   * Devices the caller may see: of `storeId`, else of the connection's current store, else of every store
   * the caller may access. Devices in their grace period are listed with 0 connections.
   */
  async presence(principal: Principal, storeId?: string | null): Promise<DevicePresenceView[]> {
    requireViewer(principal);
    const storeIds = await this.storesToList(principal, storeId ?? principal.currentStoreId ?? null);
    const perStore = await Promise.all(storeIds.map((id) => this.registry.devices(principal.tenantId, id)));
    return perStore
      .flat()
      .filter((entry) => canSeeDevice(principal, entry))
      .sort(bySinceThenUser)
      .map(toDeviceView);
  }

  /** Whether a device bound to the station is connected (or within its grace period). */
  async stationOnline(principal: Principal, station: { id: string; storeId: string }): Promise<boolean> {
    if (!canAccessStore(principal, station.storeId)) return false;
    return isStationOnline(await this.devicesOf(principal.tenantId, station.storeId), station.id);
  }

  private devicesOf(tenantId: string, storeId: string): Promise<DeviceEntry[]> {
    const key = `${tenantId}\u0000${storeId}`;
    let loading = this.devicesLoading.get(key);
    if (!loading) {
      loading = this.registry.devices(tenantId, storeId);
      this.devicesLoading.set(key, loading);
      const forget = () => this.devicesLoading.delete(key);
      loading.then(forget, forget);
    }
    return loading;
  }

  /**
   * The store's devices the caller may see: first one ONLINE event per device present now (occurredAt is
   * its `since`), then every change. Only the latest unread change per device is kept for a slow reader.
   */
  async presencePlan(
    principal: Principal,
    storeId: string,
  ): Promise<StatePlan<PresenceMessage, PresenceEventView>> {
    requireViewer(principal);
    await requireStore(this.deps.db, principal, storeId, { cached: true });
    const { tenantId } = principal;
    const visible = (device: DeviceEntry) => canSeeDevice(principal, device);
    return {
      topic: topics.storePresence(tenantId, storeId),
      current: async () =>
        (await this.registry.devices(tenantId, storeId))
          .filter(visible)
          .sort(bySinceThenUser)
          .map((device) => presenceEvent('ONLINE', device, device.since)),
      select: (change) =>
        change.tenantId === tenantId && change.storeId === storeId && visible(change.device)
          ? presenceEvent(change.kind, change.device, change.occurredAt)
          : undefined,
      ...presenceMerge,
    };
  }

  /** presencePlan as a private stream. */
  async subscribePresence(
    principal: Principal,
    storeId: string,
  ): Promise<AsyncIterableIterator<PresenceEventView>> {
    return openStatePlanStream(this.deps.publisher, await this.presencePlan(principal, storeId));
  }

  // Background work.

  start(): void {
    if (this.renewTimer || this.stopped) return;
    this.renewTimer = setInterval(
      () => void this.track(this.renew()),
      Math.max(100, Math.floor(this.options.leaseMs / 3)),
    );
    this.renewTimer.unref();
    this.sweepTimer = setInterval(() => void this.track(this.sweep()), this.sweepIntervalMs);
    this.sweepTimer.unref();
    // Back from a Redis outage: renew at once, before other instances' sweeps find the leases run out.
    this.stopWatchingRedis = this.deps.publisher.onReconnect?.(() => void this.track(this.renew()));
  }

  /** Stops renewing and sweeping, and waits for registrations and announcements under way. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.stopWatchingRedis?.();
    clearInterval(this.renewTimer);
    clearInterval(this.sweepTimer);
    this.renewTimer = undefined;
    this.sweepTimer = undefined;
    await this.settled();
  }

  /** Resolves once every registration, unregistration and announcement started so far is done (tests). */
  async settled(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** Renews the leases of this instance's connections, registering again those the registry lost. */
  async renew(): Promise<void> {
    const registrations = [...this.connections.values()].flatMap((local) =>
      local.registration ? [local.registration] : [],
    );
    if (registrations.length > 0) await this.announce(await this.registry.register(registrations));
  }

  /** Reaps expired leases and devices whose grace ran out, announcing them OFFLINE. */
  async sweep(): Promise<void> {
    await this.announce(await this.registry.sweep());
  }

  /** Ephemeral: published on the store's presence topic, never written to the outbox. */
  private async announce(changes: readonly PresenceChange[]): Promise<void> {
    await Promise.all(
      changes.map((change) => {
        if (change.published) return undefined;
        const { tenantId, storeId } = change.device;
        const message: PresenceMessage = { ...change, tenantId, storeId };
        return this.deps.publisher.broadcast(topics.storePresence(tenantId, storeId), message);
      }),
    );
  }

  private track(work: Promise<void>): Promise<void> {
    const tracked = work.catch((error: unknown) =>
      this.deps.logger.warn({ err: error }, 'presence update failed; the next renewal retries it'),
    );
    this.inFlight.add(tracked);
    void tracked.finally(() => this.inFlight.delete(tracked));
    return tracked;
  }

  private async storesToList(principal: Principal, storeId: string | null): Promise<string[]> {
    if (storeId) return [(await requireStore(this.deps.db, principal, storeId, { cached: true })).id];
    const stores = await this.deps.db.store.findMany({
      where: { tenantId: principal.tenantId },
      select: { id: true },
    });
    return visibleStores(
      principal,
      stores.map((store) => store.id),
    );
  }
}

/** A station is online while a device bound to it is listed in its store. */
export function isStationOnline(devices: readonly DeviceEntry[], stationId: string): boolean {
  return devices.some((device) => device.stationIds.includes(stationId));
}

function requireViewer(principal: Principal): void {
  requirePermission(principal, 'presence.read');
}
