import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { createHealthMonitor } from '../../src/observability/health';
import { createMetrics } from '../../src/observability/metrics';
import { createDrainState, createOpsRoutes, refuseUpgradesWhileDraining } from '../../src/server/ops';

const logger = pino({ level: 'silent' });

describe('ops routes', () => {
  let server: Server;
  afterEach(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  async function start(state: { database: boolean; redis: 'up' | 'down' }) {
    const metrics = createMetrics({ processMetrics: false });
    const health = createHealthMonitor({
      checkDatabase: async () => {
        if (!state.database) throw new Error('down');
      },
      redisStatus: () => state.redis,
      metrics,
      logger,
      intervalMs: 60_000,
    });
    await health.refresh();
    const drain = createDrainState({ metrics, logger });
    const handle = createOpsRoutes({ metrics, health, drain });
    server = createServer(async (req, res) => {
      if (!(await handle(req, res))) res.writeHead(404).end();
    });
    const wsServer = new WebSocketServer({ server });
    refuseUpgradesWhileDraining(wsServer, drain);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return { base, health, drain, metrics };
  }

  it('/ready is 200 when the database and Redis are up', async () => {
    const { base } = await start({ database: true, redis: 'up' });
    const response = await fetch(`${base}/ready`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      ready: true,
      status: 'ready',
      database: 'up',
      redis: 'up',
    });
  });

  it('/ready is 503 degraded while Redis is down, and recovers with it', async () => {
    const state = { database: true, redis: 'down' as 'up' | 'down' };
    const { base } = await start(state);
    const down = await fetch(`${base}/ready`);
    expect(down.status).toBe(503);
    expect(await down.json()).toMatchObject({ ready: false, status: 'degraded', redis: 'down' });
    state.redis = 'up';
    expect((await fetch(`${base}/ready`)).status).toBe(200);
  });

  it('/ready is 503 unavailable when the database check failed', async () => {
    const { base } = await start({ database: false, redis: 'up' });
    const response = await fetch(`${base}/ready`);
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({ status: 'unavailable', database: 'down' });
  });

  it('while draining: /ready 503, /health still 200, WebSocket upgrades refused with 503', async () => {
    const { base, drain } = await start({ database: true, redis: 'up' });
    const before = new WebSocket(base.replace('http', 'ws'));
    await once(before, 'open');
    before.close();

    drain.start();
    const ready = await fetch(`${base}/ready`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ status: 'draining', draining: true });
    expect((await fetch(`${base}/health`)).status).toBe(200);

    const refused = new WebSocket(base.replace('http', 'ws'));
    const [, response] = (await once(refused, 'unexpected-response')) as [unknown, { statusCode: number }];
    expect(response.statusCode).toBe(503);
    refused.on('error', () => {}); // terminate() reports the aborted handshake as an error
    refused.terminate();
  });

  it('/metrics serves the Prometheus text format with the drain gauge', async () => {
    const { base, drain } = await start({ database: true, redis: 'up' });
    drain.start();
    const response = await fetch(`${base}/metrics`);
    expect(response.headers.get('content-type')).toContain('text/plain');
    const text = await response.text();
    expect(text).toMatch(/^expediter_draining 1$/m);
    expect(text).toMatch(/^expediter_database_up 1$/m);
  });

  it('leaves other paths to the caller and refuses other methods', async () => {
    const { base } = await start({ database: true, redis: 'up' });
    expect((await fetch(`${base}/graphql`)).status).toBe(404);
    expect((await fetch(`${base}/ready`, { method: 'POST' })).status).toBe(405);
  });
});

describe('drain state', () => {
  const metrics = createMetrics({ processMetrics: false });

  it('settles at once when nothing is in flight', async () => {
    const drain = createDrainState({ metrics, logger });
    await expect(drain.settled(1000)).resolves.toBe(true);
  });

  it('settles when the last in-flight operation finishes', async () => {
    const drain = createDrainState({ metrics, logger });
    const first = drain.operationStarted();
    const second = drain.operationStarted();
    let settled = false;
    const waiting = drain.settled(5000).then((value) => {
      settled = value;
    });
    first();
    first(); // finishing twice counts once
    await new Promise((resolve) => setImmediate(resolve));
    expect(settled).toBe(false);
    expect(drain.inFlight()).toBe(1);
    second();
    await waiting;
    expect(settled).toBe(true);
  });

  it('gives up at the deadline', async () => {
    const drain = createDrainState({ metrics, logger });
    drain.operationStarted();
    await expect(drain.settled(20)).resolves.toBe(false);
  });
});
