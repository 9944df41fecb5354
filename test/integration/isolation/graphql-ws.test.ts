import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Role } from '../../../src/auth/principal';
import {
  ACME_WITH_GLOBEX_STORE,
  adjustStock,
  CRAFTED_ACROSS_TENANTS,
  codeOf,
  connect,
  crafted,
  createOrder,
  describeCollectedErrors,
  describeForeignIds,
  type Event,
  expectProbesRefused,
  firstOutcome,
  globex,
  gql,
  itemOf,
  M,
  must,
  noGlobex,
  notificationOf,
  notify,
  noUptown,
  type OrderRow,
  openAlertId,
  orderOf,
  otherCustomer,
  overGraphqlWs,
  Q,
  S,
  ticketOf,
  uptown,
  useIsolationServer,
  useProductionServer,
  type Watch,
  walkInThenCustomerOrder,
  watch,
} from './support';

/**
 * Tenant and store isolation over graphql-ws, tested like an attacker would: every subscription field with ids
 * of another tenant and of a store the caller may not use, crafted tokens at connection_init, subscriptions
 * that deliver nothing while another tenant (or store, or customer) is busy, foreign and forged cursors, and
 * GraphQL-level probes over the socket. The same over HTTP and SSE: the files next to this one.
 */

const { app, tokens } = useIsolationServer();

/** Cursors taken from the streams of the silent subscriptions below, for the cursor probes. */
const cursors: Record<string, string> = {};

describeForeignIds(overGraphqlWs, 'subscription field', 10);

describe('crafted tokens cannot cross the tenant over graphql-ws', () => {
  it.each(CRAFTED_ACROSS_TENANTS)(
    'a token with tid=acme and %s gets nothing of globex from any subscription field',
    async (_name, claims) => {
      const token = await crafted(claims);
      await expectProbesRefused({ attackers: { crafted: token }, target: globex, surface: overGraphqlWs });
    },
  );

  it('refuses globex-central as the current store at connection_init', async () => {
    const token = await crafted(ACME_WITH_GLOBEX_STORE);
    await expect(app.connect(token, { storeId: 'globex-central' })).rejects.toMatchObject({ code: 4403 });
  });

  it('refuses a token whose sub is a user of another tenant, whatever its roles', async () => {
    for (const roles of [['STAFF'], ['ADMIN', 'MANAGER', 'KITCHEN']] as Role[][]) {
      const token = await crafted({ sub: 'globex-staff', tid: 'acme', roles, stores: ['acme-downtown'] });
      await expect(app.connect(token)).rejects.toMatchObject({ code: 4401 });
    }
  });
});

