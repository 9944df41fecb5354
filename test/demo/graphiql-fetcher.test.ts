import { readFileSync } from 'node:fs';
import { buildSchema, parse, validate } from 'graphql';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { DEFAULT_SCOPE, EXAMPLES, type Example } from '../../src/demo/graphiql/examples';
import {
  createGraphiQLFetcher,
  type GraphQLResult,
  type Observable,
  type SubscriptionTransport,
} from '../../src/demo/graphiql/fetcher';
import type { ReadableError } from '../../src/demo/graphiql/refusals';
import { startTestServer, type TestServer } from '../support/server';
import { NO_TOKEN_REFUSAL } from './expected';

/**
 * GraphiQL's fetcher (the code the page runs) against a real server, in Node: every refusal reaches
 * the result pane readable, on WebSocket, SSE and HTTP; every example runs as is.
 */

// Subscriptions over real sockets: on a machine whose cores are busy they take a while, and still work.
vi.setConfig({ testTimeout: 60_000 });

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({
    env: {
      WS_MAX_MESSAGE_BYTES: '8192',
      HTTP_MAX_BODY_BYTES: '16384',
      WS_MAX_CONNECTIONS_PER_USER: '3',
      MAX_DOCUMENT_BYTES: '65536',
      MAX_TOKENS: '100000',
      DASHBOARD_THROTTLE_MS: '0',
    },
  });
});

afterAll(async () => {
  await server?.close();
});

function fetcherFor(options: { transport?: SubscriptionTransport; httpUrl?: string; wsUrl?: string } = {}) {
  return createGraphiQLFetcher({
    httpUrl: options.httpUrl ?? `${server.url}/graphql`,
    wsUrl: options.wsUrl ?? server.wsUrl,
    transport: () => options.transport ?? 'ws',
    refusals: { demoSignIn: false },
    webSocketImpl: WebSocket,
  });
}

/** What GraphiQL does with a subscription: subscribe, show each result, and the error it ends with. */
function run(observable: Observable<GraphQLResult> | Promise<GraphQLResult>) {
  if (!('subscribe' in observable)) throw new Error('expected a subscription');
  const state = {
    results: [] as GraphQLResult[],
    error: undefined as unknown,
    done: false,
  };
  const subscription = observable.subscribe({
    next: (result) => state.results.push(result),
    error: (error) => {
      state.error = error;
      state.done = true;
    },
    complete: () => {
      state.done = true;
    },
  });
  return {
    state,
    stop: () => subscription.unsubscribe(),
    /** The error the run ended with. */
    async failure(): Promise<ReadableError> {
      await expect.poll(() => state.done, { timeout: 30_000 }).toBe(true);
      return state.error as ReadableError;
    },
  };
}

async function bearer(userId: string) {
  return { Authorization: `Bearer ${await server.token(userId)}` };
}

function operation(example: Example) {
  return {
    params: {
      query: example.document,
      variables: example.variables(DEFAULT_SCOPE),
      operationName: example.name,
    },
    documentAST: parse(example.document),
  };
}

const liveOrders = operation(EXAMPLES.find((example) => example.name === 'LiveOrders')!);
const placeOrder = operation(EXAMPLES.find((example) => example.name === 'PlaceOrder')!);

/** Orders placed before a subscription is live are rightly not delivered: place until one arrives. */
async function placeOrdersUntil(arrived: () => boolean) {
  const fetcher = fetcherFor();
  const headers = await bearer('acme-staff');
  await expect
    .poll(
      async () => {
        const result = (await fetcher(placeOrder.params, {
          headers,
          documentAST: placeOrder.documentAST,
        })) as GraphQLResult;
        expect(result.errors).toBeUndefined();
        return arrived();
      },
      { timeout: 30_000, interval: 300 },
    )
    .toBe(true);
}

