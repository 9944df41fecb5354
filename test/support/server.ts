import { getOperationAST, type OperationDefinitionNode, parse, print } from 'graphql';
import { createClient as createSseClient } from 'graphql-sse';
import { type Client, createClient, type ExecutionResult } from 'graphql-ws';
import WebSocket from 'ws';
import { tokenForDemoUser } from '../../src/auth/tokens';
import type { TypedDocument } from '../../src/client/typed';
import { loadConfig } from '../../src/config';
import { demoUsers } from '../../src/db/demo-data';
import { createServer, type ExpediterServer, type ServerOptions } from '../../src/server/server';
import { createTestDatabase } from './db';
import { eventually } from './eventually';
import { started } from './started';

/**
 * The integration harness: a real server (real PostgreSQL, optionally real Redis) on a free port, tokens
 * for the demo users, HTTP requests, graphql-ws and SSE subscriptions with typed documents
 * (src/client/gql) or plain text, and waits on conditions only: a subscription is used once the server
 * counts it live (`live()`), an event by reading it; absence is proven by reading up to a later event the
 * subscriber may see (`until`), never by waiting a while.
 */

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

/** A typed document from src/client/gql, or the operation's text. */
export type Document<T = Record<string, unknown>, V = Record<string, unknown>> = string | TypedDocument<T, V>;

// biome-ignore lint/suspicious/noExplicitAny: any document, whatever its result and variables
type AnyDocument = Document<any, any>;

const textOf = (document: AnyDocument) => (typeof document === 'string' ? document : print(document));

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
  /**
   * Resolves once the server counts this subscription live (subscribed to pub/sub, replay loaded): every
   * event committed from then on reaches it. Rejects if it was refused.
   */
  live(): Promise<Subscription<T>>;
  /**
   * Reads data until `done` holds and returns everything read; every result on the way must be data that
   * `allowed` accepts. How a test proves that something was NOT delivered: events reach a subscriber in
   * commit order, so reading up to a later event it may see covers everything committed before.
   */
  until(done: (data: T) => boolean, allowed?: (data: T) => boolean, timeoutMs?: number): Promise<T[]>;
  /** Results received and not read yet (nothing waits). */
  unread(): readonly ExecutionResult<T>[];
  close(): Promise<void>;
}

export interface TestServer {
  server: ExpediterServer;
  url: string;
  wsUrl: string;
  databaseUrl: string;
  token(userId: string, opts?: { expiresIn?: string | number; jti?: string }): Promise<string>;
  gql<T = Record<string, unknown>, V = Record<string, unknown>>(
    document: Document<T, V>,
    variables?: V,
    opts?: GqlOptions,
  ): Promise<{
    status: number;
    data?: T;
    errors?: Array<{ message: string; extensions?: Record<string, unknown> }>;
  }>;
  /** The data of a query or mutation over HTTP; fails with the errors if there are any. */
  data<T = Record<string, unknown>, V = Record<string, unknown>>(
    document: Document<T, V>,
    variables: V,
    opts: GqlOptions,
  ): Promise<T>;
  /** A graphql-ws client that connected (acked) with this token; rejects with the close event otherwise. */
  connect(
    token: string | undefined,
    opts?: { storeId?: string; connectionParams?: Record<string, unknown> },
  ): Promise<WsClient>;
  /** Subscriptions over Server-Sent Events (one request each), authenticated with the token's header. */
  sse(token: string, opts?: { storeId?: string }): Subscriber;
  /** Subscriptions this instance counted live so far, for a root field (it only grows). */
  subscriptionsStarted(field: string): Promise<number>;
  close(): Promise<void>;
}

export interface Subscriber {
  subscribe<T = Record<string, unknown>, V = Record<string, unknown>>(
    document: Document<T, V>,
    variables?: V,
  ): Subscription<T>;
  /** subscribe(), then live(). */
  live<T = Record<string, unknown>, V = Record<string, unknown>>(
    document: Document<T, V>,
    variables?: V,
  ): Promise<Subscription<T>>;
}

export interface WsClient extends Subscriber {
  client: Client;
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
  const clients = new Set<{ dispose(): Promise<void> | void }>();
  const liveness = new Liveness(server);

