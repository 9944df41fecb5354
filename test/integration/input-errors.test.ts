import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { eventually } from '../support/eventually';
import { databaseFingerprint } from '../support/fingerprint';
import { startTestServer, type TestServer, type WsClient } from '../support/server';

/**
 * What the server answers when the caller's input is wrong: a typed error (BAD_USER_INPUT, or
 * GRAPHQL_VALIDATION_FAILED for the document), over HTTP and graphql-ws alike, never an internal error,
 * never an operator's log line, and never a budget taken for a call that did not run.
 */
/** setStationTargetTime's budget per user: the one this file spends to the last call. */
const BUDGET = 3;
const logLines: Array<{ level: number; msg?: string }> = [];
let app: TestServer;
let manager: string;
let ws: WsClient;

beforeAll(async () => {
  const sink = new Writable({
    write(chunk, _encoding, callback) {
      for (const line of String(chunk).split('\n').filter(Boolean)) logLines.push(JSON.parse(line));
      callback();
    },
  });
  app = await startTestServer({
    env: {
      RATE_LIMIT_OVERRIDES: `setStationTargetTime=${BUDGET}`,
      RATE_LIMIT_WINDOW_MS: '600000',
      RATE_LIMIT_SUBSCRIPTIONS: '10000',
      // One socket carries every WebSocket case here, hundreds of messages a second on a quiet machine.
      WS_MESSAGES_PER_CONNECTION: '100000',
    },
    serverOptions: { logger: pino({ level: 'debug' }, sink) },
  });
  manager = await app.token('acme-manager');
  ws = await app.connect(manager);
});
afterAll(async () => {
  await app?.close();
});

type Result = Awaited<ReturnType<TestServer['gql']>>;

/** One operation over WebSocket: its first result (a query's or mutation's only one). */
async function overWs(query: string, variables?: Record<string, unknown>): Promise<Result> {
  const subscription = ws.subscribe(query, variables);
  try {
    const result = await subscription.next();
    return { status: 0, ...(result as Omit<Result, 'status'>) };
  } catch (error) {
    // graphql-ws's `error` message (a document that does not validate): the operation's errors
    const errors = (error as { errors?: Result['errors'] }).errors;
    if (!errors) throw error;
    return { status: 0, errors };
  } finally {
    await subscription.close();
  }
}

const errorLogs = () => logLines.filter((line) => line.level >= 50);

