import { Writable } from 'node:stream';
import fc from 'fast-check';
import {
  buildClientSchema,
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLObjectType,
  type GraphQLSchema,
  getIntrospectionQuery,
  getNamedType,
  type IntrospectionQuery,
  isEnumType,
  isInputObjectType,
  isLeafType,
  isListType,
  isNonNullType,
  isScalarType,
} from 'graphql';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/eventually';
import { databaseFingerprint } from '../support/fingerprint';
import { startTestServer, type TestServer, type WsClient } from '../support/server';
import { readSseEvents } from '../support/sse';

/**
 * An attacker's view of the API: every argument of every query, mutation and subscription the server's own
 * introspection lists gets generated hostile values (numbers out of every range, wrong types, huge and deep
 * JSON, control characters, unpaired surrogates, long strings, other tenants' ids and foreign cursors), sent
 * over real HTTP and a real graphql-ws socket (subscriptions over graphql-ws and over HTTP as SSE). Whatever
 * comes back:
 * - no error is INTERNAL_SERVER_ERROR, every error has an `extensions.code`, no HTTP status is 5xx;
 * - the socket is never closed on the caller, nothing is logged as an error;
 * - a refused call changes no row.
 * Fields added later are covered without editing this file; fast-check shrinks a failure to its smallest
 * input and prints the seed that replays it. HOSTILE_RUNS_PER_FIELD and HOSTILE_SEED widen a hunt or replay
 * one; HOSTILE_VERBOSE=1 prints the outcomes by code.
 */
const RUNS_PER_FIELD = Number(process.env.HOSTILE_RUNS_PER_FIELD ?? 5);
const SEED = Number(process.env.HOSTILE_SEED ?? 20_260_612);
/** Generous: each call waits for its answer, and a busy machine may take seconds over what an idle one does. */
const SUITE_TIMEOUT_MS = 300_000;

const errorLogs: Array<Record<string, unknown>> = [];
let app: TestServer;
let schema: GraphQLSchema;
let ws: WsClient;
let socketClosed: { code: number; reason: string } | undefined;
const callers: Record<string, string | undefined> = {};
/** Ids that exist: the caller's tenant's (no user the suite calls as) and another tenant's. */
let ids: string[] = [];
/** Cursors of lists and streams, the caller's and other tenants'. */
let cursors: string[] = [];

beforeAll(async () => {
  const sink = new Writable({
    write(chunk, _encoding, callback) {
      for (const line of String(chunk).split('\n').filter(Boolean)) {
        const entry = JSON.parse(line) as Record<string, unknown>;
        if ((entry.level as number) >= 50) errorLogs.push(entry);
      }
      callback();
    },
  });
  app = await startTestServer({
    env: {
      RATE_LIMIT_MUTATIONS: '1000000',
      RATE_LIMIT_SUBSCRIPTIONS: '1000000',
      RATE_LIMIT_HTTP_PER_IP: '1000000',
      MAX_SUBSCRIPTIONS_PER_USER: '1000',
      MAX_SUBSCRIPTIONS_PER_CONNECTION: '1000',
      WS_MESSAGES_PER_CONNECTION: '100000',
      // No background writes while rows are compared (the fingerprint leaves out what remains).
      KDS_LATE_SWEEP_INTERVAL_MS: '3600000',
      DASHBOARD_SNAPSHOT_INTERVAL_MS: '3600000',
    },
    serverOptions: { logger: pino({ level: 'warn' }, sink) },
  });
  const introspection = await app.gql<IntrospectionQuery>(getIntrospectionQuery());
  schema = buildClientSchema(introspection.data!);
  callers.admin = await app.token('acme-admin');
  callers.customer = await app.token('acme-customer');
  callers.anonymous = undefined;
  ws = await app.connect(callers.admin);
  void ws.closed.then((event) => {
    socketClosed = event;
  });
  const started = Date.now();
  ({ ids, cursors } = await existingIdsAndCursors());
  if (process.env.HOSTILE_VERBOSE) console.log('setup', Date.now() - started, 'ms');
}, 60_000);