describe('subscriptions stay silent for what the subscriber may not see', () => {
  const acme: Record<string, Watch> = {};
  const control: Record<string, Watch> = {};

  /** Every dashboard push is acme's own, and they settle on what the acme query says. */
  async function dashboardsSettleOnAcme() {
    const finalOf = async (storeId?: string) =>
      (
        await must<{ dashboard: Event }>(
          tokens['acme-admin']!,
          'query ($id: ID) { dashboard(storeId: $id) { salesTodayCents ordersToday } }',
          { id: storeId },
        )
      ).dashboard;
    for (const [w, storeId] of [
      [acme.adminDashboard!, undefined],
      [acme.managerStoreDashboard!, 'acme-downtown'],
      [acme.staffDashboard!, 'acme-downtown'],
    ] as const) {
      const final = await finalOf(storeId);
      await w.until(
        (e) => e.salesTodayCents === final.salesTodayCents && e.ordersToday === final.ordersToday,
        (e) =>
          noGlobex(e) &&
          (storeId === undefined || noUptown(e)) &&
          Number(e.salesTodayCents) <= Number(final.salesTodayCents),
      );
    }
  }

  it('globex produces events of every kind; no acme subscriber receives any of them', async () => {
    const admin = await connect(tokens['acme-admin']!);
    const staff = await connect(tokens['acme-staff']!, 'acme-downtown');
    const kitchen = await connect(tokens['acme-kitchen']!);
    const customer = await connect(tokens['acme-customer']!);
    const manager = await connect(tokens['acme-manager']!);
    acme.adminOrders = await watch('admin orderUpdated', admin, S.orderUpdated, { id: 'acme-downtown' });
    acme.adminExpo = await watch('admin kdsTicket expo', admin, S.kdsTicket, { id: 'acme-downtown-expo' });
    acme.adminBar = await watch('admin kdsTicket bar', admin, S.kdsTicket, { id: 'acme-downtown-bar' });
    acme.adminInventory = await watch('admin inventoryAlert (tenant)', admin, S.inventoryAlert);
    acme.adminDashboard = await watch('admin dashboardMetrics (tenant)', admin, S.dashboardMetrics);
    acme.adminNotifications = await watch('admin notifications', admin, S.notifications);
    acme.managerStoreDashboard = await watch(
      'manager dashboardMetrics downtown',
      manager,
      S.dashboardMetrics,
      {
        id: 'acme-downtown',
      },
    );
    acme.managerInventory = await watch('manager inventoryAlert downtown', manager, S.inventoryAlert, {
      id: 'acme-downtown',
    });
    acme.staffOrders = await watch('staff orderUpdated', staff, S.orderUpdated, { id: 'acme-downtown' });
    acme.staffExpo = await watch('staff kdsTicket expo', staff, S.kdsTicket, { id: 'acme-downtown-expo' });
    acme.staffInventory = await watch('staff inventoryAlert (current store)', staff, S.inventoryAlert);
    acme.staffDashboard = await watch('staff dashboardMetrics (current store)', staff, S.dashboardMetrics);
    acme.staffNotifications = await watch('staff notifications', staff, S.notifications);
    acme.kitchenGrill = await watch('kitchen kdsTicket grill', kitchen, S.kdsTicket, {
      id: 'acme-downtown-grill',
    });
    acme.kitchenInventory = await watch('kitchen inventoryAlert downtown', kitchen, S.inventoryAlert, {
      id: 'acme-downtown',
    });
    acme.kitchenNotifications = await watch('kitchen notifications', kitchen, S.notifications);
    acme.customerOrders = await watch('customer orderUpdated', customer, S.orderUpdated, {
      id: 'acme-downtown',
    });
    acme.customerNotifications = await watch('customer notifications', customer, S.notifications);

    const globexAdmin = await connect(tokens['globex-admin']!);
    const globexStaff = await connect(tokens['globex-staff']!, 'globex-central');
    control.orders = await watch('globex orderUpdated', globexAdmin, S.orderUpdated, { id: globex.store });
    control.expo = await watch('globex kdsTicket expo', globexAdmin, S.kdsTicket, { id: globex.expo });
    control.inventory = await watch('globex inventoryAlert (tenant)', globexAdmin, S.inventoryAlert);
    control.notifications = await watch('globex-staff notifications', globexStaff, S.notifications);
    control.dashboard = await watch('globex dashboardMetrics', globexAdmin, S.dashboardMetrics);

    // Dashboards start with the current metrics: that first push is also proof the subscription is live.
    for (const dashboard of [acme.adminDashboard, acme.managerStoreDashboard, acme.staffDashboard])
      expect(noGlobex(await dashboard!.next())).toBe(true);
    await control.dashboard.next();

    await globexDoesEverything();

    // The other tenant's subscribers saw all of it (so the silence below means something)...
    const kinds = async (w: Watch, field: string, wanted: string[]) => {
      const seen = new Set<string>();
      while (!wanted.every((kind) => seen.has(kind))) seen.add(String((await w.next())[field]));
    };
    await kinds(control.orders, 'kind', [
      'CREATED',
      'STATUS_CHANGED',
      'ITEM_READY',
      'PAID',
      'COMPLETED',
      'CANCELLED',
    ]);
    await kinds(control.expo, 'kind', ['ORDER_INCOMING', 'ITEM_STARTED', 'ITEM_READY', 'BUMPED', 'RECALLED']);
    await kinds(control.inventory, 'kind', [
      'LOW_STOCK',
      'OUT_OF_STOCK',
      'ACKNOWLEDGED',
      'RESTOCKED',
      'ADJUSTMENT',
    ]);
    const titles = new Set<string>();
    while (titles.size < 4) titles.add(notificationOf(await control.notifications.next()).title);
    await control.dashboard.next();
    cursors.globexOrders = control.orders.received[0]!.cursor as string;
    cursors.globexExpo = control.expo.received[0]!.cursor as string;
    cursors.globexInventory = control.inventory.received[0]!.cursor as string;
    cursors.globexStaffNotifications = control.notifications.received[0]!.cursor as string;

    // ...and no acme subscriber received any of it: each reads only acme's events up to acme changes made after.
    const canaryOrder = await createOrder(
      tokens['acme-staff']!,
      'acme-downtown',
      ['acme-downtown-fries', 'acme-downtown-lemonade'],
      'acme-customer',
    );
    await must(tokens['acme-admin']!, M.adjustInventory, { id: 'acme-downtown-burger-stock' });
    await notify(tokens['acme-admin']!, {
      audience: 'TENANT',
      includeCustomers: true, // the customer's subscription reads up to it too
      title: 'Acme first canary',
      body: 'x',
    });
    const isCanaryOrder = (e: Event) => orderOf(e).id === canaryOrder.id;
    const isCanaryTicket = (e: Event) => ticketOf(e).orderId === canaryOrder.id;
    for (const w of [acme.adminOrders!, acme.staffOrders!, acme.customerOrders!])
      await w.until(isCanaryOrder, noGlobex);
    for (const w of [acme.adminExpo!, acme.adminBar!, acme.staffExpo!, acme.kitchenGrill!])
      await w.until(isCanaryTicket, noGlobex);
    for (const w of [
      acme.adminInventory!,
      acme.managerInventory!,
      acme.staffInventory!,
      acme.kitchenInventory!,
    ])
      await w.until((e) => itemOf(e).id === 'acme-downtown-burger-stock', noGlobex);
    for (const w of [
      acme.adminNotifications!,
      acme.staffNotifications!,
      acme.kitchenNotifications!,
      acme.customerNotifications!,
    ])
      await w.until((e) => notificationOf(e).title === 'Acme first canary', noGlobex);
    await dashboardsSettleOnAcme();
  }, 60_000);

  it('store-bound subscribers, customers and bound KDS devices see only their own events', async () => {
    // acme-uptown is busy: acme-downtown's staff must not hear of it.
    const uptownOrder = await createOrder(tokens['acme-manager']!, uptown.store, ['acme-uptown-lemonade']);
    await must(tokens['acme-manager']!, M.updateOrderStatus, { id: uptownOrder.id });
    await must(tokens['acme-manager']!, M.adjustInventory, { id: 'acme-uptown-lemonade-stock' });
    await notify(tokens['acme-manager']!, {
      audience: 'STORE',
      targetStoreId: uptown.store,
      title: 'Uptown store',
      body: 'x',
    });
    await notify(tokens['acme-manager']!, {
      audience: 'ROLE',
      targetRole: 'STAFF',
      targetStoreId: uptown.store,
      title: 'Uptown staff',
      body: 'x',
    });
    // A walk-in order at the bar: not the customer's, not the grill's.
    const walkIn = await createOrder(tokens['acme-staff']!, 'acme-downtown', ['acme-downtown-lemonade']);
    // A message to the manager alone.
    await notify(tokens['acme-admin']!, {
      audience: 'USER',
      targetUserId: 'acme-manager',
      title: 'For the manager',
      body: 'x',
    });

    // Canaries every acme subscriber may see, in this order.
    const canaryOrder = await createOrder(
      tokens['acme-staff']!,
      'acme-downtown',
      ['acme-downtown-fries'],
      'acme-customer',
    );
    await must(tokens['acme-admin']!, M.adjustInventory, { id: 'acme-downtown-burger-stock' });
    await notify(tokens['acme-admin']!, {
      audience: 'TENANT',
      includeCustomers: true, // the customer's subscription reads up to it too
      title: 'Acme canary',
      body: 'x',
    });

    const isCanaryOrder = (e: Event) => orderOf(e).id === canaryOrder.id;
    const isCanaryTicket = (e: Event) => ticketOf(e).orderId === canaryOrder.id;
    const isCanaryItem = (e: Event) => itemOf(e).id === 'acme-downtown-burger-stock';
    const isCanaryNotification = (e: Event) => notificationOf(e).title === 'Acme canary';
    const downtownOnly = (e: Event) => noGlobex(e) && noUptown(e);

    await acme.adminOrders!.until(isCanaryOrder, downtownOnly);
    await acme.staffOrders!.until(isCanaryOrder, downtownOnly);
    const customerSaw = await acme.customerOrders!.until(
      isCanaryOrder,
      (e) => orderOf(e).customerId === 'acme-customer',
    );
    expect(customerSaw.map((e) => orderOf(e).id)).toEqual([canaryOrder.id]);
    expect(JSON.stringify(acme.customerOrders!.received)).not.toContain(walkIn.id);

    await acme.adminExpo!.until(isCanaryTicket, downtownOnly);
    await acme.staffExpo!.until(isCanaryTicket, downtownOnly);
    const grillSaw = await acme.kitchenGrill!.until(
      isCanaryTicket,
      (e) => ticketOf(e).stationId === 'acme-downtown-grill',
    );
    expect(grillSaw).toHaveLength(1);
    const barSaw = await acme.adminBar!.until(
      (e) => ticketOf(e).orderId === walkIn.id,
      (e) => ticketOf(e).stationId === 'acme-downtown-bar',
    );
    expect(barSaw).toHaveLength(1);
    cursors.acmeGrill = grillSaw[0]!.cursor as string;

    // The tenant-wide admin stream may see uptown; store streams may not.
    await acme.adminInventory!.until(isCanaryItem, noGlobex);
    expect(acme.adminInventory!.received.some((e) => itemOf(e).storeId === uptown.store)).toBe(true);
    for (const w of [acme.managerInventory!, acme.staffInventory!, acme.kitchenInventory!])
      await w.until(isCanaryItem, downtownOnly);
    cursors.acmeInventoryTenant = acme.adminInventory!.received[0]!.cursor as string;
    cursors.acmeDowntownInventory = acme.staffInventory!.received[0]!.cursor as string;

    const adminHeard = await acme.adminNotifications!.until(isCanaryNotification, noGlobex);
    expect(adminHeard.map((e) => notificationOf(e).title)).toEqual(['Uptown store', 'Acme canary']);
    for (const w of [acme.staffNotifications!, acme.kitchenNotifications!, acme.customerNotifications!]) {
      const heard = await w.until(isCanaryNotification, downtownOnly);
      expect(heard.map((e) => notificationOf(e).title)).toEqual(['Acme canary']);
    }
    cursors.acmeAdminNotifications = adminHeard[0]!.cursor as string;
    cursors.acmeStaffNotifications = acme.staffNotifications!.received[0]!.cursor as string;

    await dashboardsSettleOnAcme();
  }, 60_000);
});

