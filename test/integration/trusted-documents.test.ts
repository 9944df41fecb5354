import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache } from '@apollo/client';
import { PersistedQueryLink } from '@apollo/client/link/persisted-queries';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { generatePersistedQueryIdsFromManifest } from '@apollo/persisted-query-lists';
import { Client, cacheExchange, fetchExchange, subscriptionExchange } from '@urql/core';
import { persistedExchange } from '@urql/exchange-persisted';
import { type DocumentNode, OperationTypeNode } from 'graphql';
import { createClient as createSseClient } from 'graphql-sse';
import { createClient as createWsClient } from 'graphql-ws';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createApolloClient } from '../../src/client/examples/apollo';
import { createUrqlClient } from '../../src/client/examples/urql';
import {
  CreateOrderDocument,
  type CreateOrderInput,
  MeDocument,
  OrderUpdatesDocument,
  type OrderUpdatesSubscription,
} from '../../src/client/gql/graphql';
import { createExpediterClient, type ExpediterError, httpRequest } from '../../src/client/index';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { startTestServer, type TestServer } from '../support/server';

/**
 * Trusted documents, against real servers with the real clients: `require` runs only registered hashes on
 * HTTP, graphql-ws and SSE alike; `allow` also registers hashes on first use (APQ).
 */

const STORE = 'acme-downtown';
const burger = (): CreateOrderInput => ({
  storeId: STORE,
  channel: 'POS',
  items: [{ productId: 'acme-downtown-burger', quantity: 1 }],
});
const hashOf = (document: DocumentNode) =>
  (document as unknown as { __meta__: { hash: string } }).__meta__.hash;
const hexOf = (document: DocumentNode) => hashOf(document).slice('sha256:'.length);
const persistedQuery = (sha256Hash: string) => ({ persistedQuery: { version: 1, sha256Hash } });
const UNKNOWN = 'f'.repeat(64);
/** GraphQL over HTTP's media type, under which request errors are 4xx (plain application/json answers 200). */
const ACCEPT = { accept: 'application/graphql-response+json' };
const ORDER_UPDATES_TEXT = 'subscription { orderUpdated(storeId: "acme-downtown") { cursor kind } }';

let database: TestDatabase;
let manifests: string;
let apolloManifest: { operations: Array<{ id: string; name: string; body: string }> };
/** TRUSTED_DOCUMENTS=require, the codegen manifest plus TRUSTED_DOCUMENTS_DIR (Apollo's format), reloading. */
let required: TestServer;
/** TRUSTED_DOCUMENTS=allow, the codegen manifest only. */
let allowing: TestServer;
let token: string;

beforeAll(async () => {
  database = await createTestDatabase({ seed: true });
  // Subscriptions here are probed with orders until one arrives: stock enough for any number of them.
  await database.handle.db.inventoryItem.updateMany({ data: { quantity: 1_000_000 } });
  await database.handle.close();
  manifests = await mkdtemp(join(tmpdir(), 'expediter-manifests-'));
  await generateApolloManifest(join(manifests, 'web-apollo.json'));
  apolloManifest = JSON.parse(await readFile(join(manifests, 'web-apollo.json'), 'utf8'));
  [required, allowing] = await Promise.all([
    startTestServer({
      databaseUrl: database.url,
      env: {
        TRUSTED_DOCUMENTS: 'require',
        TRUSTED_DOCUMENTS_DIR: manifests,
        TRUSTED_DOCUMENTS_RELOAD_MS: '100',
      },
    }),
    startTestServer({ databaseUrl: database.url, env: { TRUSTED_DOCUMENTS: 'allow' } }),
  ]);
  token = await required.token('acme-manager');
}, 90_000);

afterAll(async () => {
  await Promise.all([required?.close(), allowing?.close()]);
  await database?.drop();
  if (manifests) await rm(manifests, { recursive: true, force: true });
});

/**
 * Apollo's manifest generator, as a web team runs it (`npx generate-persisted-query-manifest`), from the
 * documents codegen wrote: it applies Apollo Client's own transforms (e.g. `__typename`) to every body.
 */
async function generateApolloManifest(output: string) {
  const cli = createRequire(import.meta.url).resolve('@apollo/generate-persisted-query-manifest/cli.js');
  const generator = createRequire(import.meta.url).resolve('@apollo/generate-persisted-query-manifest');
  const config = join(manifests, 'persisted-query-manifest.config.cjs');
  await writeFile(
    config,
    `const { fromGraphQLCodegenPersistedDocuments } = require(${JSON.stringify(generator)});
module.exports = {
  documents: fromGraphQLCodegenPersistedDocuments('src/client/gql/persisted-documents.json'),
  output: ${JSON.stringify(output)},
};`,
  );
  await promisify(execFile)(process.execPath, [cli, '--config', config]);
  await rm(config);
}

interface Answer {
  status: number;
  cacheControl: string | null;
  data?: Record<string, unknown> | null;
  errors?: Array<{ message: string; extensions?: { code?: string } }>;
}