afterAll(async () => {
  if (process.env.HOSTILE_VERBOSE) console.log(JSON.stringify(Object.fromEntries(outcomes)));
  await app?.close();
});

describe('hostile arguments on every root field', () => {
  it.each(['Query', 'Mutation'] as const)(
    '%s fields, over HTTP and WebSocket',
    async (rootType) => {
      for (const field of rootFields(rootType)) {
        const property = fc.asyncProperty(
          callOf(rootType, field),
          fc.constantFrom('http', 'ws'),
          fc.constantFrom('admin', 'admin', 'customer', 'anonymous'),
          async (call, transport, caller) => {
            const before = await databaseFingerprint(app.server.db);
            const logged = errorLogs.length;
            const result =
              transport === 'ws' && fitsOneMessage(call)
                ? await overWs(call, caller)
                : await overHttp(call, callers[caller]);
            expectTypedErrors(result, field.name);
            expect(errorLogs.slice(logged), 'error logs').toEqual([]);
            if (refused(result, field.name)) expect(await databaseFingerprint(app.server.db)).toEqual(before);
          },
        );
        await check(field.name, property, RUNS_PER_FIELD);
      }
      expect(socketClosed).toBeUndefined();
    },
    SUITE_TIMEOUT_MS,
  );

  it(
    'Subscription fields, over WebSocket',
    async () => {
      for (const field of rootFields('Subscription')) {
        const property = fc.asyncProperty(callOf('Subscription', field), async (call) => {
          const before = await databaseFingerprint(app.server.db);
          const logged = errorLogs.length;
          const result = await subscribeOverWs(call, field.name);
          expectTypedErrors(result, field.name);
          expect(errorLogs.slice(logged), 'error logs').toEqual([]);
          expect(await databaseFingerprint(app.server.db)).toEqual(before);
        });
        await check(field.name, property, RUNS_PER_FIELD * 2);
      }
      expect(socketClosed).toBeUndefined();
    },
    SUITE_TIMEOUT_MS,
  );

  it(
    'Subscription fields, over SSE',
    async () => {
      for (const field of rootFields('Subscription')) {
        const property = fc.asyncProperty(
          callOf('Subscription', field),
          fc.constantFrom('admin', 'admin', 'customer', 'anonymous'),
          async (call, caller) => {
            const before = await databaseFingerprint(app.server.db);
            const logged = errorLogs.length;
            const result = await subscribeOverSse(call, field.name, callers[caller]);
            expectTypedErrors(result, field.name);
            expect(errorLogs.slice(logged), 'error logs').toEqual([]);
            expect(await databaseFingerprint(app.server.db)).toEqual(before);
          },
        );
        await check(`${field.name} over SSE`, property, RUNS_PER_FIELD);
      }
    },
    SUITE_TIMEOUT_MS,
  );

  it('reached past authentication and coercion into the resolvers', () => {
    // A suite whose calls all bounced off the same check would pass while proving nothing.
    for (const code of [
      'ok',
      'BAD_USER_INPUT',
      'NOT_FOUND',
      'FORBIDDEN',
      'UNAUTHENTICATED',
      'GRAPHQL_VALIDATION_FAILED',
    ]) {
      expect(outcomes.get(code) ?? 0, code).toBeGreaterThan(0);
    }
  });
});

/**
 * Runs the property with a seed of its own per field (a field added later does not change the others' runs),
 * shrinks a failure for a bounded time, and reports it with long strings abbreviated.
 */
async function check(field: string, property: fc.IAsyncProperty<[Call, ...unknown[]]>, numRuns: number) {
  const seed = seedOf(field);
  const details = await fc.check(property, { seed, numRuns, interruptAfterTimeLimit: 60_000 });
  if (!details.failed) return;
  const cause =
    details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
  throw new Error(
    `${field}: failed after ${details.numRuns} run(s), shrunk ${details.numShrinks} time(s); replay with seed ${seed}, path "${details.counterexamplePath}"\n` +
      `${cause}\ncounterexample: ${abbreviated(details.counterexample)}`,
  );
}

