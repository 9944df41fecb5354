import { createServer } from 'node:http';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';
import { BENCH_JWT_SECRET } from '../protocol';
import { readBody } from './http';
import { serveBench } from './serve';
import { useStoreRooms } from './socketio-rooms';

/**
 * Baseline (a): the design teams use today. Socket.io 4 with the Redis adapter, the JWT checked in a
 * handshake middleware, clients joined to their store's room, each event emitted to the room.
 */
void serveBench(async () => {
  const key = new TextEncoder().encode(BENCH_JWT_SECRET);
  const redisUrl = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
  const pub = new Redis(redisUrl);
  const sub = pub.duplicate();
  const http = createServer(async (req, res) => {
    if (req.method !== 'POST' || req.url !== '/emit') {
      res.writeHead(404).end();
      return;
    }
    const { storeId, event } = JSON.parse(await readBody(req)) as { storeId: string; event: unknown };
    io.to(`store:${storeId}`).emit('orderUpdated', event);
    res.writeHead(204).end();
  });
  const io = new Server(http, {
    adapter: createAdapter(pub, sub, { key: process.env.BENCH_REDIS_PREFIX ?? 'socket.io' }),
    serveClient: false,
  });
  useStoreRooms(io, key);
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return {
    port: (http.address() as { port: number }).port,
    close: async () => {
      io.close();
      pub.disconnect();
      sub.disconnect();
    },
  };
});