async function post(server: TestServer, body: Record<string, unknown>): Promise<Answer> {
  return answer(
    await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { ...ACCEPT, 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
    }),
  );
}

async function get(server: TestServer, search: Record<string, string>): Promise<Answer> {
  return answer(
    await fetch(`${server.url}/graphql?${new URLSearchParams(search)}`, {
      headers: { ...ACCEPT, authorization: `Bearer ${token}` },
    }),
  );
}

async function answer(response: Response): Promise<Answer> {
  const text = await response.text();
  return {
    status: response.status,
    cacheControl: response.headers.get('cache-control'),
    ...(text ? JSON.parse(text) : {}),
  };
}

const codeOf = (result: { errors?: ReadonlyArray<{ extensions?: { code?: unknown } }> }) =>
  result.errors?.[0]?.extensions?.code;

/** The first outcome of a subscribe message over graphql-ws: its first result, or the errors it was refused with. */
async function overWebSocket(server: TestServer, payload: Record<string, unknown>) {
  const socket = await server.connect(token);
  try {
    return await new Promise<{ data?: unknown; errors?: ReadonlyArray<{ extensions?: { code?: unknown } }> }>(
      (resolve, reject) => {
        socket.client.subscribe(payload as never, {
          next: (result) => resolve(result as never),
          error: (error) => (Array.isArray(error) ? resolve({ errors: error }) : reject(error)),
          complete: () => {},
        });
      },
    );
  } finally {
    await socket.dispose();
  }
}

/** The first outcome of an SSE subscription (graphql-sse, distinct connections). */
async function overSse(server: TestServer, payload: Record<string, unknown>) {
  const sse = createSseClient({
    url: `${server.url}/graphql`,
    singleConnection: false,
    retryAttempts: 0,
    headers: { authorization: `Bearer ${token}` },
  });
  try {
    return await new Promise<{ data?: unknown; errors?: ReadonlyArray<{ extensions?: { code?: unknown } }> }>(
      (resolve, reject) => {
        sse.subscribe(payload as never, {
          next: (result) => resolve(result as never),
          error: (error) =>
            Array.isArray(error) ? resolve({ errors: error as never }) : reject(error as Error),
          complete: () => {},
        });
      },
    );
  } finally {
    sse.dispose();
  }
}

/** Events arrive only for orders placed after a subscription is live: place orders until one arrives. */
async function placeOrdersUntil(received: () => boolean) {
  await expect
    .poll(
      async () => {
        const result = await post(required, {
          documentId: hashOf(CreateOrderDocument),
          variables: { input: burger() },
        });
        expect(result.errors).toBeUndefined();
        return received();
      },
      { interval: 200, timeout: 15_000 },
    )
    .toBe(true);
}

