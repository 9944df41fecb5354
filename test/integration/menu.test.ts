import { afterEach, describe, expect, it } from 'vitest';
import { MenuUpdatesDocument } from '../../src/client/gql/graphql';
import { useTestServer, type WsClient } from '../support/server';

const PRODUCT =
  'id storeId name priceCents category active available unavailableReason soldOut stockQuantity';
const CREATE_PRODUCT = `mutation ($input: CreateProductInput!) { createProduct(input: $input) { ${PRODUCT} } }`;
const UPDATE_PRODUCT = `mutation ($input: UpdateProductInput!) { updateProduct(input: $input) { ${PRODUCT} } }`;
const SET_AVAILABILITY = `mutation ($productId: ID!, $available: Boolean!, $reason: String) {
  setProductAvailability(productId: $productId, available: $available, reason: $reason) { ${PRODUCT} }
}`;
const MENU = `query ($id: ID!, $includeArchived: Boolean) {
  store(id: $id) { products(includeArchived: $includeArchived) { ${PRODUCT} } }
}`;
const ADJUST = `mutation ($itemId: ID!, $delta: Int!) { adjustInventory(itemId: $itemId, delta: $delta, reason: "count") { quantity } }`;
const RESTOCK = `mutation ($itemId: ID!, $quantity: Int!) { restockInventory(itemId: $itemId, quantity: $quantity) { quantity } }`;
const CREATE_ORDER = `mutation ($input: CreateOrderInput!) {
  createOrder(input: $input) { id totalCents items { productId unitPriceCents } }
}`;
const ORDER = `query ($id: ID!) { order(id: $id) { totalCents items { unitPriceCents } } }`;
type Product = {
  id: string;
  name: string;
  priceCents: number;
  active: boolean;
  available: boolean;
  unavailableReason: string | null;
  soldOut: boolean;
  stockQuantity: number | null;
};

const BURGER = 'acme-downtown-burger';
const FRIES = 'acme-downtown-fries';
const LEMONADE = 'acme-downtown-lemonade';

const { app, tokens } = useTestServer();
const sockets: WsClient[] = [];
afterEach(() => Promise.all(sockets.splice(0).map((socket) => socket.dispose())));

async function as<T = Record<string, unknown>>(
  user: string,
  query: string,
  variables: Record<string, unknown>,
) {
  return app.gql<T>(query, variables, { token: tokens[user] });
}

async function ok<T>(user: string, query: string, variables: Record<string, unknown>): Promise<T> {
  const result = await as<T>(user, query, variables);
  expect(result.errors, JSON.stringify(result.errors)).toBeUndefined();
  return result.data as T;
}

const codeOf = (result: { errors?: Array<{ extensions?: Record<string, unknown> }> }) =>
  result.errors?.[0]?.extensions?.code;

async function connect(user: string) {
  const socket = await app.connect(tokens[user]);
  sockets.push(socket);
  return socket;
}

/** A menuUpdated subscription that receives everything committed from the moment this resolves. */
async function watchMenu(user: string, storeId = 'acme-downtown', after?: string) {
  const socket = await connect(user);
  return socket.live(MenuUpdatesDocument, { storeId, after });
}

const placeOrder = (user: string, items: { productId: string; quantity: number }[]) =>
  as<{ createOrder: { id: string; totalCents: number } }>(user, CREATE_ORDER, {
    input: { storeId: 'acme-downtown', channel: user === 'acme-customer' ? 'KIOSK' : 'POS', items },
  });

const newProduct = (overrides: Record<string, unknown> = {}) => ({
  storeId: 'acme-downtown',
  name: 'Onion rings',
  priceCents: 499,
  stationId: 'acme-downtown-grill',
  category: 'Sides',
  ...overrides,
});

