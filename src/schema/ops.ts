import type { StoreSubscriptions } from '../observability/activity';
import type { ClusterView, InstanceStats, Throughput } from '../observability/cluster-stats';
import { clusterTotals } from '../observability/cluster-stats';
import { builder } from './builder';
import type { GraphQLContext } from './context';

/** The server adds this to every operation's context (src/server/instrument.ts yogaPlugin). */
export interface ServerStatsSource {
  cluster(): Promise<ClusterView>;
}

declare module './context' {
  interface GraphQLContext {
    /** Operations data for serverStats; absent when a context is built outside the server (unit tests). */
    serverStats?: ServerStatsSource;
  }
}

type Totals = ReturnType<typeof clusterTotals>;
type Counts = { subscriptionsByField: Record<string, number>; subscriptionsByStore: StoreSubscriptions[] };

const FieldSubscriptionCount = builder
  .objectRef<{ field: string; count: number }>('FieldSubscriptionCount')
  .implement({
    description: 'Active subscriptions of one root subscription field',
    fields: (t) => ({ field: t.exposeString('field'), count: t.exposeInt('count') }),
  });

const StoreSubscriptionCount = builder.objectRef<StoreSubscriptions>('StoreSubscriptionCount').implement({
  description: 'Active subscriptions naming one store (its argument, or the connection store)',
  fields: (t) => ({ storeId: t.exposeID('storeId'), count: t.exposeInt('count') }),
});

const ThroughputRef = builder.objectRef<Throughput>('Throughput').implement({
  description: 'Rates over the last minute (per instance: since start when younger)',
  fields: (t) => ({
    eventsPublishedPerSecond: t.exposeFloat('eventsPublishedPerSecond'),
    eventsDeliveredPerSecond: t.exposeFloat('eventsDeliveredPerSecond'),
    operationsPerSecond: t.exposeFloat('operationsPerSecond'),
  }),
});

function byField(counts: Counts) {
  return Object.entries(counts.subscriptionsByField)
    .map(([field, count]) => ({ field, count }))
    .sort((a, b) => a.field.localeCompare(b.field));
}

/** Store ids are the tenant's business: an admin sees the stores of their own tenant only. */
function byStore(counts: Counts, ctx: GraphQLContext) {
  return counts.subscriptionsByStore
    .filter((entry) => entry.tenantId === ctx.principal?.tenantId)
    .sort((a, b) => a.storeId.localeCompare(b.storeId));
}

const InstanceStatsRef = builder.objectRef<InstanceStats>('InstanceStats').implement({
  description: 'One Expediter instance, as it last reported (this instance: measured now)',
  fields: (t) => ({
    instanceId: t.exposeID('instanceId'),
    hostname: t.exposeString('hostname'),
    startedAt: t.field({ type: 'DateTime', resolve: (s) => s.startedAt }),
    reportedAt: t.field({ type: 'DateTime', resolve: (s) => s.reportedAt }),
    ready: t.exposeBoolean('ready'),
    degraded: t.exposeBoolean('degraded', {
      description: 'Redis unreachable: serving local subscribers only',
    }),
    draining: t.exposeBoolean('draining'),
    connections: t.exposeInt('connections'),
    subscriptions: t.exposeInt('subscriptions'),
    subscriptionsByField: t.field({ type: [FieldSubscriptionCount], resolve: byField }),
    subscriptionsByStore: t.field({
      type: [StoreSubscriptionCount],
      resolve: (c, _args, ctx) => byStore(c, ctx),
    }),
    throughput: t.field({ type: ThroughputRef, resolve: (s) => s.throughput }),
    outboxBacklog: t.exposeInt('outboxBacklog', { nullable: true }),
  }),
});

const ClusterStatsRef = builder.objectRef<Totals>('ClusterStats').implement({
  description: 'Sums over every instance that reported recently',
  fields: (t) => ({
    instances: t.exposeInt('instances'),
    connections: t.exposeInt('connections'),
    subscriptions: t.exposeInt('subscriptions'),
    subscriptionsByField: t.field({ type: [FieldSubscriptionCount], resolve: byField }),
    subscriptionsByStore: t.field({
      type: [StoreSubscriptionCount],
      resolve: (c, _args, ctx) => byStore(c, ctx),
    }),
    throughput: t.field({ type: ThroughputRef, resolve: (s) => s.throughput }),
  }),
});

const ServerStatsRef = builder.objectRef<ClusterView>('ServerStats').implement({
  fields: (t) => ({
    instance: t.field({ type: InstanceStatsRef, resolve: (view) => view.instance }),
    instances: t.field({ type: [InstanceStatsRef], resolve: (view) => view.instances }),
    cluster: t.field({ type: ClusterStatsRef, resolve: (view) => clusterTotals(view.instances) }),
    complete: t.exposeBoolean('complete', {
      description:
        'False when the cluster reports could not be read from Redis: only this instance is included',
    }),
  }),
});

builder.queryField('serverStats', (t) =>
  t.field({
    type: ServerStatsRef,
    description:
      'Connections, subscriptions (per field and per store of your tenant) and throughput, per instance and across the cluster. For admins of platform tenants (PLATFORM_TENANTS) only: the figures span every tenant.',
    authScopes: { platformAdmin: true },
    resolve: (_root, _args, ctx) => {
      if (!ctx.serverStats) throw new Error('serverStats is not available in this context');
      return ctx.serverStats.cluster();
    },
  }),
);