async function metric(server: TestServer, name: string, labels = ''): Promise<number> {
  const text = await server.server.metrics.registry.metrics();
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ''} `));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

describe('TRUSTED_DOCUMENTS=require over HTTP', () => {
  it('runs a codegen document by documentId (POST) and a query by GET, whose URL a CDN can cache', async () => {
    const created = await post(required, {
      documentId: hashOf(CreateOrderDocument),
      variables: { input: burger() },
    });
    expect(created.errors).toBeUndefined();
    expect(created.data?.createOrder).toMatchObject({ storeId: STORE, status: 'PENDING' });

    const byDocumentId = await get(required, { documentId: hashOf(MeDocument) });
    expect(byDocumentId).toMatchObject({ status: 200, data: { me: { id: 'acme-manager' } } });
    const byExtension = await get(required, {
      extensions: JSON.stringify(persistedQuery(hexOf(MeDocument))),
    });
    expect(byExtension).toMatchObject({ status: 200, data: { me: { id: 'acme-manager' } } });

    // A mutation is never a GET, by hash or not (yoga answers 405).
    const mutationByGet = await get(required, {
      documentId: hashOf(CreateOrderDocument),
      variables: JSON.stringify({ input: burger() }),
    });
    expect(mutationByGet.status).toBe(405);
  });

  it('refuses document text, even the text of a registered document', async () => {
    const refusals = [
      await post(required, { query: '{ me { id } }' }),
      await post(required, {
        query: JSON.parse(await readFile('src/client/gql/persisted-documents.json', 'utf8'))[
          hashOf(MeDocument)
        ],
      }),
      await get(required, { query: '{ me { id } }' }),
    ];
    for (const refusal of refusals) {
      expect(refusal.status).toBe(400);
      expect(refusal.data ?? null).toBeNull();
      expect(codeOf(refusal)).toBe('PERSISTED_QUERY_ID_REQUIRED');
    }
  });

  it('refuses an unknown hash with PERSISTED_QUERY_NOT_IN_LIST, even with its text, uncached, and counts it', async () => {
    const before = await metric(required, 'expediter_unregistered_hashes_total');
    const withText = '{ me { id roles } }';
    const refusals = [
      await post(required, { documentId: `sha256:${UNKNOWN}` }),
      await get(required, { extensions: JSON.stringify(persistedQuery(UNKNOWN)) }),
      // APQ registration is for `allow` only: the text does not register the hash here.
      await post(required, { query: withText, extensions: persistedQuery(sha256(withText)) }),
    ];
    for (const refusal of refusals) {
      // No cache may keep it: the next manifest may register the hash.
      expect(refusal).toMatchObject({ status: 400, cacheControl: 'no-store' });
      expect(codeOf(refusal)).toBe('PERSISTED_QUERY_NOT_IN_LIST');
    }
    expect(await metric(required, 'expediter_unregistered_hashes_total')).toBe(before + 3);

    // A client accepting only application/json gets the same refusal with 200 (GraphQL over HTTP), uncached too.
    const plain = await answer(
      await fetch(`${required.url}/graphql`, {
        method: 'POST',
        headers: { accept: 'application/json', 'content-type': 'application/json' },
        body: JSON.stringify({ documentId: `sha256:${UNKNOWN}` }),
      }),
    );
    expect(plain).toMatchObject({ status: 200, cacheControl: 'no-store' });
    expect(codeOf(plain)).toBe('PERSISTED_QUERY_NOT_IN_LIST');
  });

  it('refuses malformed ids as BAD_USER_INPUT', async () => {
    const malformed = [
      { documentId: 42 },
      { extensions: { persistedQuery: { version: 2, sha256Hash: UNKNOWN } } },
      { documentId: hashOf(MeDocument), extensions: persistedQuery(hexOf(CreateOrderDocument)) },
      { documentId: 'x'.repeat(201) },
    ];
    for (const body of malformed) {
      const result = await post(required, body);
      expect(result.status, JSON.stringify(body)).toBe(400);
      expect(codeOf(result), JSON.stringify(body)).toBe('BAD_USER_INPUT');
    }
  });

  it('keeps introspection working where it is enabled (GraphiQL, codegen), and nothing beside it', async () => {
    const schema = await post(required, { query: '{ __schema { queryType { name } } }' });
    expect(schema).toMatchObject({ status: 200, data: { __schema: { queryType: { name: 'Query' } } } });
    const smuggled = await post(required, { query: '{ __typename me { id } }' });
    expect(codeOf(smuggled)).toBe('PERSISTED_QUERY_ID_REQUIRED');
    expect(smuggled.data ?? null).toBeNull();
    const overWs = await overWebSocket(required, { query: 'query { __typename me { id } }' });
    expect(codeOf(overWs)).toBe('PERSISTED_QUERY_ID_REQUIRED');
    // Nor through a fragment, an inline fragment, or a second operation beside the introspection one.
    for (const [query, operationName] of [
      ['{ __schema { queryType { name } } ...Me } fragment Me on Query { me { id } }'],
      ['{ __schema { queryType { name } } ... on Query { me { id } } }'],
      ['query Schema { __schema { queryType { name } } } query Me { me { id } }', 'Schema'],
    ]) {
      const result = await post(required, { query, operationName });
      expect(codeOf(result), query).toBe('PERSISTED_QUERY_ID_REQUIRED');
      expect(result.data ?? null, query).toBeNull();
    }
  });

  it('counts operations by the manifest and name of their document', async () => {
    const labels = 'manifest="codegen",operation="Me"';
    const before = await metric(required, 'expediter_persisted_operations_total', labels);
    await get(required, { documentId: hashOf(MeDocument) });
    expect(await metric(required, 'expediter_persisted_operations_total', labels)).toBe(before + 1);
    expect(await metric(required, 'expediter_persisted_documents', 'manifest="web-apollo.json"')).toBe(
      apolloManifest.operations.length,
    );
  });
});

describe('TRUSTED_DOCUMENTS=require over graphql-ws and SSE, subscriptions included', () => {
  it('refuses text and unknown hashes on both, as errors on the operation', async () => {
    for (const outcome of [
      await overWebSocket(required, { query: ORDER_UPDATES_TEXT }),
      await overSse(required, { query: ORDER_UPDATES_TEXT }),
    ]) {
      expect(codeOf(outcome)).toBe('PERSISTED_QUERY_ID_REQUIRED');
    }
    for (const outcome of [
      await overWebSocket(required, { query: '', extensions: persistedQuery(UNKNOWN) }),
      await overSse(required, { query: '', extensions: persistedQuery(UNKNOWN) }),
    ]) {
      expect(codeOf(outcome)).toBe('PERSISTED_QUERY_NOT_IN_LIST');
    }
  });

  /** The live orders subscription, sent as its hash only. */
  const byHash = {
    query: '',
    variables: { storeId: STORE },
    extensions: persistedQuery(hexOf(OrderUpdatesDocument)),
  };

  /** Subscribes with `start` and places orders until an event arrives: the first event's kind, or its error. */
  async function firstKind(
    start: (sink: {
      next(result: { data?: OrderUpdatesSubscription | null; errors?: unknown }): void;
      error(error: unknown): void;
      complete(): void;
    }) => () => void,
  ): Promise<string> {
    const kinds: string[] = [];
    const stop = start({
      next: ({ data, errors }) =>
        kinds.push(errors ? `errors: ${JSON.stringify(errors)}` : (data?.orderUpdated.kind ?? '')),
      error: (error) => kinds.push(`error: ${JSON.stringify(error)}`),
      complete: () => {},
    });
    try {
      await placeOrdersUntil(() => kinds.length > 0);
      return kinds[0]!;
    } finally {
      stop();
    }
  }

  it('the graphql-ws client subscribes by hash and receives events', async () => {
    const socket = await required.connect(token);
    try {
      expect(await firstKind((sink) => socket.client.subscribe(byHash, sink))).toBe('CREATED');
    } finally {
      await socket.dispose();
    }
  });

  it('an SSE subscription by hash receives events', async () => {
    const sse = createSseClient({
      url: `${required.url}/graphql`,
      singleConnection: false,
      headers: { authorization: `Bearer ${token}` },
    });
    try {
      expect(await firstKind((sink) => sse.subscribe(byHash, sink))).toBe('CREATED');
    } finally {
      sse.dispose();
    }
  });
});

describe('the real clients against TRUSTED_DOCUMENTS=require', () => {
  it('expediter/client sends its generated documents by hash: subscribe, request and httpRequest', async () => {
    const expediter = createExpediterClient({
      url: required.wsUrl,
      token: () => token,
      webSocketImpl: WebSocket,
    });
    const kinds: string[] = [];
    const failures: ExpediterError[] = [];
    const stop = expediter.subscribe(
      OrderUpdatesDocument,
      { storeId: STORE },
      { next: ({ orderUpdated }) => kinds.push(orderUpdated.kind), error: (e) => failures.push(e) },
    );
    try {
      const { me } = await expediter.request(MeDocument, {});
      expect(me.id).toBe('acme-manager');
      const overHttp = await httpRequest(`${required.url}/graphql`, MeDocument, {}, { token });
      expect(overHttp.me.id).toBe('acme-manager');
      await expect
        .poll(
          async () => {
            await httpRequest(`${required.url}/graphql`, CreateOrderDocument, { input: burger() }, { token });
            return kinds.length + failures.length;
          },
          { interval: 200, timeout: 15_000 },
        )
        .toBeGreaterThan(0);
      expect(failures).toEqual([]);
      expect(kinds[0]).toBe('CREATED');
      // Text is what this server refuses: the same document with hashes switched off.
      await expect(
        httpRequest(`${required.url}/graphql`, MeDocument, {}, { token, persistedDocuments: false }),
      ).rejects.toMatchObject({ code: 'PERSISTED_QUERY_ID_REQUIRED' });
    } finally {
      stop();
      await expediter.dispose();
    }
  });

  it("Apollo Client 4: the persisted-query link with ids from Apollo's manifest in TRUSTED_DOCUMENTS_DIR", async () => {
    const sent: string[] = [];
    const recordingFetch: typeof fetch = async (input, init) => {
      sent.push(init?.method === 'GET' ? String(input) : String(init?.body));
      return fetch(input, init);
    };
    const ws = createWsClient({
      url: required.wsUrl,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${token}` },
      lazy: true,
      retryAttempts: 0,
    });
    const link = ApolloLink.from([
      new PersistedQueryLink({
        ...generatePersistedQueryIdsFromManifest({ loadManifest: () => apolloManifest }),
        useGETForHashedQueries: true,
      }),
      ApolloLink.split(
        (operation) => operation.operationType === OperationTypeNode.SUBSCRIPTION,
        new GraphQLWsLink(ws),
        new HttpLink({
          uri: `${required.url}/graphql`,
          headers: { authorization: `Bearer ${token}` },
          fetch: recordingFetch,
        }),
      ),
    ]);
    const apollo = new ApolloClient({ link, cache: new InMemoryCache() });
    const kinds: string[] = [];
    const subscription = apollo
      .subscribe({ query: OrderUpdatesDocument, variables: { storeId: STORE } })
      .subscribe({ next: ({ data }) => data && kinds.push(data.orderUpdated.kind) });
    try {
      const { data } = await apollo.query({ query: MeDocument });
      expect(data?.me.id).toBe('acme-manager');
      const created = await apollo.mutate({ mutation: CreateOrderDocument, variables: { input: burger() } });
      expect(created.data?.createOrder.storeId).toBe(STORE);
      // Neither request carried document text: the query was a GET by id, the mutation a POST by id.
      expect(sent).toHaveLength(2);
      expect(sent[0]).toMatch(/^http:.*\?.*extensions=/);
      for (const request of sent) expect(request).not.toMatch(/query=|"query"/);
      await placeOrdersUntil(() => kinds.length > 0);
      expect(kinds[0]).toBe('CREATED');
    } finally {
      subscription.unsubscribe();
      await ws.dispose();
    }
  });

  it('urql with persistedExchange sending the hashes codegen generated (enforcePersistedQueries)', async () => {
    const expediter = createExpediterClient({
      url: required.wsUrl,
      token: () => token,
      webSocketImpl: WebSocket,
    });
    const sent: string[] = [];
    const urql = new Client({
      url: `${required.url}/graphql`,
      fetch: async (input, init) => {
        sent.push(init?.method === 'GET' ? String(input) : String(init?.body));
        return fetch(input, {
          ...init,
          headers: { ...(init?.headers as Record<string, string>), authorization: `Bearer ${token}` },
        });
      },
      exchanges: [
        cacheExchange,
        persistedExchange({
          enforcePersistedQueries: true,
          enableForMutation: true,
          enableForSubscriptions: true,
          generateHash: async (_query, document) => hashOf(document),
        }),
        fetchExchange,
        subscriptionExchange({ forwardSubscription: expediter.forwardSubscription }),
      ],
    });
    const kinds: string[] = [];
    const subscription = urql
      .subscription(OrderUpdatesDocument, { storeId: STORE })
      .subscribe(({ data, error }) => {
        if (error) kinds.push(`error: ${error.message}`);
        if (data) kinds.push(data.orderUpdated.kind);
      });
    try {
      const me = await urql.query(MeDocument, {}).toPromise();
      expect(me.error).toBeUndefined();
      expect(me.data?.me.id).toBe('acme-manager');
      const created = await urql.mutation(CreateOrderDocument, { input: burger() }).toPromise();
      expect(created.error).toBeUndefined();
      expect(sent[0]).toMatch(/^http:.*\?.*extensions=/); // a query by hash is a GET
      for (const request of sent) expect(request).not.toMatch(/query=|"query"/);
      await placeOrdersUntil(() => kinds.length > 0);
      expect(kinds[0]).toBe('CREATED');
    } finally {
      subscription.unsubscribe();
      await expediter.dispose();
    }
  });
});

