import { describe, expect, it } from 'vitest';
import { signToken } from '../../src/auth/tokens';
import { eventually } from '../support/eventually';
import { TEST_JWT_SECRET, type TestServer, useInstances } from '../support/server';
import { openSse, type SseStream, within } from '../support/sse';

// A session (the principal of a connection or request) ends when its token expires or is revoked, on every
// transport and every instance: a graphql-ws socket closes with 4401, an SSE stream gets one last result, an
// UNAUTHENTICATED error, and the response ends.

const ORDER_EVENTS = /* GraphQL */ `
  subscription ($storeId: ID!) { orderUpdated(storeId: $storeId) { kind order { id } } }
`;
const CREATE_ORDER = /* GraphQL */ `
  mutation ($input: CreateOrderInput!) { createOrder(input: $input) { id } }
`;
const REVOKE = 'mutation ($userId: ID!) { revokeSessions(userId: $userId) { userId revokedAt } }';

type OrderEvent = { orderUpdated: { kind: string; order: { id: string } } };

/** Ends are pushed (revocation broadcast, expiry timer): this bound only keeps a loaded machine from flaking. */
const END_BOUND_MS = 5_000;

/** Tokens carry `iat` in whole seconds, and a revocation covers tokens of its own second. */
async function untilSecondAfter(isoInstant: string): Promise<void> {
  const second = Math.floor(Date.parse(isoInstant) / 1000);
  await eventually(() => Math.floor(Date.now() / 1000) > second, 5_000, 20);
}

async function expectEndedBy(stream: SseStream<OrderEvent>, reason: 'revoked' | 'expired') {
  let last = await stream.next(END_BOUND_MS);
  while (last.data) last = await stream.next(END_BOUND_MS); // events that were on their way
  expect(last.data ?? null).toBeNull();
  expect(last.errors).toEqual([expect.objectContaining({ extensions: { code: 'UNAUTHENTICATED', reason } })]);
  await within(stream.ended, END_BOUND_MS, 'SSE response end');
  expect(stream.events.at(-1)?.event).toBe('complete');
}

describe('session lifecycle on two instances sharing Redis', () => {
  const [a, b] = useInstances(2) as [TestServer, TestServer];

  async function order(app: TestServer, token: string): Promise<string> {
    const result = await app.gql<{ createOrder: { id: string } }>(
      CREATE_ORDER,
      {
        input: {
          storeId: 'acme-downtown',
          channel: 'POS',
          items: [{ productId: 'acme-downtown-burger', quantity: 1 }],
        },
      },
      { token },
    );
    expect(result.errors).toBeUndefined();
    return result.data!.createOrder.id;
  }

  /** An SSE subscription that has delivered one live event (so it is known to be live). */
  async function liveSse(
    app: TestServer,
    token: string,
    orderingToken: string,
  ): Promise<SseStream<OrderEvent>> {
    const stream = await openSse<OrderEvent>(app.url, ORDER_EVENTS, { storeId: 'acme-downtown' }, { token });
    expect(stream.status).toBe(200);
    const id = await order(a, orderingToken);
    await eventually(async () => {
      const event = await stream.next(END_BOUND_MS);
      return event.data?.orderUpdated.order.id === id;
    }, END_BOUND_MS);
    return stream;
  }

  it('revokeSessions on one instance ends the user’s SSE streams and sockets on both, then a new token works', async () => {
    const admin = await a.token('acme-admin');
    const staff = await a.token('acme-staff');
    const streamOnA = await liveSse(a, staff, admin);
    const streamOnB = await liveSse(b, staff, admin);
    const socketOnB = await b.connect(staff);
    const otherUser = await liveSse(b, await b.token('acme-kitchen'), admin);

    const revoked = await a.gql<{ revokeSessions: { revokedAt: string } }>(
      REVOKE,
      { userId: 'acme-staff' },
      { token: admin },
    );
    expect(revoked.errors).toBeUndefined();

    await expectEndedBy(streamOnA, 'revoked');
    await expectEndedBy(streamOnB, 'revoked');
    expect((await within(socketOnB.closed, END_BOUND_MS, 'socket close')).code).toBe(4401);
    // Another user's stream on the same instance goes on.
    const stillLive = await order(b, admin);
    expect((await otherUser.next(END_BOUND_MS)).data?.orderUpdated.order.id).toBe(stillLive);
    await otherUser.close();

    // The old token opens nothing any more; one issued after the revocation does.
    const refused = await openSse(b.url, ORDER_EVENTS, { storeId: 'acme-downtown' }, { token: staff });
    expect((await refused.next()).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    await untilSecondAfter(revoked.data!.revokeSessions.revokedAt);
    const fresh = await liveSse(b, await b.token('acme-staff'), admin);
    await fresh.close();

    await eventually(() => a.server.sessions.watched() === 0 && b.server.sessions.watched() === 0);
  });

  it('ends an SSE stream and a socket when their token expires, and releases the session', async () => {
    const claims = { sub: 'acme-manager', tid: 'acme', roles: ['MANAGER'] as const, stores: '*' as const };
    const shortLived = await signToken({ ...claims, expiresIn: 2 }, { secret: TEST_JWT_SECRET });
    const stream = await openSse<OrderEvent>(
      b.url,
      ORDER_EVENTS,
      { storeId: 'acme-downtown' },
      { token: shortLived },
    );
    const socket = await a.connect(shortLived);

    await expectEndedBy(stream, 'expired');
    expect((await within(socket.closed, END_BOUND_MS, 'socket close')).code).toBe(4401);
    await eventually(() => a.server.sessions.watched() === 0 && b.server.sessions.watched() === 0);
  });

  it('refuses a token from its exp on over HTTP, WebSocket and SSE alike (no leeway on any of them)', async () => {
    const claims = { sub: 'acme-manager', tid: 'acme', roles: ['MANAGER'] as const, stores: '*' as const };
    const expired = await signToken({ ...claims, expiresIn: -2 }, { secret: TEST_JWT_SECRET });

    const http = await a.gql('{ me { id } }', {}, { token: expired });
    expect(http.errors?.[0]?.extensions).toEqual({ code: 'UNAUTHENTICATED', reason: 'expired' });
    await expect(a.connect(expired)).rejects.toMatchObject({ code: 4401, reason: 'Token expired' });
    const sse = await openSse(a.url, ORDER_EVENTS, { storeId: 'acme-downtown' }, { token: expired });
    expect((await sse.next()).errors?.[0]?.extensions).toEqual({
      code: 'UNAUTHENTICATED',
      reason: 'expired',
    });
  });

  it('releases the session of an SSE stream the client leaves, and watches no plain request', async () => {
    const manager = await a.token('acme-manager');
    const stream = await openSse(a.url, ORDER_EVENTS, { storeId: 'acme-uptown' }, { token: manager });
    await eventually(() => a.server.sessions.watched() === 1);
    await stream.close();
    await eventually(() => a.server.sessions.watched() === 0);

    expect((await a.gql('{ me { id } }', {}, { token: manager })).errors).toBeUndefined();
    expect(a.server.sessions.watched()).toBe(0);
  });
});