describe('over WebSocket', () => {
  it('a subscription without a token ends with 4401, its reason and what to do', async () => {
    const subscription = run(
      fetcherFor()(liveOrders.params, { headers: {}, documentAST: liveOrders.documentAST }),
    );
    expect(await subscription.failure()).toEqual(NO_TOKEN_REFUSAL);
  });

  it('a store the token does not allow (x-store-id) ends with 4403', async () => {
    const headers = { ...(await bearer('acme-staff')), 'x-store-id': 'acme-uptown' };
    const subscription = run(
      fetcherFor()(liveOrders.params, { headers, documentAST: liveOrders.documentAST }),
    );
    expect(await subscription.failure()).toMatchObject({
      message: 'WebSocket closed with 4403 Forbidden: Store not allowed',
      extensions: { code: 'FORBIDDEN', closeCode: 4403, whatToDo: expect.stringContaining('x-store-id') },
    });
  });

  it('a user over their connection budget ends with 4429 and which budget it was', async () => {
    const token = await server.token('acme-admin');
    // the three connections WS_MAX_CONNECTIONS_PER_USER allows
    const others = await Promise.all([1, 2, 3].map(() => server.connect(token)));
    try {
      const subscription = run(
        fetcherFor()(liveOrders.params, {
          headers: { authorization: `Bearer ${token}` },
          documentAST: liveOrders.documentAST,
        }),
      );
      expect(await subscription.failure()).toMatchObject({
        message: 'WebSocket closed with 4429 Too many requests: Too many connections for this user',
        extensions: {
          code: 'RATE_LIMITED',
          whatToDo: expect.stringContaining('WS_MAX_CONNECTIONS_PER_USER'),
        },
      });
    } finally {
      await Promise.all(others.map((other) => other.dispose()));
    }
  });

  it('a document larger than WS_MAX_MESSAGE_BYTES ends with 1009', async () => {
    const padded = `${'#'.repeat(9000)}\n${liveOrders.params.query}`;
    const subscription = run(
      fetcherFor()(
        { ...liveOrders.params, query: padded },
        { headers: await bearer('acme-manager'), documentAST: parse(padded) },
      ),
    );
    expect(await subscription.failure()).toMatchObject({
      message: 'WebSocket closed with 1009 Message too big',
      extensions: { closeCode: 1009, whatToDo: expect.stringContaining('WS_MAX_MESSAGE_BYTES') },
    });
  });

  it('a server that is not there: could not reach it, and where to look', async () => {
    const subscription = run(
      fetcherFor({ wsUrl: 'ws://127.0.0.1:1/graphql' })(liveOrders.params, {
        headers: await bearer('acme-manager'),
        documentAST: liveOrders.documentAST,
      }),
    );
    expect(await subscription.failure()).toMatchObject({
      // a browser reports 1006 here, Node's ws the connection error: NETWORK_ERROR either way
      extensions: { code: 'NETWORK_ERROR', whatToDo: expect.stringContaining('npm start') },
    });
  });

  it('a refused operation (the role may not) is a GraphQL error with what to do', async () => {
    const dashboard = operation(EXAMPLES.find((example) => example.name === 'DashboardLive')!);
    const subscription = run(
      fetcherFor()(dashboard.params, {
        headers: await bearer('acme-kitchen'),
        documentAST: dashboard.documentAST,
      }),
    );
    await expect.poll(() => subscription.state.done, { timeout: 30_000 }).toBe(true);
    expect(subscription.state).toMatchObject({
      error: undefined,
      results: [
        {
          errors: [
            {
              message: 'Not allowed',
              extensions: { code: 'FORBIDDEN', whatToDo: expect.stringContaining('Who may do what') },
            },
          ],
        },
      ],
    });
  });

  it('with the Headers tab token, delivers orders until stopped', async () => {
    const subscription = run(
      fetcherFor()(liveOrders.params, {
        headers: await bearer('acme-manager'),
        documentAST: liveOrders.documentAST,
      }),
    );
    try {
      await placeOrdersUntil(() => subscription.state.results.length > 0);
      expect(subscription.state.results[0]).toMatchObject({
        data: { orderUpdated: { kind: 'CREATED', order: { tableNumber: 12, currency: 'USD' } } },
      });
    } finally {
      subscription.stop();
    }
    expect(subscription.state.error).toBeUndefined();
  });
});

