import { type BackoffOptions, backoffDelay, delayAfterShed, retryAfterOf } from './backoff';
import { ExpediterError, isCloseEvent, toExpediterError } from './errors';

/** Close codes after which reconnecting cannot help (docs/api.md "WebSocket close codes", graphql-ws). */
const FATAL_CLOSE_CODES = new Set([
  1002, // protocol error
  1003, // unsupported data
  1009, // a message larger than the server accepts: sending it again will not help
  4400, // malformed message
  4403, // the token does not allow the requested store
  4406, // subprotocol not acceptable
  4409, // subscriber already exists
  4500, // internal server error
]);
// 4429 is not among them: Expediter closes a connection flood with it, which backing off resolves. Nor is
// 1013 (Try Again Later): a server over its admission limit sheds with it and says when to come back.

export const UNAUTHORIZED_CLOSE_CODE = 4401;

export interface ReconnectionOptions {
  backoff?: BackoffOptions;
  /** Failed reconnects in a row before giving up (default: never give up). */
  retryAttempts?: number;
  /** Refreshed tokens refused in a row (4401) before giving up (default 2). */
  maxTokenRefreshes?: number;
  random?: () => number;
}

/**
 * Decides, once per lost connection, whether and when its subscriptions reconnect. Every subscription
 * of a socket sees the same close; they share one backoff wait so they come back on one new socket.
 */
export class Reconnection {
  private attempt = 0;
  private refusedTokens = 0;
  private refreshNext = false;
  private waiting: Promise<void> | undefined;
  private timers = new Set<{ timer: ReturnType<typeof setTimeout>; cancel: () => void }>();
  private disposed = false;

  constructor(private readonly options: ReconnectionOptions = {}) {}

  /** The connection was acknowledged: the next loss starts a fresh backoff. */
  connected() {
    this.attempt = 0;
    this.refusedTokens = 0;
  }

  /** The next connect asks for a new token (the current one is about to expire, or was refused). */
  refreshNextToken() {
    this.refreshNext = true;
  }

  /** True once after a 4401: the token provider must mint a new token instead of returning a cached one. */
  takeRefresh(): boolean {
    const refresh = this.refreshNext;
    this.refreshNext = false;
    return refresh;
  }

  /** Resolves when the subscription should subscribe again; rejects with the error to report instead. */
  retry(error: unknown): Promise<void> {
    if (this.disposed)
      return Promise.reject(new ExpediterError('Client disposed', { code: 'CONNECTION_CLOSED' }));
    if (!isRetryable(error)) return Promise.reject(toExpediterError(error));
    if (this.waiting) return this.waiting;
    if (isCloseEvent(error) && error.code === UNAUTHORIZED_CLOSE_CODE) {
      this.refusedTokens++;
      if (this.refusedTokens > (this.options.maxTokenRefreshes ?? 2)) {
        return Promise.reject(toExpediterError(error));
      }
      this.refreshNext = true;
    }
    if (this.attempt >= (this.options.retryAttempts ?? Number.POSITIVE_INFINITY)) {
      return Promise.reject(toExpediterError(error));
    }
    // A shedding server's retryAfter schedules the return (it spreads the clients it sheds over the time it
    // needs to admit them); otherwise full-jitter backoff.
    const retryAfter = isCloseEvent(error) ? retryAfterOf(error) : undefined;
    const attempt = this.attempt++;
    const delay =
      retryAfter === undefined
        ? backoffDelay(attempt, this.options.backoff, this.options.random)
        : delayAfterShed(retryAfter, this.options.random);
    this.waiting = this.sleep(delay).finally(() => {
      this.waiting = undefined;
    });
    return this.waiting;
  }

  dispose() {
    this.disposed = true;
    for (const entry of this.timers) entry.cancel();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const entry = {
        timer: setTimeout(() => {
          this.timers.delete(entry);
          resolve();
        }, ms),
        cancel: () => {
          clearTimeout(entry.timer);
          this.timers.delete(entry);
          reject(new ExpediterError('Client disposed', { code: 'CONNECTION_CLOSED' }));
        },
      };
      this.timers.add(entry);
    });
  }
}

/**
 * GraphQL errors are answers, not failures: retrying would get the same answer. A refused token (4401)
 * is retried with a fresh one; network failures and other close codes are retried with backoff.
 */
export function isRetryable(error: unknown): boolean {
  if (Array.isArray(error)) return false;
  if (error instanceof ExpediterError) return error.code === 'NETWORK_ERROR';
  if (isCloseEvent(error)) return !FATAL_CLOSE_CODES.has(error.code);
  return true;
}
