import { beforeAll, describe, expect, it } from 'vitest';
import { useTestServer } from '../support/server';

const CREATE_ORDER = `mutation ($input: CreateOrderInput!) {
  createOrder(input: $input) { id number items { id productId } }
}`;
const TICKETS = `query ($stationId: ID!) {
  kdsTickets(stationId: $stationId) {
    id orderNumber stationId status priority items { name quantity status } targetSeconds elapsedSeconds late
  }
}`;
const TICKET_EVENTS = /* GraphQL */ `
  subscription ($stationId: ID!, $after: String) {
    kdsTicket(stationId: $stationId, after: $after) {
      cursor kind alert occurredAt ticket { id orderId stationId status elapsedSeconds late }
    }
  }
`;
const mutation = (name: string, arg: string) =>
  `mutation ($id: ID!) { ${name}(${arg}: $id) { id status items { status } } }`;

type Order = { id: string; number: number; items: { id: string; productId: string }[] };
type TicketEvent = {
  kdsTicket: {
    cursor: string;
    kind: string;
    alert: string | null;
    ticket: {
      id: string;
      orderId: string;
      stationId: string;
      status: string;
      elapsedSeconds: number;
      late: boolean;
    };
  };
};

const { app, tokens } = useTestServer();

beforeAll(async () => {
  // Plenty of stock for every order below.
  await app.server.db.db.inventoryItem.updateMany({ data: { quantity: 10_000 } });
});

async function createOrder(priority = 'NORMAL'): Promise<Order> {
  const result = await app.gql<{ createOrder: Order }>(
    CREATE_ORDER,
    {
      input: {
        storeId: 'acme-downtown',
        channel: 'POS',
        priority,
        items: [
          { productId: 'acme-downtown-burger', quantity: 2 },
          { productId: 'acme-downtown-lemonade', quantity: 1 },
        ],
      },
    },
    { token: tokens['acme-staff'] },
  );
  expect(result.errors).toBeUndefined();
  return result.data!.createOrder;
}

async function run(name: string, arg: string, id: string, token = tokens['acme-staff']) {
  const result = await app.gql<Record<string, { id: string; status: string }>>(
    mutation(name, arg),
    { id },
    { token },
  );
  expect(result.errors).toBeUndefined();
  return result.data![name]!;
}

async function ticketIdOf(order: Order, stationId: string): Promise<string> {
  const ticket = await app.server.db.db.kdsTicket.findFirstOrThrow({
    where: { orderId: order.id, stationId },
  });
  return ticket.id;
}