describe('over SSE', () => {
  it('a subscription without a token ends with UNAUTHENTICATED and what to do', async () => {
    const subscription = run(
      fetcherFor({ transport: 'sse' })(liveOrders.params, {
        headers: {},
        documentAST: liveOrders.documentAST,
      }),
    );
    await expect.poll(() => subscription.state.done, { timeout: 30_000 }).toBe(true);
    expect(subscription.state.results).toEqual([
      {
        errors: [
          {
            message: 'Authentication required',
            extensions: { code: 'UNAUTHENTICATED', whatToDo: expect.stringContaining('Headers tab') },
          },
        ],
      },
    ]);
  });

  it('a request the server refuses before streaming shows what the server said', async () => {
    const padded = `${'#'.repeat(20_000)}\n${liveOrders.params.query}`;
    const subscription = run(
      fetcherFor({ transport: 'sse' })(
        { ...liveOrders.params, query: padded },
        { headers: await bearer('acme-manager'), documentAST: parse(padded) },
      ),
    );
    expect(await subscription.failure()).toEqual([
      { message: 'Request body exceeds 16384 bytes', extensions: { code: 'BAD_REQUEST' } },
    ]);
  });

  it('a server that is not there: could not reach it', async () => {
    const subscription = run(
      fetcherFor({ transport: 'sse', httpUrl: 'http://127.0.0.1:1/graphql' })(liveOrders.params, {
        headers: {},
        documentAST: liveOrders.documentAST,
      }),
    );
    expect(await subscription.failure()).toMatchObject({
      message: expect.stringMatching(/^Could not reach http:\/\/127\.0\.0\.1:1\/graphql/),
      extensions: { code: 'NETWORK_ERROR' },
    });
  });

  it('with the Headers tab token, delivers orders', async () => {
    const subscription = run(
      fetcherFor({ transport: 'sse' })(liveOrders.params, {
        headers: await bearer('acme-manager'),
        documentAST: liveOrders.documentAST,
      }),
    );
    try {
      await placeOrdersUntil(() => subscription.state.results.length > 0);
      expect(subscription.state.results[0]).toMatchObject({ data: { orderUpdated: { kind: 'CREATED' } } });
    } finally {
      subscription.stop();
    }
  });
});

describe('over HTTP', () => {
  const me = { query: '{ me { id } }' };

  it("the server's refusal comes with what to do", async () => {
    const result = await fetcherFor()(me, { headers: {}, documentAST: parse(me.query) });
    expect(result).toEqual({
      data: null,
      errors: [
        {
          message: 'Authentication required',
          extensions: { code: 'UNAUTHENTICATED', whatToDo: expect.stringContaining('Headers tab') },
        },
      ],
    });
  });

  it('a response that is not a GraphQL result: its status and what to do', async () => {
    const fetcher = fetcherFor({ httpUrl: `${server.url}/nothing-here` });
    await expect(fetcher(me, { headers: {}, documentAST: parse(me.query) })).rejects.toMatchObject({
      message: expect.stringMatching(/^HTTP 404/),
      extensions: { code: 'BAD_RESPONSE', httpStatus: 404, whatToDo: expect.stringContaining('/graphql') },
    });
  });

  it('a server that is not there: could not reach it', async () => {
    const fetcher = fetcherFor({ httpUrl: 'http://127.0.0.1:1/graphql' });
    await expect(fetcher(me, { headers: {}, documentAST: parse(me.query) })).rejects.toMatchObject({
      message: expect.stringMatching(/^Could not reach/),
      extensions: { code: 'NETWORK_ERROR' },
    });
  });
});

