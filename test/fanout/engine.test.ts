import {
  type ExecutionArgs,
  GraphQLInt,
  GraphQLObjectType,
  GraphQLSchema,
  GraphQLString,
  parse,
  subscribe,
} from 'graphql';
import { describe, expect, it } from 'vitest';
import type { Principal } from '../../src/auth/principal';
import { createFanoutEngine, SlowConsumerCloseCode } from '../../src/fanout/engine';
import { createLogger } from '../../src/observability/logger';

/** A controllable domain stream: push() delivers, returned tells whether the engine released it. */
function stream() {
  const queue: unknown[] = [];
  let waiting: ((result: IteratorResult<unknown>) => void) | undefined;
  const state = { returned: false };
  const iterator: AsyncIterableIterator<unknown> = {
    next: () =>
      new Promise((resolve) => {
        const value = queue.shift();
        if (value !== undefined) resolve({ value, done: false });
        else waiting = resolve;
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
    push(value: unknown) {
      if (waiting) {
        const resolve = waiting;
        waiting = undefined;
        resolve({ value, done: false });
      } else queue.push(value);
    },
  };
}

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
  const schema = new GraphQLSchema({
    query: new GraphQLObjectType({ name: 'Query', fields: { ok: { type: GraphQLInt } } }),
    subscription: new GraphQLObjectType({
      name: 'Subscription',
      fields: {
        tick: {
          type: Tick,
          subscribe: () => {
            const source = stream();
            sources.push(source);
            return source.iterator;
          },
          resolve: (event) => event,
        },
      },
    }),
  });
  const engine = createFanoutEngine({
    logger: createLogger('silent'),
    fields: ['tick'],
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
    send(frame: string) {
      this.sent.push(frame);
    },
    close(code: number) {
      this.closed = code;
    },
  };
}

const staff: Principal = { userId: 'u1', tenantId: 't1', roles: ['STAFF'], stores: ['s1'], stations: [] };
const QUERY = 'subscription { tick { cursor n } }';

async function subscriber(f: ReturnType<typeof fixture>, id: string, socket = fakeSocket()) {
  const args: ExecutionArgs = { schema: f.schema, document: parse(QUERY), contextValue: {} };
  f.engine.prepare({ id, socket: socket as never, principal: staff, args, query: QUERY });
  const iterable = (await subscribe(args)) as AsyncIterableIterator<unknown>;
  return { socket, iterable, next: iterable.next() };
}

const tick = (n: number) => ({ cursor: `c${n}`, n });
const settle = () => new Promise((resolve) => setTimeout(resolve, 10));

describe('fan-out engine', () => {
  it('executes once per group and sends each subscriber the shared payload under its own id', async () => {
    const f = fixture();
    const a = await subscriber(f, 'a');
    const b = await subscriber(f, 'b');
    expect(f.engine.stats()).toEqual({ groups: 1, subscribers: 2 });

    for (const source of f.sources) source.push(tick(1));
    await settle();

    expect(f.resolved.count).toBe(1);
    expect(a.socket.sent).toEqual([
      '{"id":"a","type":"next","payload":{"data":{"tick":{"cursor":"c1","n":1}}}}',
    ]);
    expect(b.socket.sent).toEqual([
      '{"id":"b","type":"next","payload":{"data":{"tick":{"cursor":"c1","n":1}}}}',
    ]);
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
    await settle();

    expect(slow.socket.closed).toBe(SlowConsumerCloseCode);
    expect(slow.socket.sent).toEqual([]);
    expect(f.sources[1]?.state.returned).toBe(true);
    expect(fast.socket.sent).toHaveLength(1);
    expect(f.engine.stats()).toEqual({ groups: 1, subscribers: 1 });
  });
});
