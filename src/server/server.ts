import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { WebSocketServer } from 'ws';
import { createAuthenticator } from '../auth/authenticate';
import { createTokenVerifier } from '../auth/jwt';
import { createRevocationStore } from '../auth/revocation';
import { createSessions, type Sessions } from '../auth/session';
import type { Config } from '../config';
import { createDb, type DbHandle } from '../db/client';
import { migrate } from '../db/migrate';
import { loadedDemoUserIds, seed } from '../db/seed';
import { createTenancyLookups } from '../db/tenancy';
import { createWebPages } from '../demo/web-pages';
import { createServices, type Services } from '../domain/index';
import { isCleanClose } from '../domain/presence';
import { createPubSub } from '../events/create-pubsub';
import { createEventLog } from '../events/event-log';
import { createEventStreams } from '../events/event-streams';
import type { SqlQuery } from '../events/one-statement';
import { createOutboxPublisher, createUnitOfWork } from '../events/outbox';
import { createPublisher } from '../events/publisher';
import { createOutboxRelay } from '../events/relay';
import { schedulePruning } from '../events/retention';
import { createTopicFeeds } from '../events/topic-feeds';
import { topicKind, topics } from '../events/topics';
import type { CommitListener } from '../events/unit-of-work';
import { createFanoutEngine, type FanoutEngine, type FanoutOptions } from '../fanout/engine';
import { createLimits, type Limits } from '../limits/index';
import { Activity } from '../observability/activity';
import { createClusterStats } from '../observability/cluster-stats';
import { createHealthMonitor } from '../observability/health';
import { startHeartbeat } from '../observability/heartbeat';
import { createLogger, type Logger } from '../observability/logger';
import { createMetrics, type Metrics } from '../observability/metrics';
import { createMemoryPresenceRegistry } from '../presence/registry-memory';
import { createRedisPresenceRegistry } from '../presence/registry-redis';
import { type GraphQLContext, resolverContextOf } from '../schema/context';
import { useTrustedDocuments } from '../trusted/plugin';
import { CODEGEN_MANIFEST, createTrustedDocuments } from '../trusted/trusted-documents';
import { createDemoSignIn } from './demo-sign-in';
import { attachGraphqlWs, WsCloseCode } from './graphql-ws';
import { inputGuardPlugin } from './input-guard';
import { createInstrumentation } from './instrument';
import { createDrainState, createOpsRoutes, refuseUpgradesWhileDraining, withinDeadline } from './ops';
import { createGraphqlApp, GRAPHQL_PATH } from './yoga';

/** Connections the kernel queues before they are accepted (Node's default: 511); see the listen call. */
const LISTEN_BACKLOG = 8192;

export interface ExpediterServer {
  /** http://host:port */
  url: string;
  /** ws://host:port/graphql */
  wsUrl: string;
  port: number;
  services: Services;
  db: DbHandle;
  logger: Logger;
  /** Operation, rate and connection limits; `limits.mode()` says whether they are shared through Redis. */
  limits: Limits;
  /** The engine delivering subscription events once per group (undefined when disabled); `stats()` for leak checks. */
  fanout?: FanoutEngine;
  /** Prometheus metrics of this instance (its own registry). */
  metrics: Metrics;
  /** Callers' sessions; `watched()` counts those with live operations (leak checks). */
  sessions: Pick<Sessions, 'watched'>;
  /** Graceful: stops accepting, closes sockets with 1001, flushes the outbox, closes pools; bounded in time. */
  close(): Promise<void>;
}

export interface ServerOptions {
  logger?: Logger;
  /** Fan-out engine options; `false` executes every subscriber's events separately (benchmarks compare both). */
  fanout?: Omit<FanoutOptions, 'logger' | 'streams'> | false;
}

/**
 * The composition root: database and migrations, event pipeline, domain services, authentication,
 * GraphQL over HTTP/SSE and graphql-ws on one port, limits, and operations (health, metrics, drain).
 */