  const testServer: TestServer = {
    server,
    url: server.url,
    wsUrl: server.wsUrl,
    databaseUrl,
    token: testToken,
    async gql(document, variables, opts = {}) {
      const headers: Record<string, string> = { 'content-type': 'application/json', ...opts.headers };
      if (opts.token) headers.authorization = `Bearer ${opts.token}`;
      if (opts.storeId) headers['x-store-id'] = opts.storeId;
      const response = await fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ query: textOf(document), variables }),
      });
      const body = (await response.json()) as { data?: never; errors?: never };
      return { status: response.status, ...body };
    },
    async data(document, variables, opts) {
      const result = await testServer.gql(document as Document, variables as Record<string, unknown>, opts);
      if (result.errors || !result.data) {
        throw new Error(`${operationName(document)} failed: ${JSON.stringify(result.errors ?? result)}`);
      }
      return result.data as never;
    },
    async connect(token, opts = {}) {
      const connection = openGraphqlWs({
        url: server.wsUrl,
        connectionParams: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(opts.storeId ? { storeId: opts.storeId } : {}),
          ...opts.connectionParams,
        },
      });
      await connection.acked;
      const client = wrap(connection.client, connection.closed, liveness);
      clients.add(client);
      return client;
    },
    sse(token, opts = {}) {
      const client = createSseClient({
        url: `${server.url}/graphql`,
        singleConnection: false,
        retryAttempts: 0,
        headers: {
          authorization: `Bearer ${token}`,
          ...(opts.storeId ? { 'x-store-id': opts.storeId } : {}),
        },
      });
      clients.add(client);
      return subscriberOf((request, sink) => client.subscribe(request, sink), liveness);
    },
    subscriptionsStarted: (field) => liveness.started(field),
    async close() {
      await Promise.all([...clients].map((c) => c.dispose()));
      await server.close();
      await ownDatabase?.drop();
    },
  };
  return testServer;
}

/**
 * Connects a real graphql-ws client to a server in another process (shutdown tests); resolves once
 * acknowledged, rejects with the close code otherwise. Its subscriptions' live() asks that server's /metrics.
 */
export async function connectClient(
  wsUrl: string,
  connectionParams: Record<string, unknown>,
): Promise<WsClient> {
  const connection = openGraphqlWs({ url: wsUrl, connectionParams });
  await connection.acked;
  return wrap(connection.client, connection.closed, livenessOf(wsUrl));
}

const otherProcesses = new Map<string, Liveness>();
function livenessOf(wsUrl: string): Liveness {
  const metricsUrl = new URL('/metrics', wsUrl.replace(/^ws/, 'http')).toString();
  let liveness = otherProcesses.get(metricsUrl);
  if (!liveness) {
    liveness = new Liveness({ metricsUrl });
    otherProcesses.set(metricsUrl, liveness);
  }
  return liveness;
}

/**
 * Which subscriptions of the harness are live on one instance. The server counts subscriptions that went
 * live (`expediter_subscriptions_started_total`, by root field); a subscription is live once that count
 * covers every harness subscription to its field that was not refused. Waiting for all of them (not only
 * the newest) keeps two subscriptions started together from passing on each other's count.
 */
class Liveness {
  private readonly expected = new Map<string, number>();

  /** In process: the server's own metrics; another process: its /metrics endpoint. */
  constructor(private readonly source: ExpediterServer | { metricsUrl: string }) {}

  async started(field: string): Promise<number> {
    if ('metrics' in this.source) {
      const { values } = await this.source.metrics.subscriptionsStarted.get();
      return values.find((value) => value.labels.field === field)?.value ?? 0;
    }
    const text = await (await fetch(this.source.metricsUrl)).text();
    const sample = new RegExp(`^expediter_subscriptions_started_total\\{field="${field}"\\} (\\d+)$`, 'm');
    return Number(sample.exec(text)?.[1] ?? 0);
  }

  opened(field: string) {
    this.expected.set(field, (this.expected.get(field) ?? 0) + 1);
  }

