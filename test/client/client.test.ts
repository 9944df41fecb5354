import { parse } from 'graphql';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  createExpediterClient,
  type ExpediterClient,
  type ExpediterClientOptions,
  type ExpediterError,
  type TypedDocument,
} from '../../src/client/index';
import { eventually } from '../support/eventually';
import { type MiniServer, type MiniServerOptions, startMiniServer } from './mini-server';

type Event = { cursor: string; text: string };
const Events = parse(
  'subscription Events($after: String) { events(after: $after) { cursor text } }',
) as TypedDocument<{ events: Event }, { after?: string | null }>;
const EventsWithoutResume = parse('subscription { events { cursor text } }') as TypedDocument<
  { events: Event },
  object
>;
const Ping = parse('query { ping }') as TypedDocument<{ ping: string }, object>;
const Finite = parse(
  'subscription Finite($count: Int!) { finite(count: $count) { cursor text } }',
) as TypedDocument<{ finite: Event }, { count: number }>;

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(
  serverOptions: MiniServerOptions = {},
  clientOptions: Partial<ExpediterClientOptions> = {},
) {
  const server = await startMiniServer(serverOptions);
  cleanups.push(() => server.stop());
  const tokenCalls: Array<{ refresh: boolean }> = [];
  const client = createExpediterClient({
    url: server.url,
    webSocketImpl: WebSocket,
    getToken: (context) => {
      tokenCalls.push(context);
      return 'token-1';
    },
    backoff: { initialMs: 20, maxMs: 200 },
    ...clientOptions,
  });
  cleanups.push(() => client.dispose());
  return { server, client, tokenCalls };
}

/** Collects a subscription's events; `until(n)` waits for the n-th. */
function collect(client: ExpediterClient, document = Events, variables: { after?: string | null } = {}) {
  const texts: string[] = [];
  let failure: ExpediterError | undefined;
  let waiter: (() => void) | undefined;
  const stop = client.subscribe(document, variables, {
    next: (data) => {
      texts.push(data.events.text);
      waiter?.();
    },
    error: (error) => {
      failure = error;
      waiter?.();
    },
  });
  cleanups.push(stop);
  return {
    texts,
    stop,
    get failure() {
      return failure;
    },
    async until(count: number, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (texts.length < count && !failure) {
        if (Date.now() > deadline) throw new Error(`got ${JSON.stringify(texts)}, waited for ${count}`);
        await new Promise<void>((resolve) => {
          waiter = resolve;
          setTimeout(resolve, 50);
        });
      }
      return texts;
    },
    async failed(timeoutMs = 5000) {
      await this.until(Number.POSITIVE_INFINITY, timeoutMs).catch(() => {});
      return failure;
    },
  };
}

/** Waits until the server has seen n subscribe operations (the subscription is live). */
async function subscribed(server: MiniServer, count: number) {
  await eventually(() => server.subscribedAfter.length >= count);
  expect(server.subscribedAfter).toHaveLength(count);
}

