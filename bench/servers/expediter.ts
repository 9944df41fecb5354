import { loadConfig } from '../../src/config';
import { createServer } from '../../src/server/server';
import { BENCH_JWT_SECRET } from '../protocol';
import { serveBench } from './serve';

/** Expediter as the bench runs it: PostgreSQL + Redis, limits opened wide enough for thousands of sockets. */
void serveBench(async () => {
  const config = loadConfig({
    NODE_ENV: 'production',
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: process.env.BENCH_DATABASE_URL,
    REDIS_URL: process.env.BENCH_REDIS_URL,
    REDIS_PREFIX: process.env.BENCH_REDIS_PREFIX,
    JWT_SECRET: BENCH_JWT_SECRET,
    LOG_LEVEL: 'warn',
    SEED_DEMO_DATA: 'false',
    OUTBOX_RELAY_INTERVAL_MS: '1000',
    WS_MAX_CONNECTIONS_PER_USER: '100000',
    WS_MAX_CONNECTIONS_PER_IP: '100000',
    WS_CONNECTION_ATTEMPTS_PER_IP: '10000000',
    WS_MESSAGES_PER_CONNECTION: '100000',
    MAX_SUBSCRIPTIONS_PER_USER: '100000',
    RATE_LIMIT_MUTATIONS: '10000000',
    RATE_LIMIT_SUBSCRIPTIONS: '10000000',
    RATE_LIMIT_HTTP_PER_IP: '10000000',
    WS_KEEPALIVE_MS: '30000',
    // The bench clients send text (bench/mutation.ts's create-hash phase measures hashes against text).
    TRUSTED_DOCUMENTS: 'allow',
    ...Object.fromEntries(
      Object.entries(process.env)
        .filter(([key]) => key.startsWith('EXPEDITER_'))
        .map(([key, value]) => [key.slice('EXPEDITER_'.length), value]),
    ),
  });
  // BENCH_FANOUT: 'off' (no engine: one execution per subscriber), 'unshared' (the engine without shared
  // streams: each subscriber reads its own domain stream), else the whole engine.
  const mode = process.env.BENCH_FANOUT;
  const server = await createServer(
    config,
    mode === 'off' ? { fanout: false } : mode === 'unshared' ? { fanout: { feeds: undefined } } : {},
  );
  return { port: server.port, close: () => server.close() };
});
