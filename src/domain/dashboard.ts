import { requirePermission } from '../auth/permissions';
import { hasAllStores } from '../auth/policy';
import type { Principal } from '../auth/principal';
import { badInput } from '../errors';
import { storeOfTopic, topics } from '../events/topics';
import type { CommitListener } from '../events/unit-of-work';
import type { Prisma } from '../generated/prisma/client';
import type { OrderStatus } from '../generated/prisma/enums';
import {
  computeMetrics,
  createKeyedThrottle,
  type DashboardMetricsView,
  type MetricsInput,
  mergeInputs,
  startOfDay,
} from './dashboard-metrics';
import type { ServiceDeps } from './services';
import { openStatePlanStream } from './state-stream';
import { requireStore } from './stores';
import type { StatePlan } from './subscription-plans';

export type { DashboardMetricsView } from './dashboard-metrics';

/**
 * Live store metrics. Computed from the database, cached per scope (a store, or a tenant for callers with
 * every store), invalidated and recomputed after every commit that carries order, kds or inventory events,
 * and broadcast (the publisher's ephemeral verb: a missed push is repaired by the next one) at most once per throttle
 * window per scope, on the leading and the trailing edge. A snapshot per store is persisted periodically.
 *
 * Commits on another instance reach this instance's subscribers through those pushes; this instance's
 * own cache of a scope it did not recompute expires after `cacheTtlMs`.
 */

export interface DashboardOptions {
  /** Minimum time between two pushes of one scope. */
  throttleMs: number;
  /** How often `start()` persists a snapshot per store. */
  snapshotIntervalMs: number;
  /** Bound on how stale a cached value may be when no local commit invalidated it. */
  cacheTtlMs: number;
}

export interface DashboardSnapshotView {
  takenAt: string;
  metrics: DashboardMetricsView;
}

export const DEFAULT_DASHBOARD_OPTIONS: DashboardOptions = {
  throttleMs: 1000,
  snapshotIntervalMs: 60_000,
  cacheTtlMs: 10_000,
};

const OPEN_STATUSES: OrderStatus[] = ['PENDING', 'ACCEPTED', 'IN_PROGRESS', 'READY'];
const TRIGGER_PREFIXES = ['order.', 'kds.', 'inventory.'];
const MAX_HISTORY_DAYS = 31;
const MAX_HISTORY_ROWS = 5000;

interface Scope {
  tenantId: string;
  /** null: every store of the tenant. */
  storeId: string | null;
}

const scopeKey = (scope: Scope) => `${scope.tenantId}|${scope.storeId ?? '*'}`;

function parseScopeKey(key: string): Scope {
  const [tenantId = '', storeId = '*'] = key.split('|');
  return { tenantId, storeId: storeId === '*' ? null : storeId };
}

function scopeTopic(scope: Scope): string {
  return scope.storeId
    ? topics.storeDashboard(scope.tenantId, scope.storeId)
    : topics.tenantDashboard(scope.tenantId);
}