/** Every kind of event globex can produce: orders, KDS, inventory down to out of stock, notifications. */
async function globexDoesEverything() {
  const staff = tokens['globex-staff']!;
  const kitchen = tokens['globex-kitchen']!;
  const manager = tokens['globex-manager']!;
  const order = await createOrder(
    staff,
    globex.store,
    ['globex-central-burger', 'globex-central-lemonade'],
    globex.customer,
  );
  const burger = order.items.find((item) => item.productId === 'globex-central-burger')!;
  const lemonade = order.items.find((item) => item.productId === 'globex-central-lemonade')!;
  await must(staff, M.updateOrderStatus, { id: order.id });
  await must(kitchen, M.startItem, { id: burger.id });
  await must(kitchen, M.markItemReady, { id: burger.id });
  await must(kitchen, M.bumpTicket, { id: burger.ticketId });
  await must(kitchen, M.recallTicket, { id: burger.ticketId });
  await must(kitchen, M.bumpTicket, { id: burger.ticketId });
  await must(staff, M.markItemReady, { id: lemonade.id });
  await must(staff, M.bumpTicket, { id: lemonade.ticketId });
  const { order: ready } = await must<{ order: OrderRow }>(staff, Q.order, { id: order.id });
  await must(
    staff,
    'mutation ($id: ID!, $amount: Int!) { recordPayment(orderId: $id, amount: $amount) { id } }',
    {
      id: order.id,
      amount: ready.totalCents,
    },
  );
  await must(staff, 'mutation ($id: ID!) { updateOrderStatus(orderId: $id, status: COMPLETED) { id } }', {
    id: order.id,
  });
  const doomed = await createOrder(staff, globex.store, ['globex-central-fries']);
  await must(staff, M.cancelOrder, { id: doomed.id });

  const item = 'globex-central-lemonade-stock';
  const quantityOf = async () => {
    const { inventoryItems } = await must<{ inventoryItems: { id: string; quantity: number }[] }>(
      manager,
      Q.inventoryItems,
      {
        id: globex.store,
      },
    );
    return inventoryItems.find((row) => row.id === item)!.quantity;
  };
  const adjust = (delta: number) => adjustStock(manager, item, delta);
  await adjust(-1); // ADJUSTMENT
  await adjust(5 - (await quantityOf())); // LOW_STOCK
  await must(manager, M.acknowledgeInventoryAlert, { id: await openAlertId(manager, globex.store, item) });
  await adjust(-5); // OUT_OF_STOCK
  await must(manager, 'mutation ($id: ID!) { restockInventory(itemId: $id, quantity: 500) { id } }', {
    id: item,
  });

  for (const input of [
    { audience: 'USER', targetUserId: 'globex-staff' },
    { audience: 'ROLE', targetRole: 'STAFF', targetStoreId: globex.store },
    { audience: 'STORE', targetStoreId: globex.store },
    { audience: 'TENANT' },
  ])
    await notify(manager, { ...input, title: `Globex ${input.audience}`, body: 'classified' });
  // SYSTEM reaches every tenant, so only platform tenants may send it; globex is not one.
  const system = await gql(
    tokens['globex-admin']!,
    'mutation ($input: SendNotificationInput!) { sendNotification(input: $input) { id } }',
    {
      input: { audience: 'SYSTEM', title: 'Globex SYSTEM', body: 'classified' },
    },
  );
  expect(codeOf(system)).toBe('FORBIDDEN');
}
// ---------------------------------------------------------------------------------------------------------
// Cursors: positions in one stream only

