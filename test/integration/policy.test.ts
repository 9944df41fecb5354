import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Role } from '../../src/auth/principal';
import { signToken } from '../../src/auth/tokens';
import { SYSTEM_NOTIFICATION_KINDS } from '../../src/domain/notifications';
import { startTestServer, TEST_JWT_SECRET, type TestServer, tokensFor } from '../support/server';
import { openSse } from '../support/sse';

// What a restaurant operator expects of who may do what, over HTTP, where each of these was possible:
// customers do not set priority, "everyone in the store" means its staff unless the sender includes customers,
// people cannot send the system's notification kinds, and managers end the sessions of their own stores' staff
// and kitchen devices only.

const CREATE_ORDER = /* GraphQL */ `
  mutation ($input: CreateOrderInput!) { createOrder(input: $input) { id priority } }
`;
const SEND = /* GraphQL */ `
  mutation ($input: SendNotificationInput!) { sendNotification(input: $input) { id kind } }
`;
const REVOKE = 'mutation ($userId: ID!) { revokeSessions(userId: $userId) { userId } }';

type Refusal = { errors?: Array<{ extensions?: Record<string, unknown> }> };
const codeOf = (result: Refusal) => result.errors?.[0]?.extensions?.code;

describe('who may do what', () => {
  let app: TestServer;
  let tokens: Record<string, string>;
  beforeAll(async () => {
    app = await startTestServer();
    tokens = await tokensFor(app, ['acme-admin', 'acme-manager', 'acme-staff', 'acme-customer']);
  });
  afterAll(() => app?.close());

  const counts = async () => {
    const db = app.server.db.db;
    return { orders: await db.order.count(), notifications: await db.notification.count() };
  };

  describe('order priority', () => {
    const order = (priority?: string) => ({
      input: {
        storeId: 'acme-downtown',
        channel: 'ONLINE',
        ...(priority && { priority }),
        items: [{ productId: 'acme-downtown-burger', quantity: 1 }],
      },
    });

    it.each(['URGENT', 'HIGH', 'LOW'])(
      'refuses a customer setting priority %s, and writes nothing',
      async (priority) => {
        const before = await counts();
        const result = await app.gql(CREATE_ORDER, order(priority), { token: tokens['acme-customer'] });
        expect(result.errors?.[0]?.extensions).toEqual({ code: 'FORBIDDEN', field: 'priority' });
        expect(await counts()).toEqual(before);
      },
    );

    it("takes a customer's order at the default priority, and staff's at any", async () => {
      for (const [user, priority, expected] of [
        ['acme-customer', undefined, 'NORMAL'],
        ['acme-customer', 'NORMAL', 'NORMAL'],
        ['acme-staff', 'URGENT', 'URGENT'],
      ] as const) {
        const result = await app.gql<{ createOrder: { priority: string } }>(CREATE_ORDER, order(priority), {
          token: tokens[user],
        });
        expect(result.errors).toBeUndefined();
        expect(result.data?.createOrder.priority).toBe(expected);
      }
    });
  });

  describe('store and tenant notifications', () => {
    const LIVE = 'subscription { notifications { notification { title includeCustomers } } }';
    const HISTORY = '{ notifications(first: 100) { edges { node { title } } } }';
    type Live = { notifications: { notification: { title: string; includeCustomers: boolean } } };
    type History = { notifications: { edges: Array<{ node: { title: string } }> } };

    const send = async (title: string, input: Record<string, unknown>) => {
      const result = await app.gql(
        SEND,
        { input: { title, body: 'b', ...input } },
        { token: tokens['acme-manager'] },
      );
      expect(result.errors).toBeUndefined();
    };
    const history = async (user: string) => {
      const result = await app.gql<History>(HISTORY, {}, { token: tokens[user] });
      return result
        .data!.notifications.edges.map((edge) => edge.node.title)
        .filter((t) => t.startsWith('9:'));
    };

    it('reach staff only, live and in history, unless the sender includes customers', async () => {
      const socket = await app.connect(tokens['acme-customer']);
      const overWs = socket.subscribe<Live>(LIVE);
      const overSse = await openSse<Live>(app.url, LIVE, {}, { token: tokens['acme-customer'] });
      const staffSocket = await app.connect(tokens['acme-staff']);
      const staffLive = staffSocket.subscribe<Live>(LIVE);
      // Subscriptions are live once a notification sent after them arrives.
      await send('9: warm-up', { audience: 'ROLE', targetRole: 'STAFF', targetStoreId: 'acme-downtown' });
      await send('9: hello customer', { audience: 'USER', targetUserId: 'acme-customer' });
      expect((await staffLive.next()).data?.notifications.notification.title).toBe('9: warm-up');
      for (const live of [overWs, overSse]) {
        expect((await live.next()).data?.notifications.notification.title).toBe('9: hello customer');
      }

      await send('9: store staff', { audience: 'STORE', targetStoreId: 'acme-downtown' });
      await send('9: tenant staff', { audience: 'TENANT' });
      await send('9: store everyone', {
        audience: 'STORE',
        targetStoreId: 'acme-downtown',
        includeCustomers: true,
      });

      for (const live of [overWs, overSse]) {
        expect((await live.next()).data?.notifications.notification).toEqual({
          title: '9: store everyone',
          includeCustomers: true,
        });
      }
      expect((await staffLive.take(3)).map((r) => r.data?.notifications.notification.title)).toEqual([
        '9: store staff',
        '9: tenant staff',
        '9: store everyone',
      ]);
      expect(await history('acme-customer')).toEqual(['9: store everyone', '9: hello customer']);
      expect((await history('acme-staff')).sort()).toEqual(
        ['9: store everyone', '9: store staff', '9: tenant staff', '9: warm-up'].sort(),
      );
      await overSse.close();
    });
  });

  describe('system notification kinds', () => {
    const message = (kind?: string) => ({
      input: {
        audience: 'ROLE',
        targetRole: 'STAFF',
        targetStoreId: 'acme-downtown',
        ...(kind && { kind }),
        title: 'Order #12 is ready',
        body: 'Made up',
        data: { orderId: 'nope' },
      },
    });

    it.each(SYSTEM_NOTIFICATION_KINDS)(
      'refuses %s from a manager or an admin, and writes nothing',
      async (kind) => {
        const before = await counts();
        for (const user of ['acme-manager', 'acme-admin']) {
          const result = await app.gql(SEND, message(kind), { token: tokens[user] });
          expect(result.errors?.[0]?.extensions).toEqual({ code: 'FORBIDDEN', field: 'kind', kind });
        }
        expect(await counts()).toEqual(before);
      },
    );

    it('sends any other kind', async () => {
      for (const kind of [undefined, 'SHIFT_CHANGE', 'ORDER_READY_SOON']) {
        const result = await app.gql<{ sendNotification: { kind: string } }>(SEND, message(kind), {
          token: tokens['acme-manager'],
        });
        expect(result.errors).toBeUndefined();
        expect(result.data?.sendNotification.kind).toBe(kind ?? 'MESSAGE');
      }
    });
  });

  describe("ending someone else's sessions", () => {
    /** Users of their own, so that revoking them leaves the demo users' tokens alone. */
    const people: Array<{ id: string; roles: Role[]; storeIds: string[] }> = [
      { id: 'acme-downtown-tablet', roles: ['KITCHEN'], storeIds: ['acme-downtown'] },
      { id: 'acme-downtown-server', roles: ['STAFF'], storeIds: ['acme-downtown'] },
      { id: 'acme-uptown-server', roles: ['STAFF'], storeIds: ['acme-uptown'] },
      { id: 'acme-everywhere-server', roles: ['STAFF'], storeIds: ['*'] },
      { id: 'acme-uptown-manager', roles: ['MANAGER'], storeIds: ['acme-uptown'] },
      { id: 'acme-shift-lead', roles: ['STAFF', 'MANAGER'], storeIds: ['acme-downtown'] },
      { id: 'acme-regular', roles: ['CUSTOMER'], storeIds: ['acme-downtown'] },
    ];
    const tokenOf = (id: string) => {
      const person = people.find((p) => p.id === id)!;
      return signToken(
        { sub: id, tid: 'acme', roles: person.roles, stores: person.storeIds },
        { secret: TEST_JWT_SECRET },
      );
    };
    beforeAll(async () => {
      await app.server.db.db.user.createMany({
        data: people.map((p) => ({
          ...p,
          tenantId: 'acme',
          name: p.id,
          email: `${p.id}@example.com`,
          stationIds: [],
        })),
      });
    });

    const revoke = async (by: string, userId: string) => app.gql(REVOKE, { userId }, { token: by });

    it("lets a manager end a lost tablet's and a server's sessions in the manager's stores", async () => {
      const tablet = await tokenOf('acme-downtown-tablet');
      const manager = tokens['acme-manager']!;
      expect((await revoke(manager, 'acme-downtown-tablet')).errors).toBeUndefined();
      expect((await revoke(manager, 'acme-everywhere-server')).errors).toBeUndefined();
      const refused = await app.gql('{ me { id } }', {}, { token: tablet });
      expect(refused.errors?.[0]?.extensions).toEqual({ code: 'UNAUTHENTICATED', reason: 'revoked' });
    });

    it.each([
      ['an admin', 'acme-admin'],
      ['another manager', 'acme-uptown-manager'],
      ['a staff member who is also a manager', 'acme-shift-lead'],
      ['a customer', 'acme-regular'],
    ])("refuses a manager ending %s's sessions", async (_who, userId) => {
      const result = await revoke(tokens['acme-manager']!, userId);
      expect(codeOf(result)).toBe('FORBIDDEN');
    });

    it("refuses a manager ending the sessions of staff outside the manager's stores", async () => {
      const uptownManager = await tokenOf('acme-uptown-manager');
      expect(codeOf(await revoke(uptownManager, 'acme-downtown-server'))).toBe('FORBIDDEN');
      expect(codeOf(await revoke(uptownManager, 'acme-everywhere-server'))).toBe('FORBIDDEN');
      expect(codeOf(await revoke(uptownManager, 'acme-manager'))).toBe('FORBIDDEN');
      expect((await revoke(uptownManager, 'acme-uptown-server')).errors).toBeUndefined();
    });

    it("answers NOT_FOUND for another tenant's user, as for no user at all", async () => {
      expect(codeOf(await revoke(tokens['acme-manager']!, 'globex-staff'))).toBe('NOT_FOUND');
      expect(codeOf(await revoke(tokens['acme-manager']!, 'nobody'))).toBe('NOT_FOUND');
    });

    it('lets staff and customers end only their own sessions', async () => {
      expect(codeOf(await revoke(tokens['acme-staff']!, 'acme-downtown-tablet'))).toBe('FORBIDDEN');
      expect(codeOf(await revoke(tokens['acme-customer']!, 'acme-regular'))).toBe('FORBIDDEN');
      const regular = await tokenOf('acme-regular');
      expect((await revoke(regular, 'acme-regular')).errors).toBeUndefined();
    });
  });
});
