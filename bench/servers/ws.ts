import { createServer } from 'node:http';
import { Redis } from 'ioredis';
import { jwtVerify } from 'jose';
import { type WebSocket, WebSocketServer } from 'ws';
import { BENCH_JWT_SECRET } from '../protocol';
import { readBody } from './http';
import { serveBench } from './serve';

/**
 * Baseline (b), the floor: raw `ws`. The first message carries the JWT and store (verified with jose);
 * each event is serialised once, crosses Redis once, and the same frame is sent to every socket of the room.
 */
void serveBench(async () => {
  const key = new TextEncoder().encode(BENCH_JWT_SECRET);
  const redisUrl = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
  const channelPrefix = `${process.env.BENCH_REDIS_PREFIX ?? 'ws'}store:`;
  const pub = new Redis(redisUrl);
  const sub = pub.duplicate();
  const rooms = new Map<string, Set<WebSocket>>();

  await sub.psubscribe(`${channelPrefix}*`);
  sub.on('pmessageBuffer', (_pattern: Buffer, channel: Buffer, frame: Buffer) => {
    const room = rooms.get(channel.toString().slice(channelPrefix.length));
    if (!room) return;
    for (const socket of room) socket.send(frame, { binary: false });
  });

  const http = createServer(async (req, res) => {
    if (req.method !== 'POST' || req.url !== '/emit') {
      res.writeHead(404).end();
      return;
    }
    const { storeId, event } = JSON.parse(await readBody(req)) as { storeId: string; event: unknown };
    await pub.publish(`${channelPrefix}${storeId}`, JSON.stringify({ type: 'event', event }));
    res.writeHead(204).end();
  });
  const wss = new WebSocketServer({ server: http });
  wss.on('connection', (socket) => {
    socket.once('message', async (data) => {
      try {
        const { token, storeId } = JSON.parse(String(data)) as { token: string; storeId: string };
        const { payload } = await jwtVerify(token, key, { algorithms: ['HS256'] });
        const stores = payload.stores as string[];
        if (!stores.includes(storeId) && !stores.includes('*')) throw new Error('forbidden');
        const room = rooms.get(storeId) ?? new Set<WebSocket>();
        rooms.set(storeId, room);
        room.add(socket);
        socket.once('close', () => room.delete(socket));
        socket.send('{"type":"joined"}');
      } catch {
        socket.close(4401, 'Unauthorized');
      }
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return {
    port: (http.address() as { port: number }).port,
    close: async () => {
      for (const socket of wss.clients) socket.terminate();
      wss.close();
      http.close();
      pub.disconnect();
      sub.disconnect();
    },
  };
});