describe('the documented setups (docs/clients.md) under TRUSTED_DOCUMENTS=require', () => {
  it("Apollo Client with the app's manifest, and urql with codegen's hashes: queries, mutations, subscriptions", async () => {
    const setup = {
      httpUrl: `${required.url}/graphql`,
      wsUrl: required.wsUrl,
      getToken: () => token,
      webSocketImpl: WebSocket,
    };
    const { apollo, expediter: forApollo } = createApolloClient({
      ...setup,
      persistedQueries: apolloManifest,
    });
    const { urql, expediter: forUrql } = createUrqlClient(setup);
    const kinds: string[] = [];
    const subscriptions = [
      apollo
        .subscribe({ query: OrderUpdatesDocument, variables: { storeId: STORE } })
        .subscribe({ next: ({ data }) => data && kinds.push(`apollo ${data.orderUpdated.kind}`) }),
      urql
        .subscription(OrderUpdatesDocument, { storeId: STORE })
        .subscribe(({ data }) => data && kinds.push(`urql ${data.orderUpdated.kind}`)),
    ];
    try {
      expect((await apollo.query({ query: MeDocument })).data?.me.id).toBe('acme-manager');
      expect((await urql.query(MeDocument, {}).toPromise()).data?.me.id).toBe('acme-manager');
      const byApollo = await apollo.mutate({ mutation: CreateOrderDocument, variables: { input: burger() } });
      expect(byApollo.data?.createOrder.storeId).toBe(STORE);
      const byUrql = await urql.mutation(CreateOrderDocument, { input: burger() }).toPromise();
      expect(byUrql.error).toBeUndefined();
      await placeOrdersUntil(
        () => kinds.some((k) => k.startsWith('apollo')) && kinds.some((k) => k.startsWith('urql')),
      );
    } finally {
      for (const subscription of subscriptions) subscription.unsubscribe();
      await Promise.all([forApollo.dispose(), forUrql.dispose()]);
    }
  });
});

