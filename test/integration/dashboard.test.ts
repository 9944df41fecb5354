import { describe, expect, it } from 'vitest';
import { useTestServer } from '../support/server';

const METRIC_FIELDS = /* GraphQL */ `
  storeId salesTodayCents ordersToday openOrders averageTicketSeconds p90TicketSeconds newCustomersToday
  kitchenLoad { stationId stationName openItems }
  topProducts { productId name quantity }
  computedAt
`;
const DASHBOARD = `query ($storeId: ID) { dashboard(storeId: $storeId) { ${METRIC_FIELDS} } }`;
const HISTORY = `query ($storeId: ID!, $from: DateTime!, $to: DateTime!) {
  dashboardHistory(storeId: $storeId, from: $from, to: $to) { takenAt metrics { storeId ordersToday } }
}`;
const LIVE = `subscription ($storeId: ID) { dashboardMetrics(storeId: $storeId) { ${METRIC_FIELDS} } }`;
const CREATE_ORDER = `mutation ($input: CreateOrderInput!) { createOrder(input: $input) { id totalCents } }`;

type Metrics = {
  storeId: string | null;
  salesTodayCents: number;
  ordersToday: number;
  openOrders: number;
  newCustomersToday: number;
  kitchenLoad: { stationId: string; stationName: string; openItems: number }[];
  topProducts: { productId: string; name: string; quantity: number }[];
  computedAt: string;
};

const { app, tokens } = useTestServer();

async function createOrder(storeId: string, items: [string, number][], customerId?: string) {
  const result = await app.gql<{ createOrder: { id: string; totalCents: number } }>(
    CREATE_ORDER,
    {
      input: {
        storeId,
        channel: 'POS',
        customerId,
        items: items.map(([product, quantity]) => ({ productId: `${storeId}-${product}`, quantity })),
      },
    },
    { token: tokens['acme-manager'] },
  );
  expect(result.errors).toBeUndefined();
  return result.data!.createOrder;
}

async function dashboard(storeId: string | null, token = tokens['acme-manager']) {
  const result = await app.gql<{ dashboard: Metrics }>(DASHBOARD, { storeId }, { token });
  expect(result.errors).toBeUndefined();
  return result.data!.dashboard;
}

