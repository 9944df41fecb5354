import {
  type ExecutionArgs,
  GraphQLInt,
  GraphQLObjectType,
  GraphQLSchema,
  GraphQLString,
  parse,
  subscribe,
} from 'graphql';
import { describe, expect, it, vi } from 'vitest';
import type { Principal } from '../../src/auth/principal';
import type { Selector, SubscriptionPlan, SubscriptionRunner } from '../../src/domain/subscription-plans';
import type { EventLog } from '../../src/events/event-log';
import type { EventStreamIterator, ReadyEventStreams } from '../../src/events/event-streams';
import { createMemoryPubSub } from '../../src/events/pubsub-memory';
import type { StreamEvent } from '../../src/events/streams';
import { createTopicFeeds } from '../../src/events/topic-feeds';
import { engineSubscriptionOf } from '../../src/fanout/delivered-subscription';
import { createFanoutEngine, SlowConsumerCloseCode } from '../../src/fanout/engine';
import { createLogger } from '../../src/observability/logger';

/** A controllable event stream: push() delivers, returned tells whether the engine released it. */
function stream(
  handoff: () => { events: StreamEvent[]; watermark: bigint } = () => ({ events: [], watermark: 0n }),
) {
  const queue: StreamEvent[] = [];
  let waiting: ((result: IteratorResult<StreamEvent>) => void) | undefined;
  let failing: ((error: unknown) => void) | undefined;
  const state = { returned: false };
  const iterator: EventStreamIterator = {
    ready: Promise.resolve(),
    handoff,
    next: () =>
      new Promise((resolve, reject) => {
        const value = queue.shift();
        if (value !== undefined) resolve({ value, done: false });
        else [waiting, failing] = [resolve, reject];
      }),
    return: async () => {
      state.returned = true;
      waiting?.({ value: undefined, done: true });
      return { value: undefined, done: true };
    },
    [Symbol.asyncIterator]: () => iterator,
  };
  return {
    iterator,
    state,
    push(value: StreamEvent) {
      if (waiting) {
        const resolve = waiting;
        waiting = undefined;
        resolve({ value, done: false });
      } else queue.push(value);
    },
    /** The stream breaks (e.g. it cannot catch up after a pub/sub outage). */
    fail(error: unknown) {
      failing?.(error);
    },
  };
}

/** A schema whose one subscription field, `tick`, runs `plan` through the context's subscription runner. */
function tickSchema<K>(
  Tick: GraphQLObjectType,
  plan: () => SubscriptionPlan<K, TickPayload, unknown>,
): GraphQLSchema {
  return new GraphQLSchema({
    query: new GraphQLObjectType({ name: 'Query', fields: { ok: { type: GraphQLInt } } }),
    subscription: new GraphQLObjectType({
      name: 'Subscription',
      fields: {
        tick: {
          type: Tick,
          subscribe: (_root, _args, context: { subscriptions: SubscriptionRunner }) =>
            context.subscriptions.open(plan()),
          resolve: (event) => event,
        },
      },
    }),
  });
}

type TickPayload = { n: number; key?: string };

/** Event streams whose every subscription is the next of `open()`'s streams. */
function fakeStreams(open: () => ReturnType<typeof stream>): ReadyEventStreams {
  return { subscribe: <P>() => open().iterator as EventStreamIterator<P> };
}

const TOPIC = 't:t1:store:s1:orders';
const tickPlan = (
  select: (event: StreamEvent<TickPayload>) => unknown = (event) => ({
    ...event.payload,
    cursor: event.cursor,
  }),
) =>
  ({
    streamKey: TOPIC,
    topics: [TOPIC],
    after: null,
    key: null,
    select: () => select,
  }) satisfies SubscriptionPlan<null, TickPayload, unknown>;

function fixture() {
  const sources: Array<ReturnType<typeof stream>> = [];
  const resolved = { count: 0 };
  const Tick = new GraphQLObjectType({
    name: 'Tick',
    fields: {
      cursor: { type: GraphQLString },
      n: {
        type: GraphQLInt,
        resolve: (tick: { n: number }) => {
          resolved.count++;
          return tick.n;
        },
      },
    },
  });
  const schema = tickSchema(Tick, () => tickPlan());
  const engine = createFanoutEngine({
    logger: createLogger('silent'),
    streams: fakeStreams(() => {
      const source = stream();
      sources.push(source);
      return source;
    }),
    maxBufferedBytes: 1000,
  });
  return { schema, engine, sources, resolved };
}

function fakeSocket() {
  return {
    OPEN: 1,
    readyState: 1,
    bufferedAmount: 0,
    sent: [] as string[],
    closed: undefined as number | undefined,
    send(frame: string | Buffer) {
      this.sent.push(String(frame));
    },
    close(code: number) {
      this.closed = code;
    },
  };
}