describe('manifests in TRUSTED_DOCUMENTS_DIR reload while the server runs', () => {
  it('a manifest added registers its documents; removed, its hashes are refused', async () => {
    const body = 'query AppV1Me { me { id email } }';
    const id = sha256(body);
    const file = join(manifests, 'android-1.0.json');
    const run = () => post(required, { extensions: persistedQuery(id) });
    expect(codeOf(await run())).toBe('PERSISTED_QUERY_NOT_IN_LIST');

    await writeFile(file, JSON.stringify({ [`sha256:${id}`]: body }));
    await expect
      .poll(async () => (await run()).data, { interval: 100, timeout: 10_000 })
      .toEqual({
        me: { id: 'acme-manager', email: expect.any(String) },
      });

    await rm(file);
    await expect
      .poll(async () => codeOf(await run()), { interval: 100, timeout: 10_000 })
      .toBe('PERSISTED_QUERY_NOT_IN_LIST');
    // The other manifests are untouched.
    expect((await get(required, { documentId: hashOf(MeDocument) })).data).toEqual({ me: expect.anything() });
  });

  it('a manifest that turns unreadable keeps its last good documents', async () => {
    const body = 'query KioskMe { me { id } }';
    const file = join(manifests, 'kiosk.json');
    const run = () => post(required, { documentId: `sha256:${sha256(body)}` });
    await writeFile(file, JSON.stringify({ [`sha256:${sha256(body)}`]: body }));
    await expect.poll(async () => (await run()).data, { interval: 100, timeout: 10_000 }).toBeTruthy();
    await writeFile(file, '{ "half-written": ');
    // The reload logged the broken file and kept the documents; a later good version replaces them.
    await expect
      .poll(async () =>
        required.server.metrics.registry.getSingleMetricAsString('expediter_persisted_documents'),
      )
      .toContain('manifest="kiosk.json"} 1');
    expect((await run()).data).toBeTruthy();
    await rm(file);
    await expect
      .poll(async () => codeOf(await run()), { interval: 100, timeout: 10_000 })
      .toBe('PERSISTED_QUERY_NOT_IN_LIST');
  });
});

