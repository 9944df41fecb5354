import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Role } from '../../../src/auth/principal';
import { signToken } from '../../../src/auth/tokens';
import {
  type Subscription,
  startTestServer,
  TEST_JWT_SECRET,
  TEST_REDIS_URL,
  type TestServer,
  useTestServer,
  type WsClient,
} from '../../support/server';
import { started } from '../../support/started';

/**
 * What the isolation suites share: an attacker's view of Expediter (acme calling with ids of globex, another
 * tenant, and of acme-uptown, a store of its own tenant it may not use), real rows of both made in advance,
 * crafted tokens, every root field as a probe, and a collector of every error seen, which each suite checks
 * for internals (SQL, Prisma, stacks) at its end.
 */
export type GqlError = { message: string; extensions?: Record<string, unknown> };
export type Outcome = { data?: unknown; errors?: readonly GqlError[] };

/** Generous budgets: this suite sends many operations as few users; the limits have their own tests. */
export const ENV = {
  PLATFORM_TENANTS: 'acme', // acme operates the platform; globex is an ordinary tenant
  RATE_LIMIT_MUTATIONS: '100000',
  RATE_LIMIT_SUBSCRIPTIONS: '100000',
  RATE_LIMIT_HTTP_PER_IP: '100000',
  MAX_SUBSCRIPTIONS_PER_CONNECTION: '100',
  MAX_SUBSCRIPTIONS_PER_USER: '1000',
  WS_MAX_CONNECTIONS_PER_USER: '100',
  WS_MAX_CONNECTIONS_PER_IP: '1000',
  WS_CONNECTION_ATTEMPTS_PER_IP: '10000',
  WS_MESSAGES_PER_CONNECTION: '10000',
  ORDER_UPDATE_COALESCE_MS: '0',
  DASHBOARD_THROTTLE_MS: '50',
};

