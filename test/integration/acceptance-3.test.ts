import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { signToken, type TokenClaimsInput } from '../../src/auth/tokens';
import { startTestServer, TEST_JWT_SECRET, type TestServer, tokensFor } from '../support/server';

// Acceptance of issue 3 (real-time core): what the other suites leave to unit tests or do not cover, proven
// over real sockets: issuer/audience/not-before refusals at connection_init and over HTTP, the connection-init
// timeout and malformed-message close codes, cursors of another tenant or topic, another tenant's station and
// notifications, and masked unexpected errors.

const ISSUER = 'https://auth.expediter.test';
const AUDIENCE = 'expediter-api';
const staff: TokenClaimsInput = {
  sub: 'acme-staff',
  tid: 'acme',
  roles: ['STAFF'],
  stores: ['acme-downtown'],
};
const sign = (claims: Partial<TokenClaimsInput>, opts: { issuer?: string; audience?: string } = {}) =>
  signToken({ ...staff, expiresIn: '1h', ...claims }, { secret: TEST_JWT_SECRET, ...opts });

const ORDER_EVENTS = /* GraphQL */ `
  subscription ($storeId: ID!, $after: String) {
    orderUpdated(storeId: $storeId, after: $after) { cursor kind order { id storeId } }
  }
`;
const TICKET_EVENTS = /* GraphQL */ `
  subscription ($stationId: ID!, $after: String) {
    kdsTicket(stationId: $stationId, after: $after) { cursor kind ticket { id stationId } }
  }
`;
const NOTIFICATION_EVENTS = 'subscription { notifications { cursor notification { id title } } }';
const CREATE_ORDER = `mutation ($input: CreateOrderInput!) { createOrder(input: $input) { id } }`;

type OrderEvent = { orderUpdated: { cursor: string; kind: string; order: { id: string; storeId: string } } };
type TicketEvent = { kdsTicket: { cursor: string; kind: string; ticket: { id: string; stationId: string } } };

/** Opens a raw graphql-ws socket (no client library) and resolves with how the server closed it. */
function rawSocket(url: string, send?: string): Promise<{ code: number; reason: string }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, 'graphql-transport-ws');
    socket.on('open', () => {
      if (send !== undefined) socket.send(send);
    });
    socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
    socket.on('error', reject);
  });
}

