import { type Client, createClient, type ExecutionResult } from 'graphql-ws';
import WebSocket from 'ws';
import { tokenForDemoUser } from '../../src/auth/tokens';
import { loadConfig } from '../../src/config';
import { createServer, type ExpediterServer, type ServerOptions } from '../../src/server/server';
import { createTestDatabase } from './db';

export const TEST_JWT_SECRET = 'test-secret-for-expediter-suite';
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface TestServerOptions {
  /** Share a database between instances; by default a fresh seeded database is created (and dropped). */
  databaseUrl?: string;
  /** Set to use Redis pub/sub (needed for multi-instance tests). */
  redisUrl?: string;
  /** Instances that should talk to each other share a prefix; by default each server gets its own. */
  redisPrefix?: string;
  env?: Record<string, string>;
  /** createServer's options (e.g. fan-out engine hooks a test observes through). */
  serverOptions?: ServerOptions;
}

export interface GqlOptions {
  token?: string;
  storeId?: string;
  headers?: Record<string, string>;
}

export interface Subscription<T = unknown> {
  /** Resolves with the next result (data or errors); rejects if the stream ends or times out. */
  next(timeoutMs?: number): Promise<ExecutionResult<T>>;
  /** The next n results. */
  take(n: number, timeoutMs?: number): Promise<ExecutionResult<T>[]>;
  /** Resolves when nothing arrives within ms (for proving that an event was NOT delivered). */
  expectSilence(ms?: number): Promise<void>;
  close(): Promise<void>;
}

export interface TestServer {
  server: ExpediterServer;
  url: string;
  wsUrl: string;
  databaseUrl: string;
  token(userId: string, opts?: { expiresIn?: string | number; jti?: string }): Promise<string>;
  gql<T = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
    opts?: GqlOptions,
  ): Promise<{
    status: number;
    data?: T;
    errors?: Array<{ message: string; extensions?: Record<string, unknown> }>;
  }>;
  /** A graphql-ws client that connected (acked) with this token; rejects with the close event otherwise. */
  connect(
    token: string | undefined,
    opts?: { storeId?: string; connectionParams?: Record<string, unknown> },
  ): Promise<WsClient>;
  close(): Promise<void>;
}

export interface WsClient {
  client: Client;
  subscribe<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>): Subscription<T>;
  /** Resolves with the close code when the server closes the socket. */
  closed: Promise<{ code: number; reason: string }>;
  dispose(): Promise<void>;
}

export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const ownDatabase = options.databaseUrl ? undefined : await createTestDatabase({ seed: true });
  const databaseUrl = options.databaseUrl ?? ownDatabase!.url;
  if (ownDatabase) await ownDatabase.handle.close();
  const config = loadConfig({
    NODE_ENV: 'test',
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: databaseUrl,
    REDIS_URL: options.redisUrl,
    REDIS_PREFIX: options.redisPrefix ?? uniqueRedisPrefix(),
    JWT_SECRET: TEST_JWT_SECRET,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    OUTBOX_RELAY_INTERVAL_MS: '200',
    // Open grill tickets without a grill screen would alert managers after a minute, in the middle of
    // suites that count notifications; the presence suite sets its own.
    STATION_OFFLINE_ALERT_SECONDS: '86400',
    ...options.env,
  });
  const server = await createServer(config, options.serverOptions);
  const clients = new Set<WsClient>();

  const testServer: TestServer = {
    server,
    url: server.url,
    wsUrl: server.wsUrl,
    databaseUrl,
    token: (userId, opts = {}) =>
      tokenForDemoUser(userId, { secret: TEST_JWT_SECRET, expiresIn: opts.expiresIn ?? '1h', jti: opts.jti }),
    async gql(query, variables, opts = {}) {
      const headers: Record<string, string> = { 'content-type': 'application/json', ...opts.headers };
      if (opts.token) headers.authorization = `Bearer ${opts.token}`;
      if (opts.storeId) headers['x-store-id'] = opts.storeId;
      const response = await fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ query, variables }),
      });
      const body = (await response.json()) as { data?: never; errors?: never };
      return { status: response.status, ...body };
    },
    async connect(token, opts = {}) {
      const client = await connectClient(server.wsUrl, {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(opts.storeId ? { storeId: opts.storeId } : {}),
        ...opts.connectionParams,
      });
      clients.add(client);
      return client;
    },
    async close() {
      await Promise.all([...clients].map((c) => c.dispose()));
      await server.close();
      await ownDatabase?.drop();
    },
  };
  return testServer;
}

/** Connects a real graphql-ws client; resolves once acknowledged, rejects with the close code otherwise. */
export async function connectClient(
  wsUrl: string,
  connectionParams: Record<string, unknown>,
): Promise<WsClient> {
  const connection = openGraphqlWs({ url: wsUrl, connectionParams });
  await connection.acked;
  return wrap(connection.client, connection.closed);
}

