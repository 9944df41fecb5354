import { randomUUID } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { createYoga } from 'graphql-yoga';
import { WebSocketServer } from 'ws';
import { createAuthenticator } from '../auth/authenticate';
import { AuthError } from '../auth/errors';
import { canWatchStation } from '../auth/policy';
import { createTokenVerifier } from '../auth/jwt';
import type { Principal } from '../auth/principal';
import { createRevocationStore } from '../auth/revocation';
import type { Config } from '../config';
import { createDb, type DbHandle } from '../db/client';
import { migrate } from '../db/migrate';
import { seed } from '../db/seed';
import { renderOfflineGraphiQL } from '../demo/graphiql';
import { createWebPages } from '../demo/web-pages';
import { createServices, type Services } from '../domain/index';
import { createEventStreams } from '../events/event-streams';
import { createOutboxPublisher, createUnitOfWork } from '../events/outbox';
import { createPubSub } from '../events/pubsub';
import type { CommitListener } from '../events/unit-of-work';
import { createOutboxRelay } from '../events/relay';
import { pruneEvents } from '../events/retention';
import { createLimits, type Limits } from '../limits/index';
import { Activity } from '../observability/activity';
import { createHealthMonitor } from '../observability/health';
import { startHeartbeat } from '../observability/heartbeat';
import { createInstrumentation } from '../observability/instrument';
import { createLogger, type Logger } from '../observability/logger';
import { createMetrics, type Metrics } from '../observability/metrics';
import type { GraphQLContext } from '../schema/context';
import { buildSchema } from '../schema/index';
import { createClusterStats } from './cluster-stats';
import { createErrorMasker } from './errors';
import { createFanoutEngine, type FanoutEngine, type FanoutOptions } from '../fanout/engine';
import { attachGraphqlWs, WsCloseCode } from './graphql-ws';
import { createDrainState, createOpsRoutes, refuseUpgradesWhileDraining, withinDeadline } from './ops';

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
  /** fanout: the engine delivering subscription events (undefined when disabled); `fanout.stats()` for leak checks. */
  fanout?: FanoutEngine;
  /** Prometheus metrics of this instance (its own registry); e.g. `metrics.rateLimitRefusals.inc({ scope })`. */
  metrics: Metrics;
  /** Graceful: stops accepting, closes sockets with 1001, flushes the outbox, closes pools. */
  close(): Promise<void>;
}

const GRAPHQL_PATH = '/graphql';

