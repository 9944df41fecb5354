import type { RevocationStore } from '../auth/revocation';
import type { PresenceRegistry } from '../presence/registry';
import { DashboardService } from './dashboard';
import { InventoryService } from './inventory';
import { KdsService } from './kds';
import { MenuService } from './menu';
import { NotificationService } from './notifications';
import { OrderService } from './orders';
import { PresenceService } from './presence';
import type { ServiceDeps } from './services';
import { SessionService } from './sessions';
import { StationOfflineAlerts } from './station-alerts';
import { StoreService } from './stores';
import { privateSubscriptions, type SubscriptionRunner } from './subscription-plans';
import { TableService } from './tables';

export interface Services {
  stores: StoreService;
  orders: OrderService;
  menu: MenuService;
  tables: TableService;
  kds: KdsService;
  inventory: InventoryService;
  notifications: NotificationService;
  dashboard: DashboardService;
  sessions: SessionService;
  presence: PresenceService;
  stationAlerts: StationOfflineAlerts;
  /** Subscription plans as private streams (src/domain/subscription-plans): for transports that cannot share. */
  subscriptions: SubscriptionRunner;
  /** Starts background work (late-ticket sweeper, dashboard snapshots, presence leases, station alerts). */
  start(): void;
  stop(): Promise<void>;
}

export function createServices(
  deps: ServiceDeps,
  infrastructure: {
    revocations: RevocationStore;
    presence: PresenceRegistry;
    /** A user's display name as authentication's user lookup read it (presence shares the connect's query). */
    userName?: (tenantId: string, userId: string) => Promise<string | null>;
  },
): Services {
  const windows = deps.config.domain;
  const presenceConfig = deps.config.presence;
  const kds = new KdsService(deps, { lateSweepIntervalMs: windows.kdsLateSweepIntervalMs });
  const dashboard = new DashboardService(deps, {
    throttleMs: windows.dashboardThrottleMs,
    snapshotIntervalMs: windows.dashboardSnapshotIntervalMs,
  });
  const presence = new PresenceService(
    deps,
    infrastructure.presence,
    presenceConfig,
    infrastructure.userName,
  );
  const stationAlerts = new StationOfflineAlerts(deps, infrastructure.presence, {
    alertSeconds: presenceConfig.stationOfflineAlertSeconds,
    instanceId: deps.config.ops.instanceId,
  });
  return {
    stores: new StoreService(deps),
    orders: new OrderService(deps, { updateCoalesceMs: windows.orderUpdateCoalesceMs }),
    menu: new MenuService(deps),
    tables: new TableService(deps, { revocations: infrastructure.revocations }),
    kds,
    inventory: new InventoryService(deps),
    notifications: new NotificationService(deps),
    dashboard,
    sessions: new SessionService({ db: deps.db, revocations: infrastructure.revocations }),
    presence,
    stationAlerts,
    subscriptions: privateSubscriptions({ streams: deps.streams, broadcasts: deps.publisher }),
    start() {
      kds.start?.();
      dashboard.start?.();
      presence.start();
      stationAlerts.start();
    },
    async stop() {
      await Promise.all([kds.stop?.(), dashboard.stop?.(), presence.stop(), stationAlerts.stop()]);
    },
  };
}
