import { connect, createServer, type Server, type Socket } from 'node:net';
import type { Logger } from '../../src/observability/logger';

export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/**
 * A TCP proxy in front of the real Redis, so a test can make Redis unreachable (`cut`) and bring it
 * back on the same address (`restore`) without touching the Redis everyone else uses.
 */
export async function startRedisProxy(target = new URL(REDIS_URL)) {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;

  const listen = () =>
    new Promise<void>((resolve, reject) => {
      server = createServer((client) => {
        const upstream = createConnectionTo(target);
        for (const socket of [client, upstream]) {
          sockets.add(socket);
          socket.on('error', () => {});
          socket.on('close', () => {
            sockets.delete(socket);
            client.destroy();
            upstream.destroy();
          });
        }
        client.pipe(upstream).pipe(client);
      });
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        port = (server!.address() as { port: number }).port;
        resolve();
      });
    });

  const cut = () =>
    new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      if (!server) return resolve();
      server.close(() => resolve());
      server = undefined;
    });

  await listen();
  return { url: `redis://127.0.0.1:${port}`, cut, restore: listen, close: cut };
}

function createConnectionTo(target: URL): Socket {
  return connect(Number(target.port || 6379), target.hostname);
}

/** A logger that remembers what was logged at warn/info level. */
export function recordingLogger() {
  const lines: Array<{ level: string; message: string }> = [];
  const record =
    (level: string) =>
    (...args: unknown[]) => {
      const message = args.find((a) => typeof a === 'string') as string | undefined;
      lines.push({ level, message: message ?? '' });
    };
  const logger = {
    warn: record('warn'),
    info: record('info'),
    error: record('error'),
    debug: () => {},
    trace: () => {},
    fatal: record('fatal'),
    child: () => logger,
  } as unknown as Logger;
  return { logger, lines };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
