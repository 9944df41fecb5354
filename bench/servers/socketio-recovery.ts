import { createServer } from 'node:http';
import { createAdapter } from '@socket.io/redis-streams-adapter';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';
import { BENCH_JWT_SECRET } from '../protocol';
import { readBody } from './http';
import { serveBench } from './serve';
import { useStoreRooms } from './socketio-rooms';

/**
 * The storm scenario's baseline: Socket.io 4 with connection state recovery, on the adapter that supports it
 * across instances, @socket.io/redis-streams-adapter (the Redis adapter of bench/servers/socketio.ts does
 * not: its sessions would stay in the memory of the instance that went away). Events go through a Redis
 * stream; a socket closed for a recoverable reason (its server shutting down, a transport close) leaves
 * its session in Redis for `maxDisconnectionDuration`, and a client that comes back (to any instance) with
 * its session id and last offset gets its rooms back and the packets it missed from the stream.
 *
 */
void serveBench(async () => {
  const key = new TextEncoder().encode(BENCH_JWT_SECRET);
  const prefix = process.env.BENCH_REDIS_PREFIX ?? 'socket.io';
  const redis = new Redis(process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379');
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
    adapter: createAdapter(redis, { streamName: `${prefix}stream`, sessionKeyPrefix: `${prefix}session:` }),
    serveClient: false,
    // Socket.io's documented default window: 2 minutes.
    connectionStateRecovery: { maxDisconnectionDuration: 2 * 60 * 1000, skipMiddlewares: true },
  });
  useStoreRooms(io, key);
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return {
    port: (http.address() as { port: number }).port,
    close: async () => {
      // Every socket's session is written to Redis as it closes; QUIT waits for those writes.
      await io.close();
      await redis.quit();
    },
  };
});