export class DashboardService {
  private readonly options: DashboardOptions;
  private readonly cache = new Map<string, { view: DashboardMetricsView; at: number }>();
  private readonly throttle: ReturnType<typeof createKeyedThrottle>;
  private snapshotTimer: ReturnType<typeof setInterval> | undefined;
  private snapshotting: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly deps: ServiceDeps,
    options: Partial<DashboardOptions> = {},
  ) {
    this.options = { ...DEFAULT_DASHBOARD_OPTIONS, ...options };
    this.throttle = createKeyedThrottle(this.options.throttleMs, (key) => this.recomputeAndPush(key));
  }

  /** Registered with the unit of work: stale scopes are dropped at once, then recomputed and pushed. */
  readonly onCommit: CommitListener = (events) => {
    const keys = new Set<string>();
    for (const event of events) {
      if (!TRIGGER_PREFIXES.some((prefix) => event.kind.startsWith(prefix))) continue;
      const store = storeOfTopic(event.topic);
      if (!store) continue;
      keys.add(scopeKey(store));
      keys.add(scopeKey({ tenantId: store.tenantId, storeId: null }));
    }
    for (const key of keys) {
      this.cache.delete(key);
      this.throttle.trigger(key);
    }
  };

  start(): void {
    if (this.snapshotTimer) return;
    const skipRecentMs = this.options.snapshotIntervalMs / 2;
    let busy = false;
    this.snapshotTimer = setInterval(() => {
      if (busy) return; // a slow round is never overlapped by the next one
      busy = true;
      this.snapshotting = this.snapshotNow({ skipRecentMs })
        .catch((error) => this.deps.logger.warn({ err: error }, 'dashboard snapshot failed'))
        .finally(() => {
          busy = false;
        });
    }, this.options.snapshotIntervalMs);
    this.snapshotTimer.unref?.();
  }

  async stop(): Promise<void> {
    if (this.snapshotTimer) clearInterval(this.snapshotTimer);
    this.snapshotTimer = undefined;
    await Promise.all([this.throttle.stop(), this.snapshotting]);
  }

  /** Resolves once every scheduled recomputation has been pushed (tests). */
  settled(): Promise<void> {
    return this.throttle.idle();
  }

  /** Metrics of one store, or of every store of the tenant when storeId is omitted by a caller with every store. */
  async dashboard(principal: Principal, storeId?: string | null): Promise<DashboardMetricsView> {
    return this.metrics(await this.authorize(principal, storeId));
  }

  async dashboardHistory(
    principal: Principal,
    storeId: string,
    from: Date,
    to: Date,
  ): Promise<DashboardSnapshotView[]> {
    await this.authorize(principal, storeId);
    if (!(from.getTime() < to.getTime())) throw badInput('from must be before to', { field: 'from' });
    if (to.getTime() - from.getTime() > MAX_HISTORY_DAYS * 86_400_000) {
      throw badInput(`At most ${MAX_HISTORY_DAYS} days of history at once`, { field: 'to' });
    }
    const rows = await this.deps.db.dashboardSnapshot.findMany({
      where: { tenantId: principal.tenantId, storeId, takenAt: { gte: from, lte: to } },
      orderBy: { takenAt: 'asc' },
      take: MAX_HISTORY_ROWS,
    });
    return rows.map((row) => ({
      takenAt: row.takenAt.toISOString(),
      metrics: row.metrics as unknown as DashboardMetricsView,
    }));
  }

  /** The current metrics at once, then every push; a slow reader only ever gets the latest value. */
  async dashboardMetricsPlan(
    principal: Principal,
    storeId?: string | null,
  ): Promise<StatePlan<DashboardMetricsView, DashboardMetricsView>> {
    const scope = await this.authorize(principal, storeId);
    return {
      topic: scopeTopic(scope),
      current: async () => [await this.metrics(scope)],
      select: (view) => {
        if (view.tenantId !== scope.tenantId || view.storeId !== scope.storeId) return undefined;
        this.remember(scope, view); // the newest push is what the next subscriber starts from
        return view;
      },
      keyOf: () => 'metrics',
      isNewer: (view, than) => view.computedAt >= than.computedAt,
    };
  }

  /** dashboardMetricsPlan as a private stream. */
  async subscribeDashboardMetrics(
    principal: Principal,
    storeId?: string | null,
  ): Promise<AsyncIterableIterator<DashboardMetricsView>> {
    return openStatePlanStream(this.deps.publisher, await this.dashboardMetricsPlan(principal, storeId));
  }

  /** Persists one snapshot per store of every tenant; `skipRecentMs` skips stores another instance just did. */
  async snapshotNow(options: { skipRecentMs?: number } = {}): Promise<number> {
    const stores = await this.deps.db.store.findMany({ select: { id: true, tenantId: true } });
    let written = 0;
    for (const store of stores) {
      if (options.skipRecentMs && (await this.snapshotTakenSince(store.id, options.skipRecentMs))) continue;
      const metrics = await this.compute({ tenantId: store.tenantId, storeId: store.id });
      await this.deps.publisher.run((tx) =>
        tx.dashboardSnapshot.create({
          data: {
            tenantId: store.tenantId,
            storeId: store.id,
            takenAt: new Date(metrics.computedAt),
            metrics: metrics as unknown as Prisma.InputJsonObject,
          },
        }),
      );
      written++;
    }
    return written;
  }

  private async snapshotTakenSince(storeId: string, ms: number): Promise<boolean> {
    const recent = await this.deps.db.dashboardSnapshot.findFirst({
      where: { storeId, takenAt: { gte: new Date(Date.now() - ms) } },
      select: { id: true },
    });
    return recent !== null;
  }

  /**
   * MANAGER and ADMIN see the stores they can access, and the whole tenant when they have every store;
   * STAFF see the stores they work in. Without storeId: the tenant for callers with every store, else the
   * connection's current store.
   */
  private async authorize(principal: Principal, requestedStoreId?: string | null): Promise<Scope> {
    const storeId = requestedStoreId ?? (hasAllStores(principal) ? null : principal.currentStoreId);
    if (storeId) {
      requirePermission(principal, 'dashboard.read');
      await requireStore(this.deps.db, principal, storeId, { cached: true });
      return { tenantId: principal.tenantId, storeId };
    }
    if (!hasAllStores(principal)) {
      throw badInput('storeId is required unless you have access to every store', { field: 'storeId' });
    }
    requirePermission(principal, 'dashboard.readTenant');
    return { tenantId: principal.tenantId, storeId: null };
  }

  private async metrics(scope: Scope): Promise<DashboardMetricsView> {
    const cached = this.cache.get(scopeKey(scope));
    if (cached && Date.now() - cached.at <= this.options.cacheTtlMs) return cached.view;
    return this.compute(scope);
  }

  private remember(scope: Scope, view: DashboardMetricsView): void {
    const key = scopeKey(scope);
    const cached = this.cache.get(key);
    if (!cached || cached.view.computedAt <= view.computedAt) this.cache.set(key, { view, at: Date.now() });
  }

  private async recomputeAndPush(key: string): Promise<void> {
    const scope = parseScopeKey(key);
    try {
      // A recomputation costs 10-20 ms of CPU, growing with the day's orders: not for nobody. A subscriber that
      // arrives later computes its first value itself, after it listens, so it misses no commit that found
      // nobody listening.
      if (!(await this.deps.publisher.anyoneListening(scopeTopic(scope)))) return;
      const view = await this.compute(scope);
      await this.deps.publisher.broadcast(scopeTopic(scope), view);
    } catch (error) {
      this.deps.logger.warn({ err: error, scope }, 'dashboard recomputation failed');
    }
  }

  private async compute(scope: Scope): Promise<DashboardMetricsView> {
    const now = new Date();
    const stores = await this.deps.db.store.findMany({
      where: { tenantId: scope.tenantId, ...(scope.storeId ? { id: scope.storeId } : {}) },
      select: { id: true, timezone: true },
    });
    const customerScope = scope.storeId ? 'store' : 'tenant';
    const inputs = await Promise.all(
      stores.map((store) => this.loadInput(scope.tenantId, store, customerScope, now)),
    );
    const view = computeMetrics(mergeInputs(inputs, startOfDay(now, 'UTC')), scope, now);
    this.remember(scope, view);
    return view;
  }

  private async loadInput(
    tenantId: string,
    store: { id: string; timezone: string },
    customerScope: 'store' | 'tenant',
    now: Date,
  ): Promise<MetricsInput> {
    const db = this.deps.db;
    const storeId = store.id;
    const dayStart = safeStartOfDay(now, store.timezone);
    const today = { gte: dayStart };
    const [orders, openOrders, bumpedTickets, stations, openItems, itemsSoldToday] = await Promise.all([
      db.order.findMany({
        where: { tenantId, storeId, createdAt: today },
        select: { status: true, totalCents: true, customerId: true },
      }),
      db.order.count({ where: { tenantId, storeId, status: { in: OPEN_STATUSES } } }),
      db.kdsTicket.findMany({
        where: { tenantId, storeId, bumpedAt: today, order: { status: { not: 'CANCELLED' } } },
        select: { firedAt: true, bumpedAt: true },
      }),
      db.station.findMany({ where: { tenantId, storeId }, select: { id: true, name: true } }),
      db.orderItem.findMany({
        where: {
          tenantId,
          status: { not: 'READY' },
          ticket: { storeId, status: { not: 'BUMPED' } },
          order: { status: { in: OPEN_STATUSES } },
        },
        select: { ticket: { select: { stationId: true } } },
      }),
      db.orderItem.findMany({
        where: { tenantId, order: { storeId, createdAt: today, status: { not: 'CANCELLED' } } },
        select: { productId: true, name: true, quantity: true },
      }),
    ]);
    const customerIds = [...new Set(orders.flatMap((o) => (o.customerId ? [o.customerId] : [])))];
    const firstOrders = customerIds.length
      ? await db.order.groupBy({
          by: ['customerId'],
          where: {
            tenantId,
            customerId: { in: customerIds },
            ...(customerScope === 'store' ? { storeId } : {}),
          },
          _min: { createdAt: true },
        })
      : [];
    return {
      ordersToday: orders,
      openOrders,
      bumpedTickets: bumpedTickets.map((t) => ({ firedAt: t.firedAt, bumpedAt: t.bumpedAt as Date })),
      customers: firstOrders.map((row) => ({
        customerId: row.customerId as string,
        firstOrderAt: row._min.createdAt as Date,
      })),
      dayStart,
      stations,
      openItemStationIds: openItems.flatMap((item) => (item.ticket ? [item.ticket.stationId] : [])),
      itemsSoldToday,
    };
  }
}

function safeStartOfDay(now: Date, timeZone: string): Date {
  try {
    return startOfDay(now, timeZone);
  } catch {
    return startOfDay(now, 'UTC');
  }
}