describe('kdsTickets over HTTP', () => {
  it('lists open tickets most urgent first, with elapsed time and lateness computed on read', async () => {
    const normal = await createOrder('NORMAL');
    const urgent = await createOrder('URGENT');
    await app.server.db.db.kdsTicket.updateMany({
      where: { orderId: normal.id },
      data: { firedAt: new Date(Date.now() - 700_000) },
    });
    type Tickets = {
      kdsTickets: {
        orderNumber: number;
        priority: string;
        elapsedSeconds: number;
        late: boolean;
        targetSeconds: number;
      }[];
    };
    const result = await app.gql<Tickets>(
      TICKETS,
      { stationId: 'acme-downtown-grill' },
      { token: tokens['acme-kitchen'] },
    );
    const ours = result.data!.kdsTickets.filter((t) =>
      [normal.number, urgent.number].includes(t.orderNumber),
    );
    expect(ours.map((t) => [t.orderNumber, t.priority, t.late, t.targetSeconds])).toEqual([
      [urgent.number, 'URGENT', false, 600],
      [normal.number, 'NORMAL', true, 600],
    ]);
    expect(ours[1]!.elapsedSeconds).toBeGreaterThanOrEqual(700);
  });

  it('keeps the kitchen device to its station and turns customers away', async () => {
    const bar = await app.gql(TICKETS, { stationId: 'acme-downtown-bar' }, { token: tokens['acme-kitchen'] });
    expect(bar.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const customer = await app.gql(
      TICKETS,
      { stationId: 'acme-downtown-grill' },
      { token: tokens['acme-customer'] },
    );
    expect(customer.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});

describe('kdsTicket over graphql-ws', () => {
  it('delivers each kitchen event kind after its mutation to the station and to expo, not to other stations', async () => {
    // An empty board, so the late sweep below finds only this test's tickets.
    await app.server.db.db.kdsTicket.updateMany({ data: { status: 'BUMPED' } });
    const kitchen = await app.connect(tokens['acme-kitchen']);
    const manager = await app.connect(tokens['acme-manager']);
    const grill = await kitchen.live<TicketEvent>(TICKET_EVENTS, { stationId: 'acme-downtown-grill' });
    const bar = await manager.live<TicketEvent>(TICKET_EVENTS, { stationId: 'acme-downtown-bar' });
    const expo = await manager.live<TicketEvent>(TICKET_EVENTS, { stationId: 'acme-downtown-expo' });
    const uptown = await manager.live<TicketEvent>(TICKET_EVENTS, { stationId: 'acme-uptown-grill' });
    const next = async () => (await grill.next()).data!.kdsTicket;

    const order = await createOrder('HIGH');
    expect(await next()).toMatchObject({
      kind: 'ORDER_INCOMING',
      alert: 'RUSH',
      ticket: { orderId: order.id, stationId: 'acme-downtown-grill', status: 'OPEN', late: false },
    });
    expect((await bar.next()).data!.kdsTicket).toMatchObject({
      kind: 'ORDER_INCOMING',
      ticket: { stationId: 'acme-downtown-bar' },
    });
    const expoIncoming = await expo.take(2);
    expect(expoIncoming.map((r) => r.data!.kdsTicket.ticket.stationId).sort()).toEqual([
      'acme-downtown-bar',
      'acme-downtown-grill',
    ]);

    const burger = order.items.find((item) => item.productId === 'acme-downtown-burger')!;
    const grillTicket = await ticketIdOf(order, 'acme-downtown-grill');
    const device = tokens['acme-kitchen'];
    await run('startItem', 'itemId', burger.id, device);
    expect(await next()).toMatchObject({ kind: 'ITEM_STARTED', ticket: { status: 'IN_PROGRESS' } });
    await run('markItemReady', 'itemId', burger.id, device);
    expect(await next()).toMatchObject({ kind: 'ITEM_READY', ticket: { status: 'READY' } });
    expect(await next()).toMatchObject({ kind: 'ORDER_COMPLETE', ticket: { id: grillTicket } });
    await run('bumpTicket', 'ticketId', grillTicket, device);
    expect(await next()).toMatchObject({ kind: 'BUMPED', alert: null, ticket: { status: 'BUMPED' } });
    await run('recallTicket', 'ticketId', grillTicket, device);
    expect(await next()).toMatchObject({
      kind: 'RECALLED',
      alert: 'RECALLED',
      ticket: { status: 'IN_PROGRESS' },
    });

    await app.server.services.kds.sweepLate(new Date(Date.now() + 601_000));
    expect(await next()).toMatchObject({ kind: 'LATE', alert: 'LATE', ticket: { id: grillTicket } });

    const expoKinds = (await expo.take(7)).map((r) => r.data!.kdsTicket.kind);
    expect(expoKinds).toEqual([
      'ITEM_STARTED',
      'ITEM_READY',
      'ORDER_COMPLETE',
      'BUMPED',
      'RECALLED',
      'LATE',
      'LATE',
    ]);
    expect((await bar.next()).data!.kdsTicket).toMatchObject({
      kind: 'LATE',
      ticket: { stationId: 'acme-downtown-bar' },
    });
    // The next event of the bar and of uptown's grill is a new order of their own: nothing came in between.
    const barOrder = await createOrder();
    expect((await bar.next()).data!.kdsTicket).toMatchObject({
      kind: 'ORDER_INCOMING',
      ticket: { orderId: barOrder.id },
    });
    const uptownOrder = await app.gql<{ createOrder: Order }>(
      CREATE_ORDER,
      {
        input: {
          storeId: 'acme-uptown',
          channel: 'POS',
          items: [{ productId: 'acme-uptown-burger', quantity: 1 }],
        },
      },
      { token: tokens['acme-manager'] },
    );
    expect((await uptown.next()).data!.kdsTicket).toMatchObject({
      kind: 'ORDER_INCOMING',
      ticket: { orderId: uptownOrder.data!.createOrder.id },
    });
    await kitchen.dispose();
    await manager.dispose();
  });

  it('refuses a station the device is not bound to', async () => {
    const kitchen = await app.connect(tokens['acme-kitchen']);
    const result = await kitchen
      .subscribe<TicketEvent>(TICKET_EVENTS, { stationId: 'acme-downtown-bar' })
      .next();
    expect(result.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    await kitchen.dispose();
  });

  it('makes the order READY over the order stream when its last ticket is bumped', async () => {
    const manager = await app.connect(tokens['acme-manager']);
    const orders = await manager.live<{
      orderUpdated: { kind: string; previousStatus: string; order: { id: string; status: string } };
    }>('subscription { orderUpdated(storeId: "acme-downtown") { kind previousStatus order { id status } } }');
    const order = await createOrder();
    expect((await orders.next()).data!.orderUpdated).toMatchObject({
      kind: 'CREATED',
      order: { id: order.id },
    });
    await run('bumpTicket', 'ticketId', await ticketIdOf(order, 'acme-downtown-grill'));
    await run('bumpTicket', 'ticketId', await ticketIdOf(order, 'acme-downtown-bar'));
    expect((await orders.next()).data!.orderUpdated).toEqual({
      kind: 'STATUS_CHANGED',
      previousStatus: 'PENDING',
      order: { id: order.id, status: 'READY' },
    });
    await manager.dispose();
  });
});

describe('station target time', () => {
  const SET_TARGET = `mutation ($stationId: ID!, $targetSeconds: Int!) {
    setStationTargetTime(stationId: $stationId, targetSeconds: $targetSeconds) { id targetSeconds }
  }`;

  it('is set by a manager and is what open tickets are measured against', async () => {
    await createOrder();
    const set = await app.gql(
      SET_TARGET,
      { stationId: 'acme-downtown-bar', targetSeconds: 45 },
      { token: tokens['acme-manager'] },
    );
    expect(set.data).toEqual({ setStationTargetTime: { id: 'acme-downtown-bar', targetSeconds: 45 } });
    const tickets = await app.gql<{ kdsTickets: Array<{ targetSeconds: number }> }>(
      TICKETS,
      { stationId: 'acme-downtown-bar' },
      { token: tokens['acme-manager'] },
    );
    expect(tickets.data?.kdsTickets.length).toBeGreaterThan(0);
    expect(tickets.data?.kdsTickets.every((ticket) => ticket.targetSeconds === 45)).toBe(true);

    const byKitchen = await app.gql(
      SET_TARGET,
      { stationId: 'acme-downtown-grill', targetSeconds: 45 },
      { token: tokens['acme-kitchen'] },
    );
    expect(byKitchen.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});
