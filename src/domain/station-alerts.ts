import type { OrderStatus } from '../generated/prisma/enums';
import type { PresenceRegistry, StationRef } from '../presence/registry';
import { raiseNotification } from './notification-records';
import { isStationOnline } from './presence';
import type { ServiceDeps } from './services';

/** The notification kind of the alert: a PREP station with open tickets and no screen. */
export const STATION_OFFLINE_KIND = 'STATION_OFFLINE';

export interface StationAlertOptions {
  /** How long a PREP station with open tickets may have no connected device before its managers hear of it. */
  alertSeconds: number;
  /** Name of this instance: one instance at a time checks the stations. */
  instanceId: string;
}

const OPEN_ORDER: OrderStatus[] = ['PENDING', 'ACCEPTED', 'IN_PROGRESS', 'READY'];
const OPEN_TICKET = { status: { not: 'BUMPED' as const }, order: { status: { in: OPEN_ORDER } } };

/**
 * The station-offline alert (docs/presence.md). A PREP station's offline clock starts when a check first
 * finds it with open tickets and no device bound to it in presence; once the clock passes `alertSeconds`
 * while tickets are still open, the store's managers get one STATION_OFFLINE notification. The clock and
 * the alert reset only when a device bound to the station is back, so a station that stays dark alerts
 * once, and again only after it was back. The clock and the claim on the alert live in the presence
 * registry, so with several instances one check runs at a time and one instance raises the alert.
 */
export class StationOfflineAlerts {
  private timer: NodeJS.Timeout | undefined;
  private checking: Promise<unknown> | undefined;
  /** Checks this instance completed (tests wait for a number of them instead of a time). */
  checksDone = 0;

  constructor(
    private readonly deps: ServiceDeps,
    private readonly registry: PresenceRegistry,
    private readonly options: StationAlertOptions,
  ) {}

  /** Checks every quarter of the alert window, at most every 5 s. */
  get intervalMs(): number {
    return Math.max(100, Math.min(5000, Math.floor((this.options.alertSeconds * 1000) / 4)));
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      if (this.checking) return;
      this.checking = this.checkInTurn()
        .catch((error: unknown) => this.deps.logger.warn({ err: error }, 'station offline check failed'))
        .finally(() => {
          this.checking = undefined;
        });
    }, this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.checking;
  }

  private async checkInTurn(): Promise<void> {
    if (await this.registry.takeTurn('station-alerts', this.options.instanceId, this.intervalMs * 2)) {
      await this.check();
    }
  }

  /** One check of every PREP station with open tickets, and of those whose offline clock runs. Returns alerts raised. */
  async check(): Promise<number> {
    const running = await this.registry.offlineStations();
    const stations = await this.deps.db.station.findMany({
      where: {
        OR: [
          { kind: 'PREP', tickets: { some: OPEN_TICKET } },
          ...running.map((station) => ({ id: station.stationId, tenantId: station.tenantId })),
        ],
      },
      select: {
        id: true,
        tenantId: true,
        storeId: true,
        name: true,
        kind: true,
        _count: { select: { tickets: { where: OPEN_TICKET } } },
      },
    });
    const devicesOfStore = new Map<string, ReturnType<PresenceRegistry['devices']>>();
    const devices = (tenantId: string, storeId: string) => {
      const key = `${tenantId}\u0000${storeId}`;
      if (!devicesOfStore.has(key)) devicesOfStore.set(key, this.registry.devices(tenantId, storeId));
      return devicesOfStore.get(key) as ReturnType<PresenceRegistry['devices']>;
    };
    let raised = 0;
    for (const station of stations) {
      const ref: StationRef = { tenantId: station.tenantId, stationId: station.id };
      if (isStationOnline(await devices(station.tenantId, station.storeId), station.id)) {
        if (running.some((r) => r.stationId === ref.stationId && r.tenantId === ref.tenantId)) {
          await this.registry.markStationBack(ref);
        }
        continue;
      }
      const openTickets = station._count.tickets;
      if (station.kind !== 'PREP' || openTickets === 0) continue;
      const { since, now } = await this.registry.markStationOffline(ref);
      if (now - since < this.options.alertSeconds * 1000) continue;
      if (!(await this.registry.claimStationAlert(ref))) continue;
      try {
        await this.raise({
          ...station,
          openTickets,
          offlineForMs: now - since,
          offlineSince: new Date(since),
        });
      } catch (error) {
        await this.registry.releaseStationAlert(ref); // the next check tries again
        throw error;
      }
      raised += 1;
    }
    // A station whose clock runs but that no longer exists.
    for (const ref of running) {
      if (!stations.some((s) => s.id === ref.stationId && s.tenantId === ref.tenantId)) {
        await this.registry.markStationBack(ref);
      }
    }
    this.checksDone += 1;
    return raised;
  }

  private async raise(station: {
    id: string;
    tenantId: string;
    storeId: string;
    name: string;
    openTickets: number;
    offlineForMs: number;
    offlineSince: Date;
  }): Promise<void> {
    const seconds = Math.round(station.offlineForMs / 1000);
    const tickets = station.openTickets === 1 ? '1 open ticket' : `${station.openTickets} open tickets`;
    await this.deps.publisher.run((tx, emit) =>
      raiseNotification(tx, emit, {
        tenantId: station.tenantId,
        audience: 'ROLE',
        targetRole: 'MANAGER',
        targetStoreId: station.storeId,
        kind: STATION_OFFLINE_KIND,
        severity: 'HIGH',
        title: `${station.name}: no screen connected`,
        body: `${station.name} has ${tickets} and no connected device for ${seconds} s.`,
        data: {
          stationId: station.id,
          storeId: station.storeId,
          openTickets: station.openTickets,
          offlineSince: station.offlineSince.toISOString(),
        },
      }),
    );
    this.deps.logger.info(
      { stationId: station.id, storeId: station.storeId },
      'station offline alert raised',
    );
  }
}
