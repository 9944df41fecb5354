/**
 * What GraphiQL shows when an operation is refused or fails: a closed socket, an HTTP error, an event
 * stream that ended, a server that cannot be reached. Each becomes a GraphQL-shaped error (message,
 * `extensions.code`) with `extensions.whatToDo`, so the result pane reads the same on every transport;
 * the server's own refusals (UNAUTHENTICATED, FORBIDDEN, RATE_LIMITED, ...) get `whatToDo` too.
 * Browser code (bundled into GraphiQL's page), pure.
 */

export interface ReadableError {
  message: string;
  extensions: {
    code: string;
    /** Added by GraphiQL, never sent by the server: the next step for whoever reads the error. */
    whatToDo?: string;
    closeCode?: number;
    httpStatus?: number;
    reason?: string;
    [key: string]: unknown;
  };
}

export interface RefusalContext {
  /** This page offers demo sign-in (development, demo data, development secret). */
  demoSignIn: boolean;
}

const TOKEN_COMMAND = '`npm run -s token -- acme-manager` prints one for the demo data';

function tokenHint(context: RefusalContext): string {
  const headersTab = `put {"Authorization": "Bearer <token>"} in the Headers tab (${TOKEN_COMMAND})`;
  return context.demoSignIn
    ? `Pick a demo user and press "Sign in" at the top of the page, or ${headersTab}.`
    : `${headersTab[0]!.toUpperCase()}${headersTab.slice(1)}; elsewhere, use a token from your identity provider.`;
}

/** The hint for a refused token, by the server's reason (close reason or `extensions.reason`). */
function unauthorizedHint(reason: string, context: RefusalContext): string {
  const again = context.demoSignIn ? 'Sign in again' : 'Get a new token';
  if (/expired/i.test(reason)) return `The token expired. ${again}: ${tokenHint(context)}`;
  if (/revoked/i.test(reason))
    return `The session was revoked (revokeSessions). ${again}: ${tokenHint(context)}`;
  return tokenHint(context);
}

const STORE_HINT =
  'The token is valid but does not allow the store in the "x-store-id" header: remove that header, or use ' +
  "one of the token's stores (`query { me { stores { id } } }` lists them).";

const RESUME_HINT = 'a subscription resumes without loss when run with `after: "<its last cursor>"`';

interface CloseMeaning {
  title: string;
  code: string;
  whatToDo(reason: string, context: RefusalContext): string;
}

/** Close codes a browser sees from Expediter (the documentation's "WebSocket close codes") and graphql-ws. */
const CLOSE_CODES: Record<number, CloseMeaning> = {
  1001: {
    title: 'Going away',
    code: 'CONNECTION_CLOSED',
    whatToDo: () =>
      `The server is shutting down or restarting. Run the operation again in a moment; ${RESUME_HINT}.`,
  },
  1006: {
    title: 'Connection lost',
    code: 'NETWORK_ERROR',
    whatToDo: () =>
      'The socket closed without a close frame: the server is not running or not reachable at this address, ' +
      "or it refused this page's origin (ALLOWED_ORIGINS). Check that the server runs (`npm start`), then run again.",
  },
  1009: {
    title: 'Message too big',
    code: 'BAD_REQUEST',
    whatToDo: () =>
      'The document and its variables are larger than the server accepts in one message (WS_MAX_MESSAGE_BYTES). ' +
      'Send a smaller document.',
  },
  1011: {
    title: 'Internal error',
    code: 'INTERNAL_SERVER_ERROR',
    whatToDo: () => 'The server failed unexpectedly; its log has the details. Run the operation again.',
  },
  4400: {
    title: 'Bad request',
    code: 'BAD_REQUEST',
    whatToDo: () => 'The server could not read a protocol message. Reload GraphiQL and run again.',
  },
  4401: {
    title: 'Unauthorized',
    code: 'UNAUTHENTICATED',
    whatToDo: (reason, context) => unauthorizedHint(reason, context),
  },
  4403: { title: 'Forbidden', code: 'FORBIDDEN', whatToDo: () => STORE_HINT },
  4408: {
    title: 'Connection initialisation timeout',
    code: 'CONNECTION_CLOSED',
    whatToDo: () =>
      'No connection_init reached the server in time (WS_CONNECTION_INIT_TIMEOUT_MS). Run again; if it repeats, ' +
      'the network is very slow.',
  },
  4413: {
    title: 'Slow consumer',
    code: 'SLOW_CONSUMER',
    whatToDo: () => `Events waited unsent faster than this page read them. Run again: ${RESUME_HINT}.`,
  },
  4429: {
    title: 'Too many requests',
    code: 'RATE_LIMITED',
    whatToDo: (reason) => floodHint(reason),
  },
  4500: {
    title: 'Internal server error',
    code: 'INTERNAL_SERVER_ERROR',
    whatToDo: () => 'The server failed unexpectedly; its log has the details. Run the operation again.',
  },
};