describe('limits, logs and metrics see the operation a hash names', () => {
  /** require, at most two aliases, two createOrder calls per window, logging at debug into `lines`. */
  let limited: TestServer;
  let limitedDir: string;
  const lines: Array<Record<string, unknown>> = [];
  /** Registered by an app's manifest, and over MAX_ALIASES=2 (no codegen document has an alias). */
  const ALIASED = 'query ThreeTimesMe { a: me { id } b: me { id } c: me { id } }';

  beforeAll(async () => {
    limitedDir = await mkdtemp(join(tmpdir(), 'expediter-manifests-limited-'));
    await writeFile(
      join(limitedDir, 'app-1.0.json'),
      JSON.stringify({ [`sha256:${sha256(ALIASED)}`]: ALIASED }),
    );
    const sink = new Writable({
      write(chunk, _encoding, callback) {
        for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
        callback();
      },
    });
    limited = await startTestServer({
      databaseUrl: database.url,
      env: {
        TRUSTED_DOCUMENTS: 'require',
        TRUSTED_DOCUMENTS_DIR: limitedDir,
        MAX_ALIASES: '2',
        RATE_LIMIT_OVERRIDES: 'createOrder=2',
      },
      serverOptions: { logger: pino({ level: 'debug' }, sink) },
    });
  }, 90_000);

  afterAll(async () => {
    await limited?.close();
    if (limitedDir) await rm(limitedDir, { recursive: true, force: true });
  });

  it('the document limits measure the registered document, over HTTP and graphql-ws', async () => {
    const byHash = { documentId: `sha256:${sha256(ALIASED)}` };
    const overHttp = await post(limited, byHash);
    expect(overHttp.data ?? null).toBeNull();
    expect(overHttp.errors?.[0]?.extensions).toMatchObject({
      code: 'GRAPHQL_VALIDATION_FAILED',
      limit: 'aliases',
    });
    const overWs = await overWebSocket(limited, { query: '', extensions: persistedQuery(sha256(ALIASED)) });
    expect(overWs.errors?.[0]?.extensions).toMatchObject({
      code: 'GRAPHQL_VALIDATION_FAILED',
      limit: 'aliases',
    });
  });

  it("the rate limits count a hash's mutation fields as they count text's", async () => {
    const user = await limited.token('acme-staff'); // a budget no other test of this server spends
    const create = async () =>
      answer(
        await fetch(`${limited.url}/graphql`, {
          method: 'POST',
          headers: { ...ACCEPT, 'content-type': 'application/json', authorization: `Bearer ${user}` },
          body: JSON.stringify({ documentId: hashOf(CreateOrderDocument), variables: { input: burger() } }),
        }),
      );
    expect((await create()).errors).toBeUndefined();
    expect((await create()).errors).toBeUndefined();
    const third = await create();
    expect(codeOf(third)).toBe('RATE_LIMITED');
    expect(third.data?.createOrder ?? null).toBeNull();
  });

  it('log lines name the hash the client sent and the operation; metrics count it by manifest and name', async () => {
    const before = await metric(
      limited,
      'expediter_persisted_operations_total',
      'manifest="codegen",operation="Me"',
    );
    const me = await get(limited, { documentId: hashOf(MeDocument) });
    expect(me.data).toMatchObject({ me: { id: 'acme-manager' } });
    await expect
      .poll(() =>
        lines.find((line) => line.msg === 'operation completed' && line.documentId === hashOf(MeDocument)),
      )
      .toMatchObject({ operationName: 'Me', operationType: 'query' });
    expect(
      await metric(limited, 'expediter_persisted_operations_total', 'manifest="codegen",operation="Me"'),
    ).toBe(before + 1);

    const unknownBefore = await metric(limited, 'expediter_unregistered_hashes_total');
    expect(codeOf(await post(limited, { documentId: `sha256:${UNKNOWN}` }))).toBe(
      'PERSISTED_QUERY_NOT_IN_LIST',
    );
    expect(await metric(limited, 'expediter_unregistered_hashes_total')).toBe(unknownBefore + 1);
  });
});

