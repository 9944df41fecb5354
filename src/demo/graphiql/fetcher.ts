import { createClient as createSseClient, NetworkError } from 'graphql-sse';
import { createClient as createWsClient } from 'graphql-ws';
import {
  closeRefusal,
  httpRefusal,
  networkRefusal,
  type ReadableError,
  type RefusalContext,
  resultWithWhatToDo,
  streamEndedRefusal,
  withWhatToDo,
} from './refusals';

/**
 * GraphiQL's fetcher for Expediter (browser code, also run by tests in Node): queries and mutations
 * over HTTP, subscriptions over graphql-ws or SSE. Unlike yoga's default fetcher, every failure reaches
 * the result pane as a readable error (refusals.ts) instead of the browser's Event object, and the
 * Headers tab authenticates WebSocket connections too: Expediter reads the token from connection_init,
 * where browsers cannot set headers, so `Authorization` and `x-store-id` go there as the connection
 * params `authorization` and `storeId`.
 */

export type SubscriptionTransport = 'ws' | 'sse';

export interface GraphiQLFetcherOptions {
  /** http(s)://host/graphql */
  httpUrl: string;
  /** ws(s)://host/graphql */
  wsUrl: string;
  /** Read on every subscription, so a switch applies from the next run. */
  transport(): SubscriptionTransport;
  refusals: RefusalContext;
  /** Node has no global WebSocket before 22: tests pass `ws`. */
  webSocketImpl?: unknown;
}

export interface FetcherParams {
  query: string;
  variables?: Record<string, unknown> | null;
  operationName?: string | null;
}

/** The subset of a graphql-js DocumentNode the fetcher looks at (GraphiQL bundles its own graphql). */
interface DocumentLike {
  definitions: ReadonlyArray<{ kind: string; operation?: string; name?: { value: string } }>;
}

export interface FetcherOpts {
  headers?: Record<string, unknown>;
  documentAST?: DocumentLike | null;
}

export interface Observer<T> {
  next(value: T): void;
  error(error: unknown): void;
  complete(): void;
}

/** GraphiQL runs a subscription by subscribing to what the fetcher returns, and stops it with unsubscribe. */
export interface Observable<T> {
  subscribe(observer: Observer<T>): { unsubscribe(): void };
}

export type GraphQLResult = { data?: unknown; errors?: readonly unknown[]; extensions?: unknown };

export function createGraphiQLFetcher(options: GraphiQLFetcherOptions) {
  return (
    params: FetcherParams,
    opts: FetcherOpts = {},
  ): Promise<GraphQLResult> | Observable<GraphQLResult> => {
    const headers = stringHeaders(opts.headers);
    const payload = {
      query: params.query,
      variables: params.variables ?? undefined,
      operationName: params.operationName ?? undefined,
    };
    if (operationType(opts.documentAST, params.operationName) !== 'subscription')
      return httpOperation(options, payload, headers);
    return options.transport() === 'sse'
      ? sseSubscription(options, payload, headers)
      : wsSubscription(options, payload, headers);
  };
}

/** The connection_init payload for the Headers tab: Expediter's names, whatever case the headers are in. */
export function connectionParamsFromHeaders(headers: Record<string, unknown>): Record<string, string> {
  const header = (name: string) => {
    const entry = Object.entries(headers).find(([key]) => key.toLowerCase() === name);
    return typeof entry?.[1] === 'string' && entry[1] ? entry[1] : undefined;
  };
  const params: Record<string, string> = {};
  const authorization = header('authorization');
  const storeId = header('x-store-id');
  if (authorization) params.authorization = authorization;
  if (storeId) params.storeId = storeId;
  return params;
}

/** The type of the operation that will run, when the document parsed; otherwise the server will say why. */
export function operationType(document: DocumentLike | null | undefined, operationName?: string | null) {
  const operations = (document?.definitions ?? []).filter(
    (definition) => definition.kind === 'OperationDefinition',
  );
  const operation = operationName
    ? operations.find((definition) => definition.name?.value === operationName)
    : operations[0];
  return operation?.operation;
}

async function httpOperation(
  options: GraphiQLFetcherOptions,
  payload: FetcherParams,
  headers: Record<string, string>,
): Promise<GraphQLResult> {
  let response: Response;
  try {
    response = await fetch(options.httpUrl, {
      method: 'POST',
      credentials: 'same-origin',
      headers: {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json, application/json',
        ...headers,
      },
      body: JSON.stringify(payload),
    });
  } catch (error) {
    throw networkRefusal(options.httpUrl, error);
  }
  return graphqlResultOf(response, options.refusals);
}