function floodHint(reason: string): string {
  if (/for this user/i.test(reason))
    return (
      'This user already has as many sockets open as allowed (WS_MAX_CONNECTIONS_PER_USER): close other GraphiQL ' +
      'tabs, demo pages or apps signed in as this user, or stop their subscriptions, then run again.'
    );
  if (/from this address/i.test(reason))
    return 'This address has as many sockets open as allowed (WS_MAX_CONNECTIONS_PER_IP): close some, then run again.';
  if (/attempts/i.test(reason))
    return 'Too many connections were opened from this address lately (WS_CONNECTION_ATTEMPTS_PER_IP): wait a few seconds, then run again.';
  if (/messages/i.test(reason))
    return 'This socket sent more messages than allowed per window (WS_MESSAGES_PER_CONNECTION): send fewer, then run again.';
  if (/initiali[sz]ation/i.test(reason))
    return 'The client sent connection_init twice on one socket. Reload GraphiQL and run again.';
  return 'A limit refused the connection: wait a moment, then run again (see the documentation\'s "Limits").';
}

/** A socket closed by the server or the network, as GraphiQL shows it. */
export function closeRefusal(closeCode: number, reason: string, context: RefusalContext): ReadableError {
  const meaning = CLOSE_CODES[closeCode];
  const title = meaning?.title ?? 'Closed';
  return {
    message: `WebSocket closed with ${closeCode} ${title}${reason ? `: ${reason}` : ''}`,
    extensions: {
      code: meaning?.code ?? 'CONNECTION_CLOSED',
      closeCode,
      ...(reason && { reason }),
      whatToDo:
        meaning?.whatToDo(reason, context) ??
        'See the documentation\'s "WebSocket close codes" for this code, then run again.',
    },
  };
}

const HTTP_HINTS: Record<number, (context: RefusalContext, retryAfter?: string) => string> = {
  401: (context) => tokenHint(context),
  403: () => 'The server refused this request. Check the Authorization and x-store-id headers.',
  404: () => "Nothing answers GraphQL at this address: GraphiQL posts to the page's own path (/graphql).",
  413: () => 'The request is larger than the server accepts (HTTP_MAX_BODY_BYTES). Send a smaller document.',
  429: (_context, retryAfter) =>
    `Too many requests from this address (RATE_LIMIT_HTTP_PER_IP): wait ${retryAfter ? `${retryAfter} s` : 'a moment'}, then run again.`,
  502: () =>
    'A proxy in front of the server could not reach it. Check that the server runs (its /ready answers).',
  503: () =>
    'The server is not taking traffic (starting, draining or degraded): its /ready says why. Run again in a moment.',
  504: () => 'A proxy in front of the server timed out. Check that the server runs (its /ready answers).',
};

