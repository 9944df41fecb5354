import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { cp, mkdtemp, rename, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { tokenForDemoUser } from '../auth/tokens';
import { loadConfig } from '../config';
import { createDb } from '../db/client';
import { DEFAULT_MIGRATIONS_DIR, migrate } from '../db/migrate';
import { seed } from '../db/seed';
import { createServer, type ExpediterServer } from '../server/server';
import { createExpediterClient, type ExpediterClient, type ExpediterClientOptions } from './client';
import { httpRequest } from './http';
import type { TypedDocument } from './typed';

/**
 * `expediter/testing`: a real Expediter server in the test process, loaded with the demo data
 * (README "Demo data": acme-downtown, acme-manager, acme-downtown-grill, ...), for apps' own tests.
 */
export interface TestServerOptions {
  /** PostgreSQL URL (migrated on start; load the demo data yourself). Default: a fresh embedded PGlite with the demo data. */
  databaseUrl?: string;
  /** Redis URL, for tests with several instances. Default: in-process pub/sub. */
  redisUrl?: string;
  /** Default: a free port. restart() keeps whichever port the server got. */
  port?: number;
  /** More environment settings (docs/configuration.md). */
  env?: Record<string, string>;
}

export interface ExpediterTestServer {
  /** http://127.0.0.1:<port>/graphql */
  httpUrl: string;
  /** ws://127.0.0.1:<port>/graphql */
  wsUrl: string;
  port: number;
  /** The running server (undefined while stopped). */
  readonly server: ExpediterServer | undefined;
  /** A token for a demo user, signed with the test server's secret. */
  token(userId: string, options?: { storeId?: string; expiresIn?: string | number }): Promise<string>;
  /** A client helper that signs in as a demo user (a fresh token on every connect). */
  client(userId: string, options?: Partial<ExpediterClientOptions>): ExpediterClient;
  /** A query or mutation over HTTP as a demo user. */
  request<TResult, TVariables>(
    userId: string,
    document: TypedDocument<TResult, TVariables>,
    variables: TVariables,
  ): Promise<TResult>;
  /** Stops the server (sockets close with 1001, as in a deploy) and starts it again on the same database and port. */
  restart(): Promise<void>;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops the server, disposes its clients and deletes an embedded database. */
  close(): Promise<void>;
}

export const TEST_SERVER_JWT_SECRET = 'expediter-testing-secret';

export async function startTestServer(options: TestServerOptions = {}): Promise<ExpediterTestServer> {
  const dataDir = options.databaseUrl ? undefined : await embeddedDatabaseWithDemoData();
  const clients = new Set<ExpediterClient>();
  let port = options.port ?? 0;
  let server: ExpediterServer | undefined;

  async function start() {
    if (server) return;
    const config = loadConfig({
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      PORT: String(port),
      DATABASE_URL: options.databaseUrl,
      DATA_DIR: dataDir,
      SEED_DEMO_DATA: 'false',
      REDIS_URL: options.redisUrl,
      JWT_SECRET: TEST_SERVER_JWT_SECRET,
      LOG_LEVEL: 'silent',
      SHUTDOWN_TIMEOUT_MS: '1000',
      ...options.env,
    });
    server = await createServer(config);
    port = server.port;
  }

  async function stop() {
    const running = server;
    server = undefined;
    await running?.close();
  }

  const token: ExpediterTestServer['token'] = (userId, tokenOptions = {}) =>
    tokenForDemoUser(userId, { secret: TEST_SERVER_JWT_SECRET, expiresIn: '1h', ...tokenOptions });

  await start();
  return {
    get httpUrl() {
      return `http://127.0.0.1:${port}/graphql`;
    },
    get wsUrl() {
      return `ws://127.0.0.1:${port}/graphql`;
    },
    get port() {
      return port;
    },
    get server() {
      return server;
    },
    token,
    client(userId, clientOptions = {}) {
      const client = createExpediterClient({
        url: `ws://127.0.0.1:${port}/graphql`,
        webSocketImpl: WebSocket,
        getToken: () => token(userId),
        backoff: { initialMs: 50, maxMs: 1000 },
        ...clientOptions,
      });
      clients.add(client);
      return client;
    },
    async request(userId, document, variables) {
      return httpRequest(`http://127.0.0.1:${port}/graphql`, document, variables, {
        token: await token(userId),
      });
    },
    async restart() {
      await stop();
      await start();
    },
    stop,
    start,
    async close() {
      await Promise.all([...clients].map((client) => client.dispose()));
      await stop();
      if (dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * A fresh embedded database with the demo data. Creating one takes PGlite about ten seconds, copying
 * one a fraction of that: the first call builds a template in the temp directory, named by everything
 * that shapes it, and every call copies it.
 */
async function embeddedDatabaseWithDemoData(): Promise<string> {
  const template = join(tmpdir(), `expediter-pglite-${templateHash()}`);
  if (!(await exists(template))) {
    const building = await mkdtemp(`${template}-building-`);
    const handle = await createDb({ dataDir: building });
    try {
      await migrate(handle);
      await seed(handle.db);
    } finally {
      await handle.close();
    }
    // Another process may have finished first: either copy is whole, keep the one in place.
    await rename(building, template).catch(() => rm(building, { recursive: true, force: true }));
  }
  const dataDir = await mkdtemp(join(tmpdir(), 'expediter-test-'));
  await cp(template, dataDir, { recursive: true });
  return dataDir;
}

function templateHash(): string {
  const hash = createHash('sha256');
  for (const name of readdirSync(DEFAULT_MIGRATIONS_DIR, { recursive: true, encoding: 'utf8' }).sort()) {
    if (name.endsWith('.sql')) hash.update(name).update(readFileSync(join(DEFAULT_MIGRATIONS_DIR, name)));
  }
  for (const file of ['../db/seed.ts', '../db/demo-data.ts']) {
    hash.update(readFileSync(fileURLToPath(new URL(file, import.meta.url))));
  }
  return hash.update(pgliteVersion()).digest('hex').slice(0, 12);
}

/** The data directory format follows PGlite's PostgreSQL version (its package.json is not exported). */
function pgliteVersion(): string {
  let dir = dirname(createRequire(import.meta.url).resolve('@electric-sql/pglite'));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return String(
    (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version?: string }).version,
  );
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
