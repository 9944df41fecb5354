import { describe, expect, it } from 'vitest';
import type { Role } from '../../../src/auth/principal';
import {
  ACME_DEVICE_ON_GLOBEX_GRILL,
  ACME_DOWNTOWN,
  ACME_WITH_GLOBEX_STORE,
  CRAFTED_ACROSS_TENANTS,
  codeOf,
  collect,
  crafted,
  createOrder,
  describeCollectedErrors,
  describeForeignIds,
  disclosed,
  expectProbesRefused,
  globex,
  globexSecrets,
  gql,
  M,
  must,
  notify,
  type OrderRow,
  type Outcome,
  otherCustomer,
  overHttp,
  probes,
  Q,
  S,
  uptown,
  useIsolationServer,
  useProductionServer,
  walkInThenCustomerOrder,
} from './support';

/**
 * Tenant and store isolation over HTTP, tested like an attacker would: every query and mutation called with
 * ids of another tenant (acme calling with globex ids) and of a store of the own tenant the caller may not use,
 * crafted tokens, GraphQL-level probes (introspection, suggestions, aliases, batches, hostile ids), serverStats
 * and page cursors. Subscriptions: graphql-ws.test.ts and sse.test.ts next to this file.
 */

const { app, tokens } = useIsolationServer();

describeForeignIds(overHttp, 'query and mutation', 50);

describe('rows the probes named', () => {
  it("left globex's rows untouched", async () => {
    const { order } = await must<{ order: OrderRow }>(tokens['globex-manager']!, Q.order, {
      id: globex.order.id,
    });
    expect(order).toMatchObject({ status: 'PENDING', paidCents: 0 });
    const { kdsTickets } = await must<{ kdsTickets: { id: string; items: unknown[] }[] }>(
      tokens['globex-manager']!,
      'query ($id: ID!) { kdsTickets(stationId: $id) { id status items { status } } }',
      { id: globex.grill },
    );
    expect(kdsTickets).toEqual([{ id: globex.ticket, status: 'OPEN', items: [{ status: 'PENDING' }] }]);
    const { inventoryItems } = await must<{ inventoryItems: { id: string; quantity: number }[] }>(
      tokens['globex-manager']!,
      Q.inventoryItems,
      { id: globex.store },
    );
    expect(inventoryItems.find((item) => item.id === globex.stockItem)?.quantity).toBe(5);
    const { inventoryAlerts } = await must<{ inventoryAlerts: { id: string; status: string }[] }>(
      tokens['globex-manager']!,
      'query ($id: ID) { inventoryAlerts(storeId: $id) { id status } }',
      { id: globex.store },
    );
    expect(inventoryAlerts).toEqual([{ id: globex.alert, status: 'OPEN' }]);
    const { notifications } = await must<{
      notifications: { edges: { node: { id: string; read: boolean } }[] };
    }>(tokens['globex-staff']!, '{ notifications { edges { node { id read } } } }');
    expect(notifications.edges.map((edge) => edge.node)).toEqual([{ id: globex.notification, read: false }]);
  });

  it("left acme-uptown's rows untouched", async () => {
    const { order } = await must<{ order: OrderRow }>(tokens['acme-manager']!, Q.order, {
      id: uptown.order.id,
    });
    expect(order).toMatchObject({ status: 'PENDING', paidCents: 0 });
    const { inventoryItems } = await must<{ inventoryItems: { id: string; quantity: number }[] }>(
      tokens['acme-manager']!,
      Q.inventoryItems,
      { id: uptown.store },
    );
    expect(inventoryItems.find((item) => item.id === uptown.stockItem)?.quantity).toBe(5);
  });
});
// ---------------------------------------------------------------------------------------------------------
// Crafted tokens: validly signed, claims chosen by the attacker