export async function createServer(config: Config, options: ServerOptions = {}): Promise<ExpediterServer> {
  const logger = options.logger ?? createLogger(config.logLevel);

  // Data: migrations apply under an advisory lock, so instances may start together.
  const dbHandle = await createDb({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    poolSize: config.database.poolSize,
  });
  await migrate(dbHandle, { logger });
  if (config.seedDemoData && (await dbHandle.db.tenant.count()) === 0) {
    await seed(dbHandle.db);
    logger.info('loaded demo data');
  }
  const db = dbHandle.db;

  // Observability first: the wrappers below count what passes through them.
  const metrics = createMetrics();
  const activity = new Activity();
  const instrument = createInstrumentation({ metrics, activity, logger });

  // Events: outbox written in each mutation's transaction, published after commit, relayed if missed.
  const pubsub = instrument.pubsub(
    await createPubSub({
      redisUrl: config.redisUrl,
      keyPrefix: config.redisPrefix,
      redisOptions: config.redisOptions as Record<string, unknown> | undefined, // Sentinel topology
      logger,
    }),
  );
  const commitListeners: CommitListener[] = [];
  // PostgreSQL: one-statement units of work and marks go straight to the pg pool under the adapter.
  const sql: SqlQuery | undefined =
    dbHandle.mode === 'postgres' ? (text, values) => dbHandle.query(text, values) : undefined;
  const outbox = createOutboxPublisher(pubsub, {
    db,
    ...(sql ? { sql } : {}),
    logger,
    onCaughtUp: (count) => metrics.outboxCaughtUp.inc(count),
  });
  const uow = createUnitOfWork({
    db,
    publisher: outbox,
    ...(sql ? { sql } : {}),
    logger,
    transaction: { maxWait: config.database.transactionMaxWaitMs },
    onCommit: [(events) => commitListeners.forEach((listener) => void listener(events))],
  });
  // The one way out: the unit of work (durable) and broadcasts (ephemeral), on the same pub/sub.
  const publisher = createPublisher(uow, pubsub);
  // One feed per topic and instance: events in order, gaps filled from the table (src/events/topic-feeds).
  const eventLog = instrument.eventLog(createEventLog(db));
  const { recent, recentByKind } = config.events;
  const feeds = createTopicFeeds({
    pubsub,
    log: eventLog,
    logger,
    maxFillEvents: config.events.replayMaxEvents,
    observer: instrument.feedObserver(),
    recentWindow: (topic) => recentByKind[topicKind(topic)] ?? recent,
  });
  metrics.countRecentEvents(() => feeds.recentEvents());
  const streams = instrument.streams(
    createEventStreams({
      feeds,
      log: eventLog,
      logger,
      replayMaxEvents: config.events.replayMaxEvents,
      onResume: instrument.resumed,
    }),
  );
  const relay = createOutboxRelay({
    db,
    pubsub,
    logger,
    intervalMs: config.events.relayIntervalMs,
    onRepublished: (count) => metrics.relayPublished.inc(count),
  });

  // Domain and authentication.
  // Revocations: PostgreSQL is the source of truth, Redis (or this process) the fast path that reaches every instance.
  const tenancy = createTenancyLookups(dbHandle);
  const revocations = createRevocationStore({
    durable: tenancy.sessionsRevokedBefore,
    redis: pubsub.redis?.(),
    broadcasts: publisher,
    logger,
  });
  // Presence: in Redis when instances share one, else in this instance's memory (docs/presence.md).
  const sharedRedis = pubsub.redis?.();
  const presence = sharedRedis
    ? createRedisPresenceRegistry({
        redis: sharedRedis,
        leaseMs: config.presence.leaseMs,
        // A change is published by the registering script, on the channel subscribers listen on (pub/sub
        // prefixes channels with the publisher's keyPrefix, as anyoneListening does).
        channelOf: (tenantId, storeId) =>
          (sharedRedis.options.keyPrefix ?? '') + topics.storePresence(tenantId, storeId),
      })
    : createMemoryPresenceRegistry({ leaseMs: config.presence.leaseMs });
  const sessions = createSessions({ revocations, logger });
  const services = createServices(
    { db, publisher, streams, config, logger },
    { revocations, presence, userName: tenancy.userName },
  );
  commitListeners.push(services.dashboard.onCommit);
  const authenticator = instrument.authenticator(
    createAuthenticator({
      verifier: createTokenVerifier(config.jwt),
      revocations,
      logger,
      storeOfTenant: tenancy.storeOfTenant,
      userOfOtherTenant: tenancy.userOfOtherTenant,
    }),
  );

  // Operations: health behind a circuit breaker, drain state, cluster-wide stats through Redis.
  const health = createHealthMonitor({
    checkDatabase: () => dbHandle.query('SELECT 1'),
    redisStatus: config.redisUrl ? () => pubsub.status() : undefined,
    outboxBacklog: () => relay.backlog(),
    metrics,
    logger,
    intervalMs: config.ops.healthCheckIntervalMs,
  });
  const drain = createDrainState({ metrics, logger });
  const clusterStats = createClusterStats({
    instanceId: config.ops.instanceId,
    hostname: hostname(),
    activity,
    state: () => {
      const snapshot = health.snapshot();
      return {
        ready: !drain.draining && snapshot.database === 'up' && !snapshot.degraded,
        degraded: snapshot.degraded,
        draining: drain.draining,
        outboxBacklog: snapshot.outbox?.count ?? null,
      };
    },
    redis: pubsub.redis ? () => pubsub.redis!() : undefined,
    redisUp: () => pubsub.status() === 'up',
    intervalMs: config.ops.statsReportIntervalMs,
    logger,
  });

  const limits = await createLimits(config, {
    logger,
    onRefusal: (scope) => metrics.rateLimitRefusals.inc({ scope }),
    onShed: () => metrics.connectionsShed.inc(),
  });
  const limitsShared = (mode: string) => metrics.limitsShared.set(mode === 'redis' ? 1 : 0);
  limitsShared(limits.mode());
  const stopWatchingLimits = limits.onModeChange(limitsShared);

  // Trusted documents: which documents run, decided once per operation for every transport.
  const trustedDocuments = createTrustedDocuments({
    ...config.trustedDocuments,
    manifests: [CODEGEN_MANIFEST],
    introspection: config.introspection,
    logger,
    metrics,
  });

  // HTTP: operations endpoints, developer pages (GraphiQL, /demo, demo sign-in), then GraphQL.
  const webPages = createWebPages({
    demoSignIn: createDemoSignIn({ config, loadedDemoUserIds: () => loadedDemoUserIds(db) }),
  });
  const yoga = createGraphqlApp({
    config,
    logger,
    services,
    authenticator,
    sessions,
    // Trusted documents decide which document runs; the input guard then refuses malformed input before the
    // limits take any budget for it.
    plugins: [
      instrument.yogaPlugin(drain, { serverStats: clusterStats }),
      useTrustedDocuments(trustedDocuments),
      inputGuardPlugin({ hideSuggestions: config.env !== 'development' }),
      ...limits.plugins,
    ],
    renderGraphiQL: webPages.renderGraphiQL,
  });
  const opsRoutes = createOpsRoutes({ metrics, health, drain });
  const httpServer = createHttpServer((req, res) => void route(req, res));
  async function route(req: IncomingMessage, res: ServerResponse) {
    if (await opsRoutes(req, res)) return;
    if (config.graphiql && (await webPages.handle(req, res))) return;
    yoga.handle(req, res);
  }

  // WebSocket: graphql-ws on the same path, behind connection limits, heartbeat and drain.
  const wsServer = new WebSocketServer({
    server: httpServer,
    path: GRAPHQL_PATH,
    ...limits.connections.serverOptions,
  });
  limits.connections.attach(wsServer);
  // Attached after the guard, so it runs first (both prepend): a shed upgrade costs nothing more.
  limits.admission.attach(wsServer);
  instrument.trackConnections(wsServer);
  refuseUpgradesWhileDraining(wsServer, drain);
  const heartbeat = startHeartbeat({
    wsServer,
    intervalMs: config.ws.keepAliveMs,
    timeoutMs: config.ops.pongTimeoutMs,
    onStale: (socket) => instrument.connectionStale(socket),
  });
  const fanout =
    options.fanout === false
      ? undefined
      : createFanoutEngine({
          logger,
          streams,
          privately: services.subscriptions,
          feeds,
          metrics: instrument.metrics,
          activity: instrument.activity,
          executionContext: (context) => resolverContextOf(context as GraphQLContext),
          ...options.fanout,
        });
  const graphqlWs = attachGraphqlWs({
    wsServer,
    yoga: yoga as never,
    authenticator,
    sessions,
    logger,
    connectionInitTimeoutMs: config.ws.connectionInitTimeoutMs,
    onAcknowledged: (socket, principal) => {
      limits.admission.admitted(socket);
      instrument.connectionAcknowledged(socket, principal);
      services.presence.connected(socket, principal);
    },
    onSocketClosed: (socket, code, reason) => instrument.connectionClosed(socket, code, reason),
    onClosed: (socket, code) => services.presence.disconnected(socket, isCleanClose(code, drain.draining)),
    connectionLimits: limits.connections,
    trustedDocuments,
    fanout,
  });

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    // A reconnect storm opens thousands of connections within the clients' first backoff (250 ms): past the
    // accept queue (Node's default 511) the kernel drops them and the clients' SYN retransmits bring them back
    // 1, 3, 7, 15, 31, 63 s later, a tail no retryAfter controls. The kernel caps it at net.core.somaxconn.
    httpServer.listen({ port: config.port, host: config.host, backlog: LISTEN_BACKLOG }, () => resolve());
  });
  relay.start();
  const stopPruning = schedulePruning(db, { retentionHours: config.events.retentionHours, logger });
  health.start();
  clusterStats.start();
  services.start();
  const port = (httpServer.address() as AddressInfo).port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  logger.info({ port, database: dbHandle.mode, redis: Boolean(config.redisUrl) }, 'expediter listening');

  /**
   * Readiness off and new connections and operations refused; in-flight operations finish (their
   * events still reach subscribers) before sockets close with 1001; then the outbox is flushed and
   * pools close. The whole sequence is bounded by SHUTDOWN_TIMEOUT_MS.
   */
  async function shutDown(deadline: number) {
    drain.start();
    await drain.settled(config.shutdownTimeoutMs / 2);
    heartbeat.stop();
    sessions.close();
    graphqlWs.closeAll(WsCloseCode.GoingAway, 'Server shutting down');
    await new Promise<void>((resolve) => {
      httpServer.close(() => resolve());
      httpServer.closeIdleConnections();
      setTimeout(
        () => {
          httpServer.closeAllConnections();
          for (const socket of wsServer.clients) socket.terminate();
        },
        Math.max(0, deadline - Date.now()),
      ).unref();
    });
    await graphqlWs.dispose();
    stopWatchingLimits();
    trustedDocuments.close();
    await limits.close();
    await services.stop();
    await relay.stop();
    stopPruning();
    await outbox.close();
    await relay.sweepOnce().catch(() => 0);
    feeds.close();
    health.stop();
    await clusterStats.stop();
    await revocations.close();
    await pubsub.close();
    await dbHandle.close();
    logger.info('expediter stopped');
  }

  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${port}`,
    wsUrl: `ws://${host}:${port}${GRAPHQL_PATH}`,
    port,
    services,
    db: dbHandle,
    logger,
    limits,
    fanout,
    metrics,
    sessions,
    close: () => {
      const deadline = Date.now() + config.shutdownTimeoutMs;
      closing ??= withinDeadline(deadline, logger, shutDown(deadline));
      return closing;
    },
  };
}
