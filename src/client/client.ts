import type { DocumentNode, FormattedExecutionResult } from 'graphql';
import { type Client, createClient, type Sink, type SubscribePayload } from 'graphql-ws';
import type { ExpediterClient, ExpediterClientOptions, SubscriptionObserver } from './client-types';
import { CursorTracker, cursorOf } from './cursor-tracker';
import { ExpediterError, fromGraphQLErrors, toExpediterError } from './errors';
import { iterateSink } from './iterate-sink';
import { operationInfo } from './operation';
import { payloadOf, persistedHashOf, printOnce } from './payload';
import { asksForText, byHash, documentHash } from './persisted';
import { Reconnection } from './reconnection';
import { REFRESH_CONNECTION_TOKEN, REFRESH_CONNECTION_TOKEN_HASH, TokenRefresh } from './token-refresh';
import type { TypedDocument } from './typed';

export type {
  ExpediterClient,
  ExpediterClientOptions,
  ForwardedOperation,
  SubscriptionObserver,
  TokenContext,
  TokenProvider,
} from './client-types';

/**
 * The Expediter client: graphql-ws underneath, plus what a real-time app needs from it: a token on
 * every (re)connect and a fresh one after 4401, exponential backoff with jitter, and resumption of
 * every active subscription from its last cursor, so that no event is skipped or delivered twice.
 */