describe('TRUSTED_DOCUMENTS=allow', () => {
  it('runs text and registered hashes alike', async () => {
    expect((await post(allowing, { query: '{ me { id } }' })).data).toEqual({ me: { id: 'acme-manager' } });
    expect((await get(allowing, { documentId: hashOf(MeDocument) })).data).toEqual({
      me: expect.objectContaining({ id: 'acme-manager' }),
    });
  });

  it('Apollo Client 4 registers an unknown hash on first use (APQ) and then sends only the hash', async () => {
    const sent: string[] = [];
    const apolloFor = () =>
      new ApolloClient({
        cache: new InMemoryCache(),
        link: ApolloLink.from([
          new PersistedQueryLink({ sha256: (text: string) => sha256(text) }),
          new HttpLink({
            uri: `${allowing.url}/graphql`,
            headers: { authorization: `Bearer ${token}` },
            fetch: async (input, init) => {
              sent.push(String(init?.body));
              return fetch(input, init);
            },
          }),
        ]),
      });
    // A query no manifest has: Apollo's printed document with __typename.
    const first = await apolloFor().query({ query: MeDocument });
    expect(first.data?.me.id).toBe('acme-manager');
    expect(sent).toHaveLength(2); // the hash (PersistedQueryNotFound), then the hash with the text
    expect(JSON.parse(sent[0]!).query).toBeUndefined();
    expect(JSON.parse(sent[1]!).query).toContain('__typename');

    const second = await apolloFor().query({ query: MeDocument });
    expect(second.data?.me.id).toBe('acme-manager');
    expect(sent).toHaveLength(3);
    expect(JSON.parse(sent[2]!).query).toBeUndefined();
  });

  it('urql with the default persistedExchange (APQ) retries with the text once, then sends hashes', async () => {
    const sent: string[] = [];
    const urqlFor = () =>
      new Client({
        url: `${allowing.url}/graphql`,
        preferGetMethod: false,
        fetch: async (input, init) => {
          sent.push(init?.method === 'GET' ? String(input) : String(init?.body));
          return fetch(input, {
            ...init,
            headers: { ...(init?.headers as Record<string, string>), authorization: `Bearer ${token}` },
          });
        },
        exchanges: [persistedExchange({ preferGetForPersistedQueries: false }), fetchExchange],
      });
    const query = 'query UrqlApq { me { id roles } }';
    const first = await urqlFor().query(query, {}).toPromise();
    expect(first.error).toBeUndefined();
    expect(sent.map((s) => JSON.parse(s).query !== undefined)).toEqual([false, true]);
    const second = await urqlFor().query(query, {}).toPromise();
    expect(second.data).toEqual({ me: { id: 'acme-manager', roles: ['MANAGER'] } });
    expect(sent.map((s) => JSON.parse(s).query !== undefined)).toEqual([false, true, false]);
  });

  it('runs text whose sha256 is not the hash it names as text, without registering the hash', async () => {
    const result = await post(allowing, { query: '{ me { id } }', extensions: persistedQuery(UNKNOWN) });
    expect(result.data).toEqual({ me: { id: 'acme-manager' } });
    expect(codeOf(await post(allowing, { extensions: persistedQuery(UNKNOWN) }))).toBe(
      'PERSISTED_QUERY_NOT_FOUND',
    );
  });
});

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * A generated document whose hash the server has no manifest for: an app version newer than the server's
 * manifests (the same document, another hash).
 */
function unregistered<T extends DocumentNode>(document: T): T {
  return { ...document, __meta__: { hash: `sha256:${'e'.repeat(64)}` } };
}

/** expediter/client, sending `documents` by hash over the socket and HTTP, against `server`: what it received. */
async function expediterFallsBackToText(
  server: TestServer,
  documents: {
    me: typeof MeDocument;
    orderUpdates: typeof OrderUpdatesDocument;
    create: typeof CreateOrderDocument;
  },
) {
  const sent: Array<{ query?: unknown; documentId?: unknown }> = [];
  const recordingFetch: typeof fetch = async (input, init) => {
    sent.push(
      init?.method === 'GET'
        ? { documentId: new URL(String(input)).searchParams.get('documentId') }
        : JSON.parse(String(init?.body)),
    );
    return fetch(input, init);
  };
  const expediter = createExpediterClient({
    url: server.wsUrl,
    token: () => token,
    webSocketImpl: WebSocket,
  });
  const kinds: string[] = [];
  const failures: unknown[] = [];
  const stop = expediter.subscribe(
    documents.orderUpdates,
    { storeId: STORE },
    { next: ({ orderUpdated }) => kinds.push(orderUpdated.kind), error: (e) => failures.push(e) },
  );
  try {
    expect((await expediter.request(documents.me, {})).me.id).toBe('acme-manager');
    const overHttp = await httpRequest(
      `${server.url}/graphql`,
      documents.me,
      {},
      { token, fetch: recordingFetch },
    );
    expect(overHttp.me.id).toBe('acme-manager');
    // Sent by hash first, then as text once the server asked for it.
    expect(sent.map((request) => (request.query ? 'text' : 'hash'))).toEqual(['hash', 'text']);
    await expect
      .poll(
        async () => {
          await httpRequest(`${server.url}/graphql`, documents.create, { input: burger() }, { token });
          return kinds.length + failures.length;
        },
        { interval: 200, timeout: 15_000 },
      )
      .toBeGreaterThan(0);
    expect(failures).toEqual([]);
    expect(kinds[0]).toBe('CREATED');
  } finally {
    stop();
    await expediter.dispose();
  }
}

