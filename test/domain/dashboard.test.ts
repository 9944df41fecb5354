import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DashboardService } from '../../src/domain/dashboard';
import {
  average,
  computeMetrics,
  createKeyedThrottle,
  type DashboardMetricsView,
  kitchenLoad,
  type MetricsInput,
  mergeInputs,
  newCustomers,
  ordersToday,
  percentile,
  salesTodayCents,
  startOfDay,
  topProducts,
} from '../../src/domain/dashboard-metrics';
import type { CreateOrderInput } from '../../src/domain/orders';
import { createPubSub } from '../../src/events/create-pubsub';
import { createPublisher } from '../../src/events/publisher';
import { topics } from '../../src/events/topics';
import { as, createDomainFixture, type DomainFixture, drainFor, nextWithin } from '../support/domain-fixture';

const at = (iso: string) => new Date(iso);

describe('metric functions', () => {
  const orders: MetricsInput['ordersToday'] = [
    { status: 'COMPLETED', totalCents: 1000 },
    { status: 'PENDING', totalCents: 250 },
    { status: 'CANCELLED', totalCents: 999 },
  ];

  it('counts sales and orders of the day without cancelled ones', () => {
    expect(salesTodayCents(orders)).toBe(1250);
    expect(ordersToday(orders)).toBe(2);
  });

  it('averages and takes the nearest-rank 90th percentile, null without data', () => {
    const seconds = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100];
    expect(average(seconds)).toBe(55);
    expect(percentile(seconds, 90)).toBe(90);
    expect(percentile([42], 90)).toBe(42);
    expect([average([]), percentile([], 90)]).toEqual([null, null]);
  });

  it('counts customers whose earliest order is today', () => {
    const dayStart = at('2025-01-02T00:00:00Z');
    const customers = [
      { customerId: 'new', firstOrderAt: at('2025-01-02T09:00:00Z') },
      { customerId: 'returning', firstOrderAt: at('2025-01-02T10:00:00Z') },
      { customerId: 'returning', firstOrderAt: at('2024-12-20T10:00:00Z') },
    ];
    expect(newCustomers(customers, dayStart)).toBe(1);
  });

  it('counts open items per station, busiest first, idle stations included', () => {
    const stations = [
      { id: 'bar', name: 'Bar' },
      { id: 'expo', name: 'Expo' },
      { id: 'grill', name: 'Grill' },
    ];
    expect(kitchenLoad(stations, ['grill', 'bar', 'grill'])).toEqual([
      { stationId: 'grill', stationName: 'Grill', openItems: 2 },
      { stationId: 'bar', stationName: 'Bar', openItems: 1 },
      { stationId: 'expo', stationName: 'Expo', openItems: 0 },
    ]);
  });

  it('ranks the five best sellers by quantity', () => {
    const items = ['a', 'b', 'c', 'd', 'e', 'f'].flatMap((name, i) => [
      { productId: name, name, quantity: i + 1 },
      { productId: name, name, quantity: 1 },
    ]);
    expect(topProducts(items).map((p) => [p.productId, p.quantity])).toEqual([
      ['f', 7],
      ['e', 6],
      ['d', 5],
      ['c', 4],
      ['b', 3],
    ]);
  });

  it('starts the day at local midnight of the store’s time zone', () => {
    expect(startOfDay(at('2025-03-10T12:34:56Z'), 'UTC').toISOString()).toBe('2025-03-10T00:00:00.000Z');
    // New York on a DST change day: midnight was still EST (-5).
    expect(startOfDay(at('2024-03-10T12:00:00Z'), 'America/New_York').toISOString()).toBe(
      '2024-03-10T05:00:00.000Z',
    );
    // 23:00 in New York on 30 June is already 1 July in UTC.
    expect(startOfDay(at('2024-07-01T03:00:00Z'), 'America/New_York').toISOString()).toBe(
      '2024-06-30T04:00:00.000Z',
    );
  });

  it('merges stores into one tenant-wide view', () => {
    const store = (id: string, cents: number): MetricsInput => ({
      ordersToday: [{ status: 'PENDING', totalCents: cents }],
      openOrders: 1,
      bumpedTickets: [{ firedAt: at('2025-01-02T10:00:00Z'), bumpedAt: at('2025-01-02T10:05:00Z') }],
      customers: [],
      dayStart: at('2025-01-02T00:00:00Z'),
      stations: [{ id: `${id}-grill`, name: 'Grill' }],
      openItemStationIds: [`${id}-grill`],
      itemsSoldToday: [{ productId: 'p', name: 'P', quantity: 2 }],
    });
    const view = computeMetrics(
      mergeInputs([store('a', 100), store('b', 300)], at('2025-01-02T00:00:00Z')),
      { tenantId: 't', storeId: null },
      at('2025-01-02T12:00:00Z'),
    );
    expect(view).toMatchObject({
      storeId: null,
      salesTodayCents: 400,
      ordersToday: 2,
      openOrders: 2,
      averageTicketSeconds: 300,
      p90TicketSeconds: 300,
      topProducts: [{ productId: 'p', quantity: 4 }],
      computedAt: '2025-01-02T12:00:00.000Z',
    });
    expect(view.kitchenLoad).toHaveLength(2);
  });
});

