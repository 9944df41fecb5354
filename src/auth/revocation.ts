import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { Broadcasts } from '../events/publisher';
import { topics } from '../events/topics';
import { createLogger, type Logger } from '../observability/logger';
import type { Principal } from './principal';

export type Revocation =
  | { kind: 'token'; jti: string }
  /** Tokens of that user issued at or before `before` (seconds since epoch) are revoked. */
  | { kind: 'user'; tenantId: string; userId: string; before: number };

export interface RevocationStore {
  /** Revokes one token until it would have expired anyway. */
  revokeToken(jti: string, expiresAtSec: number): Promise<void>;
  /** Revokes every token of the user issued at or before `atSec` (default: now). */
  revokeUser(tenantId: string, userId: string, atSec?: number): Promise<void>;
  /** Never throws: when the backing store is unreachable, the last known state answers. */
  isRevoked(principal: Principal): Promise<boolean>;
  /** Fires for every revocation made on any instance, this one included. Returns an unsubscribe. */
  onRevocation(listener: (revocation: Revocation) => void): () => void;
  /** Resolves once revocations made on other instances are being received. */
  ready(): Promise<void>;
  /** Stops listening. The Redis connection and the PubSub belong to the caller and stay open. */
  close(): Promise<void>;
}

export interface RevocationStoreOptions {
  /**
   * The source of truth of user revocations (PostgreSQL's `User.sessionsRevokedAt`, in seconds), asked next to
   * the fast path so that a revocation outlives Redis's keys and holds on an instance without Redis. Its answers
   * may be a little stale (they are cached); the broadcast makes revocations known at once where Redis reaches.
   */
  durable?: (tenantId: string, userId: string) => Promise<number | undefined>;
  /** Shared state for every instance (the fast path); without it, this process's memory is. */
  redis?: Redis;
  /** The publisher's ephemeral verb: a revocation is broadcast to every instance (it is stored elsewhere). */
  broadcasts: Pick<Broadcasts, 'broadcast' | 'listen'>;
  logger?: Logger;
  /** Prepended to every key; only for a connection without its own ioredis keyPrefix (the PubSub's has one). */
  keyPrefix?: string;
  /** How long a Redis answer is trusted before it is asked again (broadcasts update it sooner). */
  cacheTtlMs?: number;
  /** A lookup slower than this counts as Redis being down (ioredis queues commands while reconnecting). */
  lookupTimeoutMs?: number;
}

export function createRevocationStore(options: RevocationStoreOptions): RevocationStore {
  const logger = options.logger ?? createLogger('silent');
  const fastPath = options.redis
    ? createRedisRevocationStore({ ...options, redis: options.redis, logger })
    : createMemoryRevocationStore({ logger });
  return options.durable ? withDurableUserRevocations(fastPath, options.durable, logger) : fastPath;
}

/**
 * A principal is revoked when the fast path says so, or when the source of truth has a user revocation covering
 * its token. Both are asked at once. The source failing leaves the fast path's answer (logged), like Redis does.
 */
function withDurableUserRevocations(
  fastPath: RevocationStore,
  durable: NonNullable<RevocationStoreOptions['durable']>,
  logger: Logger,
): RevocationStore {
  return {
    ...fastPath,
    async isRevoked(principal) {
      const [revoked, before] = await Promise.all([
        fastPath.isRevoked(principal),
        durable(principal.tenantId, principal.userId).catch((error: unknown) => {
          logger.warn({ err: error }, 'durable revocation lookup failed; using the fast path only');
          return undefined;
        }),
      ]);
      return revoked || coveredByUserRevocation(principal, before);
    },
  };
}

export const revocationKeys = {
  token: (jti: string) => `revoked:jti:${jti}`,
  user: (tenantId: string, userId: string) => `revoked:user:${tenantId}:${userId}`,
};

const nowSec = () => Math.floor(Date.now() / 1000);

/** A token's user revocation applies when it was issued at or before it; no `iat` counts as before. */
function coveredByUserRevocation(principal: Principal, before: number | undefined): boolean {
  return before !== undefined && (principal.issuedAt ?? 0) <= before;
}