describe('expediter/client where its hashes are not known', () => {
  it('TRUSTED_DOCUMENTS=allow without the hash (PERSISTED_QUERY_NOT_FOUND): sends the text once, over the socket and HTTP', async () => {
    const before = await metric(allowing, 'expediter_unregistered_hashes_total');
    await expediterFallsBackToText(allowing, {
      me: unregistered(MeDocument),
      orderUpdates: unregistered(OrderUpdatesDocument),
      create: CreateOrderDocument,
    });
    // The socket's query, the subscription and the HTTP query each asked by hash first.
    expect(await metric(allowing, 'expediter_unregistered_hashes_total')).toBeGreaterThanOrEqual(before + 3);
  });

  describe('TRUSTED_DOCUMENTS=off', () => {
    let off: TestServer;
    beforeAll(async () => {
      off = await startTestServer({ databaseUrl: database.url, env: { TRUSTED_DOCUMENTS: 'off' } });
    }, 90_000);
    afterAll(async () => {
      await off?.close();
    });

    it('a hash alone is answered PersistedQueryNotSupported on every transport', async () => {
      const refused = await post(off, { documentId: hashOf(MeDocument) });
      expect(refused.errors?.[0]).toMatchObject({
        message: 'PersistedQueryNotSupported',
        extensions: { code: 'PERSISTED_QUERY_NOT_SUPPORTED' },
      });
      expect(
        codeOf(await overWebSocket(off, { query: '', extensions: persistedQuery(hexOf(MeDocument)) })),
      ).toBe('PERSISTED_QUERY_NOT_SUPPORTED');
      expect(
        codeOf(await overSse(off, { query: '', extensions: persistedQuery(hexOf(OrderUpdatesDocument)) })),
      ).toBe('PERSISTED_QUERY_NOT_SUPPORTED');
      // A hash sent with text is ignored: the text runs.
      const withText = await post(off, { query: '{ me { id } }', extensions: persistedQuery(UNKNOWN) });
      expect(withText.data).toEqual({ me: { id: 'acme-manager' } });
    });

    it('expediter/client, Apollo Client 4 and urql send the text from then on', async () => {
      await expediterFallsBackToText(off, {
        me: MeDocument,
        orderUpdates: OrderUpdatesDocument,
        create: CreateOrderDocument,
      });

      const sent: string[] = [];
      const recordingFetch: typeof fetch = async (input, init) => {
        sent.push(init?.method === 'GET' ? String(input) : String(init?.body));
        return fetch(input, {
          ...init,
          headers: { ...(init?.headers as Record<string, string>), authorization: `Bearer ${token}` },
        });
      };
      const apollo = new ApolloClient({
        cache: new InMemoryCache(),
        link: ApolloLink.from([
          new PersistedQueryLink({ sha256: (text: string) => sha256(text) }),
          new HttpLink({ uri: `${off.url}/graphql`, fetch: recordingFetch }),
        ]),
      });
      expect((await apollo.query({ query: MeDocument })).data?.me.id).toBe('acme-manager');
      expect(sent.map((body) => (JSON.parse(body).query ? 'text' : 'hash'))).toEqual(['hash', 'text']);

      sent.length = 0;
      const urql = new Client({
        url: `${off.url}/graphql`,
        preferGetMethod: false,
        fetch: recordingFetch,
        exchanges: [persistedExchange({ preferGetForPersistedQueries: false }), fetchExchange],
      });
      const first = await urql.query('query UrqlOff { me { id } }', {}).toPromise();
      expect(first.data).toEqual({ me: { id: 'acme-manager' } });
      const second = await urql.query('query UrqlOffAgain { me { id } }', {}).toPromise();
      expect(second.data).toEqual({ me: { id: 'acme-manager' } });
      // urql asked by hash once, and sends only text after PersistedQueryNotSupported.
      expect(sent.map((body) => (JSON.parse(body).query ? 'text' : 'hash'))).toEqual([
        'hash',
        'text',
        'text',
      ]);
    });
  });
});
