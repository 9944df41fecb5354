import { randomUUID } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from '../../src/auth/principal';
import {
  createMemoryRevocationStore,
  createRevocationStore,
  type Revocation,
  type RevocationStore,
  revokes,
} from '../../src/auth/revocation';
import { createPubSub } from '../../src/events/create-pubsub';
import { broadcastsOver } from '../../src/events/publisher';
import type { PubSub } from '../../src/events/pubsub';
import { createMemoryPubSub } from '../../src/events/pubsub-memory';
import { createLogger } from '../../src/observability/logger';
import { eventually } from '../support/eventually';
import { staffPrincipal } from '../support/principals';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const now = () => Math.floor(Date.now() / 1000);

const principal = (overrides: Partial<Principal> = {}) =>
  staffPrincipal({ tokenId: randomUUID(), ...overrides });

/** Resolves with the next revocation the store reports. */
function nextRevocation(store: RevocationStore): Promise<Revocation> {
  return new Promise((resolve) => {
    const stop = store.onRevocation((revocation) => {
      stop();
      resolve(revocation);
    });
  });
}

function captureLogs() {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => lines.push(JSON.parse(line)) });
  return { logger, lines };
}

describe('user revocations from the source of truth (PostgreSQL)', () => {
  const pubsub = createMemoryPubSub({ logger: createLogger('silent') });

  it('refuses tokens issued at or before the durable revocation, even when the fast path never heard of it', async () => {
    const store = createRevocationStore({
      broadcasts: broadcastsOver(pubsub),
      durable: async (_tenant, user) => (user === 'acme-staff' ? 1_000 : undefined),
    });
    expect(await store.isRevoked(principal({ issuedAt: 1_000 }))).toBe(true);
    expect(await store.isRevoked(principal({ issuedAt: 1_001 }))).toBe(false);
    expect(await store.isRevoked(principal({ userId: 'acme-manager', issuedAt: 1_000 }))).toBe(false);
  });

  it('keeps the fast path: a revoked jti, or a user revoked later than the source has it yet', async () => {
    const store = createRevocationStore({ broadcasts: broadcastsOver(pubsub), durable: async () => 1_000 });
    const token = principal({ issuedAt: 5_000 });
    await store.revokeToken(token.tokenId!, now() + 60);
    expect(await store.isRevoked(token)).toBe(true);
    await store.revokeUser('acme', 'acme-staff', 6_000);
    expect(await store.isRevoked(principal({ issuedAt: 5_500 }))).toBe(true);
  });

  it('answers from the fast path (and logs) when the source cannot be asked', async () => {
    const { logger, lines } = captureLogs();
    const store = createRevocationStore({
      broadcasts: broadcastsOver(pubsub),
      logger,
      durable: async () => {
        throw new Error('database down');
      },
    });
    expect(await store.isRevoked(principal())).toBe(false);
    await store.revokeUser('acme', 'acme-staff');
    expect(await store.isRevoked(principal())).toBe(true);
    expect(
      lines.some((line) => line.msg === 'durable revocation lookup failed; using the fast path only'),
    ).toBe(true);
  });
});

describe('in-memory revocation store', () => {
  it('revokes one token by jti and no other', async () => {
    const store = createMemoryRevocationStore();
    const revoked = principal();
    await store.revokeToken(revoked.tokenId!, revoked.expiresAt!);
    expect(await store.isRevoked(revoked)).toBe(true);
    expect(await store.isRevoked(principal())).toBe(false);
  });

  it("revokes a user's tokens issued at or before the revocation, not later ones", async () => {
    const store = createMemoryRevocationStore();
    await store.revokeUser('acme', 'acme-staff', 1_000);
    expect(await store.isRevoked(principal({ issuedAt: 999 }))).toBe(true);
    expect(await store.isRevoked(principal({ issuedAt: 1_000 }))).toBe(true);
    expect(await store.isRevoked(principal({ issuedAt: undefined }))).toBe(true);
    expect(await store.isRevoked(principal({ issuedAt: 1_001 }))).toBe(false);
    expect(await store.isRevoked(principal({ issuedAt: 999, userId: 'acme-manager' }))).toBe(false);
    expect(await store.isRevoked(principal({ issuedAt: 999, tenantId: 'globex' }))).toBe(false);
  });

  it('keeps the later of two user revocations', async () => {
    const store = createMemoryRevocationStore();
    await store.revokeUser('acme', 'acme-staff', 2_000);
    const reported = nextRevocation(store);
    await store.revokeUser('acme', 'acme-staff', 1_000);
    expect(await reported).toEqual({ kind: 'user', tenantId: 'acme', userId: 'acme-staff', before: 2_000 });
    expect(await store.isRevoked(principal({ issuedAt: 1_500 }))).toBe(true);
  });

  it('tells listeners until they unsubscribe', async () => {
    const store = createMemoryRevocationStore();
    const heard: Revocation[] = [];
    const stop = store.onRevocation((revocation) => heard.push(revocation));
    await store.revokeToken('jti-1', now() + 60);
    stop();
    await store.revokeToken('jti-2', now() + 60);
    expect(heard).toEqual([{ kind: 'token', jti: 'jti-1' }]);
  });

  it('keeps telling the other listeners when one throws', async () => {
    const store = createMemoryRevocationStore();
    const heard: Revocation[] = [];
    store.onRevocation(() => {
      throw new Error('listener bug');
    });
    store.onRevocation((revocation) => heard.push(revocation));
    await store.revokeToken('jti-1', now() + 60);
    expect(heard).toEqual([{ kind: 'token', jti: 'jti-1' }]);
  });

  it('is what the factory returns without Redis', async () => {
    const store = createRevocationStore({
      broadcasts: broadcastsOver(createMemoryPubSub({ logger: pino({ level: 'silent' }) })),
    });
    await store.revokeUser('acme', 'acme-staff');
    expect(await store.isRevoked(principal())).toBe(true);
    await store.close();
  });
});