describe('keyed throttle', () => {
  it('runs at once on the first trigger and once more after the window for a burst', async () => {
    let state = 0;
    const seen: number[] = [];
    const throttle = createKeyedThrottle(60, async () => {
      seen.push(state);
    });
    for (let i = 1; i <= 5; i++) {
      state = i;
      throttle.trigger('store');
    }
    expect(seen).toEqual([1]); // the leading run started with the first trigger
    await throttle.idle();
    expect(seen).toEqual([1, 5]);
    state = 6;
    throttle.trigger('store');
    await throttle.idle();
    expect(seen).toEqual([1, 5, 6]);
  });

  it('never holds back the last change of a burst that spans the window', async () => {
    let state = 0;
    const seen: number[] = [];
    const throttle = createKeyedThrottle(40, async () => {
      seen.push(state);
    });
    state = 1;
    throttle.trigger('store');
    await new Promise((resolve) => setTimeout(resolve, 5));
    state = 2;
    throttle.trigger('store');
    state = 3;
    throttle.trigger('store');
    await throttle.idle();
    expect(seen).toEqual([1, 3]);
  });

  it('keeps keys apart and never overlaps runs of one key', async () => {
    const log: string[] = [];
    let running = 0;
    let overlapped = false;
    const throttle = createKeyedThrottle(10, async (key) => {
      running += 1;
      overlapped ||= running > 1 && key === 'slow';
      log.push(key);
      if (key === 'slow') await new Promise((resolve) => setTimeout(resolve, 50));
      running -= 1;
    });
    throttle.trigger('slow');
    throttle.trigger('slow');
    throttle.trigger('fast');
    await throttle.idle();
    expect(log.filter((k) => k === 'slow')).toHaveLength(2);
    expect(log.filter((k) => k === 'fast')).toHaveLength(1);
    expect(overlapped).toBe(false);
  });

  it('drops trailing runs once stopped', async () => {
    let runs = 0;
    const throttle = createKeyedThrottle(30, async () => {
      runs += 1;
    });
    throttle.trigger('store');
    throttle.trigger('store');
    await throttle.stop();
    throttle.trigger('store');
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(runs).toBe(1);
  });
});

