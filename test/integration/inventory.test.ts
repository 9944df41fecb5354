import { describe, expect, it } from 'vitest';
import { useTestServer } from '../support/server';

const ITEMS = `query ($storeId: ID) { inventoryItems(storeId: $storeId) { id name quantity lowStockThreshold available } }`;
const ALERTS = `query ($storeId: ID, $open: Boolean) { inventoryAlerts(storeId: $storeId, open: $open) { id kind severity status productId acknowledgedById } }`;
const ADJUST = `mutation ($itemId: ID!, $delta: Int!, $reason: String!) {
  adjustInventory(itemId: $itemId, delta: $delta, reason: $reason) { id quantity available }
}`;
const RESTOCK = `mutation ($itemId: ID!, $quantity: Int!) { restockInventory(itemId: $itemId, quantity: $quantity) { id quantity } }`;
const TRANSFER = `mutation ($itemId: ID!, $toStoreId: ID!, $quantity: Int!) {
  transferInventory(itemId: $itemId, toStoreId: $toStoreId, quantity: $quantity) {
    id quantity fromItem { id quantity } toItem { id storeId quantity }
  }
}`;
const ACKNOWLEDGE = `mutation ($alertId: ID!) { acknowledgeInventoryAlert(alertId: $alertId) { id status acknowledgedById acknowledgedAt } }`;
const CREATE_ORDER = `mutation ($input: CreateOrderInput!) { createOrder(input: $input) { id } }`;
const INVENTORY_EVENTS = /* GraphQL */ `
  subscription ($storeId: ID, $minSeverity: Severity, $productIds: [ID!], $after: String) {
    inventoryAlert(storeId: $storeId, minSeverity: $minSeverity, productIds: $productIds, after: $after) {
      cursor kind severity occurredAt
      item { id storeId productId quantity available }
      alert { id kind severity status }
    }
  }
`;

type InventoryEvent = {
  inventoryAlert: {
    cursor: string;
    kind: string;
    severity: string;
    item: { id: string; storeId: string; productId: string; quantity: number; available: boolean };
    alert: { id: string; kind: string; severity: string; status: string } | null;
  };
};

const BURGER = 'acme-downtown-burger-stock';
const FRIES = 'acme-downtown-fries-stock';
const LEMONADE = 'acme-downtown-lemonade-stock';

const { app, tokens } = useTestServer();

async function adjust(itemId: string, delta: number, token = tokens['acme-manager']) {
  const result = await app.gql<{ adjustInventory: { quantity: number } }>(
    ADJUST,
    { itemId, delta, reason: 'count' },
    { token },
  );
  expect(result.errors).toBeUndefined();
  return result.data!.adjustInventory;
}

