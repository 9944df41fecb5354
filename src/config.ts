import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { z } from 'zod';
import { type LimitsConfig, LimitsEnvShape, limitsFromEnv } from './limits/config';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const list = z.string().transform((v) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
);
/** How many of a topic's newest events a topic feed keeps, and how long (src/events/topic-feeds). */
export interface RecentWindow {
  maxEvents: number;
  maxAgeMs: number;
}

const int = (min = 0) => z.coerce.number().int().min(min);

/**
 * Every setting Expediter reads from the environment. Defaults are the development defaults;
 * docs/configuration.md documents each variable.
 */
const EnvSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: int().max(65535).default(4000),
  HOST: z.string().default('127.0.0.1'),
  DATABASE_URL: z.string().url().optional(),
  DATA_DIR: z.string().default('.data'),
  // The pg pool's connections, and how long a transaction waits for one before the call is refused as OVERLOADED.
  DATABASE_POOL_SIZE: int(1).default(10),
  DATABASE_TRANSACTION_MAX_WAIT_MS: int(1).default(2000),
  REDIS_URL: z.string().url().optional(),
  REDIS_PREFIX: z
    .string()
    .regex(/^[\w:.-]*$/)
    .default('expediter:'),
  JWT_SECRET: z.string().min(16).optional(),
  JWKS_URL: z.string().url().optional(),
  JWKS_FILE: z.string().optional(),
  JWT_ISSUER: z.string().optional(),
  JWT_AUDIENCE: z.string().optional(),
  ALLOWED_ORIGINS: list.default([]),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  GRAPHIQL: bool.optional(),
  INTROSPECTION: bool.optional(),
  SEED_DEMO_DATA: bool.optional(),
  EVENT_RETENTION_HOURS: int(1).default(72),
  REPLAY_MAX_EVENTS: int(1).default(1000),
  OUTBOX_RELAY_INTERVAL_MS: int(50).default(1000),
  // Recent events per topic kept in memory by each topic feed, so resumes skip the Event table.
  RECENT_EVENTS_PER_TOPIC: int(0).default(200),
  RECENT_EVENTS_MAX_AGE_MS: int(0).default(120_000),
  // Notification streams merge several topics and replay from the table: their topics keep nothing by default.
  RECENT_EVENTS_BY_KIND: z
    .string()
    .default('notifications=0')
    .transform((v, ctx) => {
      const byKind: Record<string, RecentWindow> = {};
      for (const entry of v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)) {
        const match = /^([\w-]+)=(\d+)(?::(\d+))?$/.exec(entry);
        if (!match) {
          ctx.addIssue({ code: 'custom', message: `expected kind=events[:ageMs], got "${entry}"` });
          return z.NEVER;
        }
        byKind[match[1] as string] = { maxEvents: Number(match[2]), maxAgeMs: Number(match[3] ?? -1) };
      }
      return byKind;
    }),
  WS_CONNECTION_INIT_TIMEOUT_MS: int(100).default(5000),
  WS_KEEPALIVE_MS: int(1000).default(12000),
  SHUTDOWN_TIMEOUT_MS: int(100).default(10000),
  ORDER_UPDATE_COALESCE_MS: int(0).default(250),
  KDS_LATE_SWEEP_INTERVAL_MS: int(100).default(5000),
  DASHBOARD_THROTTLE_MS: int(0).default(1000),
  PLATFORM_TENANTS: list.default([]),
  DASHBOARD_SNAPSHOT_INTERVAL_MS: int(1000).default(60000),
  // Presence (src/domain/presence.ts; docs/presence.md)
  PRESENCE_GRACE_MS: int(0).default(10000),
  PRESENCE_LEASE_MS: int(300).default(15000),
  STATION_OFFLINE_ALERT_SECONDS: int(1).default(60),
  // Trusted documents (src/trusted; docs/clients.md "Trusted documents")
  TRUSTED_DOCUMENTS: z.enum(['off', 'allow', 'require']).optional(),
  TRUSTED_DOCUMENTS_DIR: z.string().optional(),
  TRUSTED_DOCUMENTS_RELOAD_MS: int(0).default(10000),
  // Limits (src/limits/config.ts; docs/limits.md)
  ...LimitsEnvShape,
  // Operations (src/server/ops.ts; docs/operations.md "Settings")
  WS_PONG_TIMEOUT_MS: int(100).default(10000),
  HEALTH_CHECK_INTERVAL_MS: int(100).default(2000),
  STATS_REPORT_INTERVAL_MS: int(100).default(5000),
  INSTANCE_ID: z
    .string()
    .regex(/^[\w.:-]{1,100}$/)
    .optional(),
  REDIS_SENTINELS: list.optional(),
  REDIS_SENTINEL_NAME: z.string().optional(),
});