describe('Redis revocation store across instances', () => {
  const prefix = `test:revocation:${randomUUID()}:`;
  const connections: Redis[] = [];
  const pubsubs: PubSub[] = [];
  const stores: RevocationStore[] = [];

  function connect(): Redis {
    const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    connections.push(redis);
    return redis;
  }

  /** One instance's PubSub, as the server builds it: channels and keys under the test prefix. */
  async function redisPubSub(): Promise<PubSub> {
    const pubsub = await createPubSub({
      redisUrl: REDIS_URL,
      keyPrefix: prefix,
      logger: pino({ level: 'silent' }),
    });
    pubsubs.push(pubsub);
    return pubsub;
  }

  /** One instance's revocation store, wired like the server: on the PubSub's own Redis connection. */
  async function instance(options: { cacheTtlMs?: number; logger?: pino.Logger } = {}) {
    const pubsub = await redisPubSub();
    const store = createRevocationStore({
      redis: pubsub.redis?.(),
      broadcasts: broadcastsOver(pubsub),
      ...options,
    });
    stores.push(store);
    await store.ready();
    return { store, pubsub };
  }

  let a: RevocationStore;
  let b: RevocationStore;
  let redis: Redis;

  beforeAll(async () => {
    redis = connect();
    a = (await instance()).store;
    b = (await instance()).store;
  });

  afterAll(async () => {
    for (const store of stores) await store.close();
    for (const pubsub of pubsubs) await pubsub.close();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    for (const connection of connections) connection.disconnect();
  });

  it('a token revoked on A is refused on B, and B hears of it', async () => {
    const token = principal();
    expect(await b.isRevoked(token)).toBe(false); // now cached on B as "not revoked"
    const heardOnB = nextRevocation(b);

    await a.revokeToken(token.tokenId!, now() + 60);

    expect(await heardOnB).toEqual({ kind: 'token', jti: token.tokenId });
    expect(await b.isRevoked(token)).toBe(true);
    expect(await a.isRevoked(token)).toBe(true);
    expect(await b.isRevoked(principal())).toBe(false);
  });

  it('keeps a revoked jti in Redis until the token would have expired', async () => {
    const jti = randomUUID();
    await a.revokeToken(jti, now() + 60);
    const ttl = await redis.ttl(`${prefix}revoked:jti:${jti}`);
    expect(ttl).toBeGreaterThanOrEqual(58);
    expect(ttl).toBeLessThanOrEqual(60);
  });

  it("a user revoked on A: B refuses the user's earlier tokens and accepts tokens issued after", async () => {
    const userId = `user-${randomUUID()}`;
    const before = now();
    const heardOnB = nextRevocation(b);

    await a.revokeUser('acme', userId, before);

    expect(await heardOnB).toEqual({ kind: 'user', tenantId: 'acme', userId, before });
    expect(await b.isRevoked(principal({ userId, issuedAt: before - 5 }))).toBe(true);
    expect(await b.isRevoked(principal({ userId, issuedAt: before }))).toBe(true);
    expect(await b.isRevoked(principal({ userId, issuedAt: before + 1 }))).toBe(false);
    expect(await b.isRevoked(principal({ userId, issuedAt: before - 5, tenantId: 'globex' }))).toBe(false);
    expect(await redis.get(`${prefix}revoked:user:acme:${userId}`)).toBe(String(before));
  });

  it('an earlier user revocation never shortens a later one', async () => {
    const userId = `user-${randomUUID()}`;
    await a.revokeUser('acme', userId, 2_000);
    const heardOnB = nextRevocation(b);
    await a.revokeUser('acme', userId, 1_000);
    expect(await heardOnB).toEqual({ kind: 'user', tenantId: 'acme', userId, before: 2_000 });
    expect(await redis.get(`${prefix}revoked:user:acme:${userId}`)).toBe('2000');
  });

  it('an instance started later reads earlier revocations from Redis', async () => {
    const token = principal({ userId: `user-${randomUUID()}` });
    await a.revokeToken(token.tokenId!, now() + 60);
    const { store: late } = await instance();
    expect(await late.isRevoked(token)).toBe(true);
  });

  it("fires each of its own revocations once on the instance that made it, and the other's too", async () => {
    const heardOnA: Revocation[] = [];
    const stop = a.onRevocation((revocation) => heardOnA.push(revocation));
    await a.revokeToken('own-jti', now() + 60);
    const fromB = nextRevocation(a);
    // Redis delivers in publish order, so A's echo of its own message arrives before B's message.
    await b.revokeToken('other-jti', now() + 60);
    await fromB;
    stop();
    expect(heardOnA).toEqual([
      { kind: 'token', jti: 'own-jti' },
      { kind: 'token', jti: 'other-jti' },
    ]);
  });

  it('ignores a malformed broadcast and keeps listening', async () => {
    const { logger, lines } = captureLogs();
    const { store, pubsub } = await instance({ logger });
    const heard = nextRevocation(store);
    await pubsub.publish('sys:revocations', { origin: 'elsewhere', revocation: { kind: 'everything' } });
    await a.revokeToken('after-garbage', now() + 60);
    expect(await heard).toEqual({ kind: 'token', jti: 'after-garbage' });
    expect(lines.map((line) => line.msg)).toContain('ignoring malformed revocation broadcast');
  });

  it('answers from its cache until the entry is older than cacheTtlMs', async () => {
    const { store } = await instance({ cacheTtlMs: 100 });
    const token = principal();
    expect(await store.isRevoked(token)).toBe(false);
    // Written behind the stores' back (no broadcast): only a fresh lookup can see it.
    await redis.set(`${prefix}revoked:jti:${token.tokenId}`, '1', 'EX', 60);
    expect(await store.isRevoked(token)).toBe(false);
    await eventually(() => store.isRevoked(token)); // once the cached answer is older than cacheTtlMs
  });

  it('when Redis is unreachable: answers from the last known state, fails open for unseen tokens, logs', async () => {
    const { logger, lines } = captureLogs();
    const { store, pubsub } = await instance({ cacheTtlMs: 0, logger });
    const known = principal({ userId: `user-${randomUUID()}` });
    const heard = nextRevocation(store);
    await a.revokeUser('acme', known.userId);
    await heard;
    pubsub.redis?.().disconnect(); // the command connection; broadcasts arrive on another one

    expect(await store.isRevoked(known)).toBe(true);
    expect(await store.isRevoked(principal({ userId: `user-${randomUUID()}` }))).toBe(false);
    const warnings = lines.filter((line) => line.msg === 'revocation lookup failed; using last known state');
    expect(warnings).toHaveLength(2);
    expect(warnings[1]).toMatchObject({ level: 40, neverSeen: 2 });
  });

  describe('when Redis accepts the connection but never answers', () => {
    let silent: Server;
    const sockets = new Set<Socket>();
    beforeAll(async () => {
      silent = createServer((socket) => sockets.add(socket));
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    });
    afterAll(async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    });

    it('gives up after lookupTimeoutMs instead of hanging the caller', async () => {
      const port = (silent.address() as { port: number }).port;
      const hanging = new Redis({ host: '127.0.0.1', port, lazyConnect: false, maxRetriesPerRequest: null });
      connections.push(hanging);
      const store = createRevocationStore({
        redis: hanging,
        broadcasts: broadcastsOver(await redisPubSub()),
        keyPrefix: prefix,
        lookupTimeoutMs: 100,
      });
      stores.push(store);
      await store.ready();
      expect(await store.isRevoked(principal())).toBe(false);
    });
  });
});

describe('revokes', () => {
  const principal = {
    userId: 'acme-staff',
    tenantId: 'acme',
    roles: ['STAFF'] as const,
    stores: ['acme-downtown'],
    stations: [],
    tokenId: 'jti-1',
    issuedAt: 1_000,
  };

  it('ends the session of the revoked token only', () => {
    expect(revokes({ kind: 'token', jti: 'jti-1' }, principal)).toBe(true);
    expect(revokes({ kind: 'token', jti: 'jti-2' }, principal)).toBe(false);
  });

  it("ends a user's sessions issued at or before the revocation, in that tenant only", () => {
    const user = { kind: 'user', tenantId: 'acme', userId: 'acme-staff' } as const;
    expect(revokes({ ...user, before: 1_000 }, principal)).toBe(true);
    expect(revokes({ ...user, before: 999 }, principal)).toBe(false);
    expect(revokes({ ...user, tenantId: 'globex', before: 2_000 }, principal)).toBe(false);
    expect(revokes({ ...user, userId: 'acme-kitchen', before: 2_000 }, principal)).toBe(false);
  });
});