describe('crafted tokens cannot cross the tenant over HTTP', () => {
  const ACME_AS_GLOBEX_USER = {
    sub: 'globex-staff',
    tid: 'acme',
    roles: ['STAFF'] as Role[],
    stores: ['acme-downtown'],
  };

  it.each(CRAFTED_ACROSS_TENANTS)(
    'a token with tid=acme and %s gets nothing of globex from any query or mutation',
    async (_name, claims) => {
      const token = await crafted(claims);
      await expectProbesRefused({ attackers: { crafted: token }, target: globex, surface: overHttp });
    },
    60_000,
  );

  it('refuses globex-central as the current store', async () => {
    const token = await crafted(ACME_WITH_GLOBEX_STORE);
    const result = await gql(token, '{ me { id } }', {}, 'globex-central');
    expect(codeOf(result)).toBe('FORBIDDEN');
    expect(result.data ?? null).toBeNull();
  });

  it('lists none of globex from the fields without ids', async () => {
    for (const claims of [ACME_WITH_GLOBEX_STORE, ACME_DEVICE_ON_GLOBEX_GRILL]) {
      const token = await crafted(claims);
      const everything = await gql(
        token,
        `{
          stores { id name stations { id } products { id } }
          notifications { unreadCount edges { node { id title body } } }
          notificationPreferences { minSeverity mutedKinds }
        }`,
      );
      expect(everything.errors).toBeUndefined();
      expect(JSON.stringify(everything.data)).not.toMatch(/globex/i);
      const me = await gql(token, '{ me { id name email tenant { id name } stores { id } } }');
      expect(JSON.stringify(me)).not.toMatch(/Globex Diner|globex-staff@|globex-central/);
      const tenantWide = await gql(token, '{ dashboard { storeId salesTodayCents } }');
      expect(JSON.stringify(tenantWide.data ?? null)).not.toMatch(/globex/i);
    }
  });

  it('refuses a token whose sub is a user of another tenant, whatever its roles', async () => {
    for (const roles of [['STAFF'], ['ADMIN', 'MANAGER', 'KITCHEN']] as Role[][]) {
      const token = await crafted({ ...ACME_AS_GLOBEX_USER, roles });
      const result = await gql(token, '{ me { id name email } }');
      expect(codeOf(result)).toBe('UNAUTHENTICATED');
      expect(result.data ?? null).toBeNull();
    }
  });

  it("cannot change a globex user's preferences, read state or sessions through a shared user id", async () => {
    const victim = tokens['globex-staff']!;
    const STATE = '{ notificationPreferences { minSeverity mutedKinds } notifications { unreadCount } }';
    // A SYSTEM broadcast (from acme, the platform tenant here) is the one row both tenants can see.
    await notify(tokens['acme-admin']!, { audience: 'SYSTEM', title: 'Maintenance', body: 'Tonight' });
    await must(
      victim,
      'mutation { updateNotificationPreferences(input: { minSeverity: LOW }) { minSeverity } }',
    );
    const before = await must(victim, STATE);

    const attacker = await crafted(ACME_AS_GLOBEX_USER);
    const attempts = [
      'mutation { updateNotificationPreferences(input: { minSeverity: URGENT, mutedKinds: ["MESSAGE"] }) { minSeverity } }',
      'mutation { markAllNotificationsRead }',
      'mutation { revokeSessions(userId: "globex-staff") { userId } }',
    ];
    for (const attempt of attempts) {
      const result = await gql(attacker, attempt);
      expect(result.data ?? null, attempt).toBeNull();
    }

    expect(await must(victim, STATE)).toEqual(before);
    await must(victim, '{ me { id } }'); // the victim's token still works
  });
});

