import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { signToken } from '../../src/auth/tokens';
import {
  type Subscription,
  TEST_JWT_SECRET,
  TEST_REDIS_URL,
  useTestServer,
  type WsClient,
} from '../support/server';

// Concurrent availability changes of one product (issue 16): a manager's 86 racing a restock, two kitchen
// devices toggling, sales emptying the stock while staff toggle it. Whatever the interleaving, the product
// ends in a consistent state, and every subscriber (graphql-ws and SSE, live, through Redis) and a replay
// from a cursor see the same events, in the order the changes applied, the last one the product as stored.

const { app, tokens } = useTestServer({ redisUrl: TEST_REDIS_URL });

const PRODUCT = 'id name active available unavailableReason soldOut stockQuantity updatedAt';
const MENU_UPDATED = `subscription ($storeId: ID!, $after: String) {
  menuUpdated(storeId: $storeId, after: $after) { cursor kind product { ${PRODUCT} } }
}`;
const CREATE = `mutation ($input: CreateProductInput!) { createProduct(input: $input) { ${PRODUCT} } }`;
const AVAILABILITY = `mutation ($productId: ID!, $available: Boolean!, $reason: String) {
  setProductAvailability(productId: $productId, available: $available, reason: $reason) { ${PRODUCT} }
}`;
const ADJUST = `mutation ($itemId: ID!, $delta: Int!) { adjustInventory(itemId: $itemId, delta: $delta, reason: "count") { quantity } }`;
const RESTOCK = `mutation ($itemId: ID!, $quantity: Int!) { restockInventory(itemId: $itemId, quantity: $quantity) { quantity } }`;
const ORDER = `mutation ($input: CreateOrderInput!) { createOrder(input: $input) { id } }`;
const MENU = `query { store(id: "acme-downtown") { products { ${PRODUCT} } } }`;

type Product = {
  id: string;
  name: string;
  available: boolean;
  unavailableReason: string | null;
  soldOut: boolean;
  stockQuantity: number | null;
  updatedAt: string;
};
type MenuEvent = { menuUpdated: { cursor: string; kind: string; product: Product } };
type Result = { data?: unknown; errors?: Array<{ message: string; extensions?: Record<string, unknown> }> };

const STORE = 'acme-downtown';
const sockets: WsClient[] = [];
afterEach(() => Promise.all(sockets.splice(0).map((socket) => socket.dispose())));

let sentinel: string;
let sentinelCount = 0;

beforeAll(async () => {
  // A second device at the grill, besides the demo's acme-kitchen.
  tokens['grill-2'] = await signToken(
    {
      sub: 'acme-grill-2',
      tid: 'acme',
      roles: ['KITCHEN'],
      stores: [STORE],
      stations: ['acme-downtown-grill'],
    },
    { secret: TEST_JWT_SECRET },
  );
  sentinel = (await newProduct('Sentinel')).id;
});

async function ok<T = Record<string, unknown>>(user: string, query: string, variables: object) {
  const result = await app.gql<T>(query, variables as Record<string, unknown>, { token: tokens[user] });
  expect(result.errors, JSON.stringify(result.errors)).toBeUndefined();
  return result.data as T;
}

async function newProduct(name: string, initialStock?: number): Promise<Product> {
  const input = { storeId: STORE, name, priceCents: 250, stationId: 'acme-downtown-grill', initialStock };
  return (await ok<{ createProduct: Product }>('acme-manager', CREATE, { input })).createProduct;
}

async function stored(productId: string): Promise<Product> {
  const menu = await ok<{ store: { products: Product[] } }>('acme-staff', MENU, {});
  return menu.store.products.find((product) => product.id === productId) as Product;
}

