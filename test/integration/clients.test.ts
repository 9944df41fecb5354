import { type ExecutionResult, print } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createApolloClient } from '../../src/client/examples/apollo';
import { watchStation } from '../../src/client/examples/kitchen-display';
import { createSseClient } from '../../src/client/examples/sse';
import { createUrqlClient } from '../../src/client/examples/urql';
import {
  CreateOrderDocument,
  type CreateOrderInput,
  KitchenTicketsDocument,
  type KitchenTicketsSubscription,
  MeDocument,
  OrderUpdatesDocument,
  type OrderUpdatesSubscription,
} from '../../src/client/gql/graphql';
import { type ExpediterError, httpRequest } from '../../src/client/index';
import { type ExpediterTestServer, startTestServer } from '../../src/client/testing';
import { createTestDatabase, type TestDatabase } from '../support/db';

type OrderEvent = OrderUpdatesSubscription['orderUpdated'];
type TicketEvent = KitchenTicketsSubscription['kdsTicket'];

const STORE = 'acme-downtown';
const burger = (): CreateOrderInput => ({
  storeId: STORE,
  channel: 'POS',
  items: [{ productId: 'acme-downtown-burger', quantity: 1 }],
});

let database: TestDatabase;
/** The server under test: stopped and started again on the same database and port. */
let primary: ExpediterTestServer;
/** A second instance on the same database, taking orders while the primary is down. */
let secondary: ExpediterTestServer;

beforeAll(async () => {
  database = await createTestDatabase({ seed: true });
  await database.handle.close();
  [primary, secondary] = await Promise.all([
    startTestServer({ databaseUrl: database.url }),
    startTestServer({ databaseUrl: database.url }),
  ]);
});

afterAll(async () => {
  await Promise.all([primary?.close(), secondary?.close()]);
  await database?.drop();
});

const managerToken = () => primary.token('acme-manager');

/** Places an order through a server's HTTP API, as a POS would. */
async function placeOrder(server: ExpediterTestServer): Promise<string> {
  const { createOrder } = await server.request('acme-staff', CreateOrderDocument, { input: burger() });
  return createOrder.id;
}