describe("GraphiQL's examples", () => {
  const schema = buildSchema(readFileSync('schema.graphql', 'utf8'));

  it('cover every subscription of the schema', () => {
    const covered = EXAMPLES.map((example) => example.field).filter(Boolean);
    expect(covered.sort()).toEqual(Object.keys(schema.getSubscriptionType()!.getFields()).sort());
    expect(EXAMPLES.some((example) => example.kind === 'query')).toBe(true);
    expect(EXAMPLES.some((example) => example.kind === 'mutation')).toBe(true);
  });

  it.each(EXAMPLES.map((example) => [example.name, example] as const))(
    '%s is valid against the schema',
    (_name, example) => {
      expect(validate(schema, parse(example.document))).toEqual([]);
      expect(
        parse(example.document).definitions.map(
          (definition) => (definition as { name?: { value: string } }).name?.value,
        ),
      ).toEqual([example.name]);
    },
  );

  it('queries and mutations run as is for acme-manager', async () => {
    const fetcher = fetcherFor();
    const headers = await bearer('acme-manager');
    for (const example of EXAMPLES.filter((candidate) => candidate.kind !== 'subscription')) {
      const { params, documentAST } = operation(example);
      const result = (await fetcher(params, { headers, documentAST })) as GraphQLResult;
      expect({ example: example.name, errors: result.errors }).toEqual({
        example: example.name,
        errors: undefined,
      });
    }
  });

  type Fetcher = ReturnType<typeof fetcherFor>;
  let kitchenDisplay: Promise<unknown> | undefined;
  type Headers = Record<string, string>;

  /** Runs a query or mutation example as is; it must succeed. */
  async function runAsIs(fetcher: Fetcher, headers: Headers, name: string) {
    const { params, documentAST } = operation(EXAMPLES.find((example) => example.name === name)!);
    const result = (await fetcher(params, { headers, documentAST })) as GraphQLResult;
    expect({ example: name, errors: result.errors }).toEqual({ example: name, errors: undefined });
  }

  /**
   * What makes each subscription example's events happen (run until one arrives: what happens before the
   * subscription is live is rightly not delivered), and how to recognise the one it made.
   */
  const TRIGGERS: Record<
    string,
    { by: string; fire(fetcher: Fetcher, headers: Headers): Promise<void>; made?(data: never): boolean }
  > = {
    LiveOrders: { by: 'PlaceOrder', fire: (fetcher, headers) => runAsIs(fetcher, headers, 'PlaceOrder') },
    KitchenTickets: { by: 'PlaceOrder', fire: (fetcher, headers) => runAsIs(fetcher, headers, 'PlaceOrder') },
    DashboardLive: { by: 'PlaceOrder', fire: (fetcher, headers) => runAsIs(fetcher, headers, 'PlaceOrder') },
    InventoryAlerts: {
      by: 'AdjustStock',
      fire: (fetcher, headers) => runAsIs(fetcher, headers, 'AdjustStock'),
    },
    MyNotifications: {
      by: 'SendNotification',
      fire: (fetcher, headers) => runAsIs(fetcher, headers, 'SendNotification'),
    },
    MenuUpdates: {
      by: 'ChangePrice',
      // the same price twice changes nothing: put the demo price back first
      async fire(fetcher, headers) {
        const reset =
          'mutation { updateProduct(input: { productId: "acme-downtown-fries", priceCents: 399 }) { id } }';
        await fetcher({ query: reset }, { headers, documentAST: parse(reset) });
        await runAsIs(fetcher, headers, 'ChangePrice');
      },
      made: (data: { menuUpdated: { previousPriceCents: number; product: { priceCents: number } } }) =>
        data.menuUpdated.previousPriceCents === 399 && data.menuUpdated.product.priceCents === 449,
    },
    FloorPlan: {
      by: 'ReserveTable',
      // reserving a reserved table changes nothing: free it first
      async fire(fetcher, headers) {
        const reset = 'mutation { setTableStatus(tableId: "acme-downtown-12", status: FREE) { id } }';
        await fetcher({ query: reset }, { headers, documentAST: parse(reset) });
        await runAsIs(fetcher, headers, 'ReserveTable');
      },
      made: (data: { tableUpdated: { table: { status: string } } }) =>
        data.tableUpdated.table.status === 'RESERVED',
    },
    DevicesOnline: {
      by: 'a kitchen display connecting',
      async fire() {
        // once: presence starts with the devices connected now (the connection closes with the server)
        kitchenDisplay ??= server.connect(await server.token('acme-kitchen'));
        await kitchenDisplay;
      },
    },
  };

  it('every subscription example has what makes it fire', () => {
    expect(Object.keys(TRIGGERS).sort()).toEqual(
      EXAMPLES.filter((example) => example.kind === 'subscription')
        .map((example) => example.name)
        .sort(),
    );
  });

  it.each(Object.entries(TRIGGERS).map(([name, trigger]) => [name, trigger.by, trigger] as const))(
    'the %s subscription runs as is for acme-manager and delivers what %s does',
    async (subscriptionName, _by, trigger) => {
      const fetcher = fetcherFor();
      const headers = await bearer('acme-manager');
      const { params, documentAST } = operation(
        EXAMPLES.find((example) => example.name === subscriptionName)!,
      );
      const subscription = run(fetcher(params, { headers, documentAST }));
      const made = trigger.made ?? (() => true);
      try {
        await expect
          .poll(
            async () => {
              await trigger.fire(fetcher, headers);
              return subscription.state.results.some(
                (result) => result.data && !result.errors && made(result.data as never),
              );
            },
            { timeout: 30_000, interval: 300 },
          )
          .toBe(true);
        expect(subscription.state.error).toBeUndefined();
      } finally {
        subscription.stop();
      }
    },
    60_000,
  );
});