export type Env = z.infer<typeof EnvSchema>;

export interface Config {
  env: Env['NODE_ENV'];
  port: number;
  host: string;
  /** PostgreSQL URL; undefined means embedded PGlite under dataDir. */
  databaseUrl?: string;
  dataDir: string;
  /**
   * PostgreSQL's pool (connections) and how long a transaction waits for one (ms): past that the call is refused
   * with RATE_LIMITED, reason OVERLOADED, and nothing is written (docs/api.md "Errors").
   */
  database: { poolSize: number; transactionMaxWaitMs: number };
  /** Redis URL; undefined means in-process pub/sub and limits (single instance). */
  redisUrl?: string;
  /** Prefix of every Redis channel and key, so environments can share one Redis. */
  redisPrefix: string;
  jwt: { secret?: string; jwksUrl?: string; jwksFile?: string; issuer?: string; audience?: string };
  allowedOrigins: string[];
  logLevel: Env['LOG_LEVEL'];
  graphiql: boolean;
  introspection: boolean;
  seedDemoData: boolean;
  events: {
    retentionHours: number;
    replayMaxEvents: number;
    relayIntervalMs: number;
    /**
     * The recent events each topic feed keeps in memory (src/events/topic-feeds): `recent` for every
     * topic, `recentByKind` per topic kind (orders, kds, notifications...); docs/configuration.md.
     */
    recent: RecentWindow;
    recentByKind: Record<string, RecentWindow>;
  };
  ws: { connectionInitTimeoutMs: number; keepAliveMs: number };
  shutdownTimeoutMs: number;
  /** Operation, rate and connection limits (src/limits). */
  limits: LimitsConfig;
  /**
   * Which documents run (src/trusted): `allow` hashes and text, `require` only hashes that a manifest
   * registers. Manifests: the codegen one (`npm run codegen`) and every `*.json` in `directory`, re-read
   * every `reloadIntervalMs` (0: only at start).
   */
  trustedDocuments: { mode: 'off' | 'allow' | 'require'; directory?: string; reloadIntervalMs: number };
  /**
   * Extra ioredis options for every Redis connection (docs/operations.md "Scaling"): Redis Sentinel when
   * REDIS_SENTINELS is set (REDIS_URL then only carries password, database and TLS).
   */
  redisOptions?: RedisTopology;
  /** Operations (src/server/ops.ts): heartbeat bound, health checks, cluster stats reports. */
  ops: {
    instanceId: string;
    pongTimeoutMs: number;
    healthCheckIntervalMs: number;
    statsReportIntervalMs: number;
  };
  /**
   * Tenants whose ADMINs operate the platform: they may send SYSTEM notifications to every tenant and read
   * serverStats (load across all tenants). Empty: nobody may, so no tenant's admin reaches past its tenant.
   */
  platformTenants: string[];
  /** Windows of the domain's background behaviour (docs/configuration.md). */
  domain: {
    orderUpdateCoalesceMs: number;
    kdsLateSweepIntervalMs: number;
    dashboardThrottleMs: number;
    dashboardSnapshotIntervalMs: number;
  };
  /** Device presence (src/domain/presence.ts): grace after a dropped socket, lease of an instance's sockets. */
  presence: { graceMs: number; leaseMs: number; stationOfflineAlertSeconds: number };
}

/** Development secret so `npm start` works out of the box; refused in production. */
export const DEV_JWT_SECRET = 'expediter-development-secret-change-me';

