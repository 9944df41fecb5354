import type { RevocationStore } from '../auth/revocation';
import { DashboardService } from './dashboard';
import { InventoryService } from './inventory';
import { KdsService } from './kds';
import { MenuService } from './menu';
import { NotificationService } from './notifications';
import { OrderService } from './orders';
import type { ServiceDeps } from './services';
import { SessionService } from './sessions';
import { StoreService } from './stores';

export interface Services {
  stores: StoreService;
  orders: OrderService;
  menu: MenuService;
  kds: KdsService;
  inventory: InventoryService;
  notifications: NotificationService;
  dashboard: DashboardService;
  sessions: SessionService;
  /** Starts background work (late-ticket sweeper, dashboard snapshots). */
  start(): void;
  stop(): Promise<void>;
}

export function createServices(deps: ServiceDeps, auth: { revocations: RevocationStore }): Services {
  const windows = deps.config.domain;
  const kds = new KdsService(deps, { lateSweepIntervalMs: windows.kdsLateSweepIntervalMs });
  const dashboard = new DashboardService(deps, {
    throttleMs: windows.dashboardThrottleMs,
    snapshotIntervalMs: windows.dashboardSnapshotIntervalMs,
  });
  return {
    stores: new StoreService(deps),
    orders: new OrderService(deps, { updateCoalesceMs: windows.orderUpdateCoalesceMs }),
    menu: new MenuService(deps),
    kds,
    inventory: new InventoryService(deps),
    notifications: new NotificationService(deps),
    dashboard,
    sessions: new SessionService({ db: deps.db, revocations: auth.revocations }),
    start() {
      kds.start?.();
      dashboard.start?.();
    },
    async stop() {
      await Promise.all([kds.stop?.(), dashboard.stop?.()]);
    },
  };
}
