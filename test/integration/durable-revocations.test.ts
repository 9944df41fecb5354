import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { REVOCATION_RECHECK_MS } from '../../src/db/tenancy';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { eventually } from '../support/eventually';
import { startTestServer, TEST_REDIS_URL, type TestServer, uniqueRedisPrefix } from '../support/server';
import { openSse } from '../support/sse';

// revokeSessions is kept in PostgreSQL (User.sessionsRevokedAt), the source of truth; Redis is only the fast
// path. A revocation survives the loss of Redis's keys and holds on an instance without Redis.

const REVOKE = 'mutation ($userId: ID!) { revokeSessions(userId: $userId) { userId revokedAt } }';
const ORDER_EVENTS = 'subscription ($storeId: ID!) { orderUpdated(storeId: $storeId) { kind } }';

describe('revocations outlive Redis', () => {
  const redisPrefix = uniqueRedisPrefix();
  const redis = new Redis(TEST_REDIS_URL);
  let database: TestDatabase;
  let revokedOn: TestServer;
  let withRedis: TestServer;
  let withoutRedis: TestServer;
  let oldToken: string;

  beforeAll(async () => {
    database = await createTestDatabase({ seed: true });
    const databaseUrl = database.url;
    revokedOn = await startTestServer({ redisUrl: TEST_REDIS_URL, redisPrefix, databaseUrl });
    oldToken = await revokedOn.token('acme-staff');
    const result = await revokedOn.gql<{ revokeSessions: { revokedAt: string } }>(
      REVOKE,
      { userId: 'acme-staff' },
      { token: await revokedOn.token('acme-admin') },
    );
    expect(result.errors).toBeUndefined();
    await revokedOn.close();

    const keys = await redis.keys(`${redisPrefix}revoked:*`);
    expect(keys).not.toHaveLength(0); // the fast path had it...
    await redis.del(...keys); // ...and loses it, as a Redis without persistence does on restart

    withRedis = await startTestServer({ redisUrl: TEST_REDIS_URL, redisPrefix, databaseUrl });
    withoutRedis = await startTestServer({ databaseUrl });
    // A token of the revocation's own second is covered too: new tokens are signed after it.
    const revokedSecond = Math.floor(Date.parse(result.data!.revokeSessions.revokedAt) / 1000);
    await eventually(() => Math.floor(Date.now() / 1000) > revokedSecond, 5_000, 20);
  });
  afterAll(async () => {
    await withoutRedis?.close();
    await withRedis?.close();
    await revokedOn?.close();
    await database?.drop();
    redis.disconnect();
  });

  const FRESH = ['with Redis', 'without Redis'] as const;
  const fresh = (name: (typeof FRESH)[number]) => (name === 'with Redis' ? withRedis : withoutRedis);

  it.each(FRESH)('a fresh instance %s refuses the old token over HTTP', async (name) => {
    const app = fresh(name);
    const result = await app.gql('{ me { id } }', {}, { token: oldToken });
    expect(result.errors?.[0]?.extensions).toEqual({ code: 'UNAUTHENTICATED', reason: 'revoked' });
  });

  it.each(FRESH)('a fresh instance %s refuses the old token at connection_init', async (name) => {
    const app = fresh(name);
    await expect(app.connect(oldToken)).rejects.toMatchObject({ code: 4401, reason: 'Token revoked' });
  });

  it.each(FRESH)('a fresh instance %s refuses the old token over SSE', async (name) => {
    const app = fresh(name);
    const stream = await openSse(app.url, ORDER_EVENTS, { storeId: 'acme-downtown' }, { token: oldToken });
    expect((await stream.next()).errors?.[0]?.extensions).toEqual({
      code: 'UNAUTHENTICATED',
      reason: 'revoked',
    });
    await stream.ended;
  });

  it('an instance the broadcast does not reach (no Redis) refuses a revoked token within REVOCATION_RECHECK_MS (docs/api.md "Sessions")', async () => {
    // The kitchen's token works on the instance without Redis, which now remembers "not revoked"...
    const kitchen = await withoutRedis.token('acme-kitchen');
    const me = () => withoutRedis.gql('{ me { id } }', {}, { token: kitchen });
    expect((await me()).errors).toBeUndefined();
    // ...and an admin revokes it on the instance with Redis, whose broadcast never reaches it.
    const revoked = await withRedis.gql(
      REVOKE,
      { userId: 'acme-kitchen' },
      { token: await withRedis.token('acme-admin') },
    );
    expect(revoked.errors).toBeUndefined();
    const revokedAt = Date.now();
    await eventually(async () => (await me()).errors?.[0]?.extensions?.reason === 'revoked', 20_000, 100);
    // Remembered at most REVOCATION_RECHECK_MS; the rest is slack for a loaded machine.
    expect(Date.now() - revokedAt).toBeLessThan(REVOCATION_RECHECK_MS + 3_000);
  });

  it.each(FRESH)('a fresh instance %s serves a token issued after the revocation', async (name) => {
    const app = fresh(name);
    const newToken = await app.token('acme-staff');
    const http = await app.gql<{ me: { id: string } }>('{ me { id } }', {}, { token: newToken });
    expect(http.data?.me.id).toBe('acme-staff');
    const socket = await app.connect(newToken);
    await socket.dispose();
    const stream = await openSse(app.url, ORDER_EVENTS, { storeId: 'acme-downtown' }, { token: newToken });
    await eventually(() => app.server.sessions.watched() === 1);
    expect(stream.events).toEqual([]);
    await stream.close();
  });
});