describe('tokens with issuer, audience and validity window', () => {
  let app: TestServer;
  beforeAll(async () => {
    app = await startTestServer({
      env: { JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE, WS_CONNECTION_INIT_TIMEOUT_MS: '300' },
    });
  });
  afterAll(() => app?.close());

  it('acknowledges a token with the configured issuer and audience', async () => {
    const client = await app.connect(await sign({}, { issuer: ISSUER, audience: AUDIENCE }));
    await client.dispose();
  });

  const refused: Array<[string, () => Promise<string>]> = [
    ['a wrong issuer', () => sign({}, { issuer: 'https://evil.test', audience: AUDIENCE })],
    ['no issuer', () => sign({}, { audience: AUDIENCE })],
    ['a wrong audience', () => sign({}, { issuer: ISSUER, audience: 'another-api' })],
    [
      'a token not valid for another minute',
      () => sign({ notBefore: '60s' }, { issuer: ISSUER, audience: AUDIENCE }),
    ],
    ['an expired token', () => sign({ expiresIn: -60 }, { issuer: ISSUER, audience: AUDIENCE })],
  ];

  it.each(refused)('closes the socket with 4401 for %s, without echoing the token', async (_name, make) => {
    const token = await make();
    const error = await app.connect(token).then(
      () => undefined,
      (e: { code: number; reason: string }) => e,
    );
    expect(error?.code).toBe(4401);
    expect(error?.reason).not.toContain(token.split('.')[1]);
  });

  it.each(refused)('answers UNAUTHENTICATED over HTTP for %s', async (_name, make) => {
    const token = await make();
    const result = await app.gql('{ me { id } }', {}, { token });
    expect(result.data ?? null).toBeNull();
    expect(result.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(JSON.stringify(result)).not.toContain(token.split('.')[1]);
  });

  it('closes a socket that sends no connection_init within WS_CONNECTION_INIT_TIMEOUT_MS with 4408', async () => {
    expect((await rawSocket(app.wsUrl)).code).toBe(4408);
  });

  it('closes a socket that sends a malformed protocol message with 4400', async () => {
    expect((await rawSocket(app.wsUrl, '{"type":"nonsense"}')).code).toBe(4400);
  });
});

describe('adversarial: another tenant over real sockets', () => {
  let app: TestServer;
  const tokens: Record<string, string> = {};
  beforeAll(async () => {
    app = await startTestServer();
    Object.assign(
      tokens,
      await tokensFor(app, [
        'acme-admin',
        'acme-manager',
        'acme-staff',
        'globex-admin',
        'globex-manager',
        'globex-staff',
      ]),
    );
  });
  afterAll(() => app?.close());

  async function order(storeId: string, user: string) {
    const result = await app.gql<{ createOrder: { id: string } }>(
      CREATE_ORDER,
      { input: { storeId, channel: 'POS', items: [{ productId: `${storeId}-burger`, quantity: 1 }] } },
      { token: tokens[user] },
    );
    expect(result.errors).toBeUndefined();
    return result.data!.createOrder.id;
  }

  it("refuses another tenant's station and never delivers its tickets", async () => {
    const acme = await app.connect(tokens['acme-admin']);
    const foreign = await acme
      .subscribe<TicketEvent>(TICKET_EVENTS, { stationId: 'globex-central-grill' })
      .next();
    expect(foreign.data ?? null).toBeNull();
    expect(foreign.errors?.[0]?.extensions?.code).toMatch(/^(NOT_FOUND|FORBIDDEN)$/);
    expect(JSON.stringify(foreign)).not.toMatch(/Globex|Grill/);

    const own = await acme.live<TicketEvent>(TICKET_EVENTS, { stationId: 'acme-downtown-grill' });
    await order('globex-central', 'globex-staff');
    // The grill's first event is acme's own next order: globex's came before it and did not arrive.
    await order('acme-downtown', 'acme-staff');
    expect((await own.next()).data?.kdsTicket).toMatchObject({
      kind: 'ORDER_INCOMING',
      ticket: { stationId: 'acme-downtown-grill' },
    });
    await acme.dispose();
  });

  it("refuses a cursor of another tenant's stream, and one of another topic, without naming either", async () => {
    const globex = await app.connect(tokens['globex-manager']);
    const globexOrders = await globex.live<OrderEvent>(ORDER_EVENTS, { storeId: 'globex-central' });
    const globexTickets = await globex.live<TicketEvent>(TICKET_EVENTS, {
      stationId: 'globex-central-grill',
    });
    await order('globex-central', 'globex-staff');
    const orderCursor = (await globexOrders.next()).data!.orderUpdated.cursor;
    const ticketCursor = (await globexTickets.next()).data!.kdsTicket.cursor;

    const acme = await app.connect(tokens['acme-manager']);
    const foreignTenant = await acme
      .subscribe<OrderEvent>(ORDER_EVENTS, { storeId: 'acme-downtown', after: orderCursor })
      .next();
    expect(foreignTenant.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(JSON.stringify(foreignTenant)).not.toMatch(/globex/i);

    const foreignTopic = await globex
      .subscribe<OrderEvent>(ORDER_EVENTS, { storeId: 'globex-central', after: ticketCursor })
      .next();
    expect(foreignTopic.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(JSON.stringify(foreignTopic)).not.toMatch(/kds|station|grill/i);

    const tampered = await acme
      .subscribe<OrderEvent>(ORDER_EVENTS, { storeId: 'acme-downtown', after: `${orderCursor}x` })
      .next();
    expect(tampered.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    await acme.dispose();
    await globex.dispose();
  });

  it('delivers no notification of another tenant, tenant-wide or to a user id it names', async () => {
    const acme = await app.connect(tokens['acme-staff']);
    const inbox = await acme.live<{ notifications: { notification: { title: string } } }>(
      NOTIFICATION_EVENTS,
    );
    const send = (input: Record<string, unknown>) =>
      app.gql(
        'mutation ($input: SendNotificationInput!) { sendNotification(input: $input) { id } }',
        { input },
        {
          token: tokens['globex-admin'],
        },
      );
    expect((await send({ audience: 'TENANT', title: 'Globex only', body: 'b' })).errors).toBeUndefined();
    const aimed = await send({
      audience: 'USER',
      targetUserId: 'acme-staff',
      title: 'Globex to acme',
      body: 'b',
    });
    expect(aimed.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    // The inbox's first notification is acme's own: globex's came before it and did not arrive.
    const acmeNote = await app.gql(
      'mutation ($input: SendNotificationInput!) { sendNotification(input: $input) { id } }',
      { input: { audience: 'TENANT', title: 'Acme only', body: 'b' } },
      { token: tokens['acme-manager'] },
    );
    expect(acmeNote.errors).toBeUndefined();
    expect((await inbox.next()).data?.notifications.notification.title).toBe('Acme only');

    const history = await app.gql<{ notifications: { edges: { node: { title: string } }[] } }>(
      '{ notifications(first: 50) { edges { node { title } } } }',
      {},
      { token: tokens['acme-staff'] },
    );
    expect(history.data?.notifications.edges.map((e) => e.node.title)).not.toContain('Globex only');
    await acme.dispose();
  });
  it("refuses an every-store token's current store of another tenant over HTTP", async () => {
    const result = await app.gql(
      '{ me { id currentStore { id } } }',
      {},
      {
        token: tokens['acme-admin'],
        storeId: 'globex-central',
      },
    );
    expect(result.data ?? null).toBeNull();
    expect(result.errors?.[0]?.extensions?.code).toMatch(/^(FORBIDDEN|NOT_FOUND)$/);
    expect(JSON.stringify(result)).not.toContain('Globex');
  });

  it("never shows a customer another customer's order, live or on request", async () => {
    const other = await signToken(
      {
        sub: 'acme-customer-2',
        tid: 'acme',
        roles: ['CUSTOMER'],
        stores: ['acme-downtown'],
        expiresIn: '1h',
      },
      { secret: TEST_JWT_SECRET },
    );
    const owner = await app.connect(await app.token('acme-customer'));
    const intruder = await app.connect(other);
    const ownerEvents = await owner.live<OrderEvent>(ORDER_EVENTS, { storeId: 'acme-downtown' });
    const intruderEvents = await intruder.live<OrderEvent>(ORDER_EVENTS, { storeId: 'acme-downtown' });
    const placed = await app.gql<{ createOrder: { id: string } }>(
      CREATE_ORDER,
      {
        input: {
          storeId: 'acme-downtown',
          channel: 'ONLINE',
          items: [{ productId: 'acme-downtown-fries', quantity: 1 }],
        },
      },
      { token: await app.token('acme-customer') },
    );
    const orderId = placed.data!.createOrder.id;
    expect((await ownerEvents.next()).data?.orderUpdated).toMatchObject({
      kind: 'CREATED',
      order: { id: orderId },
    });
    // The intruder's first event is its own order: the other customer's came before it and did not arrive.
    const ownOrder = await app.gql<{ createOrder: { id: string } }>(
      CREATE_ORDER,
      {
        input: {
          storeId: 'acme-downtown',
          channel: 'ONLINE',
          items: [{ productId: 'acme-downtown-fries', quantity: 1 }],
        },
      },
      { token: other },
    );
    expect((await intruderEvents.next()).data?.orderUpdated).toMatchObject({
      kind: 'CREATED',
      order: { id: ownOrder.data!.createOrder.id },
    });

    const read = await app.gql(
      'query ($id: ID!) { order(id: $id) { id } }',
      { id: orderId },
      { token: other },
    );
    expect(read.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const list = await app.gql<{ orders: { edges: { node: { id: string } }[] } }>(
      '{ orders(storeId: "acme-downtown", first: 100) { edges { node { id } } } }',
      {},
      { token: other },
    );
    expect(list.data?.orders.edges).toEqual([{ node: { id: ownOrder.data!.createOrder.id } }]);
    await owner.dispose();
    await intruder.dispose();
  });
});

describe('errors', () => {
  let app: TestServer;
  let token: string;
  beforeAll(async () => {
    app = await startTestServer();
    token = await app.token('acme-manager');
  });
  afterAll(() => app?.close());

  it('puts extensions.code on validation and parse errors, over HTTP and WebSocket', async () => {
    const invalid = await app.gql('{ me { noSuchField } }', {}, { token });
    expect(invalid.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    const unparsable = await app.gql('{ me { ', {}, { token });
    expect(unparsable.errors?.[0]?.extensions?.code).toBe('GRAPHQL_PARSE_FAILED');

    const client = await app.connect(token);
    const overSocket = client.subscribe('subscription { orderUpdated(storeId: "acme-downtown") { nope } }');
    await expect(overSocket.next()).rejects.toMatchObject({
      errors: [
        {
          message: 'Cannot query field "nope" on type "OrderEvent".',
          extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
        },
      ],
    });
    await client.dispose();
  });

  it('masks an unexpected failure as INTERNAL_SERVER_ERROR without its internals', async () => {
    const db = new pg.Client({ connectionString: app.databaseUrl });
    await db.connect();
    try {
      await db.query('ALTER TABLE "DashboardSnapshot" RENAME TO "DashboardSnapshotGone"');
      const result = await app.gql(
        'query ($from: DateTime!, $to: DateTime!) { dashboardHistory(storeId: "acme-downtown", from: $from, to: $to) { takenAt } }',
        { from: new Date(Date.now() - 3_600_000).toISOString(), to: new Date().toISOString() },
        { token },
      );
      expect(result.errors?.[0]).toMatchObject({
        message: 'Unexpected error.',
        extensions: { code: 'INTERNAL_SERVER_ERROR' },
      });
      expect(JSON.stringify(result)).not.toMatch(/DashboardSnapshot|relation|prisma|stack/i);
    } finally {
      await db.query('ALTER TABLE "DashboardSnapshotGone" RENAME TO "DashboardSnapshot"');
      await db.end();
    }
  });
});
