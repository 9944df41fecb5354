import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { type Heartbeat, startHeartbeat } from '../../src/observability/heartbeat';
import { eventually } from '../support/eventually';

describe('heartbeat', () => {
  let wsServer: WebSocketServer;
  let heartbeat: Heartbeat | undefined;
  const clients: WebSocket[] = [];

  afterEach(async () => {
    heartbeat?.stop();
    for (const client of clients.splice(0)) client.terminate();
    await new Promise((resolve) => wsServer.close(resolve));
  });

  async function listen() {
    wsServer = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await once(wsServer, 'listening');
    return `ws://127.0.0.1:${(wsServer.address() as AddressInfo).port}`;
  }

  async function connect(url: string, options: { autoPong: boolean }) {
    const client = new WebSocket(url, options);
    clients.push(client);
    const [serverSide] = (await once(wsServer, 'connection')) as [WebSocket];
    await once(client, 'open');
    return { client, serverSide };
  }

  it('terminates a peer that stops answering pings, and only that one', async () => {
    const url = await listen();
    const stale: WebSocket[] = [];
    // A second for the healthy peer's pong: enough on a loaded machine, where 100 ms was not.
    heartbeat = startHeartbeat({ wsServer, intervalMs: 50, timeoutMs: 1000, onStale: (s) => stale.push(s) });
    const healthy = await connect(url, { autoPong: true });
    const dead = await connect(url, { autoPong: false });

    const [code] = (await once(dead.serverSide, 'close')) as [number];
    expect(code).toBe(1006);
    expect(stale).toEqual([dead.serverSide]);
    expect(healthy.serverSide.readyState).toBe(WebSocket.OPEN);
  });

  it('pings every socket at the configured interval', async () => {
    const url = await listen();
    heartbeat = startHeartbeat({ wsServer, intervalMs: 40, timeoutMs: 1000 });
    const { client } = await connect(url, { autoPong: true });
    let pings = 0;
    client.on('ping', () => pings++);
    await eventually(() => pings >= 2);
  });

  it('stop() ends pinging and terminates nobody afterwards', async () => {
    const url = await listen();
    const dead = await connect(url, { autoPong: false });
    vi.useFakeTimers();
    try {
      heartbeat = startHeartbeat({ wsServer, intervalMs: 30, timeoutMs: 30 });
      heartbeat.stop();
      vi.advanceTimersByTime(300); // ten intervals: any ping or termination would have happened in them
      expect(dead.serverSide.readyState).toBe(WebSocket.OPEN);
    } finally {
      vi.useRealTimers();
    }
  });
});