  refused(field: string) {
    this.expected.set(field, (this.expected.get(field) ?? 0) - 1);
  }

  async reached(field: string, failure: () => Error | undefined) {
    await eventually(async () => {
      const error = failure();
      if (error) throw Object.assign(error, { final: true });
      return (await this.started(field)) >= (this.expected.get(field) ?? 0);
    }).catch((error: Error & { final?: boolean }) => {
      throw error.final ? error : new Error(`subscription to ${field} not live: ${error.message}`);
    });
  }
}

/** The root field of a subscription operation, or undefined for anything else (queries sent over a socket). */
function subscriptionField(query: string): string | undefined {
  let operation: OperationDefinitionNode | null | undefined;
  try {
    operation = getOperationAST(parse(query));
  } catch {
    return undefined; // a document the server will refuse: nothing to wait for
  }
  if (operation?.operation !== 'subscription') return undefined;
  const first = operation.selectionSet.selections[0];
  return first?.kind === 'Field' ? first.name.value : undefined;
}

function operationName(document: AnyDocument): string {
  const text = textOf(document);
  return /^\s*(query|mutation|subscription)\s+(\w+)/.exec(text)?.[2] ?? text.slice(0, 60);
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

function wrap(client: Client, closed: WsClient['closed'], liveness: Liveness): WsClient {
  return {
    client,
    closed,
    ...subscriberOf((request, sink) => client.subscribe(request, sink), liveness),
    dispose: () => client.dispose() as Promise<void>,
  };
}

interface Sink {
  next(result: unknown): void;
  error(error: unknown): void;
  complete(): void;
}
type Subscribe = (request: { query: string; variables?: Record<string, unknown> }, sink: Sink) => () => void;

function subscriberOf(start: Subscribe, liveness: Liveness): Subscriber {
  const subscriber: Subscriber = {
    subscribe: (document, variables) =>
      subscribe(start, liveness, textOf(document), variables as Record<string, unknown> | undefined),
    live: (document, variables) => subscriber.subscribe(document, variables).live() as never,
  };
  return subscriber;
}

function subscribe<T>(
  start: Subscribe,
  liveness: Liveness,
  query: string,
  variables?: Record<string, unknown>,
): Subscription<T> {
  const queue: ExecutionResult<T>[] = [];
  const waiters: Array<{ resolve: (r: ExecutionResult<T>) => void; reject: (e: Error) => void }> = [];
  let ended: Error | undefined;
  let receivedData = false;
  let refused = false;
  const field = subscriptionField(query);
  if (field) liveness.opened(field);

  /** Errors instead of a first event: the server refused the subscription, so it will never count it. */
  function noteRefusal(errors: unknown) {
    if (!field || receivedData || refused || !Array.isArray(errors)) return;
    refused = true;
    liveness.refused(field);
  }

  const unsubscribe = start(
    { query, variables },
    {
      next: (value) => {
        const result = value as ExecutionResult<T>;
        if (result.data) receivedData = true;
        else noteRefusal(result.errors);
        const waiter = waiters.shift();
        if (waiter) waiter.resolve(result);
        else queue.push(result);
      },
      error: (error) => {
        noteRefusal(error);
        finish(toError(error));
      },
      complete: () => finish(new Error('subscription completed')),
    },
  );

  function finish(error: Error) {
    ended = error;
    for (const waiter of waiters.splice(0)) waiter.reject(error);
  }

  const next = (timeoutMs = 10_000) =>
    new Promise<ExecutionResult<T>>((resolve, reject) => {
      const queued = queue.shift();
      if (queued) return resolve(queued);
      if (ended) return reject(ended);
      // Made here, not in the timer, so that its stack names the test line that waited.
      const timeout = new Error(`no subscription result within ${timeoutMs} ms`);
      const timer = setTimeout(() => {
        const index = waiters.indexOf(waiter);
        if (index >= 0) waiters.splice(index, 1);
        reject(timeout);
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

  const subscription: Subscription<T> = {
    next,
    async take(n, timeoutMs) {
      const results: ExecutionResult<T>[] = [];
      for (let i = 0; i < n; i++) results.push(await next(timeoutMs));
      return results;
    },
    async live() {
      if (!field) throw new Error(`not a subscription: ${query}`);
      const failure = () =>
        refused || (ended && !receivedData)
          ? new Error(
              `subscription to ${field} refused: ${JSON.stringify(queue[0]?.errors ?? ended?.message)}`,
            )
          : undefined;
      await liveness.reached(field, failure);
      return subscription;
    },
    async until(done, allowed = () => true, timeoutMs) {
      const seen: T[] = [];
      for (;;) {
        const result = await next(timeoutMs);
        if (result.errors || !result.data) throw new Error(`expected data, got ${JSON.stringify(result)}`);
        seen.push(result.data);
        if (!allowed(result.data))
          throw new Error(`received what it may not: ${JSON.stringify(result.data)}`);
        if (done(result.data)) return seen;
      }
    },
    unread: () => [...queue],
    async close() {
      unsubscribe();
    },
  };
  return subscription;
}

function toError(error: unknown): Error {
  if (error instanceof Error) return error;
  if (Array.isArray(error))
    return Object.assign(new Error(error.map((e) => e.message).join('; ')), { errors: error });
  const event = error as { code?: number; reason?: string };
  return Object.assign(new Error(`socket closed ${event.code ?? ''} ${event.reason ?? ''}`), event);
}

/** A demo user's token (an hour long unless said otherwise) that every test server accepts, in this process or not. */
export function testToken(userId: string, opts: { expiresIn?: string | number; jti?: string } = {}) {
  return tokenForDemoUser(userId, {
    secret: TEST_JWT_SECRET,
    expiresIn: opts.expiresIn ?? '1h',
    jti: opts.jti,
  });
}

/** A Redis prefix no other test server uses, so parallel test files never see each other's events. */
export function uniqueRedisPrefix(): string {
  return `test:${process.pid}:${Math.random().toString(36).slice(2, 10)}:`;
}

/** Every demo user of both tenants (acme-admin ... globex-customer). */
export const DEMO_USER_IDS: readonly string[] = demoUsers.map((user) => user.id);

/**
 * A test file's server, started before its tests (with a token for every demo user, by user id) and closed
 * after them. `app` stands for the started server: use it inside tests and hooks.
 */
export function useTestServer(options: TestServerOptions = {}): {
  app: TestServer;
  tokens: Record<string, string>;
} {
  const tokens: Record<string, string> = {};
  const app = started(
    async () => {
      const server = await startTestServer(options);
      Object.assign(tokens, await tokensFor(server, DEMO_USER_IDS));
      return server;
    },
    (server) => server.close(),
  );
  return { app, tokens };
}

/**
 * Instances of one cluster for a test file: sharing a database and a Redis prefix (give one to reach them
 * from outside, e.g. another process joining the cluster), so a mutation on one reaches subscribers on all;
 * closed after the file's tests, the last started first. `instances` is how many, or each one's own
 * environment settings (on top of `options.env`).
 */
export function useInstances(
  instances: number | readonly Record<string, string>[],
  options: Omit<TestServerOptions, 'databaseUrl'> = {},
) {
  const redisPrefix = options.redisPrefix ?? uniqueRedisPrefix();
  const envs = typeof instances === 'number' ? Array.from({ length: instances }, () => ({})) : instances;
  const running: TestServer[] = [];
  const startInstance = async (env: Record<string, string>) => {
    const first = running[0];
    const instance = await startTestServer({
      redisUrl: TEST_REDIS_URL,
      ...options,
      env: { ...options.env, ...env },
      redisPrefix,
      ...(first ? { databaseUrl: first.databaseUrl } : {}),
    });
    running.push(instance);
    return instance;
  };
  return envs.map((env) =>
    started(
      () => startInstance(env),
      async (instance) => {
        await instance.close();
      },
    ),
  );
}

/** Dev tokens for several demo users at once, by user id. */
export async function tokensFor(
  app: Pick<TestServer, 'token'>,
  users: readonly string[],
): Promise<Record<string, string>> {
  const tokens = await Promise.all(users.map((user) => app.token(user)));
  return Object.fromEntries(users.map((user, i) => [user, tokens[i]!]));
}
