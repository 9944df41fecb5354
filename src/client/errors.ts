import type { GraphQLFormattedError } from 'graphql';
import { retryAfterOf } from './backoff';

/**
 * Codes an ExpediterError can carry: the server's `extensions.code` values (docs/api.md "Errors") and
 * the transport's own.
 */
export type ExpediterErrorCode =
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'BAD_USER_INPUT'
  | 'CONFLICT'
  | 'RATE_LIMITED'
  | 'GRAPHQL_VALIDATION_FAILED'
  | 'INTERNAL_SERVER_ERROR'
  /** The socket closed and the client will not (or may not) retry: see `closeCode`. */
  | 'CONNECTION_CLOSED'
  /** The server could not be reached, or the socket failed. */
  | 'NETWORK_ERROR'
  /** The operation's result did not have the expected shape. */
  | 'BAD_RESPONSE'
  | (string & {});

/** One error type for everything the client reports: GraphQL errors, close codes and network failures. */
export class ExpediterError extends Error {
  override name = 'ExpediterError';
  readonly code: ExpediterErrorCode;
  /** The GraphQL errors of the result, when the server answered with errors. */
  readonly graphQLErrors: readonly GraphQLFormattedError[];
  /** The WebSocket close code, when the socket closed (4401 bad token, 4403 store not allowed, ...). */
  readonly closeCode?: number;
  /** Seconds to wait before retrying, for RATE_LIMITED. */
  readonly retryAfter?: number;

  constructor(
    message: string,
    details: {
      code: ExpediterErrorCode;
      graphQLErrors?: readonly GraphQLFormattedError[];
      closeCode?: number;
      retryAfter?: number;
      cause?: unknown;
    },
  ) {
    super(message, { cause: details.cause });
    this.code = details.code;
    this.graphQLErrors = details.graphQLErrors ?? [];
    this.closeCode = details.closeCode;
    this.retryAfter = details.retryAfter;
  }
}

/** Close codes that Expediter's server uses (docs/api.md "WebSocket close codes"). */
const CLOSE_CODE_ERRORS: Record<number, ExpediterErrorCode> = {
  4401: 'UNAUTHENTICATED',
  4403: 'FORBIDDEN',
  4429: 'RATE_LIMITED',
  1013: 'RATE_LIMITED', // the server shed the connection: over its admission limit, come back after retryAfter
};

export interface CloseEventLike {
  code: number;
  reason?: string;
}

export function isCloseEvent(value: unknown): value is CloseEventLike {
  return typeof value === 'object' && value !== null && typeof (value as CloseEventLike).code === 'number';
}

/** Whatever graphql-ws, fetch or a result reported, as an ExpediterError. */
export function toExpediterError(error: unknown): ExpediterError {
  if (error instanceof ExpediterError) return error;
  if (Array.isArray(error)) return fromGraphQLErrors(error as GraphQLFormattedError[]);
  if (isCloseEvent(error)) {
    const reason = error.reason ? `: ${error.reason}` : '';
    const retryAfterMs = retryAfterOf(error);
    return new ExpediterError(`Connection closed with ${error.code}${reason}`, {
      code: CLOSE_CODE_ERRORS[error.code] ?? 'CONNECTION_CLOSED',
      closeCode: error.code,
      retryAfter: retryAfterMs === undefined ? undefined : retryAfterMs / 1000,
      cause: error,
    });
  }
  const message = error instanceof Error ? error.message : describe(error);
  return new ExpediterError(message || 'Network error', { code: 'NETWORK_ERROR', cause: error });
}

/** The first error's code names the error; every error stays available in `graphQLErrors`. */
export function fromGraphQLErrors(errors: readonly GraphQLFormattedError[]): ExpediterError {
  const first = errors[0];
  const code = first?.extensions?.code;
  const retryAfter = first?.extensions?.retryAfter;
  return new ExpediterError(errors.map((e) => e.message).join('; ') || 'GraphQL error', {
    code: typeof code === 'string' ? code : 'INTERNAL_SERVER_ERROR',
    graphQLErrors: errors,
    retryAfter: typeof retryAfter === 'number' ? retryAfter : undefined,
  });
}

function describe(value: unknown): string {
  if (typeof value === 'object' && value !== null) {
    const message = (value as { message?: unknown }).message;
    if (typeof message === 'string') return message;
    const inner = (value as { error?: unknown }).error;
    if (inner instanceof Error) return inner.message;
  }
  return String(value ?? '');
}