function abbreviated(value: unknown): string {
  return JSON.stringify(value, (_key, item) =>
    typeof item === 'string' && item.length > 60 ? `${item.slice(0, 30)}…(${item.length} chars)` : item,
  );
}

// ---- Calls ----------------------------------------------------------------------------------------------

interface Call {
  query: string;
  variables: Record<string, unknown>;
}

type Result = {
  status?: number;
  data?: Record<string, unknown> | null;
  errors?: Array<{ message: string; extensions?: Record<string, unknown> }>;
};

function rootFields(rootType: 'Query' | 'Mutation' | 'Subscription'): GraphQLField<unknown, unknown>[] {
  const type = schema.getType(rootType) as GraphQLObjectType | undefined;
  return type ? Object.values(type.getFields()) : [];
}

/**
 * An operation calling `field` once with generated arguments: most through variables of the declared types
 * (where wrong types are coercion errors), some as literals in the document, some through variables declared
 * with a wrong type. A nullable argument may be left out; so may a required one.
 */
/** Mostly variables, where every value reaches coercion and the resolvers; literals and mistyped variables stop at validation. */
const HOW_ARGUMENTS_ARE_PASSED = [
  'variable',
  'variable',
  'variable',
  'variable',
  'variable',
  'literal',
  'literal',
  'mistyped',
] as const;

function callOf(rootType: string, field: GraphQLField<unknown, unknown>): fc.Arbitrary<Call> {
  const operation = { Query: 'query', Mutation: 'mutation', Subscription: 'subscription' }[rootType];
  const selection = isLeafType(getNamedType(field.type)) ? '' : ' { __typename }';
  const argumentArbitraries = field.args.map((argument) =>
    fc.record({
      argument: fc.constant(argument),
      value: fc.option(hostileValue(argument.type, argument.name, 0), {
        nil: undefined,
        freq: isNonNullType(argument.type) ? 12 : 3,
      }),
      how: fc.constantFrom(...HOW_ARGUMENTS_ARE_PASSED),
    }),
  );
  return fc.tuple(...argumentArbitraries).map((generated) => {
    const definitions: string[] = [];
    const passed: string[] = [];
    const variables: Record<string, unknown> = {};
    generated.forEach(({ argument, value, how }, index) => {
      if (value === undefined) return;
      if (how === 'literal') {
        passed.push(`${argument.name}: ${literal(value, argument.type)}`);
        return;
      }
      const name = `v${index}`;
      definitions.push(`$${name}: ${how === 'mistyped' ? mistyped(argument) : String(argument.type)}`);
      passed.push(`${argument.name}: $${name}`);
      variables[name] = value;
    });
    const declared = definitions.length ? `(${definitions.join(', ')})` : '';
    const args = passed.length ? `(${passed.join(', ')})` : '';
    return { query: `${operation} Hostile${declared} { ${field.name}${args}${selection} }`, variables };
  });
}