describe('DashboardService on a real database', () => {
  const manager = as('acme-manager');
  const staff = as('acme-staff');
  let f: DomainFixture;

  beforeAll(async () => {
    f = await createDomainFixture({ dashboard: { throttleMs: 50 } });
  });

  afterAll(async () => {
    await f.close();
  });

  beforeEach(async () => {
    await f.dashboard.settled();
    const db = f.deps.db;
    await db.orderItem.deleteMany({});
    await db.kdsTicket.deleteMany({});
    await db.payment.deleteMany({});
    await db.order.deleteMany({});
    await db.dashboardSnapshot.deleteMany({});
    // Rows deleted behind the service's back: announce it the way a commit would, so caches refresh.
    f.dashboard.onCommit([touched('acme-downtown'), touched('acme-uptown')]);
    await f.dashboard.settled();
  });

  /** What a committed order event of the store looks like to a commit listener. */
  const touched = (storeId: string) => ({
    id: '1',
    tenantId: 'acme',
    topic: topics.storeOrders('acme', storeId),
    kind: 'order.UPDATED',
    payload: {},
    createdAt: new Date().toISOString(),
    prevId: null,
  });
  const downtownTouched = () => touched('acme-downtown');

  function order(storeId: string, items: [string, number][], extra: Partial<CreateOrderInput> = {}) {
    return f.orders.createOrder(manager, {
      storeId,
      channel: 'POS',
      items: items.map(([product, quantity]) => ({ productId: `${storeId}-${product}`, quantity })),
      ...extra,
    });
  }

  /** Downtown: 2 burgers + fries (2597), 3 lemonades for acme-customer (897), a cancelled burger; uptown: a burger. */
  async function placeOrders() {
    const a = await order('acme-downtown', [
      ['burger', 2],
      ['fries', 1],
    ]);
    const b = await order('acme-downtown', [['lemonade', 3]], { customerId: 'acme-customer' });
    const c = await order('acme-downtown', [['burger', 1]]);
    await f.orders.cancelOrder(manager, c.id, 'changed mind');
    const d = await order('acme-uptown', [['burger', 1]]);
    return { a, b, c, d };
  }

  it('computes a store’s metrics of the day from its orders and tickets', async () => {
    const { a, b } = await placeOrders();
    const metrics = await f.dashboard.dashboard(manager, 'acme-downtown');
    expect(metrics).toMatchObject({
      storeId: 'acme-downtown',
      salesTodayCents: 3494,
      ordersToday: 2,
      openOrders: 2,
      averageTicketSeconds: null,
      p90TicketSeconds: null,
      newCustomersToday: 1,
      kitchenLoad: [
        { stationId: 'acme-downtown-grill', stationName: 'Grill', openItems: 2 },
        { stationId: 'acme-downtown-bar', stationName: 'Bar', openItems: 1 },
        { stationId: 'acme-downtown-expo', stationName: 'Expo', openItems: 0 },
      ],
      topProducts: [
        { productId: 'acme-downtown-lemonade', name: 'Lemonade', quantity: 3 },
        { productId: 'acme-downtown-burger', name: 'Burger', quantity: 2 },
        { productId: 'acme-downtown-fries', name: 'Fries', quantity: 1 },
      ],
    });

    const now = Date.now();
    const bump = (orderId: string, seconds: number) =>
      f.deps.db.kdsTicket.updateMany({
        where: { orderId },
        data: { status: 'BUMPED', firedAt: new Date(now - seconds * 1000), bumpedAt: new Date(now) },
      });
    await bump(a.id, 300);
    await bump(b.id, 100);
    const fresh = new DashboardService(f.deps); // direct row edits commit no events, so read uncached
    expect(await fresh.dashboard(manager, 'acme-downtown')).toMatchObject({
      averageTicketSeconds: 200,
      p90TicketSeconds: 300,
      kitchenLoad: [
        { stationName: 'Bar', openItems: 0 },
        { stationName: 'Expo', openItems: 0 },
        { stationName: 'Grill', openItems: 0 },
      ],
    });
  });

  it('adds up every store for callers with every store when storeId is omitted', async () => {
    await placeOrders();
    const metrics = await f.dashboard.dashboard(manager);
    expect(metrics).toMatchObject({ storeId: null, salesTodayCents: 4593, ordersToday: 3, openOrders: 3 });
    expect(metrics.kitchenLoad).toHaveLength(6);
  });

  it('counts a customer as new per scope: new to the store, not new to the tenant', async () => {
    await order('acme-downtown', [['fries', 1]], { customerId: 'acme-customer' });
    await f.deps.db.order.create({
      data: {
        tenantId: 'acme',
        storeId: 'acme-uptown',
        number: 999,
        status: 'COMPLETED',
        channel: 'POS',
        customerId: 'acme-customer',
        totalCents: 100,
        currency: 'USD',
        createdAt: new Date(Date.now() - 3 * 86_400_000),
      },
    });
    const fresh = new DashboardService(f.deps);
    expect((await fresh.dashboard(manager, 'acme-downtown')).newCustomersToday).toBe(1);
    expect((await fresh.dashboard(manager)).newCustomersToday).toBe(0);
  });

  it('serves the cached value until a commit touches the store', async () => {
    const first = await f.dashboard.dashboard(manager, 'acme-downtown');
    expect(await f.dashboard.dashboard(manager, 'acme-downtown')).toEqual(first);
    await order('acme-downtown', [['fries', 2]]);
    expect((await f.dashboard.dashboard(manager, 'acme-downtown')).ordersToday).toBe(first.ordersToday + 1);
  });

  it('lets staff see their store only, and managers and admins the whole tenant', async () => {
    expect((await f.dashboard.dashboard(staff, 'acme-downtown')).storeId).toBe('acme-downtown');
    expect((await f.dashboard.dashboard(as('acme-staff', { currentStoreId: 'acme-downtown' }))).storeId).toBe(
      'acme-downtown',
    );
    await expect(f.dashboard.dashboard(staff, 'acme-uptown')).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(f.dashboard.dashboard(staff)).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    await expect(f.dashboard.dashboard(as('acme-staff', { stores: '*' }))).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
    await expect(f.dashboard.dashboard(as('acme-kitchen'), 'acme-downtown')).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
    await expect(f.dashboard.dashboard(as('globex-manager'), 'acme-downtown')).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    expect((await f.dashboard.dashboard(as('acme-admin'))).storeId).toBeNull();
  });

  it('pushes a burst of commits once at its start and once at the end of the window', async () => {
    // A service of its own, with a window far longer than the burst, publishing on a pub/sub of its own.
    const pubsub = await createPubSub({ logger: f.deps.logger });
    const slow = new DashboardService(
      { ...f.deps, publisher: createPublisher(f.deps.publisher, pubsub) },
      { throttleMs: 3000 },
    );
    const pushes: DashboardMetricsView[] = [];
    const unsubscribe = await pubsub.subscribe(topics.storeDashboard('acme', 'acme-downtown'), (message) => {
      pushes.push(message as DashboardMetricsView);
    });
    try {
      for (let i = 0; i < 4; i++) await order('acme-downtown', [['fries', 1]]);
      f.listen(slow.onCommit);
      // The burst: three commit notifications at once, then one more real order within the window.
      for (let i = 0; i < 3; i++) slow.onCommit([downtownTouched()]);
      await order('acme-downtown', [['fries', 1]]);
      await slow.settled();
      expect(pushes).toHaveLength(2);
      expect(pushes.at(-1)).toMatchObject({
        storeId: 'acme-downtown',
        ordersToday: 5,
        salesTodayCents: 5 * 399,
      });
    } finally {
      unsubscribe();
      await slow.stop();
      await pubsub.close();
    }
  });

  it('streams the current metrics at once, then each push', async () => {
    const stream = await f.dashboard.subscribeDashboardMetrics(staff, 'acme-downtown');
    try {
      expect(await nextWithin(stream)).toMatchObject({ storeId: 'acme-downtown', ordersToday: 0 });
      await order('acme-downtown', [['burger', 1]]);
      expect(await nextWithin(stream)).toMatchObject({ ordersToday: 1, salesTodayCents: 1099 });
    } finally {
      await stream.return?.();
    }
    expect(await stream.next()).toEqual({ done: true, value: undefined });
  });

  it('streams tenant-wide metrics to callers with every store', async () => {
    const stream = await f.dashboard.subscribeDashboardMetrics(manager);
    const globex = await f.dashboard.subscribeDashboardMetrics(as('globex-manager'));
    try {
      expect(await nextWithin(stream)).toMatchObject({ storeId: null, ordersToday: 0 });
      await nextWithin(globex);
      await order('acme-uptown', [['lemonade', 2]]);
      expect(await nextWithin(stream)).toMatchObject({ storeId: null, tenantId: 'acme', ordersToday: 1 });
      expect(await drainFor(globex, 200)).toEqual([]);
    } finally {
      await stream.return?.();
      await globex.return?.();
    }
    expect(topics.tenantDashboard('acme')).toBe('t:acme:dashboard');
  });

  it('refuses subscriptions the caller may not see', async () => {
    await expect(f.dashboard.subscribeDashboardMetrics(staff, 'acme-uptown')).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
    await expect(f.dashboard.subscribeDashboardMetrics(staff)).rejects.toMatchObject({
      code: 'BAD_USER_INPUT',
    });
  });

  it('persists one snapshot per store and reads them back as history', async () => {
    await order('acme-downtown', [['burger', 1]]);
    expect(await f.dashboard.snapshotNow()).toBe(3);
    expect(await f.dashboard.snapshotNow({ skipRecentMs: 60_000 })).toBe(0);
    const from = new Date(Date.now() - 3_600_000);
    const to = new Date(Date.now() + 3_600_000);
    const history = await f.dashboard.dashboardHistory(manager, 'acme-downtown', from, to);
    expect(history.map((s) => [s.metrics.storeId, s.metrics.ordersToday])).toEqual([['acme-downtown', 1]]);
    expect(history[0]?.takenAt).toBe(history[0]?.metrics.computedAt);
    expect(await f.dashboard.dashboardHistory(manager, 'acme-downtown', to, from).catch((e) => e.code)).toBe(
      'BAD_USER_INPUT',
    );
    const tooLong = new Date(from.getTime() - 40 * 86_400_000);
    expect(
      await f.dashboard.dashboardHistory(manager, 'acme-downtown', tooLong, to).catch((e) => e.code),
    ).toBe('BAD_USER_INPUT');
    expect(await f.dashboard.dashboardHistory(staff, 'acme-uptown', from, to).catch((e) => e.code)).toBe(
      'FORBIDDEN',
    );
  });

  it('takes snapshots on a timer once started', async () => {
    const timed = new DashboardService(f.deps, { snapshotIntervalMs: 50 });
    timed.start();
    try {
      const deadline = Date.now() + 5000;
      while ((await f.deps.db.dashboardSnapshot.count()) < 3 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    } finally {
      await timed.stop();
    }
    expect(await f.deps.db.dashboardSnapshot.count()).toBeGreaterThanOrEqual(3);
  });
});