/** ioredis options selecting the Redis topology: the masters' name and the sentinels to ask for it. */
export interface RedisTopology {
  sentinels: Array<{ host: string; port: number }>;
  name: string;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function loadConfig(source: Record<string, string | undefined> = process.env): Config {
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = EnvSchema.safeParse(cleaned);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n');
    throw new ConfigError(`Invalid configuration:\n${problems}`);
  }
  const e = parsed.data;
  const production = e.NODE_ENV === 'production';
  if (production && !e.JWT_SECRET && !e.JWKS_URL && !e.JWKS_FILE) {
    throw new ConfigError(
      'Invalid configuration:\n  JWT_SECRET, JWKS_URL or JWKS_FILE is required in production',
    );
  }
  return {
    env: e.NODE_ENV,
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL,
    dataDir: e.DATA_DIR,
    database: { poolSize: e.DATABASE_POOL_SIZE, transactionMaxWaitMs: e.DATABASE_TRANSACTION_MAX_WAIT_MS },
    redisUrl: e.REDIS_URL,
    redisPrefix: e.REDIS_PREFIX,
    jwt: {
      secret: e.JWT_SECRET ?? (e.JWKS_URL || e.JWKS_FILE ? undefined : DEV_JWT_SECRET),
      jwksUrl: e.JWKS_URL,
      jwksFile: e.JWKS_FILE,
      issuer: e.JWT_ISSUER,
      audience: e.JWT_AUDIENCE,
    },
    allowedOrigins: e.ALLOWED_ORIGINS,
    logLevel: e.LOG_LEVEL,
    graphiql: e.GRAPHIQL ?? !production,
    introspection: e.INTROSPECTION ?? !production,
    seedDemoData: e.SEED_DEMO_DATA ?? !e.DATABASE_URL,
    events: {
      retentionHours: e.EVENT_RETENTION_HOURS,
      replayMaxEvents: e.REPLAY_MAX_EVENTS,
      relayIntervalMs: e.OUTBOX_RELAY_INTERVAL_MS,
      recent: { maxEvents: e.RECENT_EVENTS_PER_TOPIC, maxAgeMs: e.RECENT_EVENTS_MAX_AGE_MS },
      recentByKind: Object.fromEntries(
        Object.entries(e.RECENT_EVENTS_BY_KIND).map(([kind, window]) => [
          kind,
          { ...window, maxAgeMs: window.maxAgeMs < 0 ? e.RECENT_EVENTS_MAX_AGE_MS : window.maxAgeMs },
        ]),
      ),
    },
    ws: { connectionInitTimeoutMs: e.WS_CONNECTION_INIT_TIMEOUT_MS, keepAliveMs: e.WS_KEEPALIVE_MS },
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    platformTenants: e.PLATFORM_TENANTS,
    domain: {
      orderUpdateCoalesceMs: e.ORDER_UPDATE_COALESCE_MS,
      kdsLateSweepIntervalMs: e.KDS_LATE_SWEEP_INTERVAL_MS,
      dashboardThrottleMs: e.DASHBOARD_THROTTLE_MS,
      dashboardSnapshotIntervalMs: e.DASHBOARD_SNAPSHOT_INTERVAL_MS,
    },
    presence: {
      graceMs: e.PRESENCE_GRACE_MS,
      leaseMs: e.PRESENCE_LEASE_MS,
      stationOfflineAlertSeconds: e.STATION_OFFLINE_ALERT_SECONDS,
    },
    limits: limitsFromEnv(e),
    trustedDocuments: {
      mode: e.TRUSTED_DOCUMENTS ?? (production ? 'require' : 'allow'),
      directory: e.TRUSTED_DOCUMENTS_DIR,
      reloadIntervalMs: e.TRUSTED_DOCUMENTS_RELOAD_MS,
    },
    redisOptions: redisTopology(e),
    ops: {
      instanceId: e.INSTANCE_ID ?? `${hostname()}-${process.pid}-${randomBytes(2).toString('hex')}`,
      pongTimeoutMs: e.WS_PONG_TIMEOUT_MS,
      healthCheckIntervalMs: e.HEALTH_CHECK_INTERVAL_MS,
      statsReportIntervalMs: e.STATS_REPORT_INTERVAL_MS,
    },
  };
}

function redisTopology(e: Env): RedisTopology | undefined {
  if (!e.REDIS_SENTINELS?.length) return undefined;
  const problems: string[] = [];
  if (!e.REDIS_SENTINEL_NAME) problems.push('  REDIS_SENTINEL_NAME: required with REDIS_SENTINELS');
  if (!e.REDIS_URL)
    problems.push('  REDIS_URL: required with REDIS_SENTINELS (redis://[:password@]any-host[/db])');
  const sentinels = e.REDIS_SENTINELS.map((entry) => {
    const match = /^(.+):(\d{1,5})$/.exec(entry);
    if (!match) problems.push(`  REDIS_SENTINELS: "${entry}" is not host:port`);
    return { host: match?.[1] ?? entry, port: Number(match?.[2] ?? 26379) };
  });
  if (problems.length > 0) throw new ConfigError(`Invalid configuration:\n${problems.join('\n')}`);
  return { sentinels, name: e.REDIS_SENTINEL_NAME as string };
}