export interface OpenGraphqlWs {
  client: Client;
  /** Resolves on connection_ack; rejects with an Error carrying `{ code, reason }` if the socket closes first. */
  acked: Promise<void>;
  closed: Promise<{ code: number; reason: string }>;
  isClosed(): boolean;
}

/** A graphql-ws client that connects at once, without retries (optionally with upgrade request headers). */
export function openGraphqlWs(options: {
  url: string;
  connectionParams: Record<string, unknown>;
  headers?: Record<string, string>;
}): OpenGraphqlWs {
  const { headers } = options;
  class WebSocketWithHeaders extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols, { headers });
    }
  }
  let isClosed = false;
  let acked = false;
  let resolveClosed: (value: { code: number; reason: string }) => void = () => {};
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    resolveClosed = resolve;
  });
  let settleAck: { resolve(): void; reject(error: Error): void } = { resolve: () => {}, reject: () => {} };
  const ackedPromise = new Promise<void>((resolve, reject) => {
    settleAck = { resolve, reject };
  });
  const client = createClient({
    url: options.url,
    webSocketImpl: headers ? WebSocketWithHeaders : WebSocket,
    connectionParams: options.connectionParams,
    lazy: false,
    retryAttempts: 0,
    shouldRetry: () => false,
    onNonLazyError: () => {},
    on: {
      connected: () => {
        acked = true;
        settleAck.resolve();
      },
      closed: (event) => {
        isClosed = true;
        const { code, reason } = event as { code: number; reason: string };
        resolveClosed({ code, reason: String(reason) });
        if (!acked)
          settleAck.reject(
            Object.assign(new Error(`closed ${code} ${reason}`), { code, reason: String(reason) }),
          );
      },
      error: (error) => {
        // A socket error before the ack (e.g. the upgrade refused); close events carry a code and come above.
        if (!acked && !(error as { code?: number }).code) settleAck.reject(error as Error);
      },
    },
  });
  return { client, acked: ackedPromise, closed, isClosed: () => isClosed };
}

function wrap(client: Client, closed: WsClient['closed']): WsClient {
  return {
    client,
    closed,
    subscribe: (query, variables) => subscribe(client, query, variables),
    dispose: () => client.dispose() as Promise<void>,
  };
}

function subscribe<T>(client: Client, query: string, variables?: Record<string, unknown>): Subscription<T> {
  const queue: ExecutionResult<T>[] = [];
  const waiters: Array<{ resolve: (r: ExecutionResult<T>) => void; reject: (e: Error) => void }> = [];
  let ended: Error | undefined;

  const unsubscribe = client.subscribe<T>(
    { query, variables },
    {
      next: (result) => {
        const waiter = waiters.shift();
        if (waiter) waiter.resolve(result as ExecutionResult<T>);
        else queue.push(result as ExecutionResult<T>);
      },
      error: (error) => finish(toError(error)),
      complete: () => finish(new Error('subscription completed')),
    },
  );

  function finish(error: Error) {
    ended = error;
    for (const waiter of waiters.splice(0)) waiter.reject(error);
  }

  const next = (timeoutMs = 5000) =>
    new Promise<ExecutionResult<T>>((resolve, reject) => {
      const queued = queue.shift();
      if (queued) return resolve(queued);
      if (ended) return reject(ended);
      const timer = setTimeout(() => {
        const index = waiters.indexOf(waiter);
        if (index >= 0) waiters.splice(index, 1);
        reject(new Error(`no subscription result within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = {
        resolve: (r: ExecutionResult<T>) => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: (e: Error) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      waiters.push(waiter);
    });

  return {
    next,
    async take(n, timeoutMs) {
      const results: ExecutionResult<T>[] = [];
      for (let i = 0; i < n; i++) results.push(await next(timeoutMs));
      return results;
    },
    async expectSilence(ms = 300) {
      await new Promise((r) => setTimeout(r, ms));
      if (queue.length > 0) throw new Error(`expected no result, got ${JSON.stringify(queue[0])}`);
    },
    async close() {
      unsubscribe();
    },
  };
}

function toError(error: unknown): Error {
  if (error instanceof Error) return error;
  if (Array.isArray(error))
    return Object.assign(new Error(error.map((e) => e.message).join('; ')), { errors: error });
  const event = error as { code?: number; reason?: string };
  return Object.assign(new Error(`socket closed ${event.code ?? ''} ${event.reason ?? ''}`), event);
}

/** A Redis prefix no other test server uses, so parallel test files never see each other's events. */
export function uniqueRedisPrefix(): string {
  return `test:${process.pid}:${Math.random().toString(36).slice(2, 10)}:`;
}

/** Dev tokens for several demo users at once, by user id. */
export async function tokensFor(
  app: Pick<TestServer, 'token'>,
  users: readonly string[],
): Promise<Record<string, string>> {
  const tokens = await Promise.all(users.map((user) => app.token(user)));
  return Object.fromEntries(users.map((user, i) => [user, tokens[i]!]));
}
