import type { DashboardSnapshotView } from '../domain/dashboard';
import type { DashboardMetricsView, KitchenLoad, TopProduct } from '../domain/dashboard-metrics';
import { builder } from './builder';

const KitchenLoadRef = builder.objectRef<KitchenLoad>('KitchenLoad').implement({
  fields: (t) => ({
    stationId: t.exposeID('stationId'),
    stationName: t.exposeString('stationName'),
    openItems: t.exposeInt('openItems', {
      description: 'Unfinished items on unbumped tickets of live orders.',
    }),
  }),
});

const TopProductRef = builder.objectRef<TopProduct>('TopProduct').implement({
  fields: (t) => ({
    productId: t.exposeID('productId'),
    name: t.exposeString('name'),
    quantity: t.exposeInt('quantity'),
  }),
});

export const DashboardMetricsRef = builder.objectRef<DashboardMetricsView>('DashboardMetrics').implement({
  description: "Today starts at midnight in the store's time zone. Money in integer minor units.",
  fields: (t) => ({
    storeId: t.exposeID('storeId', { nullable: true, description: 'null for tenant-wide metrics.' }),
    salesTodayCents: t.expose('salesTodayCents', {
      type: 'SafeInt',
      description:
        "Total of today's orders, cancelled ones excluded. SafeInt: a day's sales pass the 32 bits of Int.",
    }),
    ordersToday: t.exposeInt('ordersToday', { description: "Today's orders, cancelled ones excluded." }),
    openOrders: t.exposeInt('openOrders', { description: 'Orders not yet completed or cancelled.' }),
    averageTicketSeconds: t.exposeInt('averageTicketSeconds', {
      nullable: true,
      description: 'Fired to bumped, over the tickets bumped today.',
    }),
    p90TicketSeconds: t.exposeInt('p90TicketSeconds', { nullable: true }),
    newCustomersToday: t.exposeInt('newCustomersToday', {
      description: 'Customers whose first order is today.',
    }),
    kitchenLoad: t.field({ type: [KitchenLoadRef], resolve: (m) => m.kitchenLoad }),
    topProducts: t.field({
      type: [TopProductRef],
      description: "Today's five best sellers.",
      resolve: (m) => m.topProducts,
    }),
    computedAt: t.field({ type: 'DateTime', resolve: (m) => m.computedAt }),
  }),
});

const DashboardSnapshotRef = builder.objectRef<DashboardSnapshotView>('DashboardSnapshot').implement({
  fields: (t) => ({
    takenAt: t.field({ type: 'DateTime', resolve: (s) => s.takenAt }),
    metrics: t.field({ type: DashboardMetricsRef, resolve: (s) => s.metrics }),
  }),
});

builder.queryFields((t) => ({
  dashboard: t.withAuth({ can: 'dashboard.read' }).field({
    type: DashboardMetricsRef,
    description:
      "A store's live metrics. Without storeId: the whole tenant for managers and admins with every store, else the connection's current store.",
    args: { storeId: t.arg.id() },
    resolve: (_root, args, ctx) =>
      ctx.services.dashboard.dashboard(ctx.principal, args.storeId == null ? null : String(args.storeId)),
  }),
  dashboardHistory: t.withAuth({ can: 'dashboard.read' }).field({
    type: [DashboardSnapshotRef],
    description: 'Snapshots persisted every minute, oldest first; at most 31 days at once.',
    args: {
      storeId: t.arg.id({ required: true }),
      from: t.arg({ type: 'DateTime', required: true }),
      to: t.arg({ type: 'DateTime', required: true }),
    },
    resolve: (_root, args, ctx) =>
      ctx.services.dashboard.dashboardHistory(ctx.principal, String(args.storeId), args.from, args.to),
  }),
}));

builder.subscriptionField('dashboardMetrics', (t) =>
  t.withAuth({ can: 'dashboard.read' }).field({
    type: DashboardMetricsRef,
    description: 'The current metrics at once, then after changes, at most once per second per store.',
    args: { storeId: t.arg.id() },
    subscribe: async (_root, args, ctx) =>
      ctx.subscriptions.open(
        await ctx.services.dashboard.dashboardMetricsPlan(
          ctx.principal,
          args.storeId == null ? null : String(args.storeId),
        ),
      ),
    resolve: (metrics) => metrics,
  }),
);