describe('who may change the menu', () => {
  it('lets managers and admins create and edit products, and no one else', async () => {
    const created = await ok<{ createProduct: Product }>('acme-manager', CREATE_PRODUCT, {
      input: newProduct(),
    });
    expect(created.createProduct).toMatchObject({ name: 'Onion rings', active: true, available: true });
    const id = created.createProduct.id;
    expect(
      (
        await ok<{ updateProduct: Product }>('acme-admin', UPDATE_PRODUCT, {
          input: { productId: id, priceCents: 549 },
        })
      ).updateProduct.priceCents,
    ).toBe(549);
    for (const user of ['acme-staff', 'acme-kitchen', 'acme-customer']) {
      expect(codeOf(await as(user, CREATE_PRODUCT, { input: newProduct() })), user).toBe('FORBIDDEN');
      expect(codeOf(await as(user, UPDATE_PRODUCT, { input: { productId: id, priceCents: 1 } })), user).toBe(
        'FORBIDDEN',
      );
    }
    expect(codeOf(await app.gql(CREATE_PRODUCT, { input: newProduct() }))).toBe('UNAUTHENTICATED');
    const foreign = await as('globex-manager', UPDATE_PRODUCT, { input: { productId: id, priceCents: 1 } });
    expect(codeOf(foreign)).toBe('NOT_FOUND');
    expect(JSON.stringify(foreign)).not.toMatch(/Onion/);
    expect(codeOf(await as('globex-manager', CREATE_PRODUCT, { input: newProduct() }))).toBe('NOT_FOUND');
    const bad = await as('acme-manager', CREATE_PRODUCT, { input: newProduct({ priceCents: -5 }) });
    expect(bad.errors?.[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT', field: 'priceCents' } });
  });

  it('lets staff 86 anything of their store and a kitchen device what is routed to its stations', async () => {
    const byStaff = await ok<{ setProductAvailability: Product }>('acme-staff', SET_AVAILABILITY, {
      productId: LEMONADE,
      available: false,
      reason: 'no lemons',
    });
    expect(byStaff.setProductAvailability).toMatchObject({
      available: false,
      unavailableReason: 'no lemons',
    });
    await ok('acme-staff', SET_AVAILABILITY, { productId: LEMONADE, available: true });
    await ok('acme-kitchen', SET_AVAILABILITY, { productId: BURGER, available: false });
    await ok('acme-kitchen', SET_AVAILABILITY, { productId: BURGER, available: true });
    expect(
      codeOf(await as('acme-kitchen', SET_AVAILABILITY, { productId: LEMONADE, available: false })),
    ).toBe('FORBIDDEN');
    expect(codeOf(await as('acme-customer', SET_AVAILABILITY, { productId: FRIES, available: false }))).toBe(
      'FORBIDDEN',
    );
    expect(
      codeOf(await as('acme-staff', SET_AVAILABILITY, { productId: 'acme-uptown-fries', available: false })),
    ).toBe('FORBIDDEN');
    expect(codeOf(await as('globex-staff', SET_AVAILABILITY, { productId: FRIES, available: false }))).toBe(
      'NOT_FOUND',
    );
  });

  it('shows customers the active menu; staff may include archived products', async () => {
    const { createProduct } = await ok<{ createProduct: Product }>('acme-manager', CREATE_PRODUCT, {
      input: newProduct({ name: 'Seasonal pie' }),
    });
    await ok('acme-manager', UPDATE_PRODUCT, { input: { productId: createProduct.id, active: false } });
    const menu = await ok<{ store: { products: Product[] } }>('acme-customer', MENU, { id: 'acme-downtown' });
    expect(menu.store.products.map((p) => p.name)).not.toContain('Seasonal pie');
    expect(codeOf(await as('acme-customer', MENU, { id: 'acme-downtown', includeArchived: true }))).toBe(
      'FORBIDDEN',
    );
    const all = await ok<{ store: { products: Product[] } }>('acme-staff', MENU, {
      id: 'acme-downtown',
      includeArchived: true,
    });
    expect(all.store.products.find((p) => p.name === 'Seasonal pie')).toMatchObject({ active: false });
  });
});

describe('ordering from the menu', () => {
  it('keeps the price an order was placed at', async () => {
    const placed = await placeOrder('acme-staff', [{ productId: FRIES, quantity: 2 }]);
    expect(placed.data?.createOrder.totalCents).toBe(798);
    await ok('acme-manager', UPDATE_PRODUCT, { input: { productId: FRIES, priceCents: 450 } });
    const again = await ok<{ order: { totalCents: number; items: { unitPriceCents: number }[] } }>(
      'acme-staff',
      ORDER,
      { id: placed.data?.createOrder.id },
    );
    expect(again.order).toEqual({ totalCents: 798, items: [{ unitPriceCents: 399 }] });
    expect(
      (await placeOrder('acme-staff', [{ productId: FRIES, quantity: 2 }])).data?.createOrder.totalCents,
    ).toBe(900);
    await ok('acme-manager', UPDATE_PRODUCT, { input: { productId: FRIES, priceCents: 399 } });
  });

  it("refuses an 86'd or archived product with BAD_USER_INPUT naming it", async () => {
    await ok('acme-staff', SET_AVAILABILITY, {
      productId: BURGER,
      available: false,
      reason: 'grill cleaning',
    });
    const unavailable = await placeOrder('acme-customer', [
      { productId: FRIES, quantity: 1 },
      { productId: BURGER, quantity: 1 },
    ]);
    expect(unavailable.errors?.[0]).toMatchObject({
      message: 'Burger is not available: grill cleaning',
      extensions: { code: 'BAD_USER_INPUT', productId: BURGER, field: 'items.1.productId' },
    });
    await ok('acme-staff', SET_AVAILABILITY, { productId: BURGER, available: true });

    const { createProduct } = await ok<{ createProduct: Product }>('acme-manager', CREATE_PRODUCT, {
      input: newProduct({ name: 'Old special' }),
    });
    await ok('acme-manager', UPDATE_PRODUCT, { input: { productId: createProduct.id, active: false } });
    const archived = await placeOrder('acme-staff', [{ productId: createProduct.id, quantity: 1 }]);
    expect(archived.errors?.[0]).toMatchObject({
      message: 'Old special is no longer on the menu',
      extensions: { code: 'BAD_USER_INPUT', productId: createProduct.id },
    });
  });
});

describe('archiving', () => {
  it('takes a product off the menu and keeps it for history; bringing it back announces it again', async () => {
    const { createProduct } = await ok<{ createProduct: Product }>('acme-manager', CREATE_PRODUCT, {
      input: newProduct({ name: 'Chili dog', priceCents: 650, initialStock: 5, lowStockThreshold: 2 }),
    });
    expect(createProduct).toMatchObject({ stockQuantity: 5, available: true, category: 'Sides' });
    const stock = await ok<{
      inventoryItems: { productId: string; quantity: number; lowStockThreshold: number }[];
    }>(
      'acme-manager',
      'query { inventoryItems(storeId: "acme-downtown") { productId quantity lowStockThreshold } }',
      {},
    );
    expect(stock.inventoryItems.find((item) => item.productId === createProduct.id)).toEqual({
      productId: createProduct.id,
      quantity: 5,
      lowStockThreshold: 2,
    });
    const placed = await placeOrder('acme-staff', [{ productId: createProduct.id, quantity: 2 }]);
    const orderId = placed.data?.createOrder.id;
    const kiosk = await watchMenu('acme-customer');

    await ok('acme-manager', UPDATE_PRODUCT, { input: { productId: createProduct.id, active: false } });
    expect((await kiosk.next()).data?.menuUpdated).toMatchObject({
      kind: 'PRODUCT_ARCHIVED',
      product: { id: createProduct.id, active: false },
    });
    const history = await ok<{
      order: { totalCents: number; items: { name: string; productId: string; unitPriceCents: number }[] };
    }>(
      'acme-staff',
      'query ($id: ID!) { order(id: $id) { totalCents items { name productId unitPriceCents } } }',
      { id: orderId },
    );
    expect(history.order).toEqual({
      totalCents: 1300,
      items: [{ name: 'Chili dog', productId: createProduct.id, unitPriceCents: 650 }],
    });
    const staffMenu = await ok<{ store: { products: Product[] } }>('acme-staff', MENU, {
      id: 'acme-downtown',
      includeArchived: true,
    });
    expect(staffMenu.store.products.find((p) => p.id === createProduct.id)).toMatchObject({
      active: false,
      stockQuantity: 3,
    });
    expect(
      codeOf(await as('acme-staff', SET_AVAILABILITY, { productId: createProduct.id, available: false })),
    ).toBe('CONFLICT');

    await ok('acme-manager', UPDATE_PRODUCT, { input: { productId: createProduct.id, active: true } });
    expect((await kiosk.next()).data?.menuUpdated).toMatchObject({
      kind: 'PRODUCT_UPDATED',
      product: { id: createProduct.id, active: true, available: true },
    });
    const menu = await ok<{ store: { products: Product[] } }>('acme-customer', MENU, { id: 'acme-downtown' });
    expect(menu.store.products.map((p) => p.id)).toContain(createProduct.id);
    expect(
      (await placeOrder('acme-customer', [{ productId: createProduct.id, quantity: 1 }])).errors,
    ).toBeUndefined();
  });
});

describe('menuUpdated', () => {
  it('greys out an item on a kiosk the moment the kitchen runs out, and brings it back on restock', async () => {
    const kiosk = await watchMenu('acme-customer');
    const stock = await ok<{ adjustInventory: { quantity: number } }>('acme-manager', ADJUST, {
      itemId: `${LEMONADE}-stock`,
      delta: -38,
    });
    expect(stock.adjustInventory.quantity).toBe(2);
    expect((await placeOrder('acme-staff', [{ productId: LEMONADE, quantity: 2 }])).errors).toBeUndefined();
    const soldOut = (await kiosk.next()).data?.menuUpdated;
    expect(soldOut).toMatchObject({
      kind: 'AVAILABILITY_CHANGED',
      product: {
        id: LEMONADE,
        available: false,
        soldOut: true,
        unavailableReason: 'Out of stock',
        stockQuantity: 0,
      },
    });
    const refused = await placeOrder('acme-customer', [{ productId: LEMONADE, quantity: 1 }]);
    expect(refused.errors?.[0]).toMatchObject({
      message: 'Lemonade is out of stock',
      extensions: { code: 'BAD_USER_INPUT' },
    });
    await ok('acme-manager', RESTOCK, { itemId: `${LEMONADE}-stock`, quantity: 40 });
    expect((await kiosk.next()).data?.menuUpdated).toMatchObject({
      kind: 'AVAILABILITY_CHANGED',
      product: { id: LEMONADE, available: true, soldOut: false, unavailableReason: null, stockQuantity: 40 },
    });
  });

  it('delivers price changes, creations and archiving; customers see nothing of an archived product after', async () => {
    const kiosk = await watchMenu('acme-customer');
    const floor = await watchMenu('acme-staff');
    await ok('acme-manager', UPDATE_PRODUCT, { input: { productId: BURGER, priceCents: 1149 } });
    const { createProduct } = await ok<{ createProduct: Product }>('acme-manager', CREATE_PRODUCT, {
      input: newProduct({ name: 'Milkshake', stationId: 'acme-downtown-bar', category: 'Drinks' }),
    });
    await ok('acme-manager', UPDATE_PRODUCT, { input: { productId: createProduct.id, active: false } });
    await ok('acme-manager', UPDATE_PRODUCT, {
      input: { productId: createProduct.id, name: 'Shake (retired)' },
    });
    await ok('acme-manager', UPDATE_PRODUCT, { input: { productId: BURGER, priceCents: 1099 } });

    const seen = (await kiosk.take(4)).map((r) => r.data?.menuUpdated);
    expect(seen.map((e) => [e?.kind, e?.product.name, e?.previousPriceCents])).toEqual([
      ['PRICE_CHANGED', 'Burger', 1099],
      ['PRODUCT_CREATED', 'Milkshake', null],
      ['PRODUCT_ARCHIVED', 'Milkshake', null],
      ['PRICE_CHANGED', 'Burger', 1149],
    ]);
    const floorSeen = (await floor.take(5)).map((r) => r.data?.menuUpdated.kind);
    expect(floorSeen).toEqual([
      'PRICE_CHANGED',
      'PRODUCT_CREATED',
      'PRODUCT_ARCHIVED',
      'PRODUCT_UPDATED',
      'PRICE_CHANGED',
    ]);
  });

  it('resumes after a cursor with what was missed, in order', async () => {
    const first = await watchMenu('acme-staff');
    await ok('acme-staff', SET_AVAILABILITY, { productId: FRIES, available: false, reason: 'resume 1' });
    const { cursor } = (await first.next()).data!.menuUpdated;
    await first.close();
    await ok('acme-staff', SET_AVAILABILITY, { productId: FRIES, available: false, reason: 'resume 2' });
    await ok('acme-staff', SET_AVAILABILITY, { productId: FRIES, available: true });
    const socket = await connect('acme-staff');
    const resumed = socket.subscribe(MenuUpdatesDocument, {
      storeId: 'acme-downtown',
      after: cursor,
    });
    const replayed = (await resumed.take(2)).map((r) => r.data?.menuUpdated.product);
    expect(replayed.map((p) => [p?.available, p?.unavailableReason])).toEqual([
      [false, 'resume 2'],
      [true, null],
    ]);
  });

  it('keeps tenants and stores apart: no foreign store, no foreign cursor, no foreign event', async () => {
    const socket = await connect('acme-customer');
    const foreign = await socket.subscribe(MenuUpdatesDocument, { storeId: 'globex-central' }).next();
    expect(['FORBIDDEN', 'NOT_FOUND']).toContain(foreign.errors?.[0]?.extensions?.code);
    const otherStore = await socket.subscribe(MenuUpdatesDocument, { storeId: 'acme-uptown' }).next();
    expect(otherStore.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

    const uptown = await watchMenu('acme-manager', 'acme-uptown');
    await ok('acme-manager', UPDATE_PRODUCT, { input: { productId: 'acme-uptown-fries', priceCents: 419 } });
    const { cursor } = (await uptown.next()).data!.menuUpdated;
    const wrongStream = await socket
      .subscribe(MenuUpdatesDocument, { storeId: 'acme-downtown', after: cursor })
      .next();
    expect(wrongStream.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');

    const downtown = await watchMenu('acme-customer');
    await ok('globex-manager', UPDATE_PRODUCT, {
      input: { productId: 'globex-central-fries', priceCents: 419 },
    });
    await ok('acme-manager', UPDATE_PRODUCT, { input: { productId: 'acme-uptown-fries', priceCents: 399 } });
    await ok('acme-staff', SET_AVAILABILITY, { productId: FRIES, available: false, reason: 'canary' });
    expect((await downtown.next()).data?.menuUpdated.product).toMatchObject({
      id: FRIES,
      unavailableReason: 'canary',
    });
    await ok('acme-staff', SET_AVAILABILITY, { productId: FRIES, available: true });
  });
});

describe('concurrent availability changes', () => {
  it('reach subscribers in the order they applied; the last event is the product as stored', async () => {
    const watcher = await watchMenu('acme-staff');
    const changes = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        as(i % 2 === 0 ? 'acme-staff' : 'acme-kitchen', SET_AVAILABILITY, {
          productId: BURGER,
          available: i % 3 === 0,
          reason: `race ${i}`,
        }),
      ),
    );
    for (const change of changes) expect(change.errors).toBeUndefined();
    const stored = (
      await ok<{ store: { products: Product[] } }>('acme-staff', MENU, { id: 'acme-downtown' })
    ).store.products.find((p) => p.id === BURGER)!;
    await ok('acme-staff', SET_AVAILABILITY, { productId: BURGER, available: false, reason: 'sentinel' });
    const events: Product[] = [];
    for (;;) {
      const product = (await watcher.next()).data!.menuUpdated.product;
      if (product.unavailableReason === 'sentinel') break;
      events.push(product);
    }
    expect(events.length).toBeGreaterThan(0);
    for (let i = 1; i < events.length; i++) {
      const [before, after] = [events[i - 1]!, events[i]!];
      expect([before.available, before.unavailableReason]).not.toEqual([
        after.available,
        after.unavailableReason,
      ]);
    }
    expect(events.at(-1)).toMatchObject({
      available: stored.available,
      unavailableReason: stored.unavailableReason,
    });
    await ok('acme-staff', SET_AVAILABILITY, { productId: BURGER, available: true });
  });
});
