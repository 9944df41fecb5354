import { randomUUID } from 'node:crypto';
import { createClient as createSseClient } from 'graphql-sse';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createRevocationStore, type RevocationStore } from '../../src/auth/revocation';
import { signToken, type TokenClaimsInput } from '../../src/auth/tokens';
import { createExpediterClient } from '../../src/client/client';
import { OrderUpdatesDocument, type OrderUpdatesSubscription } from '../../src/client/gql/graphql';
import { createPubSub } from '../../src/events/create-pubsub';
import { broadcastsOver } from '../../src/events/publisher';
import type { PubSub } from '../../src/events/pubsub';
import { createLogger } from '../../src/observability/logger';
import { createOrder, sample, scrape } from '../ops/support';
import { eventually } from '../support/eventually';
import {
  connectClient,
  type Subscription,
  TEST_JWT_SECRET,
  TEST_REDIS_URL,
  type TestServer,
  uniqueRedisPrefix,
  useInstances,
  type WsClient,
} from '../support/server';

/**
 * Live token refresh over real sockets, on two instances sharing Redis: `refreshConnectionToken` replaces a
 * graphql-ws connection's token without closing it; what it refuses leaves the old token in place; and the
 * client helper renews a 5-second token for 30 seconds without a close, a lost or a duplicated event.
 */

const REFRESH = `mutation ($token: String!) { refreshConnectionToken(token: $token) { userId expiresAt } }`;
const ORDERS = `subscription { orderUpdated(storeId: "acme-downtown") { cursor kind order { id } } }`;
const ME = 'query { me { id } }';

type OrderEvent = { orderUpdated: { cursor: string; kind: string; order: { id: string } } };
type GqlError = { message: string; extensions?: Record<string, unknown> };

const ENV = { RATE_LIMIT_MUTATIONS: '100000', RATE_LIMIT_HTTP_PER_IP: '100000' };

const MANAGER: TokenClaimsInput = { sub: 'acme-manager', tid: 'acme', roles: ['MANAGER'], stores: '*' };
const STAFF: TokenClaimsInput = {
  sub: 'acme-staff',
  tid: 'acme',
  roles: ['STAFF'],
  stores: ['acme-downtown'],
};

const sign = (claims: TokenClaimsInput, overrides: Partial<TokenClaimsInput> = {}) =>
  signToken({ ...claims, ...overrides }, { secret: TEST_JWT_SECRET });
const expiryOf = (token: string) =>
  (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { exp: number }).exp;

/** One operation over the connection: its data, or its errors' codes and reasons. */
async function over(client: WsClient, query: string, variables?: Record<string, unknown>) {
  const result = await client.subscribe<Record<string, unknown>>(query, variables).next();
  return {
    data: result.data ?? undefined,
    errors: result.errors?.map((e) => ({
      code: e.extensions?.code,
      ...(e.extensions?.reason !== undefined && { reason: e.extensions.reason }),
    })),
  };
}

/** Every event of a subscription, in order, as it arrives. */
function collect(events: Subscription<OrderEvent>): OrderEvent['orderUpdated'][] {
  const received: OrderEvent['orderUpdated'][] = [];
  void (async () => {
    for (;;) {
      const result = await events.next(120_000).catch(() => undefined);
      if (!result?.data) return;
      received.push(result.data.orderUpdated);
    }
  })();
  return received;
}

/**
 * Places orders (appended to `created`) until one of them is seen: the subscription is live from that one on.
 * Returns its index in `created`.
 */
async function placeOrdersUntilLive(
  app: TestServer,
  token: string,
  created: string[],
  seen: () => string[],
): Promise<number> {
  await eventually(async () => {
    const id = await createOrder(app, token);
    created.push(id);
    return eventually(() => seen().includes(id), 3000).then(
      () => true,
      () => false,
    );
  }, 20_000);
  return created.length - 1;
}