/** Whether a revocation (as broadcast to every instance) ends this principal's session. */
export function revokes(revocation: Revocation, principal: Principal): boolean {
  if (revocation.kind === 'token') return principal.tokenId === revocation.jti;
  return (
    principal.tenantId === revocation.tenantId &&
    principal.userId === revocation.userId &&
    coveredByUserRevocation(principal, revocation.before)
  );
}

function createListeners(logger: Logger) {
  const listeners = new Set<(revocation: Revocation) => void>();
  return {
    add(listener: (revocation: Revocation) => void) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    emit(revocation: Revocation) {
      for (const listener of listeners) {
        try {
          listener(revocation);
        } catch (error) {
          logger.error({ err: error, kind: revocation.kind }, 'revocation listener failed');
        }
      }
    },
    clear: () => listeners.clear(),
  };
}

// ---------------------------------------------------------------------------------------------
// In memory: one instance, no Redis.

export function createMemoryRevocationStore(options: { logger?: Logger } = {}): RevocationStore {
  const listeners = createListeners(options.logger ?? createLogger('silent'));
  const revokedTokens = new Map<string, number>(); // jti -> expiresAtSec
  const revokedUsers = new Map<string, number>(); // tenant:user -> before

  function forgetExpiredTokens() {
    const cutoff = nowSec();
    for (const [jti, expiresAt] of revokedTokens) if (expiresAt <= cutoff) revokedTokens.delete(jti);
  }

  return {
    async revokeToken(jti, expiresAtSec) {
      forgetExpiredTokens();
      revokedTokens.set(jti, Math.max(expiresAtSec, revokedTokens.get(jti) ?? 0));
      listeners.emit({ kind: 'token', jti });
    },
    async revokeUser(tenantId, userId, atSec = nowSec()) {
      const key = `${tenantId}:${userId}`;
      const before = Math.max(atSec, revokedUsers.get(key) ?? 0);
      revokedUsers.set(key, before);
      listeners.emit({ kind: 'user', tenantId, userId, before });
    },
    async isRevoked(principal) {
      if (principal.tokenId && revokedTokens.has(principal.tokenId)) return true;
      return coveredByUserRevocation(
        principal,
        revokedUsers.get(`${principal.tenantId}:${principal.userId}`),
      );
    },
    onRevocation: listeners.add,
    ready: async () => {},
    async close() {
      listeners.clear();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Redis: shared by every instance, broadcast on the PubSub.

const BroadcastSchema = z.object({
  origin: z.string(),
  revocation: z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('token'), jti: z.string().min(1) }),
    z.object({
      kind: z.literal('user'),
      tenantId: z.string().min(1),
      userId: z.string().min(1),
      before: z.number(),
    }),
  ]),
});

/** Keeps the later of the stored and the given timestamp, so an older revocation never shortens a newer one. */
const SET_MAX_SCRIPT = `
local current = tonumber(redis.call('GET', KEYS[1]))
local candidate = tonumber(ARGV[1])
if current == nil or candidate > current then
  redis.call('SET', KEYS[1], ARGV[1])
  return candidate
end
return current
`;

interface CacheEntry {
  /** Redis value: '1' for a revoked jti, the `before` timestamp for a user; null when not revoked. */
  value: string | null;
  fetchedAt: number;
}

const MAX_CACHE_ENTRIES = 10_000;

