import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signToken } from '../../src/auth/tokens';
import {
  startTestServer,
  TEST_JWT_SECRET,
  TEST_REDIS_URL,
  type TestServer,
  uniqueRedisPrefix,
} from '../support/server';

const ORDER_EVENTS = /* GraphQL */ `
  subscription ($storeId: ID!, $withItems: Boolean!) {
    orderUpdated(storeId: $storeId) { kind order { id customerId items @include(if: $withItems) { name } } }
  }
`;
const CREATE_ORDER = /* GraphQL */ `
  mutation ($input: CreateOrderInput!) { createOrder(input: $input) { id } }
`;

type OrderEvent = {
  orderUpdated: { kind: string; order: { id: string; customerId: string | null; items?: unknown[] } };
};

describe('fan-out engine on a real server', () => {
  let app: TestServer;
  let redis: Redis;
  const redisPrefix = uniqueRedisPrefix();
  beforeAll(async () => {
    app = await startTestServer({ redisUrl: TEST_REDIS_URL, redisPrefix });
    redis = new Redis(TEST_REDIS_URL);
  });
  afterAll(async () => {
    redis?.disconnect();
    await app?.close();
  });

  async function createOrder(customerId: string | null) {
    const result = await app.gql<{ createOrder: { id: string } }>(
      CREATE_ORDER,
      {
        input: {
          storeId: 'acme-downtown',
          channel: 'POS',
          customerId,
          items: [{ productId: 'acme-downtown-fries', quantity: 1 }],
        },
      },
      { token: await app.token('acme-staff') },
    );
    expect(result.errors).toBeUndefined();
    return result.data!.createOrder.id;
  }

  it('never sends a subscriber what its own scope would not allow, and keeps each shape', async () => {
    const otherCustomer = await signToken(
      { sub: 'acme-customer-2', tid: 'acme', roles: ['CUSTOMER'], stores: ['acme-downtown'] },
      { secret: TEST_JWT_SECRET },
    );
    const clients: Array<Awaited<ReturnType<TestServer['connect']>>> = [];
    const subscribe = async (token: string, withItems = false) => {
      const client = await app.connect(token);
      clients.push(client);
      return client.subscribe<OrderEvent>(ORDER_EVENTS, { storeId: 'acme-downtown', withItems });
    };
    const customer = await subscribe(await app.token('acme-customer'));
    const stranger = await subscribe(otherCustomer);
    const manager = await subscribe(await app.token('acme-manager'));
    const managerWithItems = await subscribe(await app.token('acme-manager'), true);
    await new Promise((r) => setTimeout(r, 300));
    expect(app.server.fanout?.stats()).toEqual({ groups: 4, subscribers: 4 });

    const customersOrder = await createOrder('acme-customer');
    const walkInOrder = await createOrder(null);

    const seenByManager = await manager.take(2);
    expect(seenByManager.map((r) => r.data?.orderUpdated.order)).toEqual([
      { id: customersOrder, customerId: 'acme-customer' },
      { id: walkInOrder, customerId: null },
    ]);
    const withItems = await managerWithItems.take(2);
    expect(withItems.map((r) => r.data?.orderUpdated.order.items)).toEqual([
      [{ name: 'Fries' }],
      [{ name: 'Fries' }],
    ]);
    expect((await customer.next()).data?.orderUpdated.order).toEqual({
      id: customersOrder,
      customerId: 'acme-customer',
    });
    await customer.expectSilence(300);
    await stranger.expectSilence(0);
    await Promise.all(clients.map((client) => client.dispose()));
  });

  it('closing a socket or completing a subscription releases the engine and the Redis subscription', async () => {
    const channel = `${redisPrefix}t:acme:store:acme-downtown:orders`;
    const subscribers = async () => ((await redis.pubsub('NUMSUB', channel)) as [string, number])[1];
    await waitFor(() => app.server.fanout?.stats().subscribers === 0); // the previous test's sockets
    const first = await app.connect(await app.token('acme-manager'));
    const second = await app.connect(await app.token('acme-manager'));
    const completed = first.subscribe(ORDER_EVENTS, { storeId: 'acme-downtown', withItems: false });
    second.subscribe(ORDER_EVENTS, { storeId: 'acme-downtown', withItems: false });
    await waitFor(() => app.server.fanout?.stats().subscribers === 2);
    expect(await subscribers()).toBe(1);

    await completed.close();
    await waitFor(() => app.server.fanout?.stats().subscribers === 1);
    await second.dispose();
    await waitFor(() => app.server.fanout?.stats().subscribers === 0);
    expect(app.server.fanout?.stats()).toEqual({ groups: 0, subscribers: 0 });
    await waitFor(async () => (await subscribers()) === 0);
  });
});

async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 3000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
