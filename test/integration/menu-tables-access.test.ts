import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signToken } from '../../src/auth/tokens';
import { TEST_JWT_SECRET, useTestServer, type WsClient } from '../support/server';

// Who may do what with the menu and the tables (issue 16), every allowed and every refused case, over HTTP
// (queries and mutations as POST, subscriptions as SSE) and over graphql-ws (every operation on one socket).

type Outcome = 'ok' | 'FORBIDDEN' | 'NOT_FOUND' | 'UNAUTHENTICATED';

const { app, tokens } = useTestServer();

/** Principals besides the demo users: a kitchen device of the bar, one bound to no station, a one-store manager. */
const EXTRA = {
  'bar-kitchen': {
    sub: 'acme-bar-kitchen',
    roles: ['KITCHEN'],
    stores: ['acme-downtown'],
    stations: ['acme-downtown-bar'],
  },
  'unbound-kitchen': { sub: 'acme-unbound-kitchen', roles: ['KITCHEN'], stores: ['acme-downtown'] },
  'uptown-manager': { sub: 'acme-uptown-manager', roles: ['MANAGER'], stores: ['acme-uptown'] },
} as const;

const GUEST_TABLE = 'acme-downtown-3';

beforeAll(async () => {
  for (const [name, claims] of Object.entries(EXTRA)) {
    tokens[name] = await signToken({ tid: 'acme', ...claims }, { secret: TEST_JWT_SECRET });
  }
  await app.data(SEAT, { tableId: GUEST_TABLE, partySize: 2 }, { token: tokens['acme-staff'] });
  const issued = await app.data<{ issueTableToken: { token: string } }>(
    ISSUE,
    { tableId: GUEST_TABLE },
    { token: tokens['acme-staff'] },
  );
  tokens.guest = issued.issueTableToken.token;
});

const sockets = new Map<string, WsClient>();
afterAll(() => Promise.all([...sockets.values()].map((socket) => socket.dispose())));

const PRODUCT = 'id name available unavailableReason';
const CREATE = `mutation ($input: CreateProductInput!) { createProduct(input: $input) { ${PRODUCT} } }`;
const UPDATE = `mutation ($input: UpdateProductInput!) { updateProduct(input: $input) { ${PRODUCT} description } }`;
const AVAILABILITY = `mutation ($productId: ID!, $available: Boolean!, $reason: String) {
  setProductAvailability(productId: $productId, available: $available, reason: $reason) { ${PRODUCT} }
}`;
const MENU = `query ($id: ID!, $all: Boolean) { store(id: $id) { products(includeArchived: $all) { ${PRODUCT} active } } }`;
const MENU_UPDATED = `subscription ($storeId: ID!) { menuUpdated(storeId: $storeId) { cursor kind } }`;
const TABLES = `query ($storeId: ID) { tables(storeId: $storeId) { id number status } }`;
const SEAT = `mutation ($tableId: ID!, $partySize: Int!) { seatTable(tableId: $tableId, partySize: $partySize) { id status } }`;
const SET_STATUS = `mutation ($tableId: ID!, $status: TableStatus!) { setTableStatus(tableId: $tableId, status: $status) { id status } }`;
const ISSUE = `mutation ($tableId: ID!) { issueTableToken(tableId: $tableId) { token tableId expiresAt } }`;
const TABLE_UPDATED = `subscription ($storeId: ID!) { tableUpdated(storeId: $storeId) { cursor kind } }`;

type Transport = 'http' | 'ws';
type Result = {
  data?: unknown;
  errors?: ReadonlyArray<{ message: string; extensions?: { code?: unknown } }>;
};

async function socketOf(user: string): Promise<WsClient> {
  let socket = sockets.get(user);
  if (!socket) {
    socket = await app.connect(tokens[user]);
    sockets.set(user, socket);
  }
  return socket;
}

/** A query or mutation as `user` over the transport. */
async function run(transport: Transport, user: string | undefined, query: string, variables: object) {
  const vars = variables as Record<string, unknown>;
  if (transport === 'http') return (await app.gql(query, vars, { token: user && tokens[user] })) as Result;
  return (await (await socketOf(user as string)).subscribe(query, vars).next()) as Result;
}

