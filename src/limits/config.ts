import { z } from 'zod';

const int = (min = 0) => z.coerce.number().int().min(min);
const MiB = 1024 * 1024;

/** Parses RATE_LIMIT_OVERRIDES, e.g. "createOrder=120,sendNotification=10". */
const overrides = z.string().transform((value, ctx) => {
  const budgets: Record<string, number> = {};
  for (const entry of value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const match = /^([_A-Za-z][_0-9A-Za-z]*)=(\d+)$/.exec(entry);
    if (!match?.[1] || !match[2]) {
      ctx.addIssue({ code: 'custom', message: `expected "mutationName=budget", got "${entry}"` });
      return z.NEVER;
    }
    budgets[match[1]] = Number(match[2]);
  }
  return budgets;
});
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

/** Environment variables of every limit; docs/limits.md documents each. Merged into config.ts's schema. */
export const LimitsEnvShape = {
  MAX_DEPTH: int(1).default(12),
  MAX_COST: int(1).default(5000),
  MAX_ALIASES: int(0).default(15),
  MAX_TOKENS: int(1).default(2000),
  MAX_DIRECTIVES: int(0).default(10),
  MAX_DOCUMENT_BYTES: int(1).default(64 * 1024),
  HTTP_MAX_BODY_BYTES: int(1).default(MiB),
  WS_MAX_MESSAGE_BYTES: int(1).default(MiB),
  WS_MAX_CONNECTIONS_PER_USER: int(1).default(5),
  WS_MAX_CONNECTIONS_PER_IP: int(1).default(50),
  WS_CONNECTION_ATTEMPTS_PER_IP: int(1).default(30),
  WS_CONNECTION_ATTEMPTS_WINDOW_MS: int(100).default(10_000),
  WS_MESSAGES_PER_CONNECTION: int(1).default(100),
  WS_MAX_HANDSHAKES: int(1).default(200),
  WS_SHED_MIN_RETRY_AFTER_MS: int(0).default(500),
  WS_SHED_MAX_RETRY_AFTER_MS: int(1).default(30_000),
  WS_MESSAGES_WINDOW_MS: int(100).default(1000),
  MAX_SUBSCRIPTIONS_PER_CONNECTION: int(1).default(20),
  MAX_SUBSCRIPTIONS_PER_USER: int(1).default(50),
  RATE_LIMIT_WINDOW_MS: int(100).default(60_000),
  RATE_LIMIT_MUTATIONS: int(1).default(60),
  RATE_LIMIT_OVERRIDES: overrides.default({}),
  RATE_LIMIT_SUBSCRIPTIONS: int(1).default(30),
  RATE_LIMIT_HTTP_PER_IP: int(1).default(600),
  RATE_LIMIT_WARN_RATIO: z.coerce.number().gt(0).max(1).default(0.8),
  TRUST_PROXY: bool.default(false),
};

const LimitsEnvSchema = z.object(LimitsEnvShape);
export type LimitsEnv = z.infer<typeof LimitsEnvSchema>;

export interface LimitsConfig {
  operation: {
    maxDepth: number;
    maxCost: number;
    maxAliases: number;
    maxTokens: number;
    maxDirectives: number;
    maxDocumentBytes: number;
  };
  httpMaxBodyBytes: number;
  ws: {
    maxMessageBytes: number;
    maxConnectionsPerUser: number;
    maxConnectionsPerIp: number;
    connectionAttemptsPerIp: number;
    connectionAttemptsWindowMs: number;
    messagesPerConnection: number;
    messagesWindowMs: number;
    /** Connections between upgrade and connection_ack at once, per instance; more are shed with 1013. */
    maxHandshakes: number;
    /** Range of the `retryAfter` a shed connection is told. */
    shedMinRetryAfterMs: number;
    shedMaxRetryAfterMs: number;
  };
  subscriptions: { maxPerConnection: number; maxPerUser: number };
  rates: {
    windowMs: number;
    /** Budget of each mutation field per user and window, unless overridden by name. */
    mutationsPerUser: number;
    mutationOverrides: Record<string, number>;
    subscriptionStartsPerUser: number;
    httpRequestsPerIp: number;
    /** Share of a budget after which results carry a warning. */
    warnRatio: number;
  };
  /** Take the client address from the first X-Forwarded-For entry (only behind a trusted proxy). */
  trustProxy: boolean;
}

export function limitsFromEnv(e: LimitsEnv): LimitsConfig {
  return {
    operation: {
      maxDepth: e.MAX_DEPTH,
      maxCost: e.MAX_COST,
      maxAliases: e.MAX_ALIASES,
      maxTokens: e.MAX_TOKENS,
      maxDirectives: e.MAX_DIRECTIVES,
      maxDocumentBytes: e.MAX_DOCUMENT_BYTES,
    },
    httpMaxBodyBytes: e.HTTP_MAX_BODY_BYTES,
    ws: {
      maxMessageBytes: e.WS_MAX_MESSAGE_BYTES,
      maxConnectionsPerUser: e.WS_MAX_CONNECTIONS_PER_USER,
      maxConnectionsPerIp: e.WS_MAX_CONNECTIONS_PER_IP,
      connectionAttemptsPerIp: e.WS_CONNECTION_ATTEMPTS_PER_IP,
      connectionAttemptsWindowMs: e.WS_CONNECTION_ATTEMPTS_WINDOW_MS,
      messagesPerConnection: e.WS_MESSAGES_PER_CONNECTION,
      messagesWindowMs: e.WS_MESSAGES_WINDOW_MS,
      maxHandshakes: e.WS_MAX_HANDSHAKES,
      shedMinRetryAfterMs: e.WS_SHED_MIN_RETRY_AFTER_MS,
      shedMaxRetryAfterMs: Math.max(e.WS_SHED_MAX_RETRY_AFTER_MS, e.WS_SHED_MIN_RETRY_AFTER_MS),
    },
    subscriptions: {
      maxPerConnection: e.MAX_SUBSCRIPTIONS_PER_CONNECTION,
      maxPerUser: e.MAX_SUBSCRIPTIONS_PER_USER,
    },
    rates: {
      windowMs: e.RATE_LIMIT_WINDOW_MS,
      mutationsPerUser: e.RATE_LIMIT_MUTATIONS,
      mutationOverrides: e.RATE_LIMIT_OVERRIDES,
      subscriptionStartsPerUser: e.RATE_LIMIT_SUBSCRIPTIONS,
      httpRequestsPerIp: e.RATE_LIMIT_HTTP_PER_IP,
      warnRatio: e.RATE_LIMIT_WARN_RATIO,
    },
    trustProxy: e.TRUST_PROXY,
  };
}

/** Defaults, for tests and tools that build a config without the environment. */
export function defaultLimits(): LimitsConfig {
  return limitsFromEnv(LimitsEnvSchema.parse({}));
}