export async function createServer(
  config: Config,
  options: { logger?: Logger; fanout?: Omit<FanoutOptions, 'logger'> | false } = {},
): Promise<ExpediterServer> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const dbHandle = await createDb({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  await migrate(dbHandle, { logger });
  if (config.seedDemoData && (await dbHandle.db.tenant.count()) === 0) {
    await seed(dbHandle.db);
    logger.info('loaded demo data');
  }
  const db = dbHandle.db;
  // ops: one registry per instance; the wrappers count connections, operations and events
  const metrics = createMetrics();
  const activity = new Activity();
  const instrument = createInstrumentation({ metrics, activity, logger });

  const pubsub = instrument.pubsub(
    await createPubSub({
      redisUrl: config.redisUrl,
      keyPrefix: config.redisPrefix,
      redisOptions: config.redisOptions as Record<string, unknown> | undefined, // ops: Sentinel
      logger,
    }),
  );
  const commitListeners: CommitListener[] = [];
  const uow = createUnitOfWork({
    db,
    publisher: createOutboxPublisher(pubsub),
    logger,
    onCommit: [(events) => commitListeners.forEach((listener) => listener(events))],
  });
  const streams = instrument.streams(
    createEventStreams({ db, pubsub, logger, replayMaxEvents: config.events.replayMaxEvents }),
  );
  const relay = createOutboxRelay({ db, pubsub, logger, intervalMs: config.events.relayIntervalMs });

  const revocations = createRevocationStore({ redis: pubsub.redis?.(), pubsub, logger });
  const services = createServices({ db, uow, streams, pubsub, config, logger }, { revocations });
  commitListeners.push(services.dashboard.onCommit);
  const authenticator = instrument.authenticator(
    createAuthenticator({
      verifier: createTokenVerifier(config.jwt),
      revocations,
      logger,
      storeOfTenant: async (tenantId, storeId) =>
        (await db.store.count({ where: { id: storeId, tenantId } })) > 0,
      userOfOtherTenant: async (tenantId, userId) =>
        (await db.user.count({ where: { id: userId, tenantId: { not: tenantId } } })) > 0,
    }),
  );
  // ops: health (database behind a circuit breaker, Redis, outbox), drain state, cluster stats
  const health = createHealthMonitor({
    checkDatabase: () => dbHandle.query('SELECT 1'),
    redisStatus: config.redisUrl ? () => pubsub.status() : undefined,
    outboxBacklog: () => relay.backlog(),
    metrics,
    logger,
    intervalMs: config.ops.healthCheckIntervalMs,
  });
  const drain = createDrainState({ metrics, logger });
  const opsRoutes = createOpsRoutes({ metrics, health, drain });
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
  });
  metrics.limitsShared.set(limits.mode() === 'redis' ? 1 : 0);
  const stopLimitsModeWatch = limits.onModeChange((mode) => metrics.limitsShared.set(mode === 'redis' ? 1 : 0));
  const yoga = createYoga<Record<string, unknown>, GraphQLContext>({
    schema: buildSchema(),
    plugins: [instrument.yogaPlugin(drain, { serverStats: clusterStats }), ...limits.plugins],
    graphqlEndpoint: GRAPHQL_PATH,
    landingPage: false,
    graphiql: config.graphiql ? { subscriptionsProtocol: 'WS', defaultQuery: GRAPHIQL_DEFAULT_QUERY } : false,
    renderGraphiQL: renderOfflineGraphiQL, // clients: assets from the npm package, not a CDN
    logging: {
      debug: (...args) => logger.debug(args),
      info: (...args) => logger.info(args),
      warn: (...args) => logger.warn(args),
      error: (...args) => logger.error(args),
    },
    maskedErrors: { maskError: createErrorMasker(logger) },
    context: async (initial): Promise<GraphQLContext> => {
      const principal = 'principal' in initial ? (initial.principal as Principal | null) : await httpPrincipal(initial);
      const cache = new Map<string, Promise<boolean>>();
      return {
        principal,
        services,
        requestId: randomUUID(),
        access: {
          platformTenants: config.platformTenants,
          canWatchStation: (caller, stationId) => {
            let decision = cache.get(stationId);
            if (!decision) {
              decision = services.stores
                .findStation(caller, stationId)
                .then((station) => station !== null && canWatchStation(caller, station));
              cache.set(stationId, decision);
            }
            return decision;
          },
        },
      };
    },
  });

  async function httpPrincipal(initial: Record<string, unknown>): Promise<Principal | null> {
    const request = initial.request as Request | undefined;
    const authorization = request?.headers.get('authorization');
    if (!authorization) return null;
    return authenticator.authenticate({ authorization, storeId: request?.headers.get('x-store-id') ?? undefined });
  }

  let draining = false;
  const webPages = createWebPages(); // clients: GraphiQL assets and the /demo page
  const httpServer = createHttpServer((req, res) => route(req, res));
  async function route(req: IncomingMessage, res: ServerResponse) {
    const path = (req.url ?? '/').split('?')[0];
    if (await opsRoutes(req, res)) return; // ops: /health, /ready, /metrics
    if (config.graphiql && (await webPages.handle(req, res))) return; // clients: developer pages
    if (draining && path === GRAPHQL_PATH) {
      res.writeHead(503, { 'content-type': 'application/json', connection: 'close' });
      res.end(JSON.stringify({ errors: [{ message: 'Server is shutting down', extensions: { code: 'UNAVAILABLE' } }] }));
      return;
    }
    yoga.handle(req, res);
  }

  const wsServer = new WebSocketServer({
    server: httpServer,
    path: GRAPHQL_PATH,
    ...limits.connections.serverOptions,
  });
  limits.connections.attach(wsServer);
  // ops: connection metrics and logs, 503 on upgrades while draining, ping/pong heartbeat
  instrument.trackConnections(wsServer);
  refuseUpgradesWhileDraining(wsServer, drain);
  const heartbeat = startHeartbeat({
    wsServer,
    intervalMs: config.ws.keepAliveMs,
    timeoutMs: config.ops.pongTimeoutMs,
    onStale: (socket) => instrument.connectionStale(socket),
  });
  // fanout: subscription events executed once per group of subscribers (options.fanout === false: per subscriber)
  const fanout =
    options.fanout === false
      ? undefined
      : createFanoutEngine({
          logger,
          pubsub,
          streams,
          metrics: instrument.metrics,
          activity: instrument.activity,
          ...options.fanout,
        });
  const graphqlWs = attachGraphqlWs({
    wsServer,
    yoga: yoga as never,
    authenticator,
    logger,
    connectionInitTimeoutMs: config.ws.connectionInitTimeoutMs,
    keepAliveMs: 0, // ops: the heartbeat above pings and terminates dead peers instead
    onAcknowledged: (socket, principal) => instrument.connectionAcknowledged(socket, principal),
    connectionLimits: limits.connections,
    fanout,
  });
  const stopRevocations = revocations.onRevocation((revocation) => graphqlWs.applyRevocation(revocation));

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(config.port, config.host, () => resolve());
  });
  relay.start();
  const stopRetention = scheduleRetention(db, config.events.retentionHours, logger);
  health.start(); // ops
  clusterStats.start(); // ops
  services.start();
  const port = (httpServer.address() as AddressInfo).port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  logger.info({ port, database: dbHandle.mode, redis: Boolean(config.redisUrl) }, 'expediter listening');

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
    close: () => {
      // ops: readiness off, new connections and operations refused; in-flight operations finish
      // (their events still reach subscribers) before sockets close; the whole close is bounded.
      const deadline = Date.now() + config.shutdownTimeoutMs;
      closing ??= withinDeadline(deadline, logger, (async () => {
        draining = true;
        drain.start();
        await drain.settled(config.shutdownTimeoutMs / 2);
        heartbeat.stop();
        stopRevocations();
        graphqlWs.closeAll(WsCloseCode.GoingAway, 'Server shutting down');
        await new Promise<void>((resolve) => {
          httpServer.close(() => resolve());
          httpServer.closeIdleConnections();
          const remainingMs = Math.max(0, deadline - Date.now()); // ops: what is left of the budget
          setTimeout(() => {
            httpServer.closeAllConnections();
            for (const socket of wsServer.clients) socket.terminate();
          }, remainingMs).unref();
        });
        await graphqlWs.dispose();
        stopLimitsModeWatch();
        await limits.close();
        await services.stop();
        await relay.stop();
        stopRetention();
        await relay.sweepOnce().catch(() => 0);
        health.stop(); // ops
        await clusterStats.stop(); // ops: withdraws this instance's report
        await revocations.close();
        await pubsub.close();
        await dbHandle.close();
        logger.info('expediter stopped');
      })());
      return closing;
    },
  };
}

/** Prunes published events past the retention window every hour (and once shortly after start). */
function scheduleRetention(db: ExpediterServer['db']['db'], retentionHours: number, logger: Logger): () => void {
  const prune = () =>
    pruneEvents(db, { retentionHours })
      .then((deleted) => {
        if (deleted > 0) logger.info({ deleted }, 'pruned events past retention');
      })
      .catch((err) => logger.warn({ err }, 'event pruning failed'));
  const first = setTimeout(prune, 30_000).unref();
  const hourly = setInterval(prune, 3_600_000).unref();
  return () => {
    clearTimeout(first);
    clearInterval(hourly);
  };
}

export { AuthError };

const GRAPHIQL_DEFAULT_QUERY = `# Expediter: live orders for a store.
# 1. Get a token:   npm run token -- acme-manager
# 2. Headers tab:   { "Authorization": "Bearer <token>" }
#    (GraphiQL sends the same headers as connection_init payload for subscriptions)
# 3. Run the subscription, then create an order from another tab.
subscription LiveOrders {
  orderUpdated(storeId: "acme-downtown") {
    cursor
    kind
    previousStatus
    order { id number status totalCents items { name quantity } }
  }
}
`;