const staff: Principal = { userId: 'u1', tenantId: 't1', roles: ['STAFF'], stores: ['s1'], stations: [] };
const QUERY = 'subscription { tick { cursor n } }';

/** As graphql-ws's onSubscribe does: the engine's subscriber is the operation's subscription runner. */
async function engineSubscribe(
  engine: ReturnType<typeof createFanoutEngine>,
  schema: GraphQLSchema,
  id: string,
  socket: ReturnType<typeof fakeSocket>,
) {
  const subscriber = engine.subscriber({ id, socket: socket as never, principal: staff, query: QUERY });
  const contextValue = { subscriptions: subscriber };
  const args: ExecutionArgs = { schema, document: parse(QUERY), contextValue };
  subscriber.bind(args);
  const result = await subscribe(args);
  return {
    subscriber,
    contextValue,
    result,
    iterable: subscriber.delivery(result) as AsyncIterableIterator<unknown>,
  };
}

async function subscriber(f: ReturnType<typeof fixture>, id: string, socket = fakeSocket()) {
  const { iterable } = await engineSubscribe(f.engine, f.schema, id, socket);
  return { socket, iterable, next: iterable.next() };
}

const tick = (n: number): StreamEvent<TickPayload> => ({
  id: String(n),
  tenantId: 't1',
  topic: TOPIC,
  kind: 'tick',
  payload: { n },
  createdAt: new Date().toISOString(),
  prevId: null,
  cursor: `c${n}`,
});
/** Waits until the assertion holds (a frame was sent, an event was checked): never a fixed wait. */
const until = (assertion: () => void) => vi.waitFor(assertion, { timeout: 10_000, interval: 5 });

describe('fan-out engine', () => {
  it('executes once per group and sends each subscriber the shared payload under its own id', async () => {
    const f = fixture();
    const a = await subscriber(f, 'a');
    const b = await subscriber(f, 'b');
    expect(f.engine.stats()).toEqual({ groups: 1, subscribers: 2 });

    for (const source of f.sources) source.push(tick(1));
    await until(() => expect([a.socket.sent.length, b.socket.sent.length]).toEqual([1, 1]));

    expect(f.resolved.count).toBe(1);
    expect(a.socket.sent).toEqual([
      '{"id":"a","type":"next","payload":{"data":{"tick":{"cursor":"c1","n":1}}}}',
    ]);
    expect(b.socket.sent).toEqual([
      '{"id":"b","type":"next","payload":{"data":{"tick":{"cursor":"c1","n":1}}}}',
    ]);
  });

  it('writes an id that is not ASCII into its frames as UTF-8', async () => {
    const f = fixture();
    const a = await subscriber(f, 'sub-ü-☕');
    for (const source of f.sources) source.push(tick(1));
    await until(() => expect(a.socket.sent).toHaveLength(1));
    expect(JSON.parse(a.socket.sent[0]!)).toMatchObject({ id: 'sub-ü-☕', type: 'next' });
  });

  it("hands graphql-ws the engine's own iterator, and tells plugins of the end once", async () => {
    const f = fixture();
    const {
      contextValue,
      result,
      iterable: iterator,
    } = await engineSubscribe(f.engine, f.schema, 'a', fakeSocket());
    expect(iterator).not.toBe(result); // not the executor's per-event wrapper

    const ends: string[] = [];
    const subscription = engineSubscriptionOf(contextValue);
    subscription?.onEnd(() => ends.push('metrics'));
    subscription?.onEnd(() => ends.push('limits'));
    const pending = iterator.next();
    await iterator.return?.();
    expect(await pending).toEqual({ done: true, value: undefined });
    expect(ends).toEqual(['metrics', 'limits']);
    subscription?.onEnd(() => ends.push('late'));
    expect(ends).toEqual(['metrics', 'limits', 'late']);
    await iterator.return?.();
    expect(ends).toHaveLength(3);
  });

  it('a failing stream ends the subscription with its error and releases it', async () => {
    const f = fixture();
    const a = await subscriber(f, 'a');
    const failure = new Error('Too many events missed; resume with the last cursor');
    f.sources[0]!.fail(failure);
    await expect(a.next).rejects.toBe(failure);
    expect(f.engine.stats()).toEqual({ groups: 0, subscribers: 0 });
  });

  it('tells a transport that holds it (whenEnded, no pending next) how it ended: with its error, or at once if it has', async () => {
    const f = fixture();
    const { subscriber: failing } = await engineSubscribe(f.engine, f.schema, 'a', fakeSocket());
    const { subscriber: completed } = await engineSubscribe(f.engine, f.schema, 'b', fakeSocket());
    const ends: unknown[] = [];
    failing.whenEnded((error) => ends.push(error));
    const failure = new Error('Too many events missed; resume with the last cursor');
    f.sources[0]!.fail(failure);
    await until(() => expect(ends).toEqual([failure]));
    await completed.return();
    completed.whenEnded((error) => ends.push(error ?? 'done'));
    expect(ends).toEqual([failure, 'done']);
    expect(f.engine.stats()).toEqual({ groups: 0, subscribers: 0 });
  });

  it('completing a subscription releases its stream and its group membership', async () => {
    const f = fixture();
    const a = await subscriber(f, 'a');
    await a.iterable.return?.();
    expect(f.sources[0]?.state.returned).toBe(true);
    expect(f.engine.stats()).toEqual({ groups: 0, subscribers: 0 });
    expect(await a.next).toEqual({ done: true, value: undefined });
  });

  it('closes a subscriber whose send buffer is over the cap with 4413, and only that one', async () => {
    const f = fixture();
    const fast = await subscriber(f, 'fast');
    const slow = await subscriber(f, 'slow');
    slow.socket.bufferedAmount = 1001;

    for (const source of f.sources) source.push(tick(1));
    await until(() => expect(fast.socket.sent).toHaveLength(1));

    expect(slow.socket.closed).toBe(SlowConsumerCloseCode);
    expect(slow.socket.sent).toEqual([]);
    expect(f.sources[1]?.state.returned).toBe(true);
    expect(fast.socket.sent).toHaveLength(1);
    expect(f.engine.stats()).toEqual({ groups: 1, subscribers: 1 });
  });
});

