import type { IncomingMessage, ServerResponse } from 'node:http';
import type { WebSocketServer } from 'ws';
import type { HealthMonitor } from '../observability/health';
import type { Logger } from '../observability/logger';
import type { Metrics } from '../observability/metrics';
import type { OperationGate } from './instrument';

/**
 * Drain state of a graceful shutdown: once started, /ready answers 503, WebSocket upgrades and new
 * operations are refused, and `settled` tells when the queries and mutations in flight have finished.
 */
export interface DrainState extends OperationGate {
  readonly draining: boolean;
  start(): void;
  inFlight(): number;
  /** Resolves true once nothing is in flight, or false when timeoutMs passed first. */
  settled(timeoutMs: number): Promise<boolean>;
}

export function createDrainState(deps: { metrics: Metrics; logger: Logger }): DrainState {
  let draining = false;
  let inFlight = 0;
  const idleWaiters = new Set<() => void>();

  function finished() {
    inFlight -= 1;
    if (inFlight === 0) for (const wake of idleWaiters) wake();
  }

  return {
    get draining() {
      return draining;
    },
    start() {
      if (draining) return;
      draining = true;
      deps.metrics.draining.set(1);
      deps.logger.info({ inFlight }, 'draining: readiness off, new connections and operations refused');
    },
    inFlight: () => inFlight,
    operationStarted() {
      inFlight += 1;
      let done = false;
      return () => {
        if (done) return;
        done = true;
        finished();
      };
    },
    settled(timeoutMs) {
      if (inFlight === 0) return Promise.resolve(true);
      return new Promise<boolean>((resolve) => {
        const finish = (value: boolean) => {
          clearTimeout(timer);
          idleWaiters.delete(wake);
          resolve(value);
        };
        const wake = () => finish(true);
        const timer = setTimeout(() => {
          deps.logger.warn({ inFlight }, 'operations still in flight at the drain deadline');
          finish(false);
        }, timeoutMs);
        timer.unref();
        idleWaiters.add(wake);
      });
    },
  };
}

export interface OpsRoutesOptions {
  metrics: Metrics;
  health: HealthMonitor;
  drain: DrainState;
}

export type ReadinessStatus = 'ready' | 'draining' | 'degraded' | 'unavailable';

/**
 * `/health` (the process is alive: 200 even while draining, so nothing kills a draining instance),
 * `/ready` (200 only when the database and Redis are reachable and the instance is not draining) and
 * `/metrics` (Prometheus text format). Returns false for any other path.
 */
export function createOpsRoutes(options: OpsRoutesOptions) {
  const { metrics, health, drain } = options;
  const startedAt = Date.now();

  function readiness() {
    const snapshot = health.snapshot();
    const status: ReadinessStatus = drain.draining
      ? 'draining'
      : snapshot.database === 'down'
        ? 'unavailable'
        : snapshot.degraded
          ? 'degraded'
          : 'ready';
    return {
      ready: status === 'ready',
      status,
      draining: drain.draining,
      database: snapshot.database,
      redis: snapshot.redis,
      outboxBacklog: snapshot.outbox?.count ?? null,
    };
  }

  return async function handle(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/health' && path !== '/ready' && path !== '/metrics') return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return true;
    }
    if (path === '/health') {
      json(res, 200, { status: 'ok', uptimeSeconds: Math.round((Date.now() - startedAt) / 1000) });
    } else if (path === '/ready') {
      const body = readiness();
      json(res, body.ready ? 200 : 503, body);
    } else {
      health.snapshot(); // refreshes the Redis and degraded gauges to this instant
      const text = await metrics.registry.metrics();
      res
        .writeHead(200, { 'content-type': metrics.registry.contentType, 'cache-control': 'no-store' })
        .end(text);
    }
    return true;
  };
}

function json(res: ServerResponse, status: number, body: unknown) {
  res
    .writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' })
    .end(JSON.stringify(body));
}

/**
 * Refuses WebSocket upgrades with 503 (and Retry-After) while draining, so a load balancer's retry
 * lands on another instance. Keeps any verifyClient already configured (e.g. an origin check).
 */
export function refuseUpgradesWhileDraining(wsServer: WebSocketServer, drain: DrainState): void {
  type Info = Parameters<NonNullable<import('ws').ServerOptions['verifyClient']>>[0];
  type Callback = (
    result: boolean,
    code?: number,
    message?: string,
    headers?: Record<string, string>,
  ) => void;
  const previous = wsServer.options.verifyClient as
    | ((info: Info) => boolean)
    | ((info: Info, callback: Callback) => void)
    | undefined;
  wsServer.options.verifyClient = (info: Info, callback: Callback) => {
    if (drain.draining) return callback(false, 503, 'Server shutting down', { 'Retry-After': '1' });
    if (!previous) return callback(true);
    if (previous.length >= 2) return (previous as (info: Info, callback: Callback) => void)(info, callback);
    callback((previous as (info: Info) => boolean)(info));
  };
}

/**
 * Resolves when `work` does or at `deadline` (epoch ms), whichever comes first, so a shutdown stays within
 * its budget even when a pool waits on a stuck query; what is left keeps running and is logged.
 */
export function withinDeadline(deadline: number, logger: Logger, work: Promise<void>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<void>((resolve) => {
    timer = setTimeout(
      () => {
        logger.error('shutdown deadline reached; leaving the rest of the cleanup behind');
        resolve();
      },
      Math.max(0, deadline - Date.now()),
    );
    timer.unref();
  });
  const finished = work.catch((error: unknown) => logger.error({ err: error }, 'shutdown step failed'));
  return Promise.race([finished, expired]).finally(() => clearTimeout(timer));
}