/** Events as a client receives them, with a way to wait for one. */
function eventLog<T>() {
  const events: T[] = [];
  const errors: unknown[] = [];
  return {
    events,
    errors,
    push: (event: T) => events.push(event),
    fail: (error: unknown) => errors.push(error),
    async waitFor(predicate: (events: T[]) => boolean, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (!predicate(events)) {
        if (errors.length > 0) throw errors[0];
        if (Date.now() > deadline)
          throw new Error(`timed out; received ${JSON.stringify(events).slice(0, 500)}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
  };
}

/**
 * A new subscription is live once the server delivers an event to it; orders placed before that may
 * rightly be missed. Probe with orders until one arrives; returns that order's id.
 */
async function untilLive(
  place: () => Promise<string>,
  received: (orderId: string) => boolean,
): Promise<string> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const orderId = await place();
    const deadline = Date.now() + 500;
    while (Date.now() < deadline) {
      if (received(orderId)) return orderId;
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  throw new Error('the subscription never received an event');
}

const createdOrderIds = (events: OrderEvent[]) =>
  events.filter((e) => e.kind === 'CREATED').map((e) => e.order.id);
const cursorsAreUnique = (events: Array<{ cursor: string }>) =>
  new Set(events.map((e) => e.cursor)).size === events.length;

/**
 * The scenario every client must pass: live events from mutations, then a server restart on the same
 * database and port with an order placed while it was down, and not one event lost or repeated.
 */
async function survivesRestart(log: ReturnType<typeof eventLog<OrderEvent>>, place: () => Promise<string>) {
  const probe = await untilLive(place, (id) => createdOrderIds(log.events).includes(id));
  const beforeRestart = await place();
  await log.waitFor((events) => createdOrderIds(events).includes(beforeRestart));

  await primary.stop();
  const whileDown = await placeOrder(secondary);
  await primary.start();
  const afterRestart = await place();

  await log.waitFor((events) => createdOrderIds(events).includes(afterRestart));
  const created = createdOrderIds(log.events);
  expect(created.slice(created.indexOf(probe) + 1)).toEqual([beforeRestart, whileDown, afterRestart]);
  expect(cursorsAreUnique(log.events)).toBe(true);
}

describe('Apollo Client 4 (GraphQLWsLink on the helper)', () => {
  it('receives order events from mutations and survives a server restart without losing one', async () => {
    const { apollo, expediter } = createApolloClient({
      httpUrl: primary.httpUrl,
      wsUrl: primary.wsUrl,
      getToken: managerToken,
      webSocketImpl: WebSocket,
    });
    const log = eventLog<OrderEvent>();
    const subscription = apollo
      .subscribe({ query: OrderUpdatesDocument, variables: { storeId: STORE } })
      .subscribe({
        next: ({ data, error }) => (error ? log.fail(error) : data && log.push(data.orderUpdated)),
        error: log.fail,
      });
    const placeWithApollo = async () => {
      const { data } = await apollo.mutate({ mutation: CreateOrderDocument, variables: { input: burger() } });
      return data!.createOrder.id;
    };
    try {
      await survivesRestart(log, placeWithApollo);
    } finally {
      subscription.unsubscribe();
      apollo.stop();
      await expediter.dispose();
    }
  }, 45_000); // a restart, and reconnects backing off meanwhile
});

describe('urql (subscriptionExchange on the helper)', () => {
  it('receives order events from mutations and survives a server restart without losing one', async () => {
    const { urql, expediter } = createUrqlClient({
      httpUrl: primary.httpUrl,
      wsUrl: primary.wsUrl,
      getToken: managerToken,
      webSocketImpl: WebSocket,
    });
    const log = eventLog<OrderEvent>();
    const subscription = urql.subscription(OrderUpdatesDocument, { storeId: STORE }).subscribe((result) => {
      if (result.error) log.fail(result.error);
      else if (result.data) log.push(result.data.orderUpdated);
    });
    const placeWithUrql = async () => {
      const result = await urql.mutation(CreateOrderDocument, { input: burger() }).toPromise();
      if (result.error) throw result.error;
      return result.data!.createOrder.id;
    };
    try {
      await survivesRestart(log, placeWithUrql);
    } finally {
      subscription.unsubscribe();
      await expediter.dispose();
    }
  }, 45_000); // a restart, and reconnects backing off meanwhile
});

describe('the helper on its own (a kitchen display)', () => {
  it('delivers every ticket of its station exactly once across a restart', async () => {
    const log = eventLog<TicketEvent>();
    const display = watchStation({
      url: primary.wsUrl,
      getToken: () => primary.token('acme-kitchen'),
      stationId: 'acme-downtown-grill',
      onTicket: log.push,
      onError: log.fail,
      webSocketImpl: WebSocket,
    });
    const incoming = (events: TicketEvent[]) =>
      events.filter((e) => e.kind === 'ORDER_INCOMING').map((e) => e.ticket.orderId);
    try {
      const probe = await untilLive(
        () => placeOrder(primary),
        (id) => incoming(log.events).includes(id),
      );
      await primary.restart();
      const afterRestart = await placeOrder(primary);
      await log.waitFor((events) => incoming(events).includes(afterRestart));
      const orders = incoming(log.events);
      expect(orders.slice(orders.indexOf(probe) + 1)).toEqual([afterRestart]);
      expect(cursorsAreUnique(log.events)).toBe(true);
    } finally {
      await display.stop();
    }
  }, 45_000); // a restart, and reconnects backing off meanwhile

  it('asks for a fresh token when the server closes with 4401 at expiry, and carries on', async () => {
    const issued: Array<{ refresh: boolean }> = [];
    const log = eventLog<OrderEvent>();
    const expediter = primary.client('acme-manager', {
      refreshTokens: false, // the fallback when a token was not renewed in time
      getToken: async ({ refresh }) => {
        issued.push({ refresh });
        return primary.token('acme-manager', { expiresIn: refresh ? '1h' : 1 });
      },
    });
    const stop = expediter.subscribe(
      OrderUpdatesDocument,
      { storeId: STORE },
      {
        next: ({ orderUpdated }) => log.push(orderUpdated),
        error: log.fail,
      },
    );
    try {
      await untilLive(
        () => placeOrder(primary),
        (id) => createdOrderIds(log.events).includes(id),
      );
      await expect.poll(() => issued, { timeout: 5000 }).toEqual([{ refresh: false }, { refresh: true }]);
      const afterRefresh = await placeOrder(primary);
      await log.waitFor((events) => createdOrderIds(events).includes(afterRefresh));
      expect(cursorsAreUnique(log.events)).toBe(true);
    } finally {
      stop();
    }
  });

  it('reports a store the token does not allow as FORBIDDEN, without retrying', async () => {
    const expediter = primary.client('acme-staff', { storeId: 'acme-uptown' }); // staff work downtown only
    const error = await new Promise<ExpediterError>((resolve) =>
      expediter.subscribe(OrderUpdatesDocument, { storeId: STORE }, { next: () => {}, error: resolve }),
    );
    expect(error).toMatchObject({ code: 'FORBIDDEN', closeCode: 4403 });
  });
});

describe('SSE (graphql-sse, for networks without WebSocket)', () => {
  const orderUpdates = print(OrderUpdatesDocument);

  it('streams order events to a client authenticated by the Authorization header, and resumes with after', async () => {
    const sse = createSseClient({ httpUrl: primary.httpUrl, getToken: managerToken });
    const log = eventLog<OrderEvent>();
    const stop = sse.subscribe<OrderUpdatesSubscription>(
      { query: orderUpdates, variables: { storeId: STORE } },
      { next: ({ data }) => data && log.push(data.orderUpdated), error: log.fail, complete: () => {} },
    );
    try {
      const probe = await untilLive(
        () => placeOrder(primary),
        (id) => createdOrderIds(log.events).includes(id),
      );
      const next = await placeOrder(primary);
      await log.waitFor((events) => createdOrderIds(events).includes(next));
      const probeIndex = log.events.findIndex((e) => e.kind === 'CREATED' && e.order.id === probe);
      const resumed = sse.iterate<OrderUpdatesSubscription>({
        query: orderUpdates,
        variables: { storeId: STORE, after: log.events[probeIndex]!.cursor },
      });
      const replayed = (await resumed.next()).value as ExecutionResult<OrderUpdatesSubscription>;
      await resumed.return?.();
      expect(replayed.data?.orderUpdated).toEqual(log.events[probeIndex + 1]);
    } finally {
      stop();
      sse.dispose();
    }
  });

  it('refuses a subscription without a token', async () => {
    const sse = createSseClient({ httpUrl: primary.httpUrl, getToken: () => null });
    const result = sse.iterate({ query: orderUpdates, variables: { storeId: STORE } });
    await expect(result.next()).resolves.toMatchObject({
      value: { errors: [{ extensions: { code: 'UNAUTHENTICATED' } }] },
    });
    sse.dispose();
  });
});

describe('expediter/testing', () => {
  // #region testing-utility
  it('starts a server with the demo data for an app test (embedded database, no services)', async () => {
    const server = await startTestServer(); // from 'expediter/testing'
    try {
      const { me } = await server.request('acme-manager', MeDocument, {});
      expect(me).toMatchObject({ id: 'acme-manager', roles: ['MANAGER'] });

      const kinds: string[] = [];
      server.client('acme-kitchen').subscribe(
        KitchenTicketsDocument,
        { stationId: 'acme-downtown-grill' },
        {
          next: ({ kdsTicket }) => kinds.push(kdsTicket.kind),
        },
      );
      const order = {
        storeId: 'acme-downtown',
        channel: 'POS',
        items: [{ productId: 'acme-downtown-burger', quantity: 1 }],
      };
      // Orders placed before the subscription is live are not for it: place until one arrives.
      await expect
        .poll(
          async () => {
            await server.request('acme-staff', CreateOrderDocument, { input: order as CreateOrderInput });
            return kinds;
          },
          { interval: 200, timeout: 10_000 },
        )
        .toContain('ORDER_INCOMING');
    } finally {
      await server.close(); // also disposes its clients
    }
  }, 60_000); // the first run on a machine builds the embedded template database (about ten seconds)
  // #endregion testing-utility
});

describe('httpRequest', () => {
  it('rejects with the server error code', async () => {
    await expect(
      httpRequest(
        primary.httpUrl,
        CreateOrderDocument,
        { input: burger() },
        { token: await primary.token('acme-kitchen') },
      ),
    ).rejects.toMatchObject({ name: 'ExpediterError', code: 'FORBIDDEN' });
  });
});