describe('fan-out engine with shared streams', () => {
  const envelope = (id: number, kind = 'order.CREATED', key = 'o1') => ({
    id: String(id),
    tenantId: 't1',
    topic: TOPIC,
    kind,
    payload: { n: id, key },
    createdAt: new Date().toISOString(),
    prevId: null,
  });
  type Handoff = { events: StreamEvent[]; watermark: bigint };
  /** An empty Event table: these events carry no predecessor, so the feed never needs to read one. */
  const emptyLog: EventLog = {
    latestId: async () => 0n,
    readTopics: async () => [],
    replay: async () => ({ events: [], prunedThrough: null }),
  };

  /** With `after`, every subscriber resumes: it replays on a stream of its own, then hands that over. */
  function sharedFixture(options: { coalesceMs?: number; after?: string; handoff?: () => Handoff } = {}) {
    const pubsub = createMemoryPubSub({ logger: createLogger('silent') });
    const selected = { count: 0 };
    const handedOff = { count: 0 };
    const Tick = new GraphQLObjectType({
      name: 'Tick',
      fields: { cursor: { type: GraphQLString }, n: { type: GraphQLInt } },
    });
    const select = (event: StreamEvent<TickPayload>) => {
      selected.count++;
      return event.kind === 'order.SECRET' ? undefined : { ...event.payload, cursor: event.cursor };
    };
    const schema = tickSchema(Tick, () => ({
      ...tickPlan(select),
      after: options.after ?? null,
      coalesce: {
        windowMs: options.coalesceMs ?? 0,
        coalesceKey: (value: unknown) => ((value as TickPayload).key === 'coalesced' ? 'coalesced' : null),
      },
    }));
    const streams = fakeStreams(() => {
      const handoff = options.handoff ?? (() => ({ events: [], watermark: 0n }));
      return stream(() => {
        handedOff.count++;
        return handoff();
      });
    });
    const logger = createLogger('silent');
    const feeds = createTopicFeeds({ pubsub, log: emptyLog, logger, maxFillEvents: 1000 });
    const engine = createFanoutEngine({ logger, feeds, streams });
    return { schema, engine, pubsub, selected, handedOff };
  }

  async function join(f: Pick<ReturnType<typeof sharedFixture>, 'schema' | 'engine'>, id: string) {
    const socket = fakeSocket();
    const members = f.engine.stats().subscribers;
    const { iterable } = await engineSubscribe(f.engine, f.schema, id, socket);
    void iterable.next();
    // A member of its group: at once without a cursor, after its own stream's handoff with one.
    await until(() => expect(f.engine.stats().subscribers).toBe(members + 1));
    return { socket, iterable, ns: () => socket.sent.map((frame) => JSON.parse(frame).payload.data.tick.n) };
  }

  it('serves a group from one pub/sub subscription, checking each event once for the whole group', async () => {
    const f = sharedFixture();
    const a = await join(f, 'a');
    const b = await join(f, 'b');
    expect(f.pubsub.stats?.() ?? { handlers: 1 }).toMatchObject({ handlers: 1 });
    expect(f.engine.hubStats()).toEqual({ topics: 1, listeners: 1 });
    expect(f.handedOff.count).toBe(0); // live from the group's stream: no stream of their own

    await f.pubsub.publish(TOPIC, envelope(1));
    await f.pubsub.publish(TOPIC, envelope(2, 'order.SECRET'));
    await until(() => expect(f.selected.count).toBe(2));

    expect(f.selected.count).toBe(2);
    expect(a.ns()).toEqual([1]);
    expect(b.ns()).toEqual([1]);
    expect(JSON.parse(a.socket.sent[0]!).id).toBe('a');

    await a.iterable.return?.();
    await b.iterable.return?.();
    expect(f.engine.stats()).toEqual({ groups: 0, subscribers: 0 });
    expect(f.engine.hubStats()).toEqual({ topics: 0, listeners: 0 });
  });

  it('delivers the handed-off backlog first, then live events, dropping what the stream already delivered', async () => {
    const backlog = [envelope(5), envelope(6)].map((e) => ({ ...e, cursor: `c${e.id}` }));
    const f = sharedFixture({
      after: 'c4',
      handoff: () => ({ events: backlog, watermark: 6n }),
    });
    const a = await join(f, 'a');
    expect(f.handedOff.count).toBe(1);
    expect(a.ns()).toEqual([5, 6]);

    await f.pubsub.publish(TOPIC, envelope(6)); // received by the stream before the handoff
    await f.pubsub.publish(TOPIC, envelope(7));
    await f.pubsub.publish(TOPIC, envelope(7)); // published twice by the relay
    await f.pubsub.publish(TOPIC, envelope(8));
    await until(() => expect(a.ns()).toEqual([5, 6, 7, 8]));
  });

  it('sends a large group in slices, yielding to the event loop between them, in order for every member', async () => {
    const f = sharedFixture();
    const members: Array<Awaited<ReturnType<typeof join>>> = [];
    for (let i = 0; i < 600; i++) members.push(await join(f, `m${i}`));
    await f.pubsub.publish(TOPIC, envelope(1));
    await f.pubsub.publish(TOPIC, envelope(2));
    for (let i = 0; i < 20; i++) await Promise.resolve(); // microtasks only: no I/O turn yet
    expect(members.filter((m) => m.socket.sent.length > 0)).toHaveLength(512);

    await until(() => {
      for (const member of members) expect(member.ns()).toEqual([1, 2]);
    });
  });

  it("groups by the plan's key: one selection per key, made from the key alone", async () => {
    const pubsub = createMemoryPubSub({ logger: createLogger('silent') });
    const logger = createLogger('silent');
    const feeds = createTopicFeeds({ pubsub, log: emptyLog, logger, maxFillEvents: 1000 });
    const streams = fakeStreams(() => {
      throw new Error('a subscriber without a cursor opens no stream of its own');
    });
    const madeFor: Array<{ min: number }> = [];
    const atLeast: Selector<{ min: number }, TickPayload, unknown> = (key) => {
      madeFor.push(key);
      return (event) => (event.payload.n >= key.min ? { ...event.payload, cursor: event.cursor } : undefined);
    };
    const keys = [{ min: 1 }, { min: 1 }, { min: 5 }];
    const Tick = new GraphQLObjectType({
      name: 'Tick',
      fields: { cursor: { type: GraphQLString }, n: { type: GraphQLInt } },
    });
    const schema = tickSchema(Tick, () => ({
      streamKey: TOPIC,
      topics: [TOPIC],
      after: null,
      key: keys.shift() as { min: number },
      select: atLeast,
    }));
    const f = { schema, engine: createFanoutEngine({ logger, feeds, streams }), pubsub };
    const [a, b, c] = [await join(f, 'a'), await join(f, 'b'), await join(f, 'c')];
    expect(f.engine.stats()).toEqual({ groups: 2, subscribers: 3 });
    expect(madeFor).toEqual([{ min: 1 }, { min: 5 }]);

    await pubsub.publish(TOPIC, envelope(3));
    await pubsub.publish(TOPIC, envelope(7));
    await until(() => expect(c.ns()).toEqual([7]));
    await until(() =>
      expect([a.ns(), b.ns()]).toEqual([
        [3, 7],
        [3, 7],
      ]),
    );
  });

  it('coalesces a burst once for the group, keeping the newest value per key', async () => {
    const f = sharedFixture({ coalesceMs: 30 });
    const a = await join(f, 'a');
    const b = await join(f, 'b');
    for (const id of [1, 2, 3]) await f.pubsub.publish(TOPIC, envelope(id, 'order.UPDATED', 'coalesced'));
    await f.pubsub.publish(TOPIC, envelope(4));
    await until(() => expect(a.ns()).toEqual([3, 4]));

    await f.pubsub.publish(TOPIC, envelope(5, 'order.UPDATED', 'coalesced'));
    await f.pubsub.publish(TOPIC, envelope(6, 'order.UPDATED', 'coalesced'));
    await until(() => expect(a.ns()).toEqual([3, 4, 6]));
    expect(b.ns()).toEqual([3, 4, 6]);
  });
});
