import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createExpediterClient, type ExpediterClient } from '../../src/client/client';
import { OrderUpdatesDocument } from '../../src/client/gql/graphql';
import { createOrder, sample, scrape } from '../ops/support';
import { eventually } from '../support/eventually';
import { startTestServer, type TestServer } from '../support/server';

/**
 * Admission under a reconnect storm, over real sockets: an instance works on at most WS_MAX_HANDSHAKES
 * connections between upgrade and connection_ack; more are closed at once with 1013 and a `retryAfter`,
 * which clients of `expediter/client` honour before coming back, so everyone ends up live.
 */

const MAX_HANDSHAKES = 2;
const STORM = 12;
const STORE = 'acme-downtown';
const ENV = {
  WS_MAX_HANDSHAKES: String(MAX_HANDSHAKES),
  WS_SHED_MIN_RETRY_AFTER_MS: '50',
  WS_SHED_MAX_RETRY_AFTER_MS: '3000',
  WS_MAX_CONNECTIONS_PER_USER: '100',
  WS_MAX_CONNECTIONS_PER_IP: '1000',
  WS_CONNECTION_ATTEMPTS_PER_IP: '100000',
};

let app: TestServer;
beforeAll(async () => {
  app = await startTestServer({ env: ENV });
});
afterAll(async () => {
  await app?.close();
});

const shedCount = async () => sample(await scrape(app.url), 'expediter_ws_connections_shed_total');

function openRaw(): Promise<{ socket: WebSocket; closed: Promise<{ code: number; reason: string }> }> {
  const socket = new WebSocket(app.wsUrl, 'graphql-transport-ws');
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.once('close', (code, reason) => resolve({ code, reason: String(reason) })),
  );
  return new Promise((resolve, reject) => {
    socket.once('open', () => resolve({ socket, closed }));
    socket.once('error', reject);
  });
}

describe('admission of WebSocket handshakes', () => {
  it('sheds a connection over the limit with 1013 and a retryAfter, and counts it', async () => {
    const before = await shedCount();
    // Two connections that never send connection_init hold both handshake slots.
    const holders = await Promise.all([openRaw(), openRaw()]);
    const third = await openRaw();
    const close = await third.closed;
    expect(close.code).toBe(1013);
    expect(close.reason).toMatch(/^Server busy, retryAfter=\d+(\.\d+)?$/);
    const retryAfter = Number(/retryAfter=(.*)$/.exec(close.reason)![1]);
    expect(retryAfter).toBeGreaterThanOrEqual(0.05);
    expect(retryAfter).toBeLessThanOrEqual(3);
    expect(await shedCount()).toBe(before + 1);

    // A slot frees when its connection leaves: the next one is admitted.
    for (const holder of holders) holder.socket.close();
    await Promise.all(holders.map((holder) => holder.closed));
    const next = await openRaw();
    next.socket.send(
      JSON.stringify({
        type: 'connection_init',
        payload: { authorization: `Bearer ${await app.token('acme-staff')}` },
      }),
    );
    await new Promise<void>((resolve) => next.socket.once('message', () => resolve()));
    next.socket.close();
  });

  it('a storm of clients is shed, comes back after retryAfter, and every client ends up live', async () => {
    const shedBefore = await shedCount();
    const startedBefore = await app.subscriptionsStarted('orderUpdated');
    const closeCodes: number[] = [];
    const received: Array<Set<string>> = [];
    const clients: ExpediterClient[] = [];
    const staff = await app.token('acme-staff');
    // The storm arrives while both handshake slots are taken (connections that never send connection_init).
    const holders = await Promise.all([openRaw(), openRaw()]);
    for (let i = 0; i < STORM; i++) {
      const seen = new Set<string>();
      received.push(seen);
      const client = createExpediterClient({
        url: app.wsUrl,
        webSocketImpl: WebSocket,
        getToken: () => staff,
        refreshTokens: false,
        on: { closed: (event) => closeCodes.push((event as { code: number }).code) },
      });
      clients.push(client);
      client.subscribe(
        OrderUpdatesDocument,
        { storeId: STORE },
        {
          next: (data) => seen.add(data.orderUpdated.order.id),
          error: (error) => closeCodes.push(-1, error.closeCode ?? 0),
        },
      );
    }
    try {
      await eventually(() => closeCodes.filter((code) => code === 1013).length >= STORM);
      for (const holder of holders) holder.socket.close();
      // Every one of them subscribed after being shed and waiting.
      await eventually(
        async () => (await app.subscriptionsStarted('orderUpdated')) >= startedBefore + STORM,
        20_000,
      );
      expect(closeCodes).not.toContain(-1); // no subscription gave up
      expect(await shedCount()).toBeGreaterThanOrEqual(shedBefore + STORM);

      const orderId = await createOrder(app, staff, STORE);
      await eventually(() => received.every((seen) => seen.has(orderId)), 10_000);
    } finally {
      await Promise.all(clients.map((client) => client.dispose()));
    }
  });
});