export function createRedisRevocationStore(
  options: RevocationStoreOptions & { redis: Redis; logger: Logger },
): RevocationStore {
  const { redis, broadcasts, logger } = options;
  const cacheTtlMs = options.cacheTtlMs ?? 10_000;
  const lookupTimeoutMs = options.lookupTimeoutMs ?? 500;
  const prefix = options.keyPrefix ?? '';
  const tokenKey = (jti: string) => prefix + revocationKeys.token(jti);
  const userKey = (tenantId: string, userId: string) => prefix + revocationKeys.user(tenantId, userId);
  const origin = randomUUID();
  const listeners = createListeners(logger);
  const cache = new Map<string, CacheEntry>();

  /**
   * Revocations only ever grow (a revoked jti stays revoked until it expires, a user's `before` only
   * moves forward), so the cache keeps the stronger of what it knew and what it is told: a Redis
   * answer that was in flight while a broadcast arrived cannot undo the broadcast.
   */
  function remember(key: string, value: string | null) {
    const known = cache.get(key)?.value ?? null;
    const merged =
      known === null || value === null ? (known ?? value) : String(Math.max(Number(known), Number(value)));
    cache.delete(key); // re-insert so the Map's order is least recently written first
    cache.set(key, { value: merged, fetchedAt: Date.now() });
    if (cache.size > MAX_CACHE_ENTRIES) cache.delete(cache.keys().next().value as string);
  }

  /** Applies a revocation to the cache: a known revocation is answered without Redis from now on. */
  function learn(revocation: Revocation) {
    if (revocation.kind === 'token') remember(tokenKey(revocation.jti), '1');
    else remember(userKey(revocation.tenantId, revocation.userId), String(revocation.before));
  }

  async function announce(revocation: Revocation) {
    learn(revocation);
    listeners.emit(revocation);
    await broadcasts.broadcast(topics.revocations(), { origin, revocation });
  }

  const subscription = broadcasts
    .listen(topics.revocations(), (message) => {
      const parsed = BroadcastSchema.safeParse(message);
      if (!parsed.success) {
        logger.warn('ignoring malformed revocation broadcast');
        return;
      }
      if (parsed.data.origin === origin) return; // already applied when it was made here
      learn(parsed.data.revocation);
      listeners.emit(parsed.data.revocation);
    })
    .catch((error: unknown) => {
      logger.error({ err: error }, 'could not subscribe to revocation broadcasts');
      return () => {};
    });

  async function lookup(keys: string[]): Promise<Array<string | null>> {
    const stale = keys.filter((key) => {
      const entry = cache.get(key);
      // A revoked token stays revoked: only "not revoked" answers and user timestamps age.
      if (entry?.value === '1' && key.startsWith(tokenKey(''))) return false;
      return !entry || Date.now() - entry.fetchedAt >= cacheTtlMs;
    });
    if (stale.length > 0) {
      try {
        const values = await withTimeout(redis.mget(...stale), lookupTimeoutMs);
        stale.forEach((key, i) => {
          remember(key, values[i] ?? null);
        });
      } catch (error) {
        const unknown = stale.filter((key) => !cache.has(key));
        // Availability over strictness: when Redis is unreachable we answer from the last known
        // state, and a key never seen before is treated as not revoked (fail open). Revocations
        // broadcast while we were reachable are still in the cache and still refused.
        logger.warn(
          { err: error, staleKeys: stale.length, neverSeen: unknown.length },
          'revocation lookup failed; using last known state',
        );
      }
    }
    return keys.map((key) => cache.get(key)?.value ?? null);
  }

  return {
    async revokeToken(jti, expiresAtSec) {
      // Kept until `exp`, from when the token is refused anyway.
      const ttl = Math.max(expiresAtSec - nowSec(), 1);
      await redis.set(tokenKey(jti), '1', 'EX', ttl);
      await announce({ kind: 'token', jti });
    },
    async revokeUser(tenantId, userId, atSec = nowSec()) {
      const stored = await redis.eval(SET_MAX_SCRIPT, 1, userKey(tenantId, userId), String(atSec));
      await announce({ kind: 'user', tenantId, userId, before: Number(stored) });
    },
    async isRevoked(principal) {
      const user = userKey(principal.tenantId, principal.userId);
      const [userBefore, tokenRevoked] = await lookup(
        principal.tokenId ? [user, tokenKey(principal.tokenId)] : [user],
      );
      if (tokenRevoked) return true;
      return coveredByUserRevocation(principal, userBefore == null ? undefined : Number(userBefore));
    },
    onRevocation: listeners.add,
    ready: async () => {
      await subscription;
    },
    async close() {
      listeners.clear();
      (await subscription)();
      cache.clear();
    },
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
