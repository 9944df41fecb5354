import type { DocumentNode, FormattedExecutionResult } from 'graphql';
import type { Client, ClientOptions, Sink } from 'graphql-ws';
import type { BackoffOptions } from './backoff';
import type { ExpediterError } from './errors';
import type { TypedDocument } from './typed';

/** What createExpediterClient takes and gives: the client's public types. */

export interface TokenContext {
  /**
   * True when the token is about to expire or was refused (4401): return a newly minted token, not a cached
   * one.
   */
  refresh: boolean;
}

/**
 * Called on every connect and reconnect, and before the connection's token expires. Return null when there
 * is no session (the client stops with UNAUTHENTICATED); throw for a temporary failure (the client retries
 * with backoff).
 */
export type TokenProvider = (
  context: TokenContext,
) => string | null | undefined | Promise<string | null | undefined>;

export interface ExpediterClientOptions {
  /** ws(s)://host/graphql */
  url: string | (() => string | Promise<string>);
  /** The token to connect with, and to renew the connection with before it expires. */
  getToken?: TokenProvider;
  /** @deprecated The former name of `getToken`. */
  token?: TokenProvider;
  /**
   * Renew the connection's token before it expires (after 50-70 % of its lifetime), over the open socket with
   * `refreshConnectionToken`, so the socket and its subscriptions go on; when that fails, reconnect with a new
   * token and resume from the cursors. Default true.
   */
  refreshTokens?: boolean;
  /** The current store, sent in connection_init (must be one the token allows). */
  storeId?: string;
  /** A WebSocket implementation where there is no global one (Node < 22: `ws`). */
  webSocketImpl?: unknown;
  backoff?: BackoffOptions;
  /** Failed reconnects in a row before giving up (default: never). */
  retryAttempts?: number;
  /** Refreshed tokens refused in a row before giving up with UNAUTHENTICATED (default 2). */
  maxTokenRefreshes?: number;
  /** Ping interval that detects a dead socket (default 10 s; 0 disables). */
  keepAliveMs?: number;
  /** graphql-ws lifecycle listeners (connecting, connected, closed, ...). */
  on?: ClientOptions['on'];
  /**
   * Send generated documents (codegen's `persistedDocuments`) by their hash instead of their text (default
   * true): fewer bytes, and what a server with TRUSTED_DOCUMENTS=require runs. A server that does not know
   * a hash gets the text instead. Documents without a hash are always sent as text.
   */
  persistedDocuments?: boolean;
  /** Source of jitter, for tests. */
  random?: () => number;
}

export interface SubscriptionObserver<TResult> {
  next(data: TResult): void;
  /** The subscription ended with an error it will not recover from. */
  error?(error: ExpediterError): void;
  complete?(): void;
}

/** A urql `forwardSubscription` request, typed structurally so the helper does not depend on urql. */
export interface ForwardedOperation {
  query?: string;
  variables?: Record<string, unknown> | null;
  operationName?: string | null;
  extensions?: Record<string, unknown> | null;
}

export interface ExpediterClient {
  /**
   * A graphql-ws `Client` that resumes subscriptions after reconnects and drops duplicates: pass it to
   * Apollo's `GraphQLWsLink` or use it from urql's `subscriptionExchange`.
   */
  readonly graphqlWs: Client;
  /** Typed subscription; returns the function that ends it. */
  subscribe<TResult, TVariables>(
    document: TypedDocument<TResult, TVariables>,
    variables: TVariables,
    observer: SubscriptionObserver<TResult>,
  ): () => void;
  /** Typed subscription as an async iterator (`for await`); `return()` ends it. */
  iterate<TResult, TVariables>(
    document: TypedDocument<TResult, TVariables>,
    variables: TVariables,
  ): AsyncIterableIterator<TResult>;
  /** A query or mutation over the socket; rejects with an ExpediterError. */
  request<TResult, TVariables>(
    document: TypedDocument<TResult, TVariables>,
    variables: TVariables,
  ): Promise<TResult>;
  /**
   * urql's `subscriptionExchange({ forwardSubscription })`. urql passes its operation as well: with
   * `persistedExchange` the request may carry only a hash, and the operation's document is then what the
   * helper reads (to resume, and to send the text if the server does not know the hash).
   */
  forwardSubscription(
    request: ForwardedOperation,
    operation?: { query?: DocumentNode },
  ): {
    subscribe(sink: Sink<FormattedExecutionResult>): { unsubscribe(): void };
  };
  on: Client['on'];
  /** Drops the socket and reconnects (e.g. after the app switched user); subscriptions resume. */
  reconnect(): void;
  dispose(): Promise<void>;
}