/** A graphql-ws and an SSE subscriber, both live, and the cursor of a marker event they both start after. */
async function watchers() {
  const socket = await app.connect(tokens['acme-staff']);
  sockets.push(socket);
  const ws = await socket.live<MenuEvent>(MENU_UPDATED, { storeId: STORE });
  const sse = await app
    .sse(tokens['acme-customer'] as string)
    .live<MenuEvent>(MENU_UPDATED, { storeId: STORE });
  const marker = await mark();
  const [wsMarker] = (await ws.until(isMark(marker))).slice(-1) as [MenuEvent];
  await sse.until(isMark(marker));
  return { ws, sse, cursor: wsMarker.menuUpdated.cursor };
}

/** A change of the sentinel product: an event every subscriber sees after everything committed before. */
async function mark(): Promise<string> {
  const reason = `mark ${++sentinelCount}`;
  await ok('acme-staff', AVAILABILITY, { productId: sentinel, available: false, reason });
  return reason;
}
const isMark = (reason: string) => (data: MenuEvent) =>
  data.menuUpdated.product.id === sentinel && data.menuUpdated.product.unavailableReason === reason;

/** The events of `productId` read up to the marker. */
async function eventsOf(subscription: Subscription<MenuEvent>, productId: string, marker: string) {
  const seen = await subscription.until(isMark(marker));
  return seen.map((data) => data.menuUpdated).filter((event) => event.product.id === productId);
}

/**
 * Everyone saw the same events of the product, in the same order, from a replay too; each changed something
 * and is later than the one before; and the last one is the product as stored.
 */
async function expectConsistentEvents(
  watching: Awaited<ReturnType<typeof watchers>>,
  productId: string,
): Promise<Product[]> {
  const marker = await mark();
  const live = await eventsOf(watching.ws, productId, marker);
  const overSse = await eventsOf(watching.sse, productId, marker);
  const socket = await app.connect(tokens['acme-manager']);
  sockets.push(socket);
  const replay = socket.subscribe<MenuEvent>(MENU_UPDATED, { storeId: STORE, after: watching.cursor });
  const replayed = await eventsOf(replay, productId, marker);
  expect(overSse.map((event) => event.cursor)).toEqual(live.map((event) => event.cursor));
  expect(replayed).toEqual(live);
  const products = live.map((event) => event.product);
  expect(products.length).toBeGreaterThan(0);
  for (let i = 1; i < products.length; i++) {
    const [before, after] = [products[i - 1] as Product, products[i] as Product];
    expect(Date.parse(after.updatedAt)).toBeGreaterThanOrEqual(Date.parse(before.updatedAt));
    expect([after.available, after.unavailableReason, after.soldOut]).not.toEqual([
      before.available,
      before.unavailableReason,
      before.soldOut,
    ]);
  }
  for (const product of products) {
    // Never announced orderable without stock, and sold out only without stock.
    if (product.available) expect(product.stockQuantity ?? 1).toBeGreaterThan(0);
    if (product.soldOut) expect(product.available).toBe(false);
  }
  const current = await stored(productId);
  const last = products.at(-1) as Product;
  expect({ ...last, stockQuantity: undefined }).toEqual({ ...current, stockQuantity: undefined });
  return products;
}

