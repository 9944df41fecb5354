import type { Redis } from 'ioredis';
import type { Activity, ActivityTotals, StoreSubscriptions } from './activity';
import type { Logger } from './logger';

/** One instance's report, as serverStats shows it. */
export interface InstanceStats {
  instanceId: string;
  hostname: string;
  startedAt: string;
  reportedAt: string;
  ready: boolean;
  degraded: boolean;
  draining: boolean;
  connections: number;
  subscriptions: number;
  subscriptionsByField: Record<string, number>;
  subscriptionsByStore: StoreSubscriptions[];
  throughput: Throughput;
  /** Committed events not yet published, as this instance last saw it (null before the first check). */
  outboxBacklog: number | null;
}

export interface Throughput {
  eventsPublishedPerSecond: number;
  eventsDeliveredPerSecond: number;
  operationsPerSecond: number;
}

export interface ClusterView {
  /** This instance, measured now. */
  instance: InstanceStats;
  /** Every instance that reported recently, this one included, sorted by id. */
  instances: InstanceStats[];
  /** False when Redis could not be read: `instances` then holds this instance only. */
  complete: boolean;
}

export interface ClusterStatsOptions {
  instanceId: string;
  hostname: string;
  activity: Activity;
  /** Live state of this instance (readiness, drain, backlog). */
  state: () => Pick<InstanceStats, 'ready' | 'degraded' | 'draining' | 'outboxBacklog'>;
  /** The shared Redis command connection (its keyPrefix isolates environments); absent in single-instance mode. */
  redis?: () => Redis;
  /** Skips Redis while it is known to be down (no hammering, no waiting on timeouts). */
  redisUp?: () => boolean;
  intervalMs: number;
  /** Reports older than this are ignored (and removed): the instance is gone. Default 3 intervals. */
  staleAfterMs?: number;
  logger: Logger;
}

export interface ClusterStats {
  local(): InstanceStats;
  cluster(): Promise<ClusterView>;
  /** Writes this instance's report now (also done every intervalMs once started). */
  report(): Promise<void>;
  start(): void;
  /** Stops reporting and withdraws this instance's report. */
  stop(): Promise<void>;
}

/** Redis hash (under the connection's keyPrefix) with one field per instance: its latest report as JSON. */
export const CLUSTER_STATS_KEY = 'cluster:instances';

/**
 * Every instance writes its report to one Redis hash every few seconds; serverStats reads the hash and
 * sums. One key keeps it valid on Redis Cluster (no multi-key commands across slots).
 */
export function createClusterStats(options: ClusterStatsOptions): ClusterStats {
  const staleAfterMs = options.staleAfterMs ?? options.intervalMs * 3;
  const startedAt = new Date().toISOString();
  const rates = createRateMeter(() => options.activity.snapshot().totals);
  let timer: NodeJS.Timeout | undefined;

  function redis(): Redis | undefined {
    if (!options.redis || options.redisUp?.() === false) return undefined;
    return options.redis();
  }

  function local(): InstanceStats {
    const activity = options.activity.snapshot();
    return {
      instanceId: options.instanceId,
      hostname: options.hostname,
      startedAt,
      reportedAt: new Date().toISOString(),
      ...options.state(),
      connections: activity.connections,
      subscriptions: activity.subscriptions,
      subscriptionsByField: activity.subscriptionsByField,
      subscriptionsByStore: activity.subscriptionsByStore,
      throughput: rates.current(),
    };
  }

  async function report() {
    rates.sample();
    const connection = redis();
    if (!connection) return;
    await connection
      .multi()
      .hset(CLUSTER_STATS_KEY, options.instanceId, JSON.stringify(local()))
      .pexpire(CLUSTER_STATS_KEY, staleAfterMs * 20)
      .exec();
  }

  async function readOthers(connection: Redis): Promise<InstanceStats[]> {
    const entries = await connection.hgetall(CLUSTER_STATS_KEY);
    const freshSince = Date.now() - staleAfterMs;
    const others: InstanceStats[] = [];
    const stale: string[] = [];
    for (const [instanceId, text] of Object.entries(entries)) {
      if (instanceId === options.instanceId) continue;
      const stats = parseReport(text);
      if (stats && Date.parse(stats.reportedAt) >= freshSince) others.push(stats);
      else stale.push(instanceId);
    }
    if (stale.length > 0) await connection.hdel(CLUSTER_STATS_KEY, ...stale).catch(() => 0);
    return others;
  }

  return {
    local,
    report,
    async cluster() {
      const instance = local();
      const connection = redis();
      let others: InstanceStats[] = [];
      let complete = !options.redis;
      if (connection) {
        try {
          others = await readOthers(connection);
          complete = true;
        } catch (error) {
          options.logger.warn({ err: error }, 'could not read cluster stats from Redis');
        }
      }
      const instances = [instance, ...others].sort((a, b) => a.instanceId.localeCompare(b.instanceId));
      return { instance, instances, complete };
    },
    start() {
      if (timer) return;
      const tick = () =>
        report().catch((error: unknown) =>
          options.logger.debug({ err: error }, 'cluster stats report failed'),
        );
      void tick();
      timer = setInterval(tick, options.intervalMs);
      timer.unref();
    },
    async stop() {
      clearInterval(timer);
      timer = undefined;
      await redis()
        ?.hdel(CLUSTER_STATS_KEY, options.instanceId)
        .catch(() => 0);
    },
  };
}

