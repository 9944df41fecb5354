import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { expect } from 'vitest';
import { eventually } from '../support/eventually';
import type { TestServer } from '../support/server';
import { started } from '../support/started';

/** Shared by the operations integration tests (not a test file itself). */

export const ORDER_EVENTS = /* GraphQL */ `
  subscription ($storeId: ID!, $after: String) {
    orderUpdated(storeId: $storeId, after: $after) { cursor kind order { id status } }
  }
`;
export type OrderEvent = {
  orderUpdated: { cursor: string; kind: string; order: { id: string; status: string } };
};

const CREATE_ORDER = /* GraphQL */ `
  mutation ($input: CreateOrderInput!) { createOrder(input: $input) { id } }
`;
export const UPDATE_STATUS = /* GraphQL */ `
  mutation ($orderId: ID!, $status: OrderStatus!) { updateOrderStatus(orderId: $orderId, status: $status) { id status } }
`;

export async function createOrder(
  app: TestServer,
  token: string,
  storeId = 'acme-downtown',
): Promise<string> {
  const result = await app.gql<{ createOrder: { id: string } }>(
    CREATE_ORDER,
    { input: { storeId, channel: 'POS', items: [{ productId: `${storeId}-fries`, quantity: 1 }] } },
    { token },
  );
  expect(result.errors).toBeUndefined();
  return result.data!.createOrder.id;
}

export async function scrape(baseUrl: string): Promise<string> {
  const response = await fetch(`${baseUrl}/metrics`);
  expect(response.status).toBe(200);
  return response.text();
}

/** The value of one sample in Prometheus text format (0 when absent); labels must match exactly those given. */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .sort()
    .join(',');
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = (match[2] ?? '').split(',').filter(Boolean).sort().join(',');
    if (have === wanted) return Number(match[3]);
  }
  return 0;
}

export async function readiness(baseUrl: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${baseUrl}/ready`);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A redis-server of the test file's own (see ownRedis), started before its tests and stopped after them. */
export function useOwnRedis(): OwnRedis {
  return started(startOwnRedis, (redis) => redis.stop());
}

/** ownRedis on a free port, started. */
export async function startOwnRedis(options: { sentinelOf?: number } = {}): Promise<OwnRedis> {
  const redis = ownRedis(await freePort(), options);
  await redis.start();
  return redis;
}

export type OwnRedis = ReturnType<typeof ownRedis>;

/** A redis-server of the test's own, on its own port, that the test can stop and start again. */
export function ownRedis(port: number, options: { sentinelOf?: number } = {}) {
  let child: ReturnType<typeof spawn> | undefined;
  const url = `redis://127.0.0.1:${port}`;
  return {
    port,
    url,
    async start() {
      child = spawn('redis-server', redisArgs(port, options.sentinelOf), { stdio: 'ignore' });
      await eventually(async () => {
        const probe = new Redis(url, {
          lazyConnect: true,
          retryStrategy: () => null,
          maxRetriesPerRequest: 0,
        });
        probe.on('error', () => {});
        try {
          await probe.connect();
          return (await probe.ping()) === 'PONG';
        } finally {
          probe.disconnect();
        }
      });
    },
    async stop() {
      if (!child || child.exitCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
      child = undefined;
    },
  };
}

function redisArgs(port: number, sentinelOf: number | undefined): string[] {
  if (sentinelOf === undefined) {
    return ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
  }
  // A sentinel rewrites its configuration file, so it gets one of its own.
  const file = join(mkdtempSync(join(tmpdir(), 'expediter-sentinel-')), 'sentinel.conf');
  writeFileSync(
    file,
    [`port ${port}`, 'bind 127.0.0.1', `sentinel monitor expediter 127.0.0.1 ${sentinelOf} 1`, ''].join('\n'),
  );
  return [file, '--sentinel'];
}