export function createExpediterClient(options: ExpediterClientOptions): ExpediterClient {
  const getToken = options.getToken ?? options.token;
  if (!getToken) throw new TypeError('createExpediterClient needs getToken');
  const reconnection = new Reconnection(options);
  const active = new Set<() => void>();
  /** The token sent in the last connection_init: the one the connection lives on until renewed. */
  let sentToken: string | undefined;
  const base = createClient({
    url: options.url,
    webSocketImpl: options.webSocketImpl,
    lazy: true,
    // Reconnects are this module's job (graphql-ws never retries 4401, and could not resume).
    retryAttempts: 0,
    keepAlive: options.keepAliveMs ?? 10_000,
    on: options.on,
    connectionParams: async () => {
      const token = await getToken({ refresh: reconnection.takeRefresh() });
      if (!token) throw new ExpediterError('No token: the app has no session', { code: 'UNAUTHENTICATED' });
      sentToken = token;
      return { authorization: `Bearer ${token}`, ...(options.storeId && { storeId: options.storeId }) };
    },
  });
  const tokenRefresh =
    options.refreshTokens === false
      ? undefined
      : new TokenRefresh({
          getToken: async () => getToken({ refresh: true }),
          send: async (token) => {
            const data = await requestData<{ refreshConnectionToken: { expiresAt: string } }>(
              { query: REFRESH_CONNECTION_TOKEN, variables: { token } },
              options.persistedDocuments === false ? undefined : REFRESH_CONNECTION_TOKEN_HASH,
            );
            return Date.parse(data.refreshConnectionToken.expiresAt);
          },
          // Reconnecting resumes every subscription from its cursor; the next connect asks for a new token.
          fallBack: () => {
            reconnection.refreshNextToken();
            base.terminate();
          },
          random: options.random,
        });
  base.on('connected', () => {
    reconnection.connected();
    tokenRefresh?.connected(sentToken);
  });
  base.on('closed', () => tokenRefresh?.closed());

  function subscribeResumably(
    payload: SubscribePayload,
    sink: Sink<FormattedExecutionResult>,
    hash?: string,
  ): () => void {
    const info = operationInfo(payload.query, payload.operationName);
    if (info.type !== 'subscription') return subscribeOnce(payload, sink, hash);
    const tracker = new CursorTracker(payload.variables?.after as string | undefined);
    let current: (() => void) | undefined;
    let stopped = false;

    const stop = () => {
      stopped = true;
      active.delete(stop);
      current?.();
    };
    const start = () => {
      if (stopped) return;
      const variables =
        info.resumable && tracker.lastCursor
          ? { ...payload.variables, after: tracker.lastCursor }
          : payload.variables;
      const sent = { ...payload, variables };
      current = base.subscribe(hash ? byHash(sent, hash) : sent, {
        next: (result) => {
          const cursor = cursorOf(result.data);
          if (cursor !== undefined && !tracker.accept(cursor)) return;
          sink.next(result as FormattedExecutionResult);
        },
        error: (error) => {
          // graphql-ws keeps a lock for a subscription that failed to connect until it is released.
          current?.();
          current = undefined;
          if (stopped) return;
          if (hash && Array.isArray(error) && asksForText(error)) {
            hash = undefined;
            start();
            return;
          }
          if (Array.isArray(error)) {
            // GraphQL errors are the server's answer (Apollo and urql expect them as they are).
            stop();
            sink.error(error);
            return;
          }
          reconnection.retry(error).then(start, (fatal) => {
            if (stopped) return;
            stop();
            sink.error(fatal);
          });
        },
        complete: () => {
          if (stopped) return;
          stop();
          sink.complete();
        },
      });
    };
    active.add(stop);
    start();
    return stop;
  }

  /**
   * Queries and mutations are not retried: a mutation may have taken effect before the socket dropped. One
   * sent by hash is sent again as text when the server asks for it: then it did not run.
   */
  function subscribeOnce(
    payload: SubscribePayload,
    sink: Sink<FormattedExecutionResult>,
    hash?: string,
  ): () => void {
    let current = base.subscribe(hash ? byHash(payload, hash) : payload, {
      next: (result) => sink.next(result as FormattedExecutionResult),
      error: (error) => {
        if (hash && Array.isArray(error) && asksForText(error)) current = subscribeOnce(payload, sink);
        else sink.error(Array.isArray(error) ? error : toExpediterError(error));
      },
      complete: () => sink.complete(),
    });
    return () => current();
  }

  const hashOf = (document: DocumentNode) =>
    options.persistedDocuments === false ? undefined : documentHash(document);

  /** A query or mutation over the socket: its data, or an ExpediterError. */
  function requestData<TResult>(payload: SubscribePayload, hash?: string): Promise<TResult> {
    return new Promise((resolve, reject) => {
      let result: FormattedExecutionResult | undefined;
      subscribeOnce(
        payload,
        {
          next: (value) => {
            result = value;
          },
          error: (error) => reject(toExpediterError(error)),
          complete: () => {
            if (result?.errors?.length) reject(fromGraphQLErrors(result.errors));
            else if (result?.data) resolve(result.data as TResult);
            else reject(new ExpediterError('The server sent no data', { code: 'BAD_RESPONSE' }));
          },
        },
        hash,
      );
    });
  }

  const graphqlWs: Client = {
    on: base.on,
    subscribe: subscribeResumably as Client['subscribe'],
    iterate: (payload) => iterateSink((sink) => subscribeResumably(payload, sink as never)) as never,
    dispose,
    terminate: () => base.terminate(),
    [Symbol.dispose]: () => void dispose(),
  } as Client;

  async function dispose() {
    tokenRefresh?.closed();
    reconnection.dispose();
    for (const stop of [...active]) stop();
    await base.dispose();
  }

  function subscribe<TResult, TVariables>(
    document: TypedDocument<TResult, TVariables>,
    variables: TVariables,
    observer: SubscriptionObserver<TResult>,
  ): () => void {
    let ended = false;
    const end = subscribeResumably(
      payloadOf(document, variables),
      {
        next: (result) => {
          if (ended) return;
          if (result.errors?.length) {
            ended = true;
            end();
            observer.error?.(fromGraphQLErrors(result.errors));
          } else if (result.data) {
            observer.next(result.data as TResult);
          }
        },
        error: (error) => {
          ended = true;
          observer.error?.(toExpediterError(error));
        },
        complete: () => {
          ended = true;
          observer.complete?.();
        },
      },
      hashOf(document),
    );
    return () => {
      ended = true;
      end();
    };
  }

  return {
    graphqlWs,
    subscribe,
    iterate: (document, variables) =>
      iterateSink((sink) =>
        subscribe(document, variables, { next: sink.next, error: sink.error, complete: sink.complete }),
      ),
    request: (document, variables) => requestData(payloadOf(document, variables), hashOf(document)),
    forwardSubscription: (request, operation) => {
      const hash = request.query ? undefined : persistedHashOf(request.extensions);
      const { persistedQuery: _, ...extensions } = request.extensions ?? {};
      const payload: SubscribePayload = {
        query: request.query || (operation?.query ? printOnce(operation.query) : ''),
        variables: request.variables ?? undefined,
        operationName: request.operationName ?? undefined,
        extensions: hash ? extensions : (request.extensions ?? undefined),
      };
      return { subscribe: (sink) => ({ unsubscribe: subscribeResumably(payload, sink, hash) }) };
    },
    on: base.on,
    reconnect: () => base.terminate(),
    dispose,
  };
}