/** Sums instances into cluster totals (subscriptions per field and per store added up). */
export function clusterTotals(instances: readonly InstanceStats[]) {
  const byField = new Map<string, number>();
  const byStore = new Map<string, StoreSubscriptions>();
  const throughput: Throughput = {
    eventsPublishedPerSecond: 0,
    eventsDeliveredPerSecond: 0,
    operationsPerSecond: 0,
  };
  let connections = 0;
  let subscriptions = 0;
  for (const instance of instances) {
    connections += instance.connections;
    subscriptions += instance.subscriptions;
    for (const [field, count] of Object.entries(instance.subscriptionsByField)) {
      byField.set(field, (byField.get(field) ?? 0) + count);
    }
    for (const entry of instance.subscriptionsByStore) {
      const key = `${entry.tenantId}\u0000${entry.storeId}`;
      const total = byStore.get(key) ?? { ...entry, count: 0 };
      total.count += entry.count;
      byStore.set(key, total);
    }
    throughput.eventsPublishedPerSecond += instance.throughput.eventsPublishedPerSecond;
    throughput.eventsDeliveredPerSecond += instance.throughput.eventsDeliveredPerSecond;
    throughput.operationsPerSecond += instance.throughput.operationsPerSecond;
  }
  return {
    instances: instances.length,
    connections,
    subscriptions,
    subscriptionsByField: Object.fromEntries(byField),
    subscriptionsByStore: [...byStore.values()],
    throughput,
  };
}

function parseReport(text: string): InstanceStats | undefined {
  try {
    const value = JSON.parse(text) as InstanceStats;
    return typeof value?.instanceId === 'string' && typeof value.reportedAt === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}

const RATE_WINDOW_SAMPLES = 12;

/** Rates of the activity totals over the last RATE_WINDOW_SAMPLES report intervals (since start at first). */
function createRateMeter(totals: () => ActivityTotals) {
  const samples: Array<{ at: number; totals: ActivityTotals }> = [{ at: Date.now(), totals: totals() }];
  return {
    sample() {
      samples.push({ at: Date.now(), totals: totals() });
      if (samples.length > RATE_WINDOW_SAMPLES + 1) samples.shift();
    },
    current(): Throughput {
      const oldest = samples[0]!;
      const now = totals();
      const seconds = Math.max((Date.now() - oldest.at) / 1000, 1);
      const rate = (key: keyof ActivityTotals) => round((now[key] - oldest.totals[key]) / seconds);
      return {
        eventsPublishedPerSecond: rate('eventsPublished'),
        eventsDeliveredPerSecond: rate('eventsDelivered'),
        operationsPerSecond: rate('operations'),
      };
    },
  };
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