/** An HTTP response that is not a GraphQL result (a proxy's page, a plain-text refusal). */
export function httpRefusal(
  response: { status: number; statusText: string; body: string; retryAfter?: string | null },
  context: RefusalContext,
): ReadableError {
  const excerpt = response.body
    .replace(/<[^>]*>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 200);
  const status = `${response.status}${response.statusText ? ` ${response.statusText}` : ''}`;
  return {
    message: `HTTP ${status}${excerpt ? `: ${excerpt}` : ''}`,
    extensions: {
      code: response.status === 429 ? 'RATE_LIMITED' : 'BAD_RESPONSE',
      httpStatus: response.status,
      whatToDo:
        HTTP_HINTS[response.status]?.(context, response.retryAfter ?? undefined) ??
        'The server answered with something that is not a GraphQL result. Its log, or the proxy in front of it, says why.',
    },
  };
}

/** The server could not be reached at all (fetch failed, connection refused). */
export function networkRefusal(url: string, error: unknown): ReadableError {
  const detail = error instanceof Error ? error.message : String(error ?? '');
  return {
    message: `Could not reach ${url}${detail ? `: ${detail}` : ''}`,
    extensions: {
      code: 'NETWORK_ERROR',
      whatToDo:
        'Check that the server runs (`npm start` prints where it listens) and that this page came from it.',
    },
  };
}

/** An event stream (SSE) that ended before its subscription completed. */
export function streamEndedRefusal(detail: string): ReadableError {
  return {
    message: `The event stream ended before the subscription completed${detail ? `: ${detail}` : ''}`,
    extensions: {
      code: 'CONNECTION_CLOSED',
      whatToDo: `The server restarted or the connection dropped. Run again; ${RESUME_HINT}.`,
    },
  };
}

interface GraphQLErrorLike {
  message?: unknown;
  extensions?: Record<string, unknown>;
  [key: string]: unknown;
}

/** What to do about a refusal the server sent as a GraphQL error, by its `extensions.code`. */
function graphqlErrorHint(error: GraphQLErrorLike, context: RefusalContext): string | undefined {
  const extensions = error.extensions ?? {};
  const message = typeof error.message === 'string' ? error.message : '';
  switch (extensions.code) {
    case 'UNAUTHENTICATED':
      return unauthorizedHint(`${String(extensions.reason ?? '')} ${message}`, context);
    case 'FORBIDDEN':
      if (/store not allowed/i.test(message)) return STORE_HINT;
      return (
        'The token\'s roles, stores or stations do not allow this operation (the documentation\'s "Who may do what"). ' +
        (context.demoSignIn ? 'Sign in as a demo user who may, e.g. acme-manager.' : 'Use a token that may.')
      );
    case 'PERSISTED_QUERY_ID_REQUIRED':
    case 'PERSISTED_QUERY_NOT_IN_LIST':
      return (
        'This server runs only the registered documents of known app versions (TRUSTED_DOCUMENTS=require, the ' +
        'production default), and GraphiQL sends document text: explore where TRUSTED_DOCUMENTS=allow (the ' +
        'default outside production).'
      );
    case 'RATE_LIMITED': {
      const retryAfter =
        typeof extensions.retryAfter === 'number' ? `${extensions.retryAfter} s` : 'a moment';
      return `A rate limit refused this operation: wait ${retryAfter}, then run again.`;
    }
    default:
      return undefined;
  }
}

/** The errors with `extensions.whatToDo` added to the refusals GraphiQL knows what to say about. */
export function withWhatToDo<T>(errors: readonly T[], context: RefusalContext): T[] {
  return errors.map((error) => {
    if (typeof error !== 'object' || error === null) return error;
    const graphqlError = error as GraphQLErrorLike;
    if (graphqlError.extensions?.whatToDo !== undefined) return error;
    const whatToDo = graphqlErrorHint(graphqlError, context);
    return whatToDo
      ? ({ ...graphqlError, extensions: { ...graphqlError.extensions, whatToDo } } as T)
      : error;
  });
}

/** A GraphQL result (HTTP, SSE or WebSocket) with `whatToDo` on its refusals; other results as they came. */
export function resultWithWhatToDo<T extends { errors?: readonly unknown[] }>(
  result: T,
  context: RefusalContext,
): T {
  return result.errors?.length ? { ...result, errors: withWhatToDo(result.errors, context) } : result;
}