describe('variables that do not fit their declared types', () => {
  const RESTOCK = /* GraphQL */ `
    mutation Restock($itemId: ID!, $quantity: Int!) {
      restockInventory(itemId: $itemId, quantity: $quantity) { quantity }
    }
  `;
  const item = 'acme-downtown-fries-stock';
  const wrongQuantities: Array<[string, Record<string, unknown>, string]> = [
    [
      '2147483648',
      { itemId: item, quantity: 2147483648 },
      'Variable "$quantity" got invalid value 2147483648; Int cannot represent non 32-bit signed integer value: 2147483648',
    ],
    [
      '2^53',
      { itemId: item, quantity: 2 ** 53 },
      'Variable "$quantity" got invalid value 9007199254740992; Int cannot represent non 32-bit signed integer value: 9007199254740992',
    ],
    [
      '"NaN"',
      { itemId: item, quantity: 'NaN' },
      'Variable "$quantity" got invalid value "NaN"; Int cannot represent non-integer value: "NaN"',
    ],
    [
      '1.5',
      { itemId: item, quantity: 1.5 },
      'Variable "$quantity" got invalid value 1.5; Int cannot represent non-integer value: 1.5',
    ],
    [
      'null for Int!',
      { itemId: item, quantity: null },
      'Variable "$quantity" of non-null type "Int!" must not be null.',
    ],
    ['a missing Int!', { itemId: item }, 'Variable "$quantity" of required type "Int!" was not provided.'],
  ];

  it.each(wrongQuantities)(
    'quantity %s is BAD_USER_INPUT with graphql-js message, over HTTP and WebSocket',
    async (_name, variables, message) => {
      const logged = errorLogs().length;
      for (const result of [
        await app.gql(RESTOCK, variables, { token: manager }),
        await overWs(RESTOCK, variables),
      ]) {
        expect(result.data ?? null).toBeNull();
        expect(result.errors).toEqual([
          expect.objectContaining({ message, extensions: { code: 'BAD_USER_INPUT' } }),
        ]);
      }
      expect(errorLogs().length).toBe(logged);
    },
  );

  it('an unknown enum value and a malformed DateTime are BAD_USER_INPUT, on queries and subscriptions', async () => {
    const logged = errorLogs().length;
    const history = /* GraphQL */ `
      query History($from: DateTime!, $to: DateTime!) {
        dashboardHistory(storeId: "acme-downtown", from: $from, to: $to) { takenAt }
      }
    `;
    const dates = { from: 'yesterday', to: '2026-13-45T99:00:00Z' };
    const alerts = /* GraphQL */ `
      subscription Alerts($severity: Severity) { inventoryAlert(storeId: "acme-downtown", minSeverity: $severity) { cursor } }
    `;
    const results = [
      await app.gql(history, dates, { token: manager }),
      await overWs(history, dates),
      await overWs(alerts, { severity: 'CATASTROPHIC' }),
    ];
    for (const result of results) {
      expect(result.data ?? null).toBeNull();
      expect(result.errors?.length).toBeGreaterThan(0);
      for (const error of result.errors ?? []) expect(error.extensions).toEqual({ code: 'BAD_USER_INPUT' });
    }
    expect(results[0]?.errors?.map((e) => e.message)).toEqual([
      'Variable "$from" got invalid value "yesterday"; DateTime cannot represent an invalid date-time-string yesterday.',
      'Variable "$to" got invalid value "2026-13-45T99:00:00Z"; DateTime cannot represent an invalid date-time-string 2026-13-45T99:00:00Z.',
    ]);
    expect(results[2]?.errors?.[0]?.message).toBe(
      'Variable "$severity" got invalid value "CATASTROPHIC"; Value "CATASTROPHIC" does not exist in "Severity" enum.',
    );
    expect(errorLogs().length).toBe(logged);
  });

  it('an HTTP request with wrong variables is a request error: 400 for graphql-response+json, 200 for json', async () => {
    for (const [accept, status] of [
      ['application/graphql-response+json', 400],
      ['application/json', 200],
    ] as const) {
      const response = await fetch(`${app.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept, authorization: `Bearer ${manager}` },
        body: JSON.stringify({ query: RESTOCK, variables: { itemId: item, quantity: 1.5 } }),
      });
      expect(response.status, accept).toBe(status);
      const body = (await response.json()) as { data?: unknown; errors: Array<{ extensions: unknown }> };
      expect(body.data).toBeUndefined();
      expect(body.errors[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT' });
    }
  });

  it('takes no budget: after any number of refused calls, the whole budget is still there', async () => {
    const SET_TARGET = /* GraphQL */ `
      mutation Target($seconds: Int!) { setStationTargetTime(stationId: "acme-downtown-bar", targetSeconds: $seconds) { targetSeconds } }
    `;
    for (const seconds of [2147483648, 2 ** 53, 'NaN', 1.5, null, '600', [600], { seconds: 600 }]) {
      const refused = await app.gql(SET_TARGET, { seconds }, { token: manager });
      expect(refused.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    }
    for (let i = 1; i <= BUDGET; i++) {
      const done = (await app.gql(SET_TARGET, { seconds: 600 + i }, { token: manager })) as Result & {
        extensions?: { rateLimit?: { remaining: number } };
      };
      expect(done.errors).toBeUndefined();
      expect(done.extensions?.rateLimit?.remaining).toBe(BUDGET - i);
    }
    const over = await app.gql(SET_TARGET, { seconds: 600 }, { token: manager });
    expect(over.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
  });

  it('an operation the document does not have is OPERATION_RESOLUTION_FAILURE, over HTTP and WebSocket', async () => {
    const two = 'query A { me { id } } query B { me { id } }';
    const overHttp = async (operationName?: string) => {
      const response = await fetch(`${app.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${manager}` },
        body: JSON.stringify({ query: two, operationName }),
      });
      return (await response.json()) as Result;
    };
    const overSocket = async (operationName?: string) => {
      const result = await new Promise<Result>((resolve, reject) => {
        ws.client.subscribe(
          { query: two, operationName },
          {
            next: (value) => resolve({ status: 0, ...(value as Omit<Result, 'status'>) }),
            // graphql-ws's `error` message: the operation's errors, the socket stays open
            error: (error) =>
              Array.isArray(error)
                ? resolve({ status: 0, errors: error as Result['errors'] })
                : reject(error),
            complete: () => {},
          },
        );
      });
      return result;
    };
    for (const result of [await overHttp(), await overHttp('C'), await overSocket(), await overSocket('C')]) {
      expect(result.errors).toEqual([
        expect.objectContaining({
          message: 'Could not determine what operation to execute.',
          extensions: { code: 'OPERATION_RESOLUTION_FAILURE' },
        }),
      ]);
    }
  });
});

describe('documents that do not parse', () => {
  it('are GRAPHQL_PARSE_FAILED over WebSocket, and still over HTTP once the parse cache holds the error', async () => {
    const broken = 'mutation { cancelOrder(orderId: "a\\ud800", reason: "x") { id } }';
    for (const result of [
      await overWs(broken),
      await app.gql(broken, undefined, { token: manager }),
      await overWs(broken),
    ]) {
      expect(result.errors).toEqual([
        expect.objectContaining({
          message: 'Syntax Error: Invalid Unicode escape sequence: "\\ud800".',
          extensions: expect.objectContaining({ code: 'GRAPHQL_PARSE_FAILED' }),
        }),
      ]);
    }
  });
});

describe('field suggestions', () => {
  const SUGGESTIVE: Array<[string, string, Record<string, unknown>?]> = [
    ['a field', '{ orderz { __typename } }'],
    ['an argument', '{ orders(storeI: "acme-downtown") { __typename } }'],
    ['an enum value', '{ orders(status: PENDIN) { __typename } }'],
    ['a type', 'query Q($s: OrderStatu) { orders(status: $s) { __typename } }'],
    [
      'an input field',
      'mutation { createOrder(input: { storeI: "acme-downtown", channel: POS, items: [] }) { id } }',
    ],
    [
      'an enum value in a variable',
      'query Q($s: OrderStatus) { orders(status: $s) { __typename } }',
      { s: 'PENDIN' },
    ],
    [
      'an input field in a variable',
      'mutation M($input: CreateOrderInput!) { createOrder(input: $input) { id } }',
      { input: { storeI: 'acme-downtown', channel: 'POS', items: [] } },
    ],
  ];

  it.each(SUGGESTIVE)(
    'are hidden for %s outside development, over HTTP and WebSocket',
    async (_what, query, variables) => {
      for (const result of [
        await app.gql(query, variables, { token: manager }),
        await overWs(query, variables),
      ]) {
        expect(result.errors?.length).toBeGreaterThan(0);
        for (const error of result.errors ?? []) {
          expect(error.message).not.toMatch(/did you mean/i);
          expect(['GRAPHQL_VALIDATION_FAILED', 'BAD_USER_INPUT']).toContain(error.extensions?.code);
        }
      }
    },
  );

  it('are shown in development', async () => {
    const development = await startTestServer({
      databaseUrl: app.databaseUrl,
      env: { NODE_ENV: 'development' },
    });
    try {
      const token = await development.token('acme-manager');
      for (const [, query, variables] of SUGGESTIVE) {
        const result = await development.gql(query, variables, { token });
        expect(result.errors?.map((e) => e.message).join(' ')).toMatch(/Did you mean/);
      }
    } finally {
      await development.close();
    }
  });
});

/** Sends the same call over HTTP and WebSocket; asserts both refuse it and that no row changed. */
async function expectRefusedEverywhere(
  query: string,
  variables: Record<string, unknown> | undefined,
  expected: { message?: string | RegExp; extensions: Record<string, unknown> },
) {
  const before = await databaseFingerprint(app.server.db);
  for (const result of [
    await app.gql(query, variables, { token: manager }),
    await overWs(query, variables),
  ]) {
    expect(result.data ?? null).toBeNull();
    expect(result.errors).toHaveLength(1);
    expect(result.errors?.[0]?.extensions).toEqual(expected.extensions);
    if (expected.message) expect(result.errors?.[0]?.message).toMatch(expected.message);
  }
  expect(await databaseFingerprint(app.server.db)).toEqual(before);
}

const SEND = /* GraphQL */ `
  mutation Send($input: SendNotificationInput!) { sendNotification(input: $input) { id title } }
`;
const toStaff = (fields: Record<string, unknown>) => ({
  input: {
    audience: 'USER',
    targetUserId: 'acme-staff',
    title: 'Heads up',
    body: 'Table 4 waits',
    ...fields,
  },
});

describe('text PostgreSQL cannot store', () => {
  let orderId: string;
  beforeAll(async () => {
    const created = await app.gql<{ createOrder: { id: string } }>(
      'mutation { createOrder(input: { storeId: "acme-downtown", channel: POS, items: [{ productId: "acme-downtown-fries", quantity: 1 }] }) { id } }',
      undefined,
      { token: manager },
    );
    orderId = created.data!.createOrder.id;
  });

  const CANCEL =
    'mutation Cancel($id: ID!, $reason: String!) { cancelOrder(orderId: $id, reason: $reason) { id } }';
  const ORDER = /* GraphQL */ `
    mutation Order($notes: String) {
      createOrder(input: { storeId: "acme-downtown", channel: POS, items: [
        { productId: "acme-downtown-burger", quantity: 1 },
        { productId: "acme-downtown-fries", quantity: 1, notes: $notes }
      ] }) { id }
    }
  `;
  const PREFERENCES = /* GraphQL */ `
    mutation Mute($kinds: [String!]) { updateNotificationPreferences(input: { mutedKinds: $kinds }) { mutedKinds } }
  `;
  const ADJUST = /* GraphQL */ `
    mutation Adjust($reason: String!) { adjustInventory(itemId: "acme-downtown-fries-stock", delta: -1, reason: $reason) { quantity } }
  `;
  const cases = (bad: string): Array<[string, string, () => Record<string, unknown>, string]> => [
    ['a String argument', CANCEL, () => ({ id: orderId, reason: `no${bad}onions` }), 'reason'],
    ['an ID argument', CANCEL, () => ({ id: `${orderId}${bad}`, reason: 'Customer left' }), 'orderId'],
    ['a field of a list of input objects', ORDER, () => ({ notes: `no${bad}onions` }), 'input.items.1.notes'],
    ['a field of an input object', SEND, () => toStaff({ title: `Heads${bad}up` }), 'input.title'],
    [
      'a string inside JSON',
      SEND,
      () => toStaff({ data: { table: [4, { note: `a${bad}b` }] } }),
      'input.data',
    ],
    ['a key inside JSON', SEND, () => toStaff({ data: { [`ta${bad}ble`]: 4 } }), 'input.data'],
    ['an item of a list', PREFERENCES, () => ({ kinds: ['PROMO', `SPAM${bad}`] }), 'input.mutedKinds.1'],
    ['an adjustment reason', ADJUST, () => ({ reason: `broken${bad}` }), 'reason'],
  ];
  const NUL = '\u0000';

  it.each(cases(NUL))(
    'NUL in %s is BAD_USER_INPUT naming the argument',
    async (_where, query, variables, field) => {
      await expectRefusedEverywhere(query, variables(), {
        message: /contains the NUL character \(U\+0000\), which cannot be stored/,
        extensions: { code: 'BAD_USER_INPUT', field, reason: 'NUL_CHARACTER' },
      });
    },
  );

  it.each([...cases('\ud800'), ...cases('\udc00')])(
    'an unpaired surrogate in %s is BAD_USER_INPUT naming the argument',
    async (_where, query, variables, field) => {
      await expectRefusedEverywhere(query, variables(), {
        message: /contains an unpaired surrogate \(U\+D[8C]00\), which is not valid Unicode/,
        extensions: { code: 'BAD_USER_INPUT', field, reason: 'UNPAIRED_SURROGATE' },
      });
    },
  );

  it('is refused in a literal of the document and in a subscription argument too', async () => {
    await expectRefusedEverywhere(
      `mutation { cancelOrder(orderId: "${orderId}", reason: "no\\u0000onions") { id } }`,
      undefined,
      {
        message:
          'Argument "reason" of "cancelOrder" contains the NUL character (U+0000), which cannot be stored.',
        extensions: { code: 'BAD_USER_INPUT', field: 'reason', reason: 'NUL_CHARACTER' },
      },
    );
    const refused = await overWs(
      'subscription Live($store: ID!) { orderUpdated(storeId: $store) { cursor } }',
      {
        store: `acme-downtown${NUL}`,
      },
    );
    expect(refused.errors?.[0]?.extensions).toEqual({
      code: 'BAD_USER_INPUT',
      field: 'storeId',
      reason: 'NUL_CHARACTER',
    });
  });

  it('a surrogate pair (an emoji) is text; lengths count characters a person sees', async () => {
    const family = '👨‍👩‍👧‍👦'; // 11 UTF-16 units, one character
    const sent = await app.gql<{ sendNotification: { title: string } }>(
      SEND,
      toStaff({ title: family.repeat(200) }),
      {
        token: manager,
      },
    );
    expect(sent.errors).toBeUndefined();
    expect(sent.data?.sendNotification.title).toBe(family.repeat(200));
    const tooLong = await app.gql(SEND, toStaff({ title: family.repeat(201) }), { token: manager });
    expect(tooLong.errors?.[0]).toMatchObject({
      message: 'title must be 1 to 200 characters',
      extensions: { code: 'BAD_USER_INPUT', field: 'title' },
    });
    const cancelled = await app.gql<{ cancelOrder: { cancelReason: string } }>(
      'mutation Cancel($id: ID!, $reason: String!) { cancelOrder(orderId: $id, reason: $reason) { cancelReason } }',
      { id: orderId, reason: '🙅🏽'.repeat(150) },
      { token: manager },
    );
    expect(cancelled.errors).toBeUndefined();
    expect(cancelled.data?.cancelOrder.cancelReason).toBe('🙅🏽'.repeat(150));
  });
});

describe('JSON arguments', () => {
  /** `{"a":{"a":…{"a":1}…}}` with `levels` objects. */
  const nested = (levels: number) => {
    let value: unknown = 1;
    for (let i = 0; i < levels; i++) value = { a: value };
    return value;
  };

  it('nested 5,000 levels in 20 KB is BAD_USER_INPUT, over HTTP and WebSocket', async () => {
    // Written as text: JSON.stringify itself runs out of stack on such a value.
    const data = `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`;
    const variables = `{"input":{"audience":"USER","targetUserId":"acme-staff","title":"t","body":"b","data":${data}}}`;
    const before = await databaseFingerprint(app.server.db);
    const response = await fetch(`${app.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${manager}` },
      body: `{"query":${JSON.stringify(SEND)},"variables":${variables}}`,
    });
    const overSocket = await rawWsCall(SEND, variables);
    for (const result of [(await response.json()) as Result, overSocket]) {
      expect(result.errors).toEqual([
        expect.objectContaining({
          message: 'Argument "input.data" of "sendNotification" is JSON nested deeper than 10 levels.',
          extensions: { code: 'BAD_USER_INPUT', field: 'input.data', reason: 'JSON_TOO_DEEP' },
        }),
      ]);
    }
    expect(await databaseFingerprint(app.server.db)).toEqual(before);
  });

  it('takes 10 levels and refuses 11', async () => {
    const ten = await app.gql(SEND, toStaff({ data: nested(10) }), { token: manager });
    expect(ten.errors).toBeUndefined();
    await expectRefusedEverywhere(SEND, toStaff({ data: nested(11) }), {
      extensions: { code: 'BAD_USER_INPUT', field: 'input.data', reason: 'JSON_TOO_DEEP' },
    });
    await expectRefusedEverywhere(SEND, toStaff({ data: { list: [[[[[[[[[[1]]]]]]]]]] } }), {
      extensions: { code: 'BAD_USER_INPUT', field: 'input.data', reason: 'JSON_TOO_DEEP' },
    });
  });

  it('takes 16 KiB of JSON text and refuses more', async () => {
    const ofBytes = (bytes: number) => ({ note: 'x'.repeat(bytes - '{"note":""}'.length) });
    expect(JSON.stringify(ofBytes(16_384)).length).toBe(16_384);
    const fits = await app.gql(SEND, toStaff({ data: ofBytes(16_384) }), { token: manager });
    expect(fits.errors).toBeUndefined();
    await expectRefusedEverywhere(SEND, toStaff({ data: ofBytes(16_385) }), {
      message: 'Argument "input.data" of "sendNotification" is JSON larger than 16384 bytes.',
      extensions: { code: 'BAD_USER_INPUT', field: 'input.data', reason: 'JSON_TOO_LARGE' },
    });
    const wide = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`k${i}`, i]));
    await expectRefusedEverywhere(SEND, toStaff({ data: wide }), {
      extensions: { code: 'BAD_USER_INPUT', field: 'input.data', reason: 'JSON_TOO_LARGE' },
    });
  });
});

describe('cursors', () => {
  const b64 = (text: string) => Buffer.from(text).toString('base64url');
  const invalidCursor = { code: 'BAD_USER_INPUT', field: 'after', reason: 'INVALID_CURSOR' };
  /** Cursors no list or stream of this caller minted: malformed, out of every column's range, or another's. */
  const hostile = (foreign: string[]) => [
    'garbage',
    '%%%',
    'x'.repeat(5000),
    b64('order:99999999999999999999'),
    b64('order:2147483648'),
    b64('order:0'),
    b64(`order:${'9'.repeat(400)}`),
    b64('-100000-01-01T00:00:00.000Z|x'),
    b64('+275760-09-13T00:00:00.000Z|x'),
    b64('0000-01-01T00:00:00.000Z|x'),
    b64('2020-01-01T00:00:00.000Z|a\u0000b'),
    b64('2020-01-01T00:00:00.000Z|a\ud800b'),
    b64('2020-01-01T00:00:00.000Z|'),
    b64('1.0123456789abcdef.5'),
    b64('1.0123456789abcdef.99999999999999999999'),
    ...foreign,
  ];
  let foreign: string[];

  beforeAll(async () => {
    // Real cursors of other lists and streams: another tenant's order events, the order and notification lists.
    const globex = await app.token('globex-manager');
    const globexWs = await app.connect(globex);
    const live = globexWs.subscribe<{ orderUpdated: { cursor: string } }>(
      'subscription { orderUpdated(storeId: "globex-central") { cursor } }',
    );
    await eventually(async () => (await activeSubscriptions('orderUpdated')) >= 1);
    const order = await app.gql(
      'mutation { createOrder(input: { storeId: "globex-central", channel: POS, items: [{ productId: "globex-central-fries", quantity: 1 }] }) { id } }',
      undefined,
      { token: globex },
    );
    expect(order.errors).toBeUndefined();
    await app.gql(SEND, toStaff({ title: 'A cursor for the list' }), { token: manager });
    await app.gql(
      'mutation { createOrder(input: { storeId: "acme-downtown", channel: POS, items: [{ productId: "acme-downtown-fries", quantity: 1 }] }) { id } }',
      undefined,
      { token: manager },
    );
    const event = await live.next();
    const orders = await app.gql<{ orders: { edges: Array<{ cursor: string }> } }>(
      '{ orders(storeId: "acme-downtown", first: 1) { edges { cursor } } }',
      undefined,
      { token: manager },
    );
    const notifications = await app.gql<{ notifications: { edges: Array<{ cursor: string }> } }>(
      '{ notifications(first: 1) { edges { cursor } } }',
      undefined,
      { token: await app.token('acme-staff') },
    );
    foreign = [
      event.data!.orderUpdated.cursor,
      orders.data!.orders.edges[0]!.cursor,
      notifications.data!.notifications.edges[0]!.cursor,
    ];
    await live.close();
  });

  it('on the order and notification lists are BAD_USER_INPUT, over HTTP and WebSocket', async () => {
    const [orderEvent, orderList, notificationList] = foreign as [string, string, string];
    const lists = [
      [
        'query Orders($after: String) { orders(storeId: "acme-downtown", after: $after) { edges { cursor } } }',
        hostile([orderEvent, notificationList]),
      ],
      [
        'query Notifications($after: String) { notifications(after: $after) { edges { cursor } } }',
        hostile([orderEvent, orderList]),
      ],
    ] as const;
    for (const [query, cursors] of lists) {
      for (const after of cursors) {
        for (const result of [
          await app.gql(query, { after }, { token: manager }),
          await overWs(query, { after }),
        ]) {
          expect(result.errors, `${query} after ${after}`).toEqual([
            expect.objectContaining({ message: 'Invalid cursor', extensions: invalidCursor }),
          ]);
        }
      }
    }
  });

  it('on every subscription are BAD_USER_INPUT', async () => {
    const subscriptions = [
      'subscription S($after: String) { orderUpdated(storeId: "acme-downtown", after: $after) { cursor } }',
      'subscription S($after: String) { notifications(after: $after) { cursor } }',
      'subscription S($after: String) { kdsTicket(stationId: "acme-downtown-grill", after: $after) { cursor } }',
      'subscription S($after: String) { inventoryAlert(storeId: "acme-downtown", after: $after) { cursor } }',
      'subscription S($after: String) { menuUpdated(storeId: "acme-downtown", after: $after) { cursor } }',
      'subscription S($after: String) { tableUpdated(storeId: "acme-downtown", after: $after) { cursor } }',
    ];
    for (const query of subscriptions) {
      for (const after of hostile(foreign)) {
        const result = await overWs(query, { after });
        expect(result.errors, `${query} after ${after}`).toEqual([
          expect.objectContaining({
            message: 'Invalid cursor',
            extensions: expect.objectContaining({ code: 'BAD_USER_INPUT', reason: 'INVALID_CURSOR' }),
          }),
        ]);
      }
    }
  });
});

describe('integers within what the columns hold', () => {
  const INT_MAX = 2_147_483_647;
  const RESTOCK =
    'mutation Restock($q: Int!) { restockInventory(itemId: "acme-uptown-fries-stock", quantity: $q) { quantity } }';
  const quantity = async () =>
    (
      await app.server.db.query<{ quantity: number }>(
        `SELECT quantity FROM "InventoryItem" WHERE id = 'acme-uptown-fries-stock'`,
      )
    )[0]!.quantity;

  it('stock never overflows: restock after restock of 1,000,000 ends in BAD_USER_INPUT, not an internal error', async () => {
    // Where about 2,100 restocks of 1,000,000 take an item.
    await app.server.db.query(
      `UPDATE "InventoryItem" SET quantity = 2100000000 WHERE id = 'acme-uptown-fries-stock'`,
    );
    let expected = 2_100_000_000;
    for (;;) {
      const result = await app.gql<{ restockInventory: { quantity: number } }>(
        RESTOCK,
        { q: 1_000_000 },
        { token: manager },
      );
      if (result.errors) {
        expect(result.errors).toEqual([
          expect.objectContaining({
            message: `Fries holds ${expected}: adding 1000000 would pass the most an item holds, ${INT_MAX}`,
            extensions: { code: 'BAD_USER_INPUT', field: 'quantity', quantity: expected, max: INT_MAX },
          }),
        ]);
        break;
      }
      expected += 1_000_000;
      expect(result.data?.restockInventory.quantity).toBe(expected);
    }
    expect(expected).toBe(2_147_000_000);
    const before = await databaseFingerprint(app.server.db);
    for (let i = 0; i < 3; i++) {
      const again = await app.gql(RESTOCK, { q: 1_000_000 }, { token: manager });
      expect(again.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    }
    expect(await databaseFingerprint(app.server.db)).toEqual(before);

    const toTheTop = await app.gql<{ restockInventory: { quantity: number } }>(
      RESTOCK,
      { q: INT_MAX - expected },
      {
        token: manager,
      },
    );
    expect(toTheTop.data?.restockInventory.quantity).toBe(INT_MAX);
    const full = await databaseFingerprint(app.server.db);
    const adjust = await app.gql(
      'mutation { adjustInventory(itemId: "acme-uptown-fries-stock", delta: 1, reason: "found a box") { quantity } }',
      undefined,
      { token: manager },
    );
    expect(adjust.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'delta' });
    const transfer = await app.gql(
      'mutation { transferInventory(itemId: "acme-downtown-fries-stock", toStoreId: "acme-uptown", quantity: 1) { id } }',
      undefined,
      { token: manager },
    );
    expect(transfer.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'quantity' });
    expect(await databaseFingerprint(app.server.db)).toEqual(full);
    expect(await quantity()).toBe(INT_MAX);
  }, 90_000); // about 50 restocks in a row: generous for a loaded machine

  it('an order whose total the column cannot hold is BAD_USER_INPUT, and nothing of it is written', async () => {
    const created = await app.gql<{ createProduct: { id: string } }>(
      'mutation { createProduct(input: { storeId: "acme-uptown", stationId: "acme-uptown-grill", name: "Gold leaf steak", priceCents: 100000000 }) { id } }',
      undefined,
      { token: manager },
    );
    expect(created.errors).toBeUndefined();
    const ORDER = /* GraphQL */ `
      mutation Order($productId: ID!, $quantity: Int!) {
        createOrder(input: { storeId: "acme-uptown", channel: POS, items: [{ productId: $productId, quantity: $quantity }] }) { totalCents }
      }
    `;
    const productId = created.data!.createProduct.id;
    const before = await databaseFingerprint(app.server.db);
    const tooMuch = await app.gql(ORDER, { productId, quantity: 22 }, { token: manager });
    expect(tooMuch.errors).toEqual([
      expect.objectContaining({
        message: `The order comes to 2200000000 minor units; an order totals at most ${INT_MAX}`,
        extensions: { code: 'BAD_USER_INPUT', field: 'items', totalCents: 2_200_000_000, max: INT_MAX },
      }),
    ]);
    expect(await databaseFingerprint(app.server.db)).toEqual(before);
    const fits = await app.gql<{ createOrder: { totalCents: number } }>(
      ORDER,
      { productId, quantity: 21 },
      { token: manager },
    );
    expect(fits.data?.createOrder.totalCents).toBe(2_100_000_000);

    // A day's sales pass the 32 bits of Int: the dashboard still answers, over HTTP and WebSocket.
    const again = await app.gql(ORDER, { productId, quantity: 21 }, { token: manager });
    expect(again.errors).toBeUndefined();
    const DASHBOARD = '{ dashboard(storeId: "acme-uptown") { salesTodayCents } }';
    for (const dashboard of [
      await app.gql(DASHBOARD, undefined, { token: manager }),
      await overWs(DASHBOARD),
    ]) {
      expect(dashboard.errors).toBeUndefined();
      expect(
        (dashboard.data as { dashboard: { salesTodayCents: number } }).dashboard.salesTodayCents,
      ).toBeGreaterThanOrEqual(4_200_000_000);
    }
  });
});

async function activeSubscriptions(field: string): Promise<number> {
  const gauge = await app.server.metrics.subscriptionsActive.get();
  return gauge.values.find((value) => value.labels.field === field)?.value ?? 0;
}

/** One operation over a bare graphql-transport-ws socket, its variables given as JSON text. */
async function rawWsCall(query: string, variablesJson: string): Promise<Result> {
  const socket = new WebSocket(app.wsUrl, 'graphql-transport-ws');
  const messages: Array<{ type: string; payload?: unknown }> = [];
  const done = new Promise<Result>((resolve, reject) => {
    socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as { type: string; payload?: unknown };
      messages.push(message);
      if (message.type === 'connection_ack') {
        socket.send(
          `{"id":"1","type":"subscribe","payload":{"query":${JSON.stringify(query)},"variables":${variablesJson}}}`,
        );
      } else if (message.type === 'next') {
        resolve({ status: 0, ...(message.payload as Omit<Result, 'status'>) });
      } else if (message.type === 'error') {
        resolve({ status: 0, errors: message.payload as Result['errors'] });
      }
    });
    socket.once('close', (code, reason) => reject(new Error(`closed ${code} ${reason}`)));
  });
  await new Promise((resolve) => socket.once('open', resolve));
  socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${manager}` } }));
  try {
    return await done;
  } finally {
    socket.close(1000);
  }
}
