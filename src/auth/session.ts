import type { Logger } from '../observability/logger';
import { AuthError } from './errors';
import { tokenExpired } from './jwt';
import type { Principal } from './principal';
import { type Revocation, type RevocationStore, revokes } from './revocation';

/**
 * A session is the authenticated principal of one connection (graphql-ws) or one request (HTTP, SSE), with
 * its lifecycle: it ends when its token expires or is revoked, on whichever instance the revocation was made.
 * Transports do not watch tokens themselves; they listen for the end of their session (a socket closes with
 * 4401, an SSE stream gets a final UNAUTHENTICATED error), so a new transport gets the rules by construction.
 */
export interface Session {
  /** The caller, as of the session's latest token. */
  readonly principal: Principal;
  /** Why the session ended ('expired' or 'revoked'), once it has. */
  readonly ended: AuthError | undefined;
  /**
   * Calls `listener` once when the session ends (at once if it already has). The session is watched (an
   * expiry timer, revocations) only while it has listeners, so a plain query costs nothing. Returns a remover.
   */
  onEnd(listener: (reason: AuthError) => void): () => void;
  /**
   * Carries the session on with a refreshed token of the same user and tenant: expiry and revocation follow
   * the new token from now on. Throws an AuthError ('bad_claims') for another user's token.
   */
  renew(principal: Principal): void;
}

export interface Sessions {
  /** A session for a principal the authenticator accepted. */
  open(principal: Principal): Session;
  /** How many sessions are being watched (ops and leak checks). */
  watched(): number;
  /** Stops listening for revocations and clears every timer; sessions are not ended. */
  close(): void;
}

/** setTimeout's longest delay (about 24.8 days): a later expiry is re-armed when the timer fires. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export function createSessions(deps: { revocations: RevocationStore; logger: Logger }): Sessions {
  const { revocations, logger } = deps;
  /** Watched sessions by `tenant:user` and by token id: a revocation looks at the sessions it may cover only. */
  const byUser = new Map<string, Set<WatchedSession>>();
  const byToken = new Map<string, Set<WatchedSession>>();
  let count = 0;

  const userKey = (p: Principal) => `${p.tenantId}:${p.userId}`;
  const add = (index: Map<string, Set<WatchedSession>>, key: string, session: WatchedSession) => {
    const set = index.get(key);
    if (set) set.add(session);
    else index.set(key, new Set([session]));
  };
  const remove = (index: Map<string, Set<WatchedSession>>, key: string, session: WatchedSession) => {
    const set = index.get(key);
    if (!set) return;
    set.delete(session);
    if (set.size === 0) index.delete(key);
  };

  class WatchedSession implements Session {
    ended: AuthError | undefined;
    private listeners?: Set<(reason: AuthError) => void>;
    private timer?: NodeJS.Timeout;

    constructor(public principal: Principal) {}

    onEnd(listener: (reason: AuthError) => void): () => void {
      if (this.ended) {
        listener(this.ended);
        return () => {};
      }
      if (!this.listeners) {
        this.listeners = new Set();
        this.watch();
      }
      this.listeners.add(listener);
      return () => {
        if (!this.listeners?.delete(listener) || this.listeners.size > 0) return;
        this.listeners = undefined;
        this.unwatch();
      };
    }

    renew(principal: Principal): void {
      if (principal.tenantId !== this.principal.tenantId || principal.userId !== this.principal.userId) {
        throw new AuthError('bad_claims');
      }
      if (this.ended) return;
      const watching = this.listeners !== undefined;
      if (watching) this.unwatch();
      this.principal = principal;
      if (watching) this.watch();
    }

    /** Stops watching without ending (shutdown: the transports close their sockets themselves). */
    forget() {
      if (!this.listeners) return;
      this.listeners = undefined;
      this.unwatch();
    }

    /** Applies a revocation broadcast to this session. */
    revokedBy(revocation: Revocation) {
      if (revokes(revocation, this.principal)) this.end(new AuthError('revoked'));
    }

    private watch() {
      count++;
      add(byUser, userKey(this.principal), this);
      if (this.principal.tokenId) add(byToken, this.principal.tokenId, this);
      this.armExpiry();
      // A revocation broadcast between authentication and now was not seen by this session: ask once.
      const principal = this.principal;
      revocations.isRevoked(principal).then(
        (revoked) => {
          if (revoked && this.principal === principal) this.end(new AuthError('revoked'));
        },
        (error: unknown) => logger.warn({ err: error }, 'revocation check of a new session failed'),
      );
    }

    private unwatch() {
      count--;
      clearTimeout(this.timer);
      this.timer = undefined;
      remove(byUser, userKey(this.principal), this);
      if (this.principal.tokenId) remove(byToken, this.principal.tokenId, this);
    }

    private armExpiry() {
      const expiresAt = this.principal.expiresAt;
      if (expiresAt === undefined) return;
      if (tokenExpired(expiresAt)) {
        queueMicrotask(() => this.end(new AuthError('expired')));
        return;
      }
      const delay = Math.min(expiresAt * 1000 - Date.now(), MAX_TIMER_MS);
      this.timer = setTimeout(() => {
        this.timer = undefined;
        if (tokenExpired(expiresAt)) this.end(new AuthError('expired'));
        else this.armExpiry();
      }, delay);
      this.timer.unref();
    }

    private end(reason: AuthError) {
      if (this.ended) return;
      this.ended = reason;
      const listeners = this.listeners;
      if (!listeners) return;
      this.listeners = undefined;
      this.unwatch();
      logger.info(
        { userId: this.principal.userId, tenantId: this.principal.tenantId, reason: reason.reason },
        'session ended',
      );
      for (const listener of listeners) {
        try {
          listener(reason);
        } catch (error) {
          logger.error({ err: error }, 'session end listener failed');
        }
      }
    }
  }

  const stopListening = revocations.onRevocation((revocation) => {
    const covered =
      revocation.kind === 'token'
        ? byToken.get(revocation.jti)
        : byUser.get(`${revocation.tenantId}:${revocation.userId}`);
    if (!covered) return;
    for (const session of [...covered]) session.revokedBy(revocation);
  });

  return {
    open: (principal) => new WatchedSession(principal),
    watched: () => count,
    close() {
      stopListening();
      for (const sessions of [...byUser.values()]) for (const session of [...sessions]) session.forget();
    },
  };
}