describe('concurrent availability changes', () => {
  it("a manager's 86 racing a restock: 86'd by hand with the restocked quantity, whichever came first", async () => {
    const product = await newProduct('Raced pie', 0);
    const itemId = `${product.id}-stock`;
    expect(product).toMatchObject({ available: false, soldOut: true, stockQuantity: 0 });
    const watching = await watchers();
    for (let round = 1; round <= 6; round++) {
      const reason = `86 race ${round}`;
      const [by86, restock] = await Promise.all([
        app.gql(
          AVAILABILITY,
          { productId: product.id, available: false, reason },
          { token: tokens['acme-manager'] },
        ),
        app.gql(RESTOCK, { itemId, quantity: 5 }, { token: tokens['acme-admin'] }),
      ]);
      expect(by86.errors).toBeUndefined();
      expect(restock.errors).toBeUndefined();
      expect(await stored(product.id)).toMatchObject({
        available: false,
        soldOut: false,
        unavailableReason: reason,
        stockQuantity: 5,
      });
      // Back by hand, then sold out again for the next round.
      await ok('acme-staff', AVAILABILITY, { productId: product.id, available: true });
      await ok('acme-manager', ADJUST, { itemId, delta: -5 });
      expect(await stored(product.id)).toMatchObject({ available: false, soldOut: true, stockQuantity: 0 });
    }
    const events = await expectConsistentEvents(watching, product.id);
    // Per round at least the 86 by hand and the way back; a restock that came first added its own event.
    expect(events.length).toBeGreaterThanOrEqual(6 * 3);
  });

  it('two kitchen devices of the grill toggling one product over graphql-ws', async () => {
    const product = await newProduct('Toggled burger');
    const watching = await watchers();
    const toggles = async (user: string) => {
      const socket = await app.connect(tokens[user]);
      sockets.push(socket);
      return Promise.all(
        Array.from({ length: 8 }, async (_, i) => {
          const variables = { productId: product.id, available: i % 2 === 1, reason: `${user} ${i}` };
          return (await socket.subscribe(AVAILABILITY, variables).next()) as Result;
        }),
      );
    };
    const results = (await Promise.all([toggles('acme-kitchen'), toggles('grill-2')])).flat();
    for (const result of results) expect(result.errors, JSON.stringify(result.errors)).toBeUndefined();
    await expectConsistentEvents(watching, product.id);
  });

  it('sales emptying the stock while staff take it off and bring it back', async () => {
    const product = await newProduct('Last slices', 0);
    const itemId = `${product.id}-stock`;
    const watching = await watchers();
    const sell = () =>
      app.gql<{ createOrder: { id: string } }>(
        ORDER,
        { input: { storeId: STORE, channel: 'POS', items: [{ productId: product.id, quantity: 1 }] } },
        { token: tokens['acme-staff'] },
      );
    for (let round = 1; round <= 5; round++) {
      await ok('acme-manager', RESTOCK, { itemId, quantity: 3 });
      // A restock brings back what ran out; what was 86'd by hand last round comes back by hand.
      if (!(await stored(product.id)).available) {
        await ok('acme-staff', AVAILABILITY, { productId: product.id, available: true });
      }
      expect(await stored(product.id)).toMatchObject({ available: true, stockQuantity: 3 });
      const [sales, toggles] = await Promise.all([
        Promise.all(Array.from({ length: 4 }, sell)),
        Promise.all(
          [false, true, false, true].map((available, i) =>
            app.gql(
              AVAILABILITY,
              { productId: product.id, available, reason: `round ${round}.${i}` },
              { token: tokens['acme-staff'] },
            ),
          ),
        ),
      ]);
      const sold = sales.filter((sale) => !sale.errors).length;
      for (const sale of sales.filter((sale) => sale.errors)) {
        // Refused because it was off, or sold out: naming the product either way.
        expect(sale.errors?.[0]).toMatchObject({
          message: expect.stringContaining('Last slices'),
          extensions: { code: 'BAD_USER_INPUT', productId: product.id },
        });
      }
      for (const toggle of toggles.filter((toggle) => toggle.errors)) {
        // Brought back by hand after the last slice went: a restock brings it back, not a person.
        expect(toggle.errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT' });
      }
      expect(sold).toBeLessThanOrEqual(3);
      const now = await stored(product.id);
      expect(now.stockQuantity).toBe(3 - sold);
      if (now.stockQuantity === 0) expect(now.available).toBe(false);
      // Empty the rest, and bring it back by hand if it was 86'd by hand: the next round starts sold out.
      if (3 - sold > 0) await ok('acme-manager', ADJUST, { itemId, delta: -(3 - sold) });
      const after = await stored(product.id);
      expect(after).toMatchObject({ available: false, stockQuantity: 0 });
      if (!after.soldOut) {
        expect(
          (
            await app.gql(
              AVAILABILITY,
              { productId: product.id, available: true },
              { token: tokens['acme-staff'] },
            )
          ).errors?.[0]?.extensions,
        ).toMatchObject({ code: 'CONFLICT' });
      }
    }
    await expectConsistentEvents(watching, product.id);
  });
});