describe('createExpediterClient', () => {
  it('connects with the provider token and the store, and delivers typed events', async () => {
    const { server, client, tokenCalls } = await setup({}, { storeId: 'acme-downtown' });
    const events = collect(client);
    await subscribed(server, 1);
    server.publish('one');
    server.publish('two');
    expect(await events.until(2)).toEqual(['one', 'two']);
    expect(server.connections).toEqual([{ authorization: 'Bearer token-1', storeId: 'acme-downtown' }]);
    expect(tokenCalls).toEqual([{ refresh: false }]);
  });

  it('resumes after a dropped connection from the last cursor, without a gap', async () => {
    const { server, client, tokenCalls } = await setup();
    const events = collect(client);
    await subscribed(server, 1);
    server.publish('before');
    await events.until(1);
    server.dropConnections(1001);
    server.publish('while away 1');
    server.publish('while away 2');
    await subscribed(server, 2);
    server.publish('after');
    expect(await events.until(4)).toEqual(['before', 'while away 1', 'while away 2', 'after']);
    expect(server.subscribedAfter).toEqual([null, 'c1']);
    expect(tokenCalls).toEqual([{ refresh: false }, { refresh: false }]);
  });

  it('survives a server restart on the same port, including events published while it was down', async () => {
    const { server, client } = await setup();
    const events = collect(client);
    await subscribed(server, 1);
    server.publish('one');
    await events.until(1);
    let attempts = 0;
    client.on('connecting', () => attempts++);
    await server.stop();
    server.publish('published while down');
    await eventually(() => attempts >= 2); // a few reconnects fail meanwhile
    await server.start();
    await subscribed(server, 2);
    server.publish('three');
    expect(await events.until(3)).toEqual(['one', 'published while down', 'three']);
    expect(server.subscribedAfter.at(-1)).toBe('c1');
  });

  it('never delivers an event twice, even when the server replays it again', async () => {
    const { server, client } = await setup({ overlappingReplay: true });
    const events = collect(client);
    await subscribed(server, 1);
    server.publish('one');
    server.publish('two');
    await events.until(2);
    server.dropConnections(1001);
    await subscribed(server, 2);
    server.publish('three');
    expect(await events.until(3)).toEqual(['one', 'two', 'three']);
    server.publish('four'); // the next event is the next one: nothing came twice before it
    expect(await events.until(4)).toEqual(['one', 'two', 'three', 'four']);
  });

  it('subscriptions without $after reconnect but cannot resume', async () => {
    const { server, client } = await setup();
    const events = collect(client, EventsWithoutResume);
    await subscribed(server, 1);
    server.dropConnections(1001);
    await subscribed(server, 2);
    server.publish('live');
    expect(await events.until(1)).toEqual(['live']);
    expect(server.subscribedAfter).toEqual([null, null]);
  });

  it('asks for a fresh token after 4401 and resumes with it', async () => {
    const valid = new Set(['Bearer old']);
    let issued = 'old';
    const { server, client } = await setup(
      { authorize: (params) => (valid.has(String(params?.authorization)) ? undefined : 4401) },
      {
        getToken: ({ refresh }) => {
          if (refresh) issued = 'new';
          return issued;
        },
      },
    );
    const events = collect(client);
    await subscribed(server, 1);
    server.publish('one');
    await events.until(1);
    valid.clear();
    valid.add('Bearer new');
    server.dropConnections(4401, 'Token expired');
    server.publish('two');
    expect(await events.until(2)).toEqual(['one', 'two']);
    expect(server.connections.map((c) => c?.authorization)).toEqual(['Bearer old', 'Bearer new']);
  });

  it('gives up with UNAUTHENTICATED when fresh tokens keep being refused', async () => {
    const { server, client, tokenCalls } = await setup({ authorize: () => 4401 }, { maxTokenRefreshes: 2 });
    const events = collect(client);
    const failure = await events.failed();
    expect(failure).toMatchObject({ code: 'UNAUTHENTICATED', closeCode: 4401 });
    expect(tokenCalls).toEqual([{ refresh: false }, { refresh: true }, { refresh: true }]);
    expect(server.connections).toHaveLength(3);
  });

  it('reports FORBIDDEN at once when the store is not allowed (4403)', async () => {
    const { server, client } = await setup({ authorize: () => 4403 });
    const failure = await collect(client).failed();
    expect(failure).toMatchObject({ code: 'FORBIDDEN', closeCode: 4403 });
    expect(server.connections).toHaveLength(1);
  });

  it('stops with UNAUTHENTICATED when the app has no token', async () => {
    const { client } = await setup({}, { getToken: () => null });
    const failure = await collect(client).failed();
    expect(failure).toMatchObject({ code: 'UNAUTHENTICATED', message: 'No token: the app has no session' });
  });

  it('runs queries over the socket and iterates subscriptions', async () => {
    const { server, client } = await setup();
    await expect(client.request(Ping, {})).resolves.toEqual({ ping: 'pong' });
    const iterator = client.iterate(Events, {});
    const first = iterator.next();
    await subscribed(server, 1);
    server.publish('iterated');
    expect((await first).value).toEqual({ events: { cursor: 'c1', text: 'iterated' } });
    await iterator.return?.();
  });

  it('reports GraphQL errors of a request as an ExpediterError', async () => {
    const { client } = await setup();
    const Broken = parse('query { nope }') as TypedDocument<{ nope: string }, object>;
    await expect(client.request(Broken, {})).rejects.toMatchObject({
      name: 'ExpediterError',
      message: 'Cannot query field "nope" on type "Query".',
    });
  });

  it('reconnect() drops the socket and resumes every subscription from its cursor', async () => {
    const { server, client } = await setup();
    const events = collect(client);
    await subscribed(server, 1);
    server.publish('one');
    await events.until(1);
    client.reconnect();
    await subscribed(server, 2);
    server.publish('two');
    expect(await events.until(2)).toEqual(['one', 'two']);
    expect(server.subscribedAfter).toEqual([null, 'c1']);
  });

  it('ends a subscription whose event fails to resolve with an ExpediterError', async () => {
    const { server, client } = await setup();
    const events = collect(client);
    await subscribed(server, 1);
    server.publishBroken();
    expect(await events.failed()).toMatchObject({ name: 'ExpediterError', message: 'text failed' });
  });

  it('ends a subscription the server refuses, without retrying', async () => {
    const { server, client } = await setup();
    const Unknown = parse('subscription { nope }') as TypedDocument<{ events: Event }, object>;
    const failure = await collect(client, Unknown).failed();
    expect(failure?.graphQLErrors[0]?.message).toBe('Cannot query field "nope" on type "Subscription".');
    expect(server.connections).toHaveLength(1);
  });

  it('completes when the server completes the subscription', async () => {
    const { client } = await setup();
    const received: string[] = [];
    for await (const { finite } of client.iterate(Finite, { count: 2 })) received.push(finite.text);
    expect(received).toEqual(['finite 1', 'finite 2']);
  });

  it('rejects a request whose result has errors', async () => {
    const { client } = await setup();
    const Fail = parse('query { fail }') as TypedDocument<{ fail: string | null }, object>;
    await expect(client.request(Fail, {})).rejects.toMatchObject({ message: 'failed on purpose' });
  });

  it('throws from iterate() when the subscription fails', async () => {
    const { client } = await setup({ authorize: () => 4403 });
    await expect(client.iterate(Events, {}).next()).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });

  it('is a graphql-ws Client for libraries: queries pass through, subscriptions resume', async () => {
    const { server, client } = await setup();
    const ping = client.graphqlWs.iterate({ query: 'query { ping }' });
    expect((await ping.next()).value).toEqual({ data: { ping: 'pong' } });
    const events = client.graphqlWs.iterate({
      query: 'subscription($after: String) { events(after: $after) { cursor text } }',
    });
    const first = events.next();
    await subscribed(server, 1);
    server.publish('one');
    expect((await first).value).toEqual({ data: { events: { cursor: 'c1', text: 'one' } } });
    server.dropConnections(1001);
    await subscribed(server, 2);
    expect(server.subscribedAfter).toEqual([null, 'c1']);
    await events.return?.();
  });
});
