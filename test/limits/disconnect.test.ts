import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/eventually';
import { startTestServer, type TestServer, uniqueRedisPrefix } from '../support/server';
import { REDIS_URL } from './support';

const NOTIFICATIONS = 'subscription { notifications { notification { title } } }';

/**
 * A closing socket gives back every slot it held: its subscriptions' and its connection's per address and per
 * user (in Redis, one script for all of them: src/limits/concurrency-limiter.ts), the same without Redis.
 */
describe.each([
  ['in Redis', REDIS_URL],
  ['in memory', undefined],
])('a disconnect, %s', (_where, redisUrl) => {
  const redisPrefix = uniqueRedisPrefix();
  const redis = new Redis(REDIS_URL);
  let app: TestServer | undefined;
  afterAll(async () => {
    await app?.close();
    redis.disconnect();
  });

  it('frees every slot it held: the user connects and subscribes again at once-per-user limits', async () => {
    app = await startTestServer({
      redisUrl,
      redisPrefix,
      env: {
        WS_MAX_CONNECTIONS_PER_USER: '1',
        WS_MAX_CONNECTIONS_PER_IP: '1',
        MAX_SUBSCRIPTIONS_PER_USER: '1',
      },
    });
    const token = await app.token('acme-manager');
    const client = await app.connect(token);
    await client.live(NOTIFICATIONS);
    // Every budget is full: a second connection is refused.
    await expect(app.connect(token)).rejects.toMatchObject({ code: 4429 });
    const slotKeys = [
      `${redisPrefix}limits:slots:subscriptions:user:acme:acme-manager`,
      `${redisPrefix}limits:slots:ws-ip:127.0.0.1`,
      `${redisPrefix}limits:slots:ws-user:acme:acme-manager`,
    ];
    if (redisUrl) {
      expect(await Promise.all(slotKeys.map((key) => redis.zcard(key)))).toEqual([1, 1, 1]);
    }

    await client.dispose();
    if (redisUrl) {
      await eventually(async () =>
        (await Promise.all(slotKeys.map((key) => redis.zcard(key)))).every((n) => n === 0),
      );
    }
    // The same user, from the same address: connected and subscribed again.
    const again = await eventually(() => app!.connect(token));
    await again.live(NOTIFICATIONS);
  });
});