/** The outcome of a subscription: 'ok' once the server counts it live, else the code it was refused with. */
async function subscribeAs(transport: Transport, user: string, query: string, variables: object) {
  const vars = variables as Record<string, unknown>;
  const subscriber = transport === 'http' ? app.sse(tokens[user] as string) : await socketOf(user);
  const subscription = subscriber.subscribe(query, vars);
  const first = await Promise.race([
    subscription.live().then(() => 'live' as const),
    subscription.next().then((result) => result as Result),
  ]);
  await subscription.close();
  if (first === 'live') return 'ok';
  return outcomeOf(first);
}

/** Every role of acme-downtown, a table guest included, and a manager of another store of the tenant. */
const EVERYONE_OF_THE_STORE: Record<string, Outcome> = {
  'acme-admin': 'ok',
  'acme-manager': 'ok',
  'acme-staff': 'ok',
  'acme-kitchen': 'ok',
  'acme-customer': 'ok',
  guest: 'ok',
  'uptown-manager': 'FORBIDDEN',
};

function outcomeOf(result: Result): Outcome {
  if (!result.errors) {
    expect(result.data).toBeTruthy();
    return 'ok';
  }
  expect(result.data ?? null, JSON.stringify(result)).toBeNull();
  return result.errors[0]?.extensions?.code as Outcome;
}

/** Runs `attempt` for every user and compares the outcomes with the expectation (one message for all). */
async function expectOutcomes(
  expected: Record<string, Outcome>,
  attempt: (user: string) => Promise<Outcome>,
): Promise<void> {
  const actual: Record<string, Outcome> = {};
  for (const user of Object.keys(expected)) actual[user] = await attempt(user);
  expect(actual).toEqual(expected);
}

const STORE = 'acme-downtown';
const BURGER = 'acme-downtown-burger';
const LEMONADE = 'acme-downtown-lemonade';