const base64url = (text: string) => Buffer.from(text, 'utf8').toString('base64url');
const streamTag = (streamKey: string) => createHash('sha256').update(streamKey).digest('hex').slice(0, 16);

describe('cursors of other streams, and forged ones', () => {
  type Case = [name: string, user: string, document: string, variables: () => Event, storeId?: string];
  const foreign: Case[] = [
    [
      'globex orders → acme orders',
      'acme-admin',
      S.orderUpdated,
      () => ({ id: 'acme-downtown', after: cursors.globexOrders }),
    ],
    [
      'globex expo → acme expo',
      'acme-admin',
      S.kdsTicket,
      () => ({ id: 'acme-downtown-expo', after: cursors.globexExpo }),
    ],
    [
      'globex inventory → acme tenant-wide',
      'acme-admin',
      S.inventoryAlert,
      () => ({ after: cursors.globexInventory }),
    ],
    [
      'globex inventory → acme store',
      'acme-admin',
      S.inventoryAlert,
      () => ({ id: 'acme-downtown', after: cursors.globexInventory }),
    ],
    [
      'globex-staff notifications → acme-staff',
      'acme-staff',
      S.notifications,
      () => ({ after: cursors.globexStaffNotifications }),
    ],
    [
      'acme-admin notifications → acme-staff',
      'acme-staff',
      S.notifications,
      () => ({ after: cursors.acmeAdminNotifications }),
    ],
    [
      'acme-staff notifications → acme-admin',
      'acme-admin',
      S.notifications,
      () => ({ after: cursors.acmeStaffNotifications }),
    ],
    [
      'downtown grill → downtown bar',
      'acme-admin',
      S.kdsTicket,
      () => ({ id: 'acme-downtown-bar', after: cursors.acmeGrill }),
    ],
    [
      'acme tenant-wide inventory → downtown',
      'acme-admin',
      S.inventoryAlert,
      () => ({ id: 'acme-downtown', after: cursors.acmeInventoryTenant }),
    ],
    [
      'downtown inventory → uptown',
      'acme-admin',
      S.inventoryAlert,
      () => ({ id: 'acme-uptown', after: cursors.acmeDowntownInventory }),
    ],
    [
      'downtown inventory → tenant-wide',
      'acme-admin',
      S.inventoryAlert,
      () => ({ after: cursors.acmeDowntownInventory }),
    ],
  ];
  const forged: Case[] = [
    [
      'random stream tag',
      'acme-admin',
      S.orderUpdated,
      () => ({ id: 'acme-downtown', after: base64url('1.0123456789abcdef.1') }),
    ],
    [
      "the tag of globex's order stream",
      'acme-admin',
      S.orderUpdated,
      () => ({
        id: 'acme-downtown',
        after: base64url(`1.${streamTag('t:globex:store:globex-central:orders')}.1`),
      }),
    ],
    [
      'a JSON position',
      'acme-admin',
      S.orderUpdated,
      () => ({
        id: 'acme-downtown',
        after: base64url(JSON.stringify({ topic: 't:globex:store:globex-central:orders', id: 1 })),
      }),
    ],
    ['a bare event id', 'acme-admin', S.kdsTicket, () => ({ id: 'acme-downtown-expo', after: '1' })],
    ['not base64 at all', 'acme-admin', S.inventoryAlert, () => ({ after: "' OR 1=1 --" })],
    ['an empty string', 'acme-staff', S.notifications, () => ({ after: '' })],
    [
      'an oversized id',
      'acme-staff',
      S.notifications,
      () => ({ after: base64url(`1.${'0'.repeat(16)}.${'9'.repeat(30)}`) }),
    ],
  ];

  it.each([...foreign, ...forged])(
    'refuses %s with BAD_USER_INPUT and no data',
    async (_name, user, document, variables) => {
      const vars = variables();
      expect(typeof vars.after).toBe('string');
      const client = await connect(tokens[user]!);
      const sub = client.subscribe(document, vars);
      const outcome = await firstOutcome(sub);
      expect(codeOf(outcome), JSON.stringify(outcome)).toBe('BAD_USER_INPUT');
      expect(outcome.data ?? null).toBeNull();
      expect(JSON.stringify(outcome.errors)).not.toMatch(/globex|uptown|t:acme/i);
      await client.dispose();
    },
  );

  it('a cursor forged for the own stream replays that stream only', async () => {
    const own = base64url(`1.${streamTag('t:acme:store:acme-downtown:orders')}.1`);
    const client = await connect(tokens['acme-admin']!);
    const sub = client.subscribe(S.orderUpdated, { id: 'acme-downtown', after: own });
    const first = await firstOutcome(sub);
    if (first.errors) {
      expect(codeOf(first)).toBe('BAD_USER_INPUT'); // a keyed cursor format would refuse it: just as safe
    } else {
      // Everything up to an order placed now: the replay, then live events, all of the own stream.
      const marker = await createOrder(tokens['acme-staff']!, 'acme-downtown', ['acme-downtown-fries']);
      const read = await sub.until((data) => orderOf(data.orderUpdated as Event).id === marker.id);
      const events = [first.data, ...read].map((data) => Object.values(data as Event)[0] as Event);
      expect(events.length).toBeGreaterThanOrEqual(3); // the walk-in, the canary order and the marker at least
      for (const event of events)
        expect(noGlobex(event) && noUptown(event), JSON.stringify(event)).toBe(true);
    }
    await client.dispose();
  });
});