async function overHttp(call: Call, token: string | undefined): Promise<Result> {
  const response = await fetch(`${app.url}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify(call),
  });
  expect(response.status, `HTTP status of ${call.query}`).toBeLessThan(500);
  return { status: response.status, ...((await response.json()) as Result) };
}

/** Queries and mutations over the admin's socket, or over a socket of the caller's own for the others. */
async function overWs(call: Call, caller: string): Promise<Result> {
  const client = caller === 'admin' ? ws : await app.connect(callers[caller]).catch(() => undefined);
  if (!client) return overHttp(call, callers[caller]); // an anonymous socket is refused at connection_init
  try {
    return await firstResult(client, call);
  } finally {
    if (client !== ws) await client.dispose();
  }
}

/**
 * A subscription's first answer: its refusal, or its first event, or (a subscription that waits for events)
 * the server counting it as active. It is then closed and no longer counted.
 */
async function subscribeOverWs(call: Call, field: string): Promise<Result> {
  const active = await activeSubscriptions(field);
  let outcome: Result | undefined;
  const unsubscribe = ws.client.subscribe(call, {
    next: (value) => {
      outcome ??= value as Result;
    },
    error: (error) => {
      outcome ??= Array.isArray(error) ? { errors: error } : { errors: [{ message: readable(error) }] };
    },
    complete: () => {
      outcome ??= {};
    },
  });
  let accepted = false;
  await eventually(async () => {
    if (outcome) return true;
    accepted = (await activeSubscriptions(field)) > active;
    return accepted;
  }, 10_000);
  unsubscribe();
  if (accepted || (outcome && !outcome.errors))
    await eventually(async () => (await activeSubscriptions(field)) <= active, 10_000);
  return outcome ?? { data: { [field]: 'subscribed' } };
}

/**
 * A subscription over SSE (`POST /graphql`, `Accept: text/event-stream`): its refusal (an event, or a JSON
 * answer), or its first event, or the server counting it as active. The request is then ended and the
 * subscription no longer counted.
 */
async function subscribeOverSse(call: Call, field: string, token: string | undefined): Promise<Result> {
  const active = await activeSubscriptions(field);
  const controller = new AbortController();
  const response = await fetch(`${app.url}/graphql`, {
    method: 'POST',
    signal: controller.signal,
    headers: {
      'content-type': 'application/json',
      accept: 'text/event-stream',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify(call),
  });
  expect(response.status, `SSE status of ${call.query}`).toBeLessThan(500);
  if (!response.headers.get('content-type')?.startsWith('text/event-stream')) {
    return { status: response.status, ...((await response.json()) as Result) };
  }
  let outcome: Result | undefined;
  let ended = false;
  const reading = readSseEvents(response, (event) => {
    if (event.event === 'next') outcome ??= JSON.parse(event.data) as Result;
  }).finally(() => {
    ended = true;
  });
  let accepted = false;
  await eventually(async () => {
    if (outcome || ended) return true;
    accepted = (await activeSubscriptions(field)) > active;
    return accepted;
  }, 10_000);
  controller.abort();
  await reading;
  if (accepted || (outcome && !outcome.errors))
    await eventually(async () => (await activeSubscriptions(field)) <= active, 10_000);
  return { status: response.status, ...(outcome ?? { data: { [field]: 'subscribed' } }) };
}

/** A socket's close event or an Error, readably. */
function readable(error: unknown): string {
  const event = error as { code?: number; reason?: string; message?: string };
  return event.code ? `socket closed ${event.code} ${event.reason ?? ''}` : String(event.message ?? error);
}

async function firstResult(client: WsClient, call: Call): Promise<Result> {
  return new Promise<Result>((resolve, reject) => {
    client.client.subscribe(call, {
      next: (value) => resolve(value as Result),
      error: (error) => (Array.isArray(error) ? resolve({ errors: error }) : reject(error)),
      complete: () => resolve({}),
    });
  });
}

async function activeSubscriptions(field: string): Promise<number> {
  const gauge = await app.server.metrics.subscriptionsActive.get();
  return gauge.values.find((value) => value.labels.field === field)?.value ?? 0;
}

/** Outcomes by code ('ok' for a result without errors): the suite must reach past authorization and coercion. */
const outcomes = new Map<string, number>();

function expectTypedErrors(result: Result, field: string) {
  const code = String(result.errors?.[0]?.extensions?.code ?? 'ok');
  outcomes.set(code, (outcomes.get(code) ?? 0) + 1);
  for (const error of result.errors ?? []) {
    expect(typeof error.extensions?.code, `${field}: ${error.message} has no extensions.code`).toBe('string');
    expect(error.extensions?.code, `${field}: ${error.message}`).not.toBe('INTERNAL_SERVER_ERROR');
  }
}

const WS_MAX_MESSAGE_BYTES = 1024 * 1024;

/** Bigger messages close the socket with 1009 (docs/limits.md): those calls go over HTTP, which answers 413. */
function fitsOneMessage(call: Call): boolean {
  return Buffer.byteLength(JSON.stringify(call)) < WS_MAX_MESSAGE_BYTES - 1024;
}

function refused(result: Result, field: string): boolean {
  return Boolean(result.errors?.length) && result.data?.[field] == null;
}

function seedOf(name: string): number {
  let hash = SEED;
  for (const char of name) hash = (Math.imul(hash, 31) + char.charCodeAt(0)) | 0;
  return hash;
}

// ---- Hostile values -------------------------------------------------------------------------------------

const INT_EDGES = [
  0,
  -1,
  1,
  99,
  100,
  101,
  999,
  1000,
  1_000_000,
  1_000_001,
  2 ** 31 - 1,
  2 ** 31,
  -(2 ** 31),
  -(2 ** 31) - 1,
  2 ** 53,
  -(2 ** 53),
  1e308,
  -1e308,
];
const SURROGATES = ['\ud800', '\udbff', '\udc00', '\udfff'];

const wrongType = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.constantFrom('', 'NaN', 'Infinity', '-1', '1e400', 'true', 'null', '[]', '{}'),
  fc.double({ noNaN: true }),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 3 }),
);

const hostileString: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc
    .array(fc.integer({ min: 0, max: 0x1f }), { minLength: 1, maxLength: 10 })
    .map((codes) => String.fromCharCode(...codes)),
  fc
    .tuple(fc.string({ maxLength: 10 }), fc.constantFrom(...SURROGATES), fc.string({ maxLength: 10 }))
    .map((parts) => parts.join('')),
  fc.tuple(fc.string({ maxLength: 10 }), fc.string({ maxLength: 10 })).map(([a, b]) => `${a}\u0000${b}`),
  fc.constantFrom(200, 201, 2000, 2001, 20_000).map((n) => 'x'.repeat(n)),
  fc.constantFrom(150, 201, 2001).map((n) => '👨‍👩‍👧‍👦'.repeat(n)),
  fc.constantFrom(10, 5000).map((n) => `a${'\u0301'.repeat(n)}`),
  fc.constantFrom(
    "' OR 1=1 --",
    '%',
    '_',
    '\\',
    '*',
    '"',
    '{{x}}',
    '../../etc/passwd',
    ' ',
    '\t\n',
    'UPPER_SNAKE',
    'ORDER_READY',
  ),
);

const shortValue = fc.oneof(fc.string({ maxLength: 8 }), fc.integer(), fc.constant(null));

/** Object nested `depth` levels, built without recursion (JSON.stringify still has to walk it). */
const nestedJson = (depth: number): unknown => {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = i % 2 ? [value] : { a: value };
  return value;
};

const hostileJson: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }),
  fc.constantFrom(9, 10, 11, 200, 2000).map(nestedJson),
  fc
    .constantFrom(100, 5000)
    .map((n) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i]))),
  fc.constantFrom(16_000, 17_000, 100_000).map((n) => ({ note: 'x'.repeat(n) })),
  hostileString.map((text) => ({ [text]: text, list: [text] })),
  wrongType,
);

const hostileDate = fc.oneof(
  fc
    .date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true })
    .map((d) => d.toISOString()),
  fc.constantFrom(
    '0000-01-01T00:00:00Z',
    '0001-01-01T00:00:00Z',
    '9999-12-31T23:59:59.999Z',
    '+275760-09-13T00:00:00Z',
    '-271821-04-20T00:00:00Z',
    '2026-02-30T00:00:00Z',
    '2026-13-01T00:00:00Z',
    '2026-01-01T25:61:61Z',
    '2026-01-01',
    'yesterday',
    '1970-01-01T00:00:00Z',
  ),
  fc.integer(),
  hostileString,
);

function hostileValue(type: GraphQLInputType, name: string, depth: number): fc.Arbitrary<unknown> {
  if (isNonNullType(type)) {
    return fc.oneof(
      { weight: 12, arbitrary: hostileValue(type.ofType, name, depth) },
      { weight: 1, arbitrary: fc.constant(null) },
    );
  }
  if (isListType(type)) {
    const item = hostileValue(type.ofType, name, depth + 1);
    return fc.oneof(
      { weight: 6, arbitrary: fc.array(item, { maxLength: 4 }) },
      { weight: 2, arbitrary: item },
      // Long lists of short values: long lists of long values would only test the message size limits.
      {
        weight: 1,
        arbitrary: fc
          .constantFrom(101, 1000)
          .chain((n) => fc.array(shortValue, { minLength: n, maxLength: n })),
      },
      { weight: 1, arbitrary: wrongType },
    );
  }
  if (isInputObjectType(type)) {
    if (depth > 3) return fc.constant(null);
    const fields = Object.values(type.getFields());
    const record = fc.tuple(
      ...fields.map((field) =>
        fc.option(hostileValue(field.type, field.name, depth + 1), {
          nil: undefined,
          freq: isNonNullType(field.type) ? 12 : 2,
        }),
      ),
      fc.option(fc.tuple(fc.constantFrom('unknownField', `${fields[0]?.name ?? 'x'}x`), fc.integer()), {
        freq: 8,
      }),
    );
    return fc.oneof(
      {
        weight: 8,
        arbitrary: record.map((values) => {
          const extra = values.pop() as [string, number] | null;
          const object: Record<string, unknown> = {};
          fields.forEach((field, i) => {
            if (values[i] !== undefined) object[field.name] = values[i];
          });
          if (extra) object[extra[0]] = extra[1];
          return object;
        }),
      },
      { weight: 1, arbitrary: wrongType },
    );
  }
  if (isEnumType(type)) {
    const values = type.getValues().map((value) => value.name);
    return fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom(...values) },
      { weight: 2, arbitrary: fc.constantFrom(...values).map((value) => value.toLowerCase()) },
      { weight: 1, arbitrary: fc.constantFrom(...values).map((value) => value.slice(0, -1)) },
      { weight: 1, arbitrary: hostileString },
      { weight: 1, arbitrary: wrongType },
    );
  }
  if (isScalarType(type)) {
    switch (type.name) {
      case 'Int':
        return fc.oneof(
          { weight: 4, arbitrary: fc.integer({ min: -5, max: 120 }) },
          { weight: 4, arbitrary: fc.constantFrom(...INT_EDGES) },
          { weight: 1, arbitrary: fc.integer() },
          { weight: 1, arbitrary: fc.double({ noNaN: true }) },
          { weight: 1, arbitrary: wrongType },
        );
      case 'Float':
        return fc.oneof(
          fc.double({ noNaN: true, noDefaultInfinity: true }),
          fc.constantFrom(...INT_EDGES),
          wrongType,
        );
      case 'Boolean':
        return fc.oneof({ weight: 4, arbitrary: fc.boolean() }, { weight: 1, arbitrary: wrongType });
      case 'DateTime':
        return hostileDate;
      case 'JSON':
        return hostileJson;
      default: {
        const named = /^(after|before)$/.test(name) ? fc.constantFrom(...cursors) : fc.constantFrom(...ids);
        return fc.oneof(
          { weight: 4, arbitrary: named },
          { weight: 4, arbitrary: hostileString },
          { weight: 1, arbitrary: fc.constantFrom(...cursors, ...ids) },
          { weight: 1, arbitrary: wrongType },
        );
      }
    }
  }
  return wrongType;
}

/** A JavaScript value written as a GraphQL literal of the argument's type (enum names bare where they can be). */
function literal(value: unknown, type: GraphQLInputType): string {
  const named = getNamedType(type);
  if (value === null) return 'null';
  if (Array.isArray(value)) {
    const itemType = isNonNullType(type) ? type.ofType : type;
    const inner = isListType(itemType) ? itemType.ofType : itemType;
    return `[${value.map((item) => literal(item, inner)).join(', ')}]`;
  }
  if (typeof value === 'object') {
    const fields = isInputObjectType(named) ? named.getFields() : {};
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([key]) => /^[_A-Za-z][_0-9A-Za-z]*$/.test(key))
      .map(([key, item]) => `${key}: ${literal(item, fields[key]?.type ?? (named as GraphQLInputType))}`);
    return `{${entries.join(', ')}}`;
  }
  if (typeof value === 'string' && isEnumType(named) && /^[_A-Za-z][_0-9A-Za-z]*$/.test(value)) return value;
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '0';
  return JSON.stringify(value);
}

/** A variable type that does not fit the argument: validation refuses the document. */
function mistyped(argument: GraphQLArgument): string {
  const named = getNamedType(argument.type).name;
  return named === 'String' ? 'Int' : named === 'Int' ? 'Float' : 'String';
}

// ---- What exists --------------------------------------------------------------------------------------

/** Ids of rows of the caller's tenant and of another tenant, and real cursors of lists and streams. */
async function existingIdsAndCursors(): Promise<{ ids: string[]; cursors: string[] }> {
  const globex = await app.token('globex-manager');
  const order = (token: string, store: string) =>
    app.gql<{ createOrder: { id: string } }>(
      `mutation { createOrder(input: { storeId: "${store}", channel: POS, items: [{ productId: "${store}-fries", quantity: 1 }] }) { id } }`,
      undefined,
      { token },
    );
  const eventCursors: string[] = [];
  for (const [token, store] of [
    [callers.admin!, 'acme-downtown'],
    [globex, 'globex-central'],
  ] as const) {
    const socket = await app.connect(token);
    const active = await activeSubscriptions('orderUpdated');
    const live = socket.subscribe<{ orderUpdated: { cursor: string } }>(
      `subscription { orderUpdated(storeId: "${store}") { cursor } }`,
    );
    await eventually(async () => (await activeSubscriptions('orderUpdated')) > active);
    expect((await order(token, store)).errors).toBeUndefined();
    eventCursors.push((await live.next()).data!.orderUpdated.cursor);
    await socket.dispose();
  }
  await app.gql(
    'mutation { sendNotification(input: { audience: USER, targetUserId: "acme-admin", title: "t", body: "b" }) { id } }',
    undefined,
    { token: await app.token('acme-manager') },
  );
  const lists = await app.gql<{
    orders: { edges: Array<{ cursor: string }> };
    notifications: { edges: Array<{ cursor: string }> };
  }>(
    '{ orders(storeId: "acme-downtown", first: 1) { edges { cursor } } notifications(first: 1) { edges { cursor } } }',
    undefined,
    {
      token: callers.admin,
    },
  );
  const rows = await app.server.db.query<{ id: string }>(
    `SELECT id FROM "Store" UNION ALL SELECT id FROM "Station" UNION ALL SELECT id FROM "Product"
     UNION ALL SELECT id FROM "InventoryItem" UNION ALL SELECT id FROM "Order" UNION ALL SELECT id FROM "OrderItem"
     UNION ALL SELECT id FROM "KdsTicket" UNION ALL SELECT id FROM "Notification"
     UNION ALL SELECT id FROM "DiningTable" UNION ALL SELECT id FROM "InventoryAlert"
     UNION ALL SELECT id FROM "User" WHERE id NOT IN ('acme-admin', 'acme-customer', 'acme-manager')`,
  );
  const b64 = (text: string) => Buffer.from(text).toString('base64url');
  return {
    ids: rows.map((row) => row.id),
    cursors: [
      ...eventCursors,
      lists.data!.orders.edges[0]!.cursor,
      lists.data!.notifications.edges[0]!.cursor,
      b64('order:2147483648'),
      b64('order:99999999999999999999'),
      b64('-100000-01-01T00:00:00.000Z|x'),
      b64('2020-01-01T00:00:00.000Z|a\u0000b'),
      b64('1.0123456789abcdef.99999999999999999999'),
      'garbage',
    ],
  };
}