export const INTERNALS = /prisma|SELECT|stack|at \w+ \(/i;
export const collectedErrors: GqlError[] = [];

export function collect(outcome: Outcome): Outcome {
  collectedErrors.push(...(outcome.errors ?? []));
  return outcome;
}

export const codeOf = (outcome: Outcome) => outcome.errors?.[0]?.extensions?.code;

/** The error text with every id the attacker supplied removed: what is left must name nothing foreign. */
export function disclosed(outcome: Outcome, supplied: readonly string[]): string {
  let text = JSON.stringify(outcome.errors ?? []);
  const ids = supplied.filter((id) => id.length > 0).sort((a, b) => b.length - a.length);
  for (const id of ids) text = text.split(id).join('<id>');
  return text;
}

// ---------------------------------------------------------------------------------------------------------
// Documents

export const ORDER_FIELDS =
  'id number storeId customerId status totalCents paidCents items { id productId ticketId name }';
export const Q = {
  store:
    'query ($id: ID!) { store(id: $id) { id name stations { id name } products { id name priceCents } } }',
  order: `query ($id: ID!) { order(id: $id) { ${ORDER_FIELDS} } }`,
  orders: 'query ($id: ID) { orders(storeId: $id) { edges { node { id number totalCents } } } }',
  kdsTickets: 'query ($id: ID!) { kdsTickets(stationId: $id) { id orderNumber items { name } } }',
  inventoryItems: 'query ($id: ID) { inventoryItems(storeId: $id) { id name quantity } }',
  inventoryAlerts: 'query ($id: ID) { inventoryAlerts(storeId: $id) { id itemId quantityAtRaise } }',
  dashboard:
    'query ($id: ID) { dashboard(storeId: $id) { storeId salesTodayCents ordersToday topProducts { name } } }',
  dashboardHistory: `query ($id: ID!) {
    dashboardHistory(storeId: $id, from: "2020-01-01T00:00:00Z", to: "2020-01-02T00:00:00Z") { takenAt }
  }`,
};
export const M = {
  createOrderIn: `mutation ($id: ID!, $product: ID!) {
    createOrder(input: { storeId: $id, channel: POS, items: [{ productId: $product, quantity: 1 }] }) { ${ORDER_FIELDS} }
  }`,
  createOrderWithProduct: `mutation ($id: ID!, $store: ID!) {
    createOrder(input: { storeId: $store, channel: POS, items: [{ productId: $id, quantity: 1 }] }) { id totalCents }
  }`,
  createOrderForCustomer: `mutation ($id: ID!, $store: ID!, $product: ID!) {
    createOrder(input: { storeId: $store, channel: ONLINE, customerId: $id, items: [{ productId: $product, quantity: 1 }] }) { id }
  }`,
  updateOrderStatus:
    'mutation ($id: ID!) { updateOrderStatus(orderId: $id, status: ACCEPTED) { id status } }',
  cancelOrder: 'mutation ($id: ID!) { cancelOrder(orderId: $id, reason: "probe") { id status } }',
  recordPayment: 'mutation ($id: ID!) { recordPayment(orderId: $id, amount: 1) { id paidCents totalCents } }',
  startItem: 'mutation ($id: ID!) { startItem(itemId: $id) { id orderNumber items { name } } }',
  markItemReady: 'mutation ($id: ID!) { markItemReady(itemId: $id) { id orderNumber } }',
  bumpTicket: 'mutation ($id: ID!) { bumpTicket(ticketId: $id) { id orderNumber } }',
  recallTicket: 'mutation ($id: ID!) { recallTicket(ticketId: $id) { id orderNumber } }',
  adjustInventory:
    'mutation ($id: ID!) { adjustInventory(itemId: $id, delta: -1, reason: "probe") { id quantity } }',
  restockInventory: 'mutation ($id: ID!) { restockInventory(itemId: $id, quantity: 1) { id quantity } }',
  transferFrom: `mutation ($id: ID!, $to: ID!) {
    transferInventory(itemId: $id, toStoreId: $to, quantity: 1) { id quantity fromItem { quantity } toItem { quantity } }
  }`,
  transferTo: `mutation ($id: ID!, $item: ID!) {
    transferInventory(itemId: $item, toStoreId: $id, quantity: 1) { id toItem { id quantity } }
  }`,
  transferIntoItem: `mutation ($id: ID!, $item: ID!, $to: ID!) {
    transferInventory(itemId: $item, toStoreId: $to, toItemId: $id, quantity: 1) { id toItem { id quantity } }
  }`,
  acknowledgeInventoryAlert:
    'mutation ($id: ID!) { acknowledgeInventoryAlert(alertId: $id) { id itemId status } }',
  notifyUser: `mutation ($id: ID!) {
    sendNotification(input: { audience: USER, targetUserId: $id, title: "probe", body: "probe" }) { id }
  }`,
  notifyRole: `mutation ($id: ID!) {
    sendNotification(input: { audience: ROLE, targetRole: STAFF, targetStoreId: $id, title: "probe", body: "probe" }) { id }
  }`,
  notifyStore: `mutation ($id: ID!) {
    sendNotification(input: { audience: STORE, targetStoreId: $id, title: "probe", body: "probe" }) { id }
  }`,
  markNotificationRead: 'mutation ($id: ID!) { markNotificationRead(id: $id) { id title body read } }',
  revokeSessions: 'mutation ($id: ID!) { revokeSessions(userId: $id) { userId } }',
};
export const S = {
  orderUpdated: `subscription ($id: ID!, $after: String) {
    orderUpdated(storeId: $id, after: $after) { cursor kind order { id storeId customerId totalCents } }
  }`,
  kdsTicket: `subscription ($id: ID!, $after: String) {
    kdsTicket(stationId: $id, after: $after) { cursor kind ticket { id orderId stationId storeId orderNumber } }
  }`,
  inventoryAlert: `subscription ($id: ID, $after: String, $products: [ID!]) {
    inventoryAlert(storeId: $id, after: $after, productIds: $products) {
      cursor kind item { id storeId name quantity } alert { id storeId }
    }
  }`,
  dashboardMetrics: `subscription ($id: ID) {
    dashboardMetrics(storeId: $id) { storeId salesTodayCents ordersToday topProducts { productId } kitchenLoad { stationId } }
  }`,
  notifications: `subscription ($after: String) {
    notifications(after: $after) { cursor notification { id audience title body targetStoreId targetUserId } }
  }`,
};

// ---------------------------------------------------------------------------------------------------------
// Harness

let server: { app: TestServer; tokens: Record<string, string> };
export const sockets: WsClient[] = [];

/**
 * The suite's server (Redis pub/sub, generous limits) with globex's and acme-uptown's rows made in advance
 * by their own users, so every probed id exists.
 */
export function useIsolationServer() {
  server = useTestServer({ redisUrl: TEST_REDIS_URL, env: ENV });
  beforeAll(createForeignRows, 60_000);
  afterAll(() => Promise.all(sockets.map((socket) => socket.dispose())));
  return server;
}

export async function crafted(claims: {
  sub: string;
  tid: string;
  roles: Role[];
  stores: string[] | '*';
  stations?: string[];
}): Promise<string> {
  return signToken({ ...claims, expiresIn: '1h' }, { secret: TEST_JWT_SECRET });
}

export async function gql<T = Record<string, unknown>>(
  token: string,
  query: string,
  variables: Record<string, unknown> = {},
  storeId?: string,
) {
  const result = await server.app.gql<T>(query, variables, { token, storeId });
  collect(result);
  return result;
}

export async function must<T = Record<string, unknown>>(
  token: string,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<T> {
  const result = await gql<T>(token, query, variables);
  expect(result.errors, JSON.stringify(result.errors)).toBeUndefined();
  return result.data as T;
}

export type Sub = Subscription<Record<string, unknown>>;

/** The first result of a subscription: its data or its errors (graphql-ws `error` messages included). */
export async function firstOutcome(sub: Sub): Promise<Outcome> {
  try {
    return collect(await sub.next());
  } catch (error) {
    const errors = (error as { errors?: GqlError[] }).errors;
    if (errors) return collect({ errors });
    throw error;
  }
}

export async function connect(token: string, storeId?: string): Promise<WsClient> {
  const client = await server.app.connect(token, storeId ? { storeId } : {});
  sockets.push(client);
  return client;
}

export type OrderRow = {
  id: string;
  number: number;
  storeId: string;
  customerId: string | null;
  status: string;
  totalCents: number;
  paidCents: number;
  items: { id: string; productId: string; ticketId: string | null; name: string }[];
};

export async function createOrder(
  token: string,
  storeId: string,
  products: string[],
  customerId?: string,
): Promise<OrderRow> {
  const data = await must<{ createOrder: OrderRow }>(
    token,
    `mutation ($input: CreateOrderInput!) { createOrder(input: $input) { ${ORDER_FIELDS} } }`,
    {
      input: {
        storeId,
        channel: customerId ? 'ONLINE' : 'POS',
        ...(customerId ? { customerId } : {}),
        items: products.map((product) => ({ productId: product, quantity: 1 })),
      },
    },
  );
  return data.createOrder;
}

export async function openAlertId(token: string, storeId: string, itemId: string): Promise<string> {
  const data = await must<{ inventoryAlerts: { id: string; itemId: string }[] }>(
    token,
    'query ($storeId: ID) { inventoryAlerts(storeId: $storeId, open: true) { id itemId } }',
    { storeId },
  );
  const alert = data.inventoryAlerts.find((candidate) => candidate.itemId === itemId);
  expect(alert).toBeDefined();
  return alert!.id;
}

export function adjustStock(token: string, itemId: string, delta: number) {
  return must(
    token,
    'mutation ($id: ID!, $delta: Int!) { adjustInventory(itemId: $id, delta: $delta, reason: "count") { id } }',
    { id: itemId, delta },
  );
}

export async function notify(token: string, input: Record<string, unknown>): Promise<string> {
  const data = await must<{ sendNotification: { id: string } }>(
    token,
    'mutation ($input: SendNotificationInput!) { sendNotification(input: $input) { id } }',
    { input },
  );
  return data.sendNotification.id;
}

/** Rows of another tenant (globex) and of a store acme's store-bound users may not use (acme-uptown). */
export const globex = {
  store: 'globex-central',
  grill: 'globex-central-grill',
  expo: 'globex-central-expo',
  product: 'globex-central-burger',
  stockItem: 'globex-central-fries-stock',
  user: 'globex-staff',
  customer: 'globex-customer',
  order: {} as OrderRow,
  orderItem: '',
  ticket: '',
  alert: '',
  notification: '',
};
export const uptown = {
  store: 'acme-uptown',
  grill: 'acme-uptown-grill',
  expo: 'acme-uptown-expo',
  product: 'acme-uptown-burger',
  stockItem: 'acme-uptown-fries-stock',
  order: {} as OrderRow,
  orderItem: '',
  ticket: '',
  alert: '',
  notification: '',
};

/** Strings that must never appear in an error shown to an acme caller probing globex. */
export function globexSecrets(): string[] {
  const order = globex.order;
  return [
    'globex',
    'Globex',
    String(order.totalCents),
    order.id,
    ...order.items.flatMap((item) => [item.id, item.ticketId ?? '']),
    globex.alert,
    globex.notification,
    'Burger',
    'Fries',
    'Lemonade',
    'classified',
  ].filter((secret) => secret.length > 0);
}

/** The same for a store-bound acme caller probing acme-uptown. */
export function uptownSecrets(): string[] {
  const order = uptown.order;
  return [
    'uptown',
    'Uptown',
    String(order.totalCents),
    order.id,
    ...order.items.flatMap((item) => [item.id, item.ticketId ?? '']),
    uptown.alert,
    uptown.notification,
    'Burger',
    'Fries',
    'Lemonade',
    'classified',
  ].filter((secret) => secret.length > 0);
}

async function createForeignRows() {
  const { app, tokens } = server;
  await app.server.db.db.inventoryItem.updateMany({ data: { quantity: 1000, lowStockThreshold: 10 } });
  // Real globex rows, made by globex users, so every probed id exists.
  globex.order = await createOrder(
    tokens['globex-staff']!,
    globex.store,
    ['globex-central-burger', 'globex-central-lemonade'],
    globex.customer,
  );
  globex.orderItem = globex.order.items[0]!.id;
  globex.ticket = globex.order.items[0]!.ticketId!;
  await adjustStock(tokens['globex-manager']!, globex.stockItem, -995);
  globex.alert = await openAlertId(tokens['globex-manager']!, globex.store, globex.stockItem);
  globex.notification = await notify(tokens['globex-manager']!, {
    audience: 'USER',
    targetUserId: globex.user,
    title: 'Globex classified title',
    body: 'classified body',
  });

  // The same in acme-uptown, made by acme's manager.
  uptown.order = await createOrder(tokens['acme-manager']!, uptown.store, ['acme-uptown-burger']);
  uptown.orderItem = uptown.order.items[0]!.id;
  uptown.ticket = uptown.order.items[0]!.ticketId!;
  await adjustStock(tokens['acme-manager']!, uptown.stockItem, -995);
  uptown.alert = await openAlertId(tokens['acme-manager']!, uptown.store, uptown.stockItem);
  uptown.notification = await notify(tokens['acme-admin']!, {
    audience: 'STORE',
    targetStoreId: uptown.store,
    title: 'Uptown classified title',
    body: 'classified body',
  });
}

// ---------------------------------------------------------------------------------------------------------
// Probes: every root field that takes an id, with a foreign id

export interface Probe {
  field: string;
  kind: 'query' | 'mutation' | 'subscription';
  document: string;
  /** Variables for the probed id; the other variables name rows the caller may use. */
  variables(id: string): Record<string, unknown>;
  /** The foreign id probed. */
  id: string;
}

export function probes(target: typeof globex | typeof uptown, own: { store: string; item: string }): Probe[] {
  const plain = (id: string) => ({ id });
  const q = (field: keyof typeof Q, id: string): Probe => ({
    field,
    kind: 'query',
    document: Q[field],
    variables: plain,
    id,
  });
  const m = (field: string, document: string, id: string, extra: Record<string, unknown> = {}): Probe => ({
    field,
    kind: 'mutation',
    document,
    variables: (value) => ({ id: value, ...extra }),
    id,
  });
  const s = (field: keyof typeof S, id: string): Probe => ({
    field,
    kind: 'subscription',
    document: S[field],
    variables: plain,
    id,
  });
  const product = `${own.store}-burger`;
  return [
    q('store', target.store),
    q('order', target.order.id),
    q('orders', target.store),
    q('kdsTickets', target.grill),
    q('kdsTickets', target.expo),
    q('inventoryItems', target.store),
    q('inventoryAlerts', target.store),
    q('dashboard', target.store),
    q('dashboardHistory', target.store),
    m('createOrder (store)', M.createOrderIn, target.store, { product: target.product }),
    m('createOrder (product)', M.createOrderWithProduct, target.product, { store: own.store }),
    ...('customer' in target
      ? [
          m('createOrder (customer)', M.createOrderForCustomer, target.customer, {
            store: own.store,
            product,
          }),
        ]
      : []),
    m('updateOrderStatus', M.updateOrderStatus, target.order.id),
    m('cancelOrder', M.cancelOrder, target.order.id),
    m('recordPayment', M.recordPayment, target.order.id),
    m('startItem', M.startItem, target.orderItem),
    m('markItemReady', M.markItemReady, target.orderItem),
    m('bumpTicket', M.bumpTicket, target.ticket),
    m('recallTicket', M.recallTicket, target.ticket),
    m('adjustInventory', M.adjustInventory, target.stockItem),
    m('restockInventory', M.restockInventory, target.stockItem),
    m('transferInventory (from)', M.transferFrom, target.stockItem, { to: own.store }),
    m('transferInventory (to store)', M.transferTo, target.store, { item: own.item }),
    m('transferInventory (into item)', M.transferIntoItem, target.stockItem, {
      item: own.item,
      to: 'user' in target ? 'acme-uptown' : target.store,
    }),
    m('acknowledgeInventoryAlert', M.acknowledgeInventoryAlert, target.alert),
    ...('user' in target ? [m('sendNotification USER', M.notifyUser, target.user)] : []),
    m('sendNotification ROLE', M.notifyRole, target.store),
    m('sendNotification STORE', M.notifyStore, target.store),
    m('markNotificationRead', M.markNotificationRead, target.notification),
    ...('user' in target ? [m('revokeSessions', M.revokeSessions, target.user)] : []),
    s('orderUpdated', target.store),
    s('kdsTicket', target.grill),
    s('kdsTicket', target.expo),
    s('inventoryAlert', target.store),
    s('dashboardMetrics', target.store),
  ];
}

export async function run(probe: Probe, token: string, id: string, storeId?: string): Promise<Outcome> {
  if (probe.kind !== 'subscription') return gql(token, probe.document, probe.variables(id), storeId);
  const client = await connect(token, storeId);
  const sub = client.subscribe(probe.document, probe.variables(id));
  const outcome = await firstOutcome(sub);
  await sub.close();
  return outcome;
}

export const overHttp = (probe: Probe) => probe.kind !== 'subscription';
export const overGraphqlWs = (probe: Probe) => probe.kind === 'subscription';

/**
 * Every attacker (label → token) calls every probe of one surface with the target's ids: each is refused with
 * FORBIDDEN or NOT_FOUND, with no data and nothing of the row in the error. With `likeMissing`, the answer is
 * also exactly the one for an id that does not exist, so the rows are no oracle. Resolves with the number of
 * calls made.
 */
export async function expectProbesRefused(options: {
  attackers: Record<string, string>;
  target: typeof globex | typeof uptown;
  surface: (probe: Probe) => boolean;
  likeMissing?: boolean;
}): Promise<number> {
  const secrets = options.target === globex ? globexSecrets() : uptownSecrets();
  let calls = 0;
  for (const [attacker, token] of Object.entries(options.attackers)) {
    for (const probe of probes(options.target, ACME_DOWNTOWN).filter(options.surface)) {
      calls++;
      const label = `${attacker} ${probe.field}(${probe.id})`;
      const outcome = await run(probe, token, probe.id);
      // FORBIDDEN where a role or the station scope refuses before any lookup, as for any unknown id.
      expect(['NOT_FOUND', 'FORBIDDEN'], `${label}: ${JSON.stringify(outcome)}`).toContain(codeOf(outcome));
      expect(outcome.data ?? null, label).toBeNull();
      if (options.likeMissing) {
        const missing = await run(probe, token, 'no-such-id-0000');
        expect(disclosed(outcome, [probe.id]), label).toBe(disclosed(missing, ['no-such-id-0000']));
      }
      const text = disclosed(outcome, [probe.id, ...Object.values(probe.variables(''))].map(String));
      for (const secret of secrets) expect.soft(text, `${label} discloses ${secret}`).not.toContain(secret);
    }
  }
  return calls;
}

/**
 * The probes of one surface as tests: with globex's ids (answered exactly as for ids that do not exist) and
 * with acme-uptown's (refused to callers bound to acme-downtown).
 */
export function describeForeignIds(surface: (probe: Probe) => boolean, fields: string, atLeast: number) {
  describe(`another tenant: every ${fields} with globex ids`, () => {
    it('answers exactly as for an id that does not exist, with no data and nothing of the row', async () => {
      // acme-admin has every role and every acme store: nothing but the tenant stands in its way.
      const { tokens } = server;
      const attackers = { 'acme-admin': tokens['acme-admin']!, 'acme-manager': tokens['acme-manager']! };
      const calls = await expectProbesRefused({ attackers, target: globex, surface, likeMissing: true });
      expect(calls).toBeGreaterThanOrEqual(atLeast);
    }, 120_000);
  });

  describe(`another store of the own tenant: every ${fields} with acme-uptown ids`, () => {
    it('answers FORBIDDEN or NOT_FOUND with no data and nothing of the row', async () => {
      const attackers = {
        'downtown-manager': await downtownManager(),
        'acme-staff': server.tokens['acme-staff']!,
      };
      await expectProbesRefused({ attackers, target: uptown, surface });
    }, 120_000);
  });
}

/**
 * A production server for a test file's GraphQL-level probes, sending text documents as an attacker would:
 * production's default TRUSTED_DOCUMENTS=require would refuse them before the protections under test.
 */
export function useProductionServer(): TestServer {
  return started(
    () => startTestServer({ env: { ...ENV, NODE_ENV: 'production', TRUSTED_DOCUMENTS: 'allow' } }),
    (production) => production.close(),
  );
}

/** A second customer of acme-downtown, besides the demo's acme-customer. */
export const otherCustomer = () =>
  crafted({ sub: 'acme-other-customer', tid: 'acme', roles: ['CUSTOMER'], stores: ['acme-downtown'] });

/** Two acme-downtown orders placed by staff: a walk-in (no customer), then one for acme-customer. */
export async function walkInThenCustomerOrder() {
  const staff = server.tokens['acme-staff']!;
  const walkIn = await createOrder(staff, 'acme-downtown', ['acme-downtown-fries']);
  const order = await createOrder(staff, 'acme-downtown', ['acme-downtown-fries'], 'acme-customer');
  return { walkIn, order };
}

/** acme's manager bound to acme-downtown: every role-gated field is open to it, acme-uptown is not. */
export const downtownManager = () =>
  crafted({ sub: 'acme-manager', tid: 'acme', roles: ['MANAGER'], stores: ['acme-downtown'] });

/** Claims of crafted acme tokens that name globex's rows. */
export const ACME_WITH_GLOBEX_STORE = {
  sub: 'acme-admin',
  tid: 'acme',
  roles: ['ADMIN'] as Role[],
  stores: ['globex-central'],
};
export const ACME_DEVICE_ON_GLOBEX_GRILL = {
  sub: 'acme-kitchen',
  tid: 'acme',
  roles: ['KITCHEN'] as Role[],
  stores: '*' as const,
  stations: ['globex-central-grill'],
};
export const CRAFTED_ACROSS_TENANTS: Array<[string, Parameters<typeof crafted>[0]]> = [
  ['stores: [globex-central]', ACME_WITH_GLOBEX_STORE],
  ['stations: [globex-central-grill]', ACME_DEVICE_ON_GLOBEX_GRILL],
  ['stores + stations of globex', { ...ACME_DEVICE_ON_GLOBEX_GRILL, stores: ['globex-central'] }],
  ['a sub of no known user', { ...ACME_WITH_GLOBEX_STORE, sub: 'acme-nobody', stores: '*' }],
];

/** The caller's own store and stock item, for the probes' other variables. */
export const ACME_DOWNTOWN = { store: 'acme-downtown', item: 'acme-downtown-fries-stock' };

// ---------------------------------------------------------------------------------------------------------
// Subscriptions that remember what they received

export type Event = Record<string, unknown>;

/** A live subscription that remembers every result, for predicates over everything it received. */
export class Watch {
  readonly received: Event[] = [];
  constructor(
    readonly name: string,
    private readonly sub: Sub,
  ) {}

  async next(): Promise<Event> {
    const result = await this.sub.next();
    collect(result);
    expect(result.errors, `${this.name}: ${JSON.stringify(result.errors)}`).toBeUndefined();
    const event = Object.values(result.data as Event)[0] as Event;
    this.received.push(event);
    return event;
  }

  /** Reads until `done`, checking that every event on the way is one this subscriber may see. */
  async until(done: (event: Event) => boolean, allowed: (event: Event) => boolean): Promise<Event[]> {
    const seen: Event[] = [];
    for (;;) {
      const event = await this.next();
      seen.push(event);
      expect(allowed(event), `${this.name} received ${JSON.stringify(event)}`).toBe(true);
      if (done(event)) return seen;
    }
  }
}

/** A live subscription (the server counts it live) that remembers what it received. */
export async function watch(name: string, client: WsClient, document: string, variables: Event = {}) {
  return new Watch(name, await client.live(document, variables));
}

export const noGlobex = (event: Event) => !/globex/i.test(JSON.stringify(event));
export const noUptown = (event: Event) => !/uptown/i.test(JSON.stringify(event));
export const orderOf = (event: Event) => event.order as { id: string; customerId: string | null };
export const ticketOf = (event: Event) => event.ticket as { orderId: string; stationId: string };
export const itemOf = (event: Event) => event.item as { id: string; storeId: string };
export const notificationOf = (event: Event) => event.notification as { title: string };

/** The suite's last test: no error it collected names internals (SQL, Prisma, stacks), and each has a code. */
export function describeCollectedErrors(atLeast: number) {
  describe('every error this suite collected', () => {
    it('names no internals: no SQL, no Prisma, no stack', () => {
      expect(collectedErrors.length).toBeGreaterThan(atLeast);
      for (const error of collectedErrors) {
        expect(JSON.stringify(error), error.message).not.toMatch(INTERNALS);
        expect(error.extensions?.code, error.message).toBeTypeOf('string');
      }
    });
  });
}