describe('refreshConnectionToken on two instances', () => {
  const redisPrefix = uniqueRedisPrefix();
  const [a, b] = useInstances(2, { redisPrefix, env: ENV }) as [TestServer, TestServer];
  let staffToken: string;
  let revocationPubSub: PubSub;
  let revocations: RevocationStore;

  beforeAll(async () => {
    staffToken = await a.token('acme-staff');
    // Revocations made elsewhere (another instance, an admin tool), broadcast to every instance through Redis.
    const logger = createLogger('silent');
    revocationPubSub = await createPubSub({ redisUrl: TEST_REDIS_URL, keyPrefix: redisPrefix, logger });
    revocations = createRevocationStore({
      redis: revocationPubSub.redis?.(),
      broadcasts: broadcastsOver(revocationPubSub),
      logger,
    });
  });
  afterAll(async () => {
    await revocations?.close();
    await revocationPubSub?.close();
  });

  it('replaces the token: subscriptions go on past the old expiry, and the socket closes at the new one', async () => {
    const first = await sign(MANAGER, { expiresIn: 10 });
    const client = await a.connect(first, { storeId: 'acme-downtown' });
    let closedAt = 0;
    const closed = client.closed.then((event) => {
      closedAt = Date.now();
      return event;
    });
    const received = collect(client.subscribe<OrderEvent>(ORDERS));
    const created: string[] = [];
    const createdSeen = () => received.filter((e) => e.kind === 'CREATED').map((e) => e.order.id);
    // The subscription runs on the old token before the token is replaced.
    await eventually(
      async () =>
        sample(await scrape(a.url), 'expediter_subscriptions_active', { field: 'orderUpdated' }) >= 1,
    );

    const second = await sign(MANAGER, { expiresIn: 25 });
    const renewed = await over(client, REFRESH, { token: second });
    expect(renewed).toEqual({
      data: {
        refreshConnectionToken: {
          userId: 'acme-manager',
          expiresAt: new Date(expiryOf(second) * 1000).toISOString(),
        },
      },
      errors: undefined,
    });

    // Delivering: an order placed on the other instance reaches it.
    const liveFrom = await placeOrdersUntilLive(b, staffToken, created, createdSeen);

    // The old token's expiry passes; the connection and its subscription go on.
    await eventually(() => Date.now() > expiryOf(first) * 1000 + 300, 10_000);
    const afterOldExpiry = await createOrder(b, staffToken);
    created.push(afterOldExpiry);
    await eventually(() => createdSeen().includes(afterOldExpiry));
    expect(closedAt).toBe(0);

    // The socket now closes at the new token's expiry, with 4401.
    expect(await closed).toMatchObject({ code: 4401 });
    expect(closedAt).toBeGreaterThanOrEqual(expiryOf(second) * 1000 - 50);
    expect(createdSeen()).toEqual(created.slice(liveFrom));
    expect(new Set(received.map((e) => e.cursor)).size).toBe(received.length);
  }, 60_000);

  it('refuses another user, an expired, revoked, invalid or not later token and a narrower one, keeping the old token', async () => {
    const currentJti = randomUUID();
    const current = await sign(MANAGER, { expiresIn: 3600, jti: currentJti });
    const client = await a.connect(current, { storeId: 'acme-downtown' });
    const revokedJti = randomUUID();
    const revoked = await sign(MANAGER, { expiresIn: 7200, jti: revokedJti });
    await revocations.revokeToken(revokedJti, expiryOf(revoked));

    const attempts: Array<[string, string]> = [
      ['another user', await sign(STAFF, { expiresIn: 7200 })],
      [
        'another tenant',
        await sign({ ...MANAGER, sub: 'globex-manager', tid: 'globex' }, { expiresIn: 7200 }),
      ],
      ['expired', await sign(MANAGER, { expiresIn: -60 })],
      ['revoked', revoked],
      ['badly signed', `${(await sign(MANAGER, { expiresIn: 7200 })).slice(0, -4)}AAAA`],
      ['not a token', 'not-a-token'],
      ['not later', await sign(MANAGER, { expiresIn: 1800 })],
      ['without the current store', await sign(MANAGER, { expiresIn: 7200, stores: ['acme-uptown'] })],
      ['fewer roles', await sign(MANAGER, { expiresIn: 7200, roles: ['STAFF'] })],
      ['other stations', await sign(MANAGER, { expiresIn: 7200, stations: ['acme-downtown-grill'] })],
    ];
    const outcomes: Record<string, unknown> = {};
    for (const [name, token] of attempts) outcomes[name] = (await over(client, REFRESH, { token })).errors;
    expect(outcomes).toEqual({
      'another user': [{ code: 'FORBIDDEN' }],
      'another tenant': [{ code: 'FORBIDDEN', reason: 'store_not_allowed' }], // its token allows no acme store
      expired: [{ code: 'UNAUTHENTICATED', reason: 'expired' }],
      revoked: [{ code: 'UNAUTHENTICATED', reason: 'revoked' }],
      'badly signed': [{ code: 'UNAUTHENTICATED', reason: 'bad_signature' }],
      'not a token': [{ code: 'UNAUTHENTICATED', reason: 'malformed' }],
      'not later': [{ code: 'BAD_USER_INPUT' }],
      'without the current store': [{ code: 'FORBIDDEN', reason: 'store_not_allowed' }],
      'fewer roles': [{ code: 'FORBIDDEN' }],
      'other stations': [{ code: 'FORBIDDEN' }],
    });

    // A connection without a current store may not narrow its stores either.
    const everyStore = await a.connect(await sign(MANAGER, { expiresIn: 3600 }));
    const narrower = await over(everyStore, REFRESH, {
      token: await sign(MANAGER, { expiresIn: 7200, stores: ['acme-downtown'] }),
    });
    expect(narrower.errors).toEqual([{ code: 'FORBIDDEN' }]);

    // Still the old token: the same user, and revoking the old token (elsewhere) ends the connection.
    expect((await over(client, ME)).data).toEqual({ me: { id: 'acme-manager' } });
    await revocations.revokeToken(currentJti, expiryOf(current));
    expect(await client.closed).toMatchObject({ code: 4401 });
    await everyStore.dispose();
  });

  it('follows the new token for revocations on every instance: the old one no longer ends the connection', async () => {
    const oldJti = randomUUID();
    const newJti = randomUUID();
    const oldToken = await sign(MANAGER, { expiresIn: 3600, jti: oldJti });
    const client = await a.connect(oldToken);
    const renewed = await over(client, REFRESH, {
      token: await sign(MANAGER, { expiresIn: 7200, jti: newJti }),
    });
    expect(renewed.errors).toBeUndefined();

    await revocations.revokeToken(oldJti, expiryOf(oldToken));
    // The revocation has reached instance a once a new connection with the old token is refused there.
    await expect(connectClient(a.wsUrl, { authorization: `Bearer ${oldToken}` })).rejects.toMatchObject({
      code: 4401,
    });
    expect((await over(client, ME)).data).toEqual({ me: { id: 'acme-manager' } });

    await revocations.revokeToken(newJti, Math.floor(Date.now() / 1000) + 7200);
    expect(await client.closed).toMatchObject({ code: 4401 });
  });

  it('is BAD_USER_INPUT over HTTP and SSE: those renew by sending the new token (SSE: reconnecting with its cursor)', async () => {
    const token = await sign(MANAGER, { expiresIn: 3600 });
    const later = await sign(MANAGER, { expiresIn: 7200 });
    const http = await b.gql(REFRESH, { token: later }, { token });
    expect(http.errors?.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
    expect(http.data).toBeFalsy();

    const sse = createSseClient({
      url: `${a.url}/graphql`,
      singleConnection: false,
      headers: { authorization: `Bearer ${token}` },
    });
    try {
      const iterator = sse.iterate({ query: REFRESH, variables: { token: later } });
      const codes = await iterator.next().then(
        ({ value }) => value?.errors?.map((e: GqlError) => e.extensions?.code),
        (error: unknown) => ((error as { errors?: GqlError[] }).errors ?? []).map((e) => e.extensions?.code),
      );
      expect(codes).toEqual(['BAD_USER_INPUT']);
    } finally {
      sse.dispose();
    }
  });
});

describe('expediter/client renews its token before it expires', () => {
  // The client's instance (a) runs trusted documents only, as in production: the renewal is sent by hash.
  const trustedOnly = { TRUSTED_DOCUMENTS: 'require' };
  const [a, b] = useInstances([trustedOnly, {}], { env: ENV }) as [TestServer, TestServer];
  let staff: string;

  beforeAll(async () => {
    staff = await b.token('acme-staff');
    // Tens of seconds of orders outlast the demo's fries: stock them for every run.
    const restocked = await b.gql(
      'mutation { restockInventory(itemId: "acme-downtown-fries-stock", quantity: 10000) { id } }',
      {},
      { token: await b.token('acme-manager') },
    );
    expect(restocked.errors).toBeUndefined();
  });

  /**
   * The client on instance a, following acme-downtown's orders with tokens from `mint`, while orders placed on
   * instance b keep coming for `forMs`, a few a second. Returns what it saw: every order placed once the
   * subscription was live must have arrived once, in order (checked here), whatever happened to the socket.
   */
  async function ordersFollowed(forMs: number, mint: (refresh: boolean) => Promise<string>) {
    const tokenRequests: boolean[] = [];
    let connects = 0;
    const closeCodes: number[] = [];
    const client = createExpediterClient({
      url: a.wsUrl,
      webSocketImpl: WebSocket,
      storeId: 'acme-downtown',
      getToken: ({ refresh }) => {
        tokenRequests.push(refresh);
        return mint(refresh);
      },
      on: { connected: () => connects++, closed: (event) => closeCodes.push((event as CloseEvent).code) },
    });
    const received: OrderUpdatesSubscription['orderUpdated'][] = [];
    let failure: unknown;
    const stop = client.subscribe(
      OrderUpdatesDocument,
      { storeId: 'acme-downtown' },
      { next: ({ orderUpdated }) => received.push(orderUpdated), error: (error) => (failure = error) },
    );
    const createdSeen = () => received.filter((e) => e.kind === 'CREATED').map((e) => e.order.id);
    try {
      const created: string[] = [];
      const liveFrom = await placeOrdersUntilLive(b, staff, created, createdSeen);
      const startedAt = Date.now();
      // The pause paces the producer; nothing waits on it.
      while (Date.now() - startedAt < forMs) {
        const id = await createOrder(b, staff);
        created.push(id);
        await eventually(() => failure !== undefined || createdSeen().includes(id), 10_000);
        expect(failure).toBeUndefined();
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      expect(createdSeen()).toEqual(created.slice(liveFrom));
      expect(new Set(received.map((e) => e.cursor)).size).toBe(received.length);
      return { connects, closeCodes, tokenRequests };
    } finally {
      stop();
      await client.dispose();
    }
  }

  it('keeps one connection for 30 s on tokens living 5 s: no close, no lost or duplicated event', async () => {
    const { connects, closeCodes, tokenRequests } = await ordersFollowed(30_000, () =>
      sign(MANAGER, { expiresIn: 5 }),
    );
    expect({ connects, closeCodes }).toEqual({ connects: 1, closeCodes: [] });
    // One token to connect, then renewals: 30 s of 5-second tokens renewed after 50-70 % of their life.
    expect(tokenRequests[0]).toBe(false);
    expect(tokenRequests.slice(1).every((refresh) => refresh)).toBe(true);
    expect(tokenRequests.length).toBeGreaterThanOrEqual(1 + 6);
  }, 90_000);

  it('falls back to reconnect-and-resume when the server refuses a renewal: no lost or duplicated event', async () => {
    // The app's sign-in now hands out tokens for the one store (issue 17: a narrower token is refused as a
    // renewal, FORBIDDEN): the renewal fails, the client reconnects with it and resumes from its cursor, and
    // renews the new connection from then on.
    const { connects, closeCodes, tokenRequests } = await ordersFollowed(15_000, (refresh) =>
      sign(MANAGER, { expiresIn: 5, ...(refresh && { stores: ['acme-downtown'] }) }),
    );
    // One close, the client's own (graphql-ws's terminate, 4499), before the first token ran out (4401).
    expect({ connects, closeCodes }).toEqual({ connects: 2, closeCodes: [4499] });
    // The connect, the refused renewal, the reconnect, then renewals of the new connection.
    expect(tokenRequests.slice(0, 3)).toEqual([false, true, true]);
    expect(tokenRequests.length).toBeGreaterThanOrEqual(3 + 2);
  }, 90_000);
});