/** A GraphQL result (with what to do about its refusals), or a readable error for anything else. */
async function graphqlResultOf(response: Response, refusals: RefusalContext): Promise<GraphQLResult> {
  const body = await response.text().catch(() => '');
  const result = parseGraphQLResult(body);
  if (result) return resultWithWhatToDo(result, refusals);
  throw httpRefusal(
    {
      status: response.status,
      statusText: response.statusText,
      body,
      retryAfter: response.headers.get('retry-after'),
    },
    refusals,
  );
}

function parseGraphQLResult(body: string): GraphQLResult | undefined {
  try {
    const parsed = JSON.parse(body) as unknown;
    if (typeof parsed === 'object' && parsed !== null && ('data' in parsed || 'errors' in parsed))
      return parsed as GraphQLResult;
  } catch {
    // not JSON: a proxy's page or a plain-text refusal
  }
  return undefined;
}

/** One socket per run, so that its close code belongs to this run and stopping the run closes it. */
function wsSubscription(
  options: GraphiQLFetcherOptions,
  payload: FetcherParams,
  headers: Record<string, string>,
): Observable<GraphQLResult> {
  return {
    subscribe(observer) {
      const client = createWsClient({
        url: options.wsUrl,
        connectionParams: connectionParamsFromHeaders(headers),
        lazy: true,
        retryAttempts: 0,
        webSocketImpl: options.webSocketImpl,
      });
      const unsubscribe = client.subscribe(payload as { query: string }, {
        next: (result) => observer.next(resultWithWhatToDo(result as GraphQLResult, options.refusals)),
        error: (error) => {
          observer.error(wsFailure(error, options));
          void client.dispose();
        },
        complete: () => {
          observer.complete();
          void client.dispose();
        },
      });
      return {
        unsubscribe() {
          unsubscribe();
          void client.dispose();
        },
      };
    },
  };
}

/** graphql-ws reports GraphQL errors as an array, a closed socket as its CloseEvent, anything else as is. */
function wsFailure(error: unknown, options: GraphiQLFetcherOptions): unknown {
  if (Array.isArray(error)) return withWhatToDo(error, options.refusals);
  const close = error as { code?: unknown; reason?: unknown };
  if (typeof close?.code === 'number')
    return closeRefusal(close.code, typeof close.reason === 'string' ? close.reason : '', options.refusals);
  return networkRefusal(options.wsUrl, error);
}

/** graphql-sse's "distinct connections" mode: one request per subscription, as yoga serves SSE. */
function sseSubscription(
  options: GraphiQLFetcherOptions,
  payload: FetcherParams,
  headers: Record<string, string>,
): Observable<GraphQLResult> {
  return {
    subscribe(observer) {
      // graphql-sse reports a refused request as "Server responded with 401": keep what the server said.
      let refusal: ReadableError | GraphQLResult | undefined;
      const client = createSseClient({
        url: options.httpUrl,
        singleConnection: false,
        retryAttempts: 0,
        headers,
        fetchFn: async (input: RequestInfo | URL, init?: RequestInit) => {
          let response: Response;
          try {
            response = await fetch(input, init);
          } catch (error) {
            refusal = networkRefusal(options.httpUrl, error);
            throw error;
          }
          if (response.ok) return response;
          refusal = await graphqlResultOf(response, options.refusals).catch((error: ReadableError) => error);
          return new Response(null, { status: response.status, statusText: response.statusText });
        },
      });
      const unsubscribe = client.subscribe(payload as { query: string }, {
        next: (result) => observer.next(resultWithWhatToDo(result as GraphQLResult, options.refusals)),
        error: (error) => {
          observer.error(sseFailure(error, refusal, options));
          client.dispose();
        },
        complete: () => {
          observer.complete();
          client.dispose();
        },
      });
      return {
        unsubscribe() {
          unsubscribe();
          client.dispose();
        },
      };
    },
  };
}

function sseFailure(
  error: unknown,
  refusal: ReadableError | GraphQLResult | undefined,
  options: GraphiQLFetcherOptions,
): unknown {
  if (refusal && 'errors' in refusal && Array.isArray(refusal.errors)) return refusal.errors;
  if (refusal) return refusal;
  if (Array.isArray(error)) return withWhatToDo(error, options.refusals);
  if (error instanceof NetworkError) return streamEndedRefusal(error.message);
  return networkRefusal(options.httpUrl, error);
}

/** GraphiQL hands over the Headers tab as parsed JSON: keep the string values. */
function stringHeaders(headers: Record<string, unknown> | undefined): Record<string, string> {
  return Object.fromEntries(
    Object.entries(headers ?? {}).filter((entry): entry is [string, string] => typeof entry[1] === 'string'),
  );
}