describe.each(['http', 'ws'] as const)('over %s', (transport) => {
  it('createProduct and updateProduct: ADMIN and MANAGER of the store; a foreign tenant finds nothing', async () => {
    const expected: Record<string, Outcome> = {
      'acme-admin': 'ok',
      'acme-manager': 'ok',
      'acme-staff': 'FORBIDDEN',
      'acme-kitchen': 'FORBIDDEN',
      'acme-customer': 'FORBIDDEN',
      guest: 'FORBIDDEN',
      'uptown-manager': 'FORBIDDEN',
      'globex-manager': 'NOT_FOUND',
    };
    await expectOutcomes(expected, async (user) =>
      outcomeOf(
        await run(transport, user, CREATE, {
          input: {
            storeId: STORE,
            name: `New by ${user}`,
            priceCents: 100,
            stationId: 'acme-downtown-grill',
          },
        }),
      ),
    );
    await expectOutcomes(expected, async (user) =>
      outcomeOf(
        await run(transport, user, UPDATE, {
          input: { productId: 'acme-downtown-fries', description: `Edited by ${user} over ${transport}` },
        }),
      ),
    );
  });

  it('setProductAvailability: STAFF and up; KITCHEN only for products routed to its stations', async () => {
    const toggle = async (user: string, productId: string): Promise<Outcome> => {
      const off = outcomeOf(
        await run(transport, user, AVAILABILITY, { productId, available: false, reason: `by ${user}` }),
      );
      if (off !== 'ok') return off;
      return outcomeOf(await run(transport, user, AVAILABILITY, { productId, available: true }));
    };
    await expectOutcomes(
      {
        'acme-admin': 'ok',
        'acme-manager': 'ok',
        'acme-staff': 'ok',
        'acme-kitchen': 'ok', // the burger is made at the grill, its station
        'bar-kitchen': 'FORBIDDEN',
        'unbound-kitchen': 'FORBIDDEN',
        'acme-customer': 'FORBIDDEN',
        guest: 'FORBIDDEN',
        'uptown-manager': 'FORBIDDEN',
        'globex-staff': 'NOT_FOUND',
        'globex-manager': 'NOT_FOUND',
      },
      (user) => toggle(user, BURGER),
    );
    await expectOutcomes({ 'bar-kitchen': 'ok', 'acme-kitchen': 'FORBIDDEN' }, (user) =>
      toggle(user, LEMONADE),
    );
    const menu = await app.data<{ store: { products: { id: string; available: boolean }[] } }>(
      MENU,
      { id: STORE },
      { token: tokens['acme-staff'] },
    );
    expect(menu.store.products.filter((product) => !product.available)).toEqual([]);
  });

  it('the menu: everyone of the store reads the active menu; archived products only staff', async () => {
    const store: Record<string, Outcome> = { ...EVERYONE_OF_THE_STORE, 'globex-customer': 'NOT_FOUND' };
    await expectOutcomes(store, async (user) => outcomeOf(await run(transport, user, MENU, { id: STORE })));
    await expectOutcomes({ ...store, 'acme-customer': 'FORBIDDEN', guest: 'FORBIDDEN' }, async (user) =>
      outcomeOf(await run(transport, user, MENU, { id: STORE, all: true })),
    );
  });

  it('menuUpdated: everyone of the store, customers and table guests included', async () => {
    await expectOutcomes(
      {
        ...EVERYONE_OF_THE_STORE,
        // Outside the stores a token lists, as for a store that does not exist; a tenant-wide token finds none.
        'globex-customer': 'FORBIDDEN',
        'globex-manager': 'NOT_FOUND',
      },
      (user) => subscribeAs(transport, user, MENU_UPDATED, { storeId: STORE }),
    );
    await expectOutcomes({ 'globex-customer': 'FORBIDDEN', 'globex-manager': 'NOT_FOUND' }, (user) =>
      subscribeAs(transport, user, MENU_UPDATED, { storeId: 'no-such-store' }),
    );
  });

  const floor: Record<string, Outcome> = {
    'acme-admin': 'ok',
    'acme-manager': 'ok',
    'acme-staff': 'ok',
    'acme-kitchen': 'FORBIDDEN',
    'acme-customer': 'FORBIDDEN',
    guest: 'FORBIDDEN',
    'uptown-manager': 'FORBIDDEN',
    'globex-manager': 'NOT_FOUND',
  };

  it('tables, seatTable, setTableStatus and issueTableToken: the floor (ADMIN, MANAGER, STAFF) only', async () => {
    await expectOutcomes(floor, async (user) =>
      outcomeOf(await run(transport, user, TABLES, { storeId: STORE })),
    );
    await expectOutcomes(floor, async (user) => {
      const seated = outcomeOf(
        await run(transport, user, SEAT, { tableId: 'acme-downtown-10', partySize: 2 }),
      );
      if (seated !== 'ok') return seated;
      return outcomeOf(
        await run(transport, user, SET_STATUS, { tableId: 'acme-downtown-10', status: 'FREE' }),
      );
    });
    await expectOutcomes(floor, async (user) => {
      const reserved = outcomeOf(
        await run(transport, user, SET_STATUS, { tableId: 'acme-downtown-11', status: 'RESERVED' }),
      );
      if (reserved !== 'ok') return reserved;
      return outcomeOf(
        await run(transport, user, SET_STATUS, { tableId: 'acme-downtown-11', status: 'FREE' }),
      );
    });
    await expectOutcomes(floor, async (user) =>
      outcomeOf(await run(transport, user, ISSUE, { tableId: GUEST_TABLE })),
    );
  });

  it('tableUpdated: the floor only, not kitchen devices, customers or guests', async () => {
    await expectOutcomes(floor, (user) => subscribeAs(transport, user, TABLE_UPDATED, { storeId: STORE }));
  });
});

it('refuses every menu and table operation without a token (UNAUTHENTICATED)', async () => {
  const operations: [string, object][] = [
    [CREATE, { input: { storeId: STORE, name: 'x', priceCents: 1, stationId: 'acme-downtown-grill' } }],
    [UPDATE, { input: { productId: BURGER, priceCents: 1 } }],
    [AVAILABILITY, { productId: BURGER, available: false }],
    [TABLES, { storeId: STORE }],
    [SEAT, { tableId: 'acme-downtown-10', partySize: 2 }],
    [SET_STATUS, { tableId: 'acme-downtown-10', status: 'RESERVED' }],
    [ISSUE, { tableId: GUEST_TABLE }],
  ];
  for (const [query, variables] of operations) {
    expect(outcomeOf(await run('http', undefined, query, variables)), query).toBe('UNAUTHENTICATED');
  }
});