describe('within a store', () => {
  it("a customer's subscription delivers nothing of another customer's or a walk-in order", async () => {
    const other = await otherCustomer();
    const mine = await (await connect(tokens['acme-customer']!)).live(S.orderUpdated, {
      id: 'acme-downtown',
    });
    const theirs = await (await connect(other)).live(S.orderUpdated, { id: 'acme-downtown' });
    const { walkIn, order } = await walkInThenCustomerOrder();
    // Their own order, placed last: the first event each receives.
    const theirsOwn = (
      await must<{ createOrder: OrderRow }>(
        other,
        M.createOrderIn.replace('channel: POS', 'channel: ONLINE'),
        {
          id: 'acme-downtown',
          product: 'acme-downtown-fries',
        },
      )
    ).createOrder;
    expect(orderOf((await mine.next()).data!.orderUpdated as Event).id).toBe(order.id);
    expect(orderOf((await theirs.next()).data!.orderUpdated as Event).id).toBe(theirsOwn.id);
    // And nothing after the customer's own order either: its next event is its next order.
    const next = await createOrder(
      tokens['acme-staff']!,
      'acme-downtown',
      ['acme-downtown-fries'],
      'acme-customer',
    );
    expect(orderOf((await mine.next()).data!.orderUpdated as Event).id).toBe(next.id);
    expect(walkIn.id).not.toBe(order.id);
  });

  it('a KDS device bound to the grill cannot watch the bar or the expo', async () => {
    const socket = await connect(tokens['acme-kitchen']!);
    for (const station of ['acme-downtown-bar', 'acme-downtown-expo']) {
      const outcome = await firstOutcome(socket.subscribe(S.kdsTicket, { id: station }));
      expect(['FORBIDDEN', 'NOT_FOUND'], JSON.stringify(outcome)).toContain(codeOf(outcome));
      expect(outcome.data ?? null).toBeNull();
      expect(JSON.stringify(outcome.errors)).not.toMatch(/Lemonade|acme-downtown-bar"/);
    }
  });
});

describe('GraphQL-level probes over the socket', () => {
  const production = useProductionServer();

  it('refuses introspection in production, and hides field suggestions', async () => {
    const socket = await production.connect(await production.token('acme-admin'));
    for (const query of [
      '{ __schema { types { name fields { name } } } }',
      '{ __type(name: "Order") { fields { name } } }',
      'subscription { orderUpdatd(storeId: "x") { cursor } }',
    ]) {
      const outcome = await firstOutcome(socket.subscribe(query));
      expect(outcome.errors?.length, query).toBeGreaterThan(0);
      expect(outcome.data ?? null).toBeNull();
      expect(JSON.stringify(outcome.errors)).not.toMatch(/did you mean/i);
    }
    await socket.dispose();
  });
});

const TICKET_EVENTS = /* GraphQL */ `
  subscription ($stationId: ID!, $after: String) {
    kdsTicket(stationId: $stationId, after: $after) { cursor kind ticket { id stationId } }
  }
`;
const ORDER_EVENTS = /* GraphQL */ `
  subscription ($storeId: ID!, $after: String) {
    orderUpdated(storeId: $storeId, after: $after) { cursor kind order { id storeId } }
  }
`;
const NOTIFICATION_EVENTS = 'subscription { notifications { cursor notification { id title } } }';
const CREATE_ORDER = 'mutation ($input: CreateOrderInput!) { createOrder(input: $input) { id } }';
type OrderEvent = { orderUpdated: { cursor: string; kind: string; order: { id: string; storeId: string } } };
type TicketEvent = { kdsTicket: { cursor: string; kind: string; ticket: { id: string; stationId: string } } };

describe('another tenant over graphql-ws: stations, cursors, notifications, customers', () => {
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
  it("never shows a customer another customer's order, live or on request", async () => {
    const other = await crafted({
      sub: 'acme-customer-2',
      tid: 'acme',
      roles: ['CUSTOMER'],
      stores: ['acme-downtown'],
    });
    const owner = await app.connect(tokens['acme-customer']!);
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
      { token: tokens['acme-customer']! },
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
describeCollectedErrors(60);
