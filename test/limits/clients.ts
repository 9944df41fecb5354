import { randomInt } from 'node:crypto';
import type { ExecutionResult, GraphQLFormattedError } from 'graphql';
import type { Client } from 'graphql-ws';
import WebSocket from 'ws';
import { openGraphqlWs } from '../support/server';

/** A made-up client address; servers under test trust X-Forwarded-For, so each test gets its own IP budgets. */
export const freshIp = () => `10.${randomInt(256)}.${randomInt(256)}.${randomInt(1, 255)}`;

export interface ClientOptions {
  ip?: string;
  origin?: string;
}

const headersOf = (options: ClientOptions) => ({
  'x-forwarded-for': options.ip ?? freshIp(),
  ...(options.origin ? { origin: options.origin } : {}),
});

export interface HttpResult {
  status: number;
  headers: Headers;
  body: {
    data?: Record<string, unknown> | null;
    errors?: GraphQLFormattedError[];
    extensions?: Record<string, unknown>;
  };
}

export async function http(
  baseUrl: string,
  query: string,
  variables: Record<string, unknown> = {},
  options: ClientOptions & { token?: string } = {},
): Promise<HttpResult> {
  const response = await fetch(`${baseUrl}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...headersOf(options),
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
    },
    body: JSON.stringify({ query, variables }),
  });
  return {
    status: response.status,
    headers: response.headers,
    body: (await response.json()) as HttpResult['body'],
  };
}

/** What one operation produced first: a result (`next`) or a refusal before execution (`error`). */
export type Outcome =
  | { kind: 'next'; result: ExecutionResult }
  | { kind: 'error'; errors: GraphQLFormattedError[] };

export interface Operation {
  /** The next outcome; rejects after `timeoutMs`. */
  next(timeoutMs?: number): Promise<Outcome>;
  /** Resolves when the server completes the operation. */
  completed: Promise<void>;
  isCompleted(): boolean;
  close(): void;
}

export interface WsConnection {
  client: Client;
  closed: Promise<{ code: number; reason: string }>;
  isClosed(): boolean;
  operation(query: string, variables?: Record<string, unknown>): Operation;
  dispose(): Promise<void>;
}

/** A graphql-ws client from a given address; rejects with `{ code, reason }` when closed before the ack. */
export async function connectWs(
  wsUrl: string,
  token: string,
  options: ClientOptions & { storeId?: string } = {},
): Promise<WsConnection> {
  const connection = openGraphqlWs({
    url: wsUrl,
    headers: headersOf(options),
    connectionParams: {
      authorization: `Bearer ${token}`,
      ...(options.storeId ? { storeId: options.storeId } : {}),
    },
  });
  await connection.acked;
  const { client, closed, isClosed } = connection;
  return {
    client,
    closed,
    isClosed,
    operation: (query, variables) => operation(client, query, variables),
    dispose: async () => client.dispose(),
  };
}

function operation(client: Client, query: string, variables?: Record<string, unknown>): Operation {
  const outcomes: Outcome[] = [];
  const waiters: Array<{ resolve: (outcome: Outcome) => void; reject: (error: Error) => void }> = [];
  let failure: Error | undefined;
  let completedFlag = false;
  let complete: () => void = () => {};
  const completed = new Promise<void>((resolve) => {
    complete = resolve;
  });
  const push = (outcome: Outcome) => {
    const waiter = waiters.shift();
    if (waiter) waiter.resolve(outcome);
    else outcomes.push(outcome);
  };
  const unsubscribe = client.subscribe(
    { query, variables },
    {
      next: (result) => push({ kind: 'next', result: result as ExecutionResult }),
      error: (error) => {
        if (Array.isArray(error)) push({ kind: 'error', errors: error });
        else {
          const { code, reason } = error as { code?: number; reason?: string };
          failure = new Error(`connection closed (${code} ${reason}) before an outcome`);
          for (const waiter of waiters.splice(0)) waiter.reject(failure);
        }
        completedFlag = true;
        complete();
      },
      complete: () => {
        completedFlag = true;
        complete();
      },
    },
  );
  return {
    completed,
    isCompleted: () => completedFlag,
    close: unsubscribe,
    next: (timeoutMs = 5000) =>
      new Promise<Outcome>((resolve, reject) => {
        const queued = outcomes.shift();
        if (queued) return resolve(queued);
        if (failure) return reject(failure);
        const timer = setTimeout(() => reject(new Error(`no outcome within ${timeoutMs} ms`)), timeoutMs);
        waiters.push({
          resolve: (outcome) => {
            clearTimeout(timer);
            resolve(outcome);
          },
          reject: (error) => {
            clearTimeout(timer);
            reject(error);
          },
        });
      }),
  };
}

/**
 * A bare graphql-transport-ws socket, for what a well-behaved client library would not do:
 * floods, oversized frames, storms of connection attempts.
 */
export function rawSocket(wsUrl: string, options: ClientOptions = {}) {
  const socket = new WebSocket(wsUrl, 'graphql-transport-ws', { headers: headersOf(options) });
  const messages: Array<{ type: string; [key: string]: unknown }> = [];
  socket.on('message', (data) => messages.push(JSON.parse(String(data))));
  socket.on('error', () => {});
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    socket.once('close', (code, reason) => resolve({ code, reason: String(reason) }));
  });
  const opened = new Promise<boolean>((resolve) => {
    socket.once('open', () => resolve(true));
    socket.once('unexpected-response', (_req, res) => resolve(Boolean(res.statusCode) && false));
    socket.once('close', () => resolve(false));
  });
  return {
    socket,
    messages,
    opened,
    closed,
    send: (message: object) => socket.send(JSON.stringify(message)),
    /** Resolves with the first message of `type`, or undefined if the socket closes first. */
    waitFor: (type: string, timeoutMs = 3000) =>
      new Promise<object | undefined>((resolve, reject) => {
        const found = messages.find((m) => m.type === type);
        if (found) return resolve(found);
        const timer = setTimeout(() => reject(new Error(`no ${type} within ${timeoutMs} ms`)), timeoutMs);
        const onMessage = (data: WebSocket.RawData) => {
          const message = JSON.parse(String(data));
          if (message.type !== type) return;
          clearTimeout(timer);
          socket.off('message', onMessage);
          resolve(message);
        };
        socket.on('message', onMessage);
        socket.once('close', () => {
          clearTimeout(timer);
          resolve(undefined);
        });
      }),
  };
}