describe('page cursors', () => {
  it('of another tenant page only through the own rows', async () => {
    const globexPage = await must<{ orders: { pageInfo: { endCursor: string } } }>(
      tokens['globex-manager']!,
      'query { orders(storeId: "globex-central", first: 1) { pageInfo { endCursor } } }',
    );
    const acmePage = await gql(
      tokens['acme-admin']!,
      'query ($after: String) { orders(storeId: "acme-downtown", after: $after) { edges { node { id storeId } } } }',
      {
        after: globexPage.orders.pageInfo.endCursor,
      },
    );
    expect(JSON.stringify(acmePage)).not.toMatch(/globex/i);
    const globexInbox = await must<{ notifications: { pageInfo: { endCursor: string } } }>(
      tokens['globex-staff']!,
      '{ notifications(first: 1) { pageInfo { endCursor } } }',
    );
    const acmeInbox = await gql(
      tokens['acme-staff']!,
      'query ($after: String) { notifications(after: $after) { edges { node { id title body } } } }',
      {
        after: globexInbox.notifications.pageInfo.endCursor,
      },
    );
    expect(JSON.stringify(acmeInbox)).not.toMatch(/globex|classified/i);
  });
});

// ---------------------------------------------------------------------------------------------------------
// GraphQL-level probes

const INTROSPECTION = '{ __schema { types { name fields { name } } } }';
const TYPE_PROBE = '{ __type(name: "Order") { fields { name } } }';
const MISSPELT = '{ ordr(id: "x") { id } }';

describe('GraphQL-level probes', () => {
  const production = useProductionServer();

  it('refuses introspection in production, and allows it where configured', async () => {
    const token = await production.token('acme-admin');
    for (const query of [INTROSPECTION, TYPE_PROBE]) {
      const result = collect(await production.gql(query, {}, { token }));
      expect(result.errors?.length, query).toBeGreaterThan(0);
      expect(result.data ?? null).toBeNull();
    }
    // The same query is valid: the test server (NODE_ENV=test, introspection on by default) answers it.
    const allowed = await gql<{ __schema: { types: unknown[] } }>(tokens['acme-admin']!, INTROSPECTION);
    expect(allowed.data?.__schema.types.length).toBeGreaterThan(10);
  });

  it('hides field suggestions, in production and in tests', async () => {
    const token = await production.token('acme-admin');
    const outcomes = [
      collect(await production.gql(MISSPELT, {}, { token })),
      await gql(tokens['acme-admin']!, MISSPELT),
      await gql(tokens['acme-admin']!, '{ order(idd: "x") { id } }'),
      await gql(
        tokens['acme-admin']!,
        'mutation { adjustInventory(itemId: "x", delta: 1, reason: "r") { quantty } }',
      ),
    ];
    for (const outcome of outcomes) {
      expect(outcome.errors?.length).toBeGreaterThan(0);
      expect(JSON.stringify(outcome.errors)).not.toMatch(/did you mean/i);
    }
  });

  it('aliases of foreign ids: every alias is refused, nothing is disclosed, nothing changes', async () => {
    const query = `{
      a: order(id: "${globex.order.id}") { id totalCents }
      b: store(id: "globex-central") { name }
      c: inventoryItems(storeId: "globex-central") { name quantity }
      d: inventoryAlerts(storeId: "globex-central") { id }
      e: orders(storeId: "globex-central") { edges { node { id } } }
      f: dashboard(storeId: "globex-central") { salesTodayCents }
      g: kdsTickets(stationId: "globex-central-grill") { id }
    }`;
    const result = await gql(tokens['acme-admin']!, query);
    expect(result.data ?? null).toBeNull();
    // Every root field is non-null: the first refusal nulls the whole result (graphql-js reports only it).
    expect(result.errors?.length).toBeGreaterThan(0);
    for (const error of result.errors!) expect(['NOT_FOUND', 'FORBIDDEN']).toContain(error.extensions?.code);
    const text = disclosed(result, [globex.order.id, 'globex-central-grill', 'globex-central']);
    for (const secret of globexSecrets()) expect(text).not.toContain(secret);

    const writes = await gql(
      tokens['acme-admin']!,
      `mutation {
        a: adjustInventory(itemId: "${globex.stockItem}", delta: 100, reason: "x") { quantity }
        b: restockInventory(itemId: "${globex.stockItem}", quantity: 100) { quantity }
        c: recordPayment(orderId: "${globex.order.id}", amount: 1) { paidCents }
      }`,
    );
    expect(writes.data ?? null).toBeNull();
    // Mutations run one after another and stop at the first (non-null) failure: the rest never run.
    expect(writes.errors?.map((error) => error.extensions?.code)).toEqual(['NOT_FOUND']);
    const { inventoryItems } = await must<{ inventoryItems: { id: string; quantity: number }[] }>(
      tokens['globex-manager']!,
      Q.inventoryItems,
      { id: globex.store },
    );
    expect(inventoryItems.find((item) => item.id === globex.stockItem)?.quantity).toBe(5);
  });

  it('batched requests are refused or isolated the same way', async () => {
    const response = await fetch(`${app.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens['acme-admin']}` },
      body: JSON.stringify([
        { query: Q.order, variables: { id: globex.order.id } },
        { query: Q.store, variables: { id: 'globex-central' } },
      ]),
    });
    const body = await response.text();
    const results = [JSON.parse(body)].flat() as Outcome[];
    for (const result of results) {
      collect(result);
      expect(result.errors?.length).toBeGreaterThan(0);
      expect(result.data ?? null).toBeNull();
    }
    const text = body.split(globex.order.id).join('<id>').split('globex-central').join('<id>');
    for (const secret of globexSecrets()) expect(text).not.toContain(secret);
  });

  it('hostile ids and arguments get masked errors', async () => {
    const token = tokens['acme-admin']!;
    const hostile = [
      'a\u0000b',
      "' OR '1'='1",
      'x'.repeat(5000),
      '\\',
      '%',
      '{"$ne":null}',
      '../../etc/passwd',
    ];
    for (const id of hostile) {
      for (const probe of probes(globex, ACME_DOWNTOWN).filter((p) => p.kind !== 'subscription')) {
        const result = await gql(token, probe.document, probe.variables(id));
        expect(result.data ?? null, `${probe.field}(${id.slice(0, 20)})`).toBeNull();
        expect(result.errors?.length).toBeGreaterThan(0);
      }
    }
    const odd = [
      await gql(token, 'query { orders(storeId: "acme-downtown", first: 100000) { edges { node { id } } } }'),
      await gql(
        token,
        'mutation { adjustInventory(itemId: "acme-downtown-fries-stock", delta: 2147483648, reason: "x") { id } }',
      ),
      await gql(
        token,
        'query { dashboardHistory(storeId: "acme-downtown", from: "not a date", to: "2020-01-01T00:00:00Z") { takenAt } }',
      ),
      await gql(
        token,
        'query { dashboardHistory(storeId: "acme-downtown", from: "2030-01-01T00:00:00Z", to: "2020-01-01T00:00:00Z") { takenAt } }',
      ),
    ];
    for (const result of odd) expect(result.errors?.length).toBeGreaterThan(0);
  }, 60_000);
});