describe('dashboard query', () => {
  it("shows a store's metrics including the order just placed", async () => {
    const before = await dashboard('acme-downtown');
    const placed = await createOrder(
      'acme-downtown',
      [
        ['burger', 2],
        ['lemonade', 1],
      ],
      'acme-customer',
    );
    const after = await dashboard('acme-downtown');
    expect(after).toMatchObject({
      storeId: 'acme-downtown',
      ordersToday: before.ordersToday + 1,
      openOrders: before.openOrders + 1,
      salesTodayCents: before.salesTodayCents + placed.totalCents,
    });
    expect(after.topProducts).toContainEqual({
      productId: 'acme-downtown-burger',
      name: 'Burger',
      quantity: 2,
    });
    expect(after.kitchenLoad.find((s) => s.stationName === 'Grill')?.openItems).toBeGreaterThanOrEqual(1);
    expect(after.newCustomersToday).toBe(1);
  });

  it('adds up the tenant for callers with every store when storeId is omitted', async () => {
    const [downtown, uptown, tenant] = await Promise.all([
      dashboard('acme-downtown', tokens['acme-admin']),
      dashboard('acme-uptown', tokens['acme-admin']),
      dashboard(null, tokens['acme-admin']),
    ]);
    expect(tenant.storeId).toBeNull();
    expect(tenant.salesTodayCents).toBe(downtown.salesTodayCents + uptown.salesTodayCents);
    expect(tenant.kitchenLoad).toHaveLength(6);
  });

  it('is for managers, admins and staff of the store only', async () => {
    expect((await dashboard('acme-downtown', tokens['acme-staff'])).storeId).toBe('acme-downtown');
    const codes = await Promise.all(
      [
        [{ storeId: 'acme-uptown' }, tokens['acme-staff']],
        [{ storeId: 'acme-downtown' }, tokens['acme-kitchen']],
        [{ storeId: 'acme-downtown' }, tokens['globex-manager']],
        [{}, tokens['acme-staff']],
      ].map(async ([variables, token]) => {
        const result = await app.gql(DASHBOARD, variables as Record<string, unknown>, {
          token: token as string,
        });
        return result.errors?.[0]?.extensions?.code;
      }),
    );
    expect(codes).toEqual(['FORBIDDEN', 'FORBIDDEN', 'NOT_FOUND', 'BAD_USER_INPUT']);
  });

  it('reads persisted snapshots back as history', async () => {
    await app.server.services.dashboard.snapshotNow();
    const from = new Date(Date.now() - 3_600_000).toISOString();
    const to = new Date(Date.now() + 3_600_000).toISOString();
    const result = await app.gql<{ dashboardHistory: { takenAt: string; metrics: { storeId: string } }[] }>(
      HISTORY,
      { storeId: 'acme-uptown', from, to },
      { token: tokens['acme-manager'] },
    );
    expect(result.errors).toBeUndefined();
    expect(result.data?.dashboardHistory.map((s) => s.metrics.storeId)).toEqual(['acme-uptown']);
    const backwards = await app.gql(
      HISTORY,
      { storeId: 'acme-uptown', from: to, to: from },
      { token: tokens['acme-manager'] },
    );
    expect(backwards.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});

describe('dashboardMetrics subscription', () => {
  it('sends the current metrics at once, then the metrics after a change', async () => {
    const socket = await app.connect(tokens['acme-staff'], { storeId: 'acme-downtown' });
    const live = socket.subscribe<{ dashboardMetrics: Metrics }>(LIVE, {});
    const first = await live.next();
    expect(first.errors).toBeUndefined();
    const initial = first.data!.dashboardMetrics;
    expect(initial.storeId).toBe('acme-downtown');

    await createOrder('acme-downtown', [['fries', 3]]);
    let latest = initial;
    while (latest.ordersToday < initial.ordersToday + 1) {
      latest = (await live.next(5000)).data!.dashboardMetrics;
    }
    expect(latest.ordersToday).toBe(initial.ordersToday + 1);
    expect(latest.salesTodayCents).toBe(initial.salesTodayCents + 3 * 399);
    await live.close();
  });

  it('streams tenant-wide metrics to admins and nothing of another tenant', async () => {
    const admin = (await app.connect(tokens['acme-admin'])).subscribe<{ dashboardMetrics: Metrics }>(
      LIVE,
      {},
    );
    const globex = (await app.connect(tokens['globex-manager'])).subscribe<{ dashboardMetrics: Metrics }>(
      LIVE,
      {},
    );
    const initial = (await admin.next()).data!.dashboardMetrics;
    expect(initial.storeId).toBeNull();
    const globexInitial = (await globex.next()).data!.dashboardMetrics;
    expect(globexInitial.storeId).toBeNull();

    await createOrder('acme-uptown', [['lemonade', 2]]);
    let latest = initial;
    while (latest.ordersToday === initial.ordersToday) {
      latest = (await admin.next(5000)).data!.dashboardMetrics;
    }
    expect(latest).toMatchObject({ storeId: null, ordersToday: initial.ordersToday + 1 });
    // globex's next push is its own order's: acme's order moved nothing of globex's.
    const placed = await app.gql(
      CREATE_ORDER,
      {
        input: {
          storeId: 'globex-central',
          channel: 'POS',
          items: [{ productId: 'globex-central-fries', quantity: 1 }],
        },
      },
      { token: tokens['globex-manager'] },
    );
    expect(placed.errors).toBeUndefined();
    expect((await globex.next()).data?.dashboardMetrics).toMatchObject({
      storeId: null,
      ordersToday: globexInitial.ordersToday + 1,
    });
    await Promise.all([admin.close(), globex.close()]);
  });

  it('refuses a store the caller may not see', async () => {
    const socket = await app.connect(tokens['acme-staff']);
    const result = await socket.subscribe(LIVE, { storeId: 'acme-uptown' }).next();
    expect(result.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});