describe('queries', () => {
  it("lists the current store's stock for staff", async () => {
    const result = await app.gql<{ inventoryItems: { id: string; quantity: number }[] }>(
      ITEMS,
      {},
      { token: tokens['acme-staff'], storeId: 'acme-downtown' },
    );
    expect(result.errors).toBeUndefined();
    expect(result.data?.inventoryItems.map((i) => i.id)).toEqual([BURGER, FRIES, LEMONADE]);
  });

  it('refuses another store, another tenant and customers', async () => {
    const uptown = await app.gql(ITEMS, { storeId: 'acme-uptown' }, { token: tokens['acme-staff'] });
    expect(uptown.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const globex = await app.gql(ITEMS, { storeId: 'acme-downtown' }, { token: tokens['globex-manager'] });
    expect(globex.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const customer = await app.gql(ITEMS, { storeId: 'acme-downtown' }, { token: tokens['acme-customer'] });
    expect(customer.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const anonymous = await app.gql(ITEMS, { storeId: 'acme-downtown' });
    expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});

describe('mutations', () => {
  it('adjusts and restocks, refusing bad input with BAD_USER_INPUT and staff with FORBIDDEN', async () => {
    expect(await adjust(FRIES, -10)).toMatchObject({ quantity: 90 });
    const restocked = await app.gql(
      RESTOCK,
      { itemId: FRIES, quantity: 10 },
      { token: tokens['acme-admin'] },
    );
    expect(restocked.data).toEqual({ restockInventory: { id: FRIES, quantity: 100 } });

    const zero = await app.gql(
      ADJUST,
      { itemId: FRIES, delta: 0, reason: 'x' },
      { token: tokens['acme-manager'] },
    );
    expect(zero.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const below = await app.gql(
      ADJUST,
      { itemId: FRIES, delta: -101, reason: 'x' },
      { token: tokens['acme-manager'] },
    );
    expect(below.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const staff = await app.gql(
      ADJUST,
      { itemId: FRIES, delta: 1, reason: 'x' },
      { token: tokens['acme-staff'] },
    );
    expect(staff.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('transfers between the stores of a tenant', async () => {
    const result = await app.gql(
      TRANSFER,
      { itemId: BURGER, toStoreId: 'acme-uptown', quantity: 5 },
      { token: tokens['acme-manager'] },
    );
    expect(result.errors).toBeUndefined();
    expect(result.data).toMatchObject({
      transferInventory: {
        quantity: 5,
        fromItem: { id: BURGER, quantity: 45 },
        toItem: { id: 'acme-uptown-burger-stock', storeId: 'acme-uptown', quantity: 55 },
      },
    });
    const refused = await app.gql(
      TRANSFER,
      { itemId: BURGER, toStoreId: 'acme-uptown', quantity: 1000 },
      { token: tokens['acme-manager'] },
    );
    expect(refused.errors?.[0]).toMatchObject({
      message: 'Only 45 Burger left',
      extensions: { code: 'BAD_USER_INPUT' },
    });
  });

  it('refuses an order for more than is in stock, naming the product', async () => {
    const result = await app.gql(
      CREATE_ORDER,
      {
        input: {
          storeId: 'acme-uptown',
          channel: 'POS',
          items: [{ productId: 'acme-uptown-lemonade', quantity: 41 }],
        },
      },
      { token: tokens['acme-manager'] },
    );
    expect(result.errors?.[0]).toMatchObject({
      message: 'Only 40 Lemonade left',
      extensions: { code: 'BAD_USER_INPUT' },
    });
  });
});

describe('inventoryAlert subscription', () => {
  it("streams alerts of the connection's store at or above minSeverity, then their acknowledgement", async () => {
    const socket = await app.connect(tokens['acme-staff'], { storeId: 'acme-downtown' });
    const events = await socket.live<InventoryEvent>(INVENTORY_EVENTS, { minSeverity: 'NORMAL' });
    await adjust(LEMONADE, -38); // 2 of 8 left: LOW_STOCK HIGH; the ADJUSTMENT itself is LOW

    const low = await events.next();
    expect(low.errors).toBeUndefined();
    expect(low.data?.inventoryAlert).toMatchObject({
      kind: 'LOW_STOCK',
      severity: 'HIGH',
      item: { id: LEMONADE, quantity: 2, available: true },
      alert: { kind: 'LOW_STOCK', status: 'OPEN' },
    });

    const alerts = await app.gql<{ inventoryAlerts: { id: string; kind: string }[] }>(
      ALERTS,
      { storeId: 'acme-downtown', open: true },
      { token: tokens['acme-staff'] },
    );
    expect(alerts.data?.inventoryAlerts.map((a) => a.kind)).toEqual(['LOW_STOCK']);
    const alertId = alerts.data!.inventoryAlerts[0]!.id;
    const acknowledged = await app.gql(ACKNOWLEDGE, { alertId }, { token: tokens['acme-staff'] });
    expect(acknowledged.data).toMatchObject({
      acknowledgeInventoryAlert: { id: alertId, status: 'ACKNOWLEDGED', acknowledgedById: 'acme-staff' },
    });
    const ack = await events.next();
    expect(ack.data?.inventoryAlert).toMatchObject({ kind: 'ACKNOWLEDGED', alert: { id: alertId } });
    await events.close();
  });

  it('sends OUT_OF_STOCK to the store and notifies its managers', async () => {
    const socket = await app.connect(tokens['acme-manager']);
    const events = await socket.live<InventoryEvent>(INVENTORY_EVENTS, {
      storeId: 'acme-downtown',
      minSeverity: 'URGENT',
      productIds: ['acme-downtown-fries'],
    });
    await adjust(FRIES, -100);
    const kinds = (await events.take(2)).map((r) => r.data?.inventoryAlert.kind);
    expect(kinds).toEqual(['LOW_STOCK', 'OUT_OF_STOCK']);
    const inbox = await app.gql<{ notifications: { edges: { node: { kind: string; title: string } }[] } }>(
      '{ notifications(first: 5) { edges { node { kind title } } } }',
      {},
      { token: tokens['acme-manager'] },
    );
    expect(inbox.data?.notifications.edges.map((e) => e.node)).toContainEqual({
      kind: 'OUT_OF_STOCK',
      title: 'Fries is out of stock',
    });
    await events.close();
  });

  it('merges every store for callers with all stores, and resumes after a cursor', async () => {
    const socket = await app.connect(tokens['acme-admin']);
    const events = await socket.live<InventoryEvent>(INVENTORY_EVENTS, {});
    await adjust('acme-uptown-fries-stock', -1);
    const first = await events.next();
    expect(first.data?.inventoryAlert).toMatchObject({
      kind: 'ADJUSTMENT',
      item: { storeId: 'acme-uptown' },
    });
    await events.close();

    await adjust(BURGER, -1);
    const resumed = socket.subscribe<InventoryEvent>(INVENTORY_EVENTS, {
      after: first.data?.inventoryAlert.cursor,
    });
    expect((await resumed.next()).data?.inventoryAlert).toMatchObject({
      kind: 'ADJUSTMENT',
      item: { id: BURGER, storeId: 'acme-downtown' },
    });
    await resumed.close();
  });

  it('asks for a storeId when the caller has neither one nor every store, and hides other tenants', async () => {
    const staff = await app.connect(tokens['acme-staff']);
    const result = await staff.subscribe(INVENTORY_EVENTS, {}).next();
    expect(result.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');

    const globex = await app.connect(tokens['globex-manager']);
    const foreign = await globex.subscribe(INVENTORY_EVENTS, { storeId: 'acme-downtown' }).next();
    expect(foreign.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const own = await globex.live<InventoryEvent>(INVENTORY_EVENTS, {});
    await adjust(BURGER, -1);
    // globex's first event is its own adjustment: acme's came before it and did not arrive.
    await app.gql(
      ADJUST,
      { itemId: 'globex-central-burger-stock', delta: -1, reason: 'count' },
      { token: tokens['globex-manager'] },
    );
    const first = (await own.next()).data?.inventoryAlert;
    expect(first).toMatchObject({ kind: 'ADJUSTMENT', item: { id: 'globex-central-burger-stock' } });
    await own.close();
  });
});