describe('serverStats', () => {
  const STATS = `{ serverStats {
    instance { subscriptionsByStore { storeId count } }
    instances { subscriptionsByStore { storeId count } }
    cluster { subscriptionsByStore { storeId count } }
  } }`;
  type Stats = { serverStats: Record<string, unknown> };
  const storesIn = (stats: Stats) =>
    [...JSON.stringify(stats).matchAll(/"storeId":"([^"]+)"/g)].map((match) => match[1]);

  it("shows an admin only its own tenant's stores", async () => {
    // Both tenants have live subscriptions.
    const acmeSocket = await app.connect(tokens['acme-manager']!);
    const globexSocket = await app.connect(tokens['globex-manager']!);
    await acmeSocket.live(S.dashboardMetrics, { id: 'acme-downtown' });
    await globexSocket.live(S.dashboardMetrics, { id: globex.store });
    const acmeStats = await must<Stats>(tokens['acme-admin']!, STATS);
    expect(storesIn(acmeStats)).toContain('acme-downtown');
    expect(storesIn(acmeStats).every((id) => id?.startsWith('acme-'))).toBe(true);
    // globex is an ordinary tenant: its admin may not see load that spans every tenant.
    const globexStats = await gql<Stats>(tokens['globex-admin']!, STATS);
    expect(globexStats.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(globexStats.data ?? null).toBeNull();
    const craftedAdmin = await crafted({
      sub: 'acme-admin',
      tid: 'acme',
      roles: ['ADMIN'],
      stores: ['globex-central'],
    });
    const craftedStats = await gql<Stats>(craftedAdmin, STATS);
    expect(JSON.stringify(craftedStats)).not.toMatch(/globex/i);
  });

  it('the unauthenticated ops endpoints name no tenant, store or user', async () => {
    for (const path of ['/metrics', '/ready', '/health']) {
      const body = await (await fetch(`${app.url}${path}`)).text();
      expect(body.length, path).toBeGreaterThan(0);
      expect(body, path).not.toMatch(/globex|acme|classified/i);
    }
  });

  it('is refused to anyone but an admin', async () => {
    for (const user of ['acme-manager', 'acme-staff', 'acme-kitchen', 'acme-customer']) {
      const result = await gql(tokens[user]!, STATS);
      expect(codeOf(result), user).toBe('FORBIDDEN');
      expect(result.data ?? null).toBeNull();
    }
  });
});
// ---------------------------------------------------------------------------------------------------------
// Within one store: customers see their own orders, a bound KDS device its own stations

describe('within a store', () => {
  it("a customer reads nothing of another customer's or a walk-in order", async () => {
    const other = await otherCustomer();
    const { walkIn, order } = await walkInThenCustomerOrder();
    for (const [token, id] of [
      [other, order.id],
      [other, walkIn.id],
      [tokens['acme-customer']!, walkIn.id],
    ] as const) {
      const result = await gql(token, Q.order, { id });
      expect(codeOf(result)).toBe('NOT_FOUND');
      expect(result.data ?? null).toBeNull();
    }
    const list = await must<{ orders: { edges: { node: { id: string } }[] } }>(other, Q.orders, {
      id: 'acme-downtown',
    });
    expect(list.orders.edges).toEqual([]);
    const own = await must<{ orders: { edges: { node: { id: string } }[] } }>(
      tokens['acme-customer']!,
      Q.orders,
      {
        id: 'acme-downtown',
      },
    );
    expect(own.orders.edges.map((edge) => edge.node.id)).toContain(order.id);
    expect(own.orders.edges.map((edge) => edge.node.id)).not.toContain(walkIn.id);
  });

  it('a KDS device bound to the grill reads and changes nothing of the bar or the expo', async () => {
    const order = await createOrder(tokens['acme-staff']!, 'acme-downtown', ['acme-downtown-lemonade']);
    const lemonade = order.items[0]!;
    const kitchen = tokens['acme-kitchen']!;
    const refused: Outcome[] = [
      await gql(kitchen, Q.kdsTickets, { id: 'acme-downtown-bar' }),
      await gql(kitchen, Q.kdsTickets, { id: 'acme-downtown-expo' }),
      await gql(kitchen, M.startItem, { id: lemonade.id }),
      await gql(kitchen, M.markItemReady, { id: lemonade.id }),
      await gql(kitchen, M.bumpTicket, { id: lemonade.ticketId }),
      await gql(kitchen, M.recallTicket, { id: lemonade.ticketId }),
    ];
    for (const outcome of refused) {
      expect(['FORBIDDEN', 'NOT_FOUND'], JSON.stringify(outcome)).toContain(codeOf(outcome));
      expect(outcome.data ?? null).toBeNull();
      expect(disclosed(outcome, [lemonade.id, lemonade.ticketId!])).not.toMatch(
        /Lemonade|acme-downtown-bar"|\d{4}/,
      );
    }
  });

  it("an every-store token still cannot pick another tenant's store as its current store over HTTP", async () => {
    for (const user of ['acme-admin', 'acme-manager']) {
      const result = await gql(tokens[user]!, '{ me { id currentStore { id name } } }', {}, 'globex-central');
      expect(codeOf(result)).toBe('FORBIDDEN');
      expect(result.data ?? null).toBeNull();
    }
  });
});

describeCollectedErrors(200);
