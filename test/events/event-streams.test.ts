import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/types';
import { DomainError } from '../../src/errors';
import { decodeCursor, encodeCursor } from '../../src/events/cursor';
import { createEventLog, type EventLog } from '../../src/events/event-log';
import {
  assertTopicsOfTenant,
  createEventStreams,
  type EventStreamIterator,
} from '../../src/events/event-streams';
import { createOutboxPublisher, createUnitOfWork } from '../../src/events/outbox';
import type { PubSub } from '../../src/events/pubsub';
import { createMemoryPubSub } from '../../src/events/pubsub-memory';
import { createRedisConnections, createRedisPubSub } from '../../src/events/pubsub-redis';
import { createOutboxRelay } from '../../src/events/relay';
import { pruneEvents } from '../../src/events/retention';
import type { StreamEvent, StreamRequest } from '../../src/events/streams';
import { createTopicFeeds } from '../../src/events/topic-feeds';
import type { EventEnvelope } from '../../src/events/types';
import { useTestDatabase } from '../support/db';
import { eventually } from '../support/eventually';
import { REDIS_URL, type RecordingPubSub, recording, silentLogger, uniquePrefix } from './support';

const TOPIC = 't:acme:store:acme-downtown:orders';
const OTHER_TOPIC = 't:acme:store:acme-downtown:kds';
const SYSTEM_TOPIC = 'sys:notifications';

const database = useTestDatabase();
let db: Db;
let pubsub: RecordingPubSub;
const iterators: Array<AsyncIterator<unknown>> = [];

beforeAll(() => {
  db = database.handle.db;
});
beforeEach(async () => {
  await database.handle.exec('TRUNCATE "Event", "EventPruneMark", "EventTopicHead"');
  pubsub = recording(createMemoryPubSub({ logger: silentLogger }));
});
afterEach(async () => {
  await Promise.all(iterators.splice(0).map((iterator) => iterator.return?.()));
});

function streamsOver(
  transport: PubSub,
  limits: { replayMaxEvents?: number; maxBufferedEvents?: number } = {},
) {
  const log = createEventLog(db);
  const feeds = createTopicFeeds({ pubsub: transport, log, logger: silentLogger, maxFillEvents: 5 });
  return createEventStreams({ feeds, log, logger: silentLogger, replayMaxEvents: 5, ...limits });
}

function open(request: Partial<StreamRequest>, transport: PubSub = pubsub, limits = {}): EventStreamIterator {
  const iterator = streamsOver(transport, limits).subscribe({
    streamKey: TOPIC,
    topics: [TOPIC],
    ...request,
  });
  iterators.push(iterator);
  return iterator;
}

/** Commits one unit of work with `n` events (on `topic`) and resolves with their envelopes. */
async function commit(
  n: number,
  opts: { topic?: string; transport?: PubSub } = {},
): Promise<EventEnvelope[]> {
  const topic = opts.topic ?? TOPIC;
  let envelopes: EventEnvelope[] = [];
  const publisher = createOutboxPublisher(opts.transport ?? pubsub, { db, logger: silentLogger });
  const uow = createUnitOfWork({
    db,
    publisher,
    logger: silentLogger,
    onCommit: [(events) => (envelopes = [...events])],
  });
  await uow.run(async (_tx, emit) => {
    for (let i = 0; i < n; i++) {
      const tenantId = topic.startsWith('sys:') ? null : 'acme';
      emit({ tenantId, topic, kind: 'order.CREATED', payload: { i } });
    }
  });
  void publisher.close(); // what it could not publish stays for the relay (as if its process had died)
  return envelopes;
}

/** The next n events; fails instead of hanging when they do not come. */
async function take(iterator: AsyncIterator<StreamEvent>, n: number): Promise<StreamEvent[]> {
  const events: StreamEvent[] = [];
  for (let i = 0; i < n; i++) {
    const result = await Promise.race([
      iterator.next(),
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error(`event ${i + 1} of ${n} never came`)), 3000),
      ),
    ]);
    if (result.done) throw new Error('stream ended');
    events.push(result.value);
  }
  return events;
}

const ids = (events: Array<{ id: string }>) => events.map((event) => event.id);

async function rejection(promise: Promise<unknown>): Promise<DomainError> {
  try {
    await promise;
  } catch (error) {
    return error as DomainError;
  }
  throw new Error('expected a rejection');
}

describe('event streams', () => {
  it('delivers live events with cursors that point at them', async () => {
    const stream = open({});
    await stream.ready;
    const committed = await commit(2);

    const events = await take(stream, 2);
    expect(events).toEqual(committed.map((event) => ({ ...event, cursor: encodeCursor(TOPIC, event.id) })));
    expect(decodeCursor(TOPIC, events[1]?.cursor ?? '')).toBe(BigInt(committed[1]?.id ?? 0));
  });

  it('resumes after a cursor: replays what was missed in order, then goes live, without duplicates', async () => {
    const [seen] = await commit(1);
    const missed = await commit(3);
    const stream = open({ after: encodeCursor(TOPIC, seen?.id ?? '') });
    await stream.ready;
    // The missed events reach pub/sub again (a late fast path, or the relay): already replayed, so dropped.
    for (const event of missed) await pubsub.publish(TOPIC, event);
    const live = await commit(1);

    expect(ids(await take(stream, 4))).toEqual(ids([...missed, ...live]));
    const [next] = await commit(1);
    expect(ids(await take(stream, 1))).toEqual([next?.id]); // nothing duplicated in between
  });

  it('delivers once an event that is replayed and then published live by the relay', async () => {
    const [seen] = await commit(1);
    pubsub.failing = true;
    const unpublished = await commit(2);
    pubsub.failing = false;

    const stream = open({ after: encodeCursor(TOPIC, seen?.id ?? '') });
    await stream.ready;
    const relay = createOutboxRelay({ db, pubsub, logger: silentLogger, intervalMs: 1000, graceMs: 0 });
    expect(await relay.sweepOnce()).toBe(2);
    const live = await commit(1);

    expect(ids(await take(stream, 3))).toEqual(ids([...unpublished, ...live]));
  });

  it('without a cursor, starts at the present: an older event published late is not delivered', async () => {
    pubsub.failing = true;
    await commit(1);
    pubsub.failing = false;
    const stream = open({});
    await stream.ready;
    const relay = createOutboxRelay({ db, pubsub, logger: silentLogger, intervalMs: 1000, graceMs: 0 });
    expect(await relay.sweepOnce()).toBe(1);
    const live = await commit(1);

    expect(ids(await take(stream, 1))).toEqual(ids(live));
  });

  it('never delivers an event before its predecessor: a gap is filled from the table first, duplicates dropped', async () => {
    const stream = open({});
    await stream.ready;
    pubsub.failing = true;
    const lost = await commit(2); // committed, never published (as if its publisher had died)
    pubsub.failing = false;
    const [next] = await commit(1);
    await pubsub.publish(TOPIC, next); // a duplicate of the live one

    expect(ids(await take(stream, 3))).toEqual(ids([...lost, next!]));
    const [after] = await commit(1);
    expect(ids(await take(stream, 1))).toEqual([after?.id]);
  });

  it('holds an event that overtook its predecessor on pub/sub until the predecessor arrives', async () => {
    const stream = open({});
    await stream.ready;
    pubsub.failing = true;
    const [first, second] = await commit(2);
    pubsub.failing = false;
    await pubsub.publish(TOPIC, second);
    await pubsub.publish(TOPIC, first);

    expect(ids(await take(stream, 2))).toEqual([first?.id, second?.id]);
  });

  it("merges several topics live in id order, even when one topic's event is late on pub/sub", async () => {
    const stream = open({ streamKey: 'merged', topics: [TOPIC, OTHER_TOPIC, SYSTEM_TOPIC] });
    await stream.ready;
    pubsub.failing = true;
    const late = await commit(1, { topic: OTHER_TOPIC });
    pubsub.failing = false;
    const system = await commit(1, { topic: SYSTEM_TOPIC });
    const own = await commit(1);

    const events = await take(stream, 3);
    expect(ids(events)).toEqual(ids([...late, ...system, ...own]));
    await pubsub.publish(OTHER_TOPIC, late[0]); // the relay, later: already delivered
    const [next] = await commit(1, { topic: OTHER_TOPIC });
    expect(ids(await take(stream, 1))).toEqual([next?.id]);
  });

  it('ignores messages that are not events of its topics', async () => {
    const stream = open({});
    await stream.ready;
    await pubsub.publish(TOPIC, { hello: 'world' });
    await pubsub.publish(TOPIC, {
      id: '5',
      tenantId: 'globex',
      topic: TOPIC,
      kind: 'k',
      payload: {},
      createdAt: 'x',
    });
    const [event] = await commit(1);
    expect(ids(await take(stream, 1))).toEqual([event?.id]);
  });

  it('merges several topics, system ones included, in id order on replay', async () => {
    const [seen] = await commit(1);
    const a = await commit(1, { topic: OTHER_TOPIC });
    const b = await commit(1, { topic: SYSTEM_TOPIC });
    const c = await commit(1);
    const stream = open({
      streamKey: 'merged',
      topics: [TOPIC, OTHER_TOPIC, SYSTEM_TOPIC],
      after: encodeCursor('merged', seen?.id ?? ''),
    });

    const events = await take(stream, 3);
    expect(ids(events)).toEqual(ids([...a, ...b, ...c]));
    expect(events.map((event) => event.topic)).toEqual([OTHER_TOPIC, SYSTEM_TOPIC, TOPIC]);
  });

  it('refuses a cursor of another stream at once', () => {
    const foreign = encodeCursor('t:globex:store:globex-central:orders', '1');
    const attempt = () =>
      streamsOver(pubsub).subscribe({ streamKey: TOPIC, topics: [TOPIC], after: foreign });
    expect(attempt).toThrow(DomainError);
    expect(attempt).toThrow('Invalid cursor');
  });

  it('refuses to replay more than replayMaxEvents, and releases its subscriptions', async () => {
    const [seen] = await commit(1);
    await commit(6);
    const stream = open({ after: encodeCursor(TOPIC, seen?.id ?? '') });

    const error = await rejection(stream.ready);
    expect(error).toBeInstanceOf(DomainError);
    expect(error.code).toBe('BAD_USER_INPUT');
    expect(error.message).toBe('Cursor too old, refetch');
    expect(error.details).toEqual({ reason: 'CURSOR_TOO_OLD', replayMaxEvents: 5 });
    expect(await rejection(stream.next())).toBe(error);
    expect(await stream.next()).toEqual({ done: true, value: undefined });
    expect(pubsub.stats?.()).toEqual({ topics: 0, handlers: 0 });
  });

  it('refuses a cursor whose following events retention has pruned, instead of skipping them', async () => {
    const [seen] = await commit(1);
    const [pruned] = await commit(1);
    await commit(1);
    await database.handle.query(
      `UPDATE "Event" SET "createdAt" = "createdAt" - interval '100 hours', "publishedAt" = now() WHERE id <= $1`,
      [pruned?.id],
    );
    expect(await pruneEvents(db, { retentionHours: 72 })).toBe(2);
    const stream = open({ after: encodeCursor(TOPIC, seen?.id ?? '') });

    const error = await rejection(stream.ready);
    expect(error.code).toBe('BAD_USER_INPUT');
    expect(error.details).toEqual({ reason: 'CURSOR_EXPIRED' });
    expect(pubsub.stats?.()).toEqual({ topics: 0, handlers: 0 });
  });

  it('replays exactly replayMaxEvents', async () => {
    const [seen] = await commit(1);
    const missed = await commit(5);
    const stream = open({ after: encodeCursor(TOPIC, seen?.id ?? '') });
    expect(ids(await take(stream, 5))).toEqual(ids(missed));
  });

  it('never merges topics of two tenants', () => {
    const attempt = () =>
      streamsOver(pubsub).subscribe({
        streamKey: 'x',
        topics: [TOPIC, 't:globex:store:globex-central:orders'],
      });
    expect(attempt).toThrow(expect.objectContaining({ code: 'FORBIDDEN' }));
  });

  it('checks topics against the caller tenant, allowing system topics', () => {
    expect(() => assertTopicsOfTenant([TOPIC, SYSTEM_TOPIC], 'acme')).not.toThrow();
    expect(() => assertTopicsOfTenant([TOPIC], 'globex')).toThrow(
      expect.objectContaining({ code: 'FORBIDDEN' }),
    );
    expect(() => assertTopicsOfTenant(['garbage'], 'acme')).toThrow(
      expect.objectContaining({ code: 'FORBIDDEN' }),
    );
  });

  it('releases every subscription on return(), even before the first next()', async () => {
    const stream = open({ topics: [TOPIC, OTHER_TOPIC] });
    await stream.return?.();
    await stream.ready;
    expect(pubsub.stats?.()).toEqual({ topics: 0, handlers: 0 });

    const active = open({ topics: [TOPIC, OTHER_TOPIC] });
    await active.ready;
    expect(pubsub.stats?.()).toEqual({ topics: 2, handlers: 2 });
    void active.return?.();
    expect(pubsub.stats?.()).toEqual({ topics: 0, handlers: 0 }); // at once, not on some later tick
  });

  it('ends a waiting next() when returned', async () => {
    const stream = open({});
    const waiting = stream.next();
    await stream.return?.();
    expect(await waiting).toEqual({ done: true, value: undefined });
  });

  it('cuts off a consumer that does not read once its buffer is full', async () => {
    const stream = open({}, pubsub, { maxBufferedEvents: 5 });
    await stream.ready;
    await commit(6);
    await eventually(() => pubsub.stats?.().handlers === 0);

    const error = await rejection(stream.next());
    expect(error).toBeInstanceOf(DomainError);
    expect(error.code).toBe('SLOW_CONSUMER');
    expect(await stream.next()).toEqual({ done: true, value: undefined });
  });

  it('keeps a consumer whose backlog stays within the buffer', async () => {
    const stream = open({}, pubsub, { maxBufferedEvents: 5 });
    await stream.ready;
    const first = await commit(5);
    await new Promise((resolve) => setImmediate(resolve));
    expect(ids(await take(stream, 5))).toEqual(ids(first));
    const second = await commit(5);
    expect(ids(await take(stream, 5))).toEqual(ids(second));
  });
});

describe('recent events kept by the topic feeds', () => {
  /**
   * One instance: topic feeds keeping `window` recent events per topic, shared by every stream it opens,
   * and the statements its (real) event log was asked for.
   */
  function instance(window = { maxEvents: 3, maxAgeMs: 60_000 }) {
    const real = createEventLog(db);
    const asked: string[] = [];
    const ask = <T>(query: string, run: () => Promise<T>) => {
      asked.push(query);
      return run();
    };
    const log: EventLog = {
      latestId: (tenantId) => ask('latest_id', () => real.latestId(tenantId)),
      openTopic: (topic, tenantId, w) => ask('open_topic', () => real.openTopic!(topic, tenantId, w)),
      readTopics: (positions, options) => ask('read_topics', () => real.readTopics(positions, options)),
      replay: (topics, after, limit) => ask('replay', () => real.replay(topics, after, limit)),
    };
    const feeds = createTopicFeeds({
      pubsub,
      log,
      logger: silentLogger,
      maxFillEvents: 5,
      recentWindow: () => window,
    });
    const streams = createEventStreams({ feeds, log, logger: silentLogger, replayMaxEvents: 5 });
    const subscribe = (after?: EventEnvelope) => {
      const iterator = streams.subscribe({
        streamKey: TOPIC,
        topics: [TOPIC],
        after: after && encodeCursor(TOPIC, after.id),
      });
      iterators.push(iterator);
      return iterator;
    };
    return { asked, subscribe };
  }

  it('a feed starts with the recent events its first statement read: a resume among them reads nothing more', async () => {
    const [seen, ...missed] = await commit(3);
    const { asked, subscribe } = instance();
    const resumed = subscribe(seen);
    expect(ids(await take(resumed, 2))).toEqual(ids(missed));
    expect(asked).toEqual(['open_topic']);
    const [live] = await commit(1);
    expect(ids(await take(resumed, 1))).toEqual([live?.id]);
  });

  it('keeps the newest events only: a cursor before them replays from the table, exactly', async () => {
    const { asked, subscribe } = instance();
    const keeper = subscribe();
    await keeper.ready;
    const committed = [...(await commit(2)), ...(await commit(3))];
    expect(ids(await take(keeper, 5))).toEqual(ids(committed));
    asked.length = 0;

    const fromMemory = subscribe(committed[1]);
    expect(ids(await take(fromMemory, 3))).toEqual(ids(committed.slice(2)));
    expect(asked).toEqual([]);
    const fromTable = subscribe(committed[0]);
    expect(ids(await take(fromTable, 4))).toEqual(ids(committed.slice(1)));
    expect(asked).toEqual(['replay']);
  });

  it('a fill too large ends every listener; the next feed of the topic starts over from the table, exactly', async () => {
    const { asked, subscribe } = instance();
    const keeper = subscribe();
    await keeper.ready;
    const [seen] = await commit(1);
    expect(ids(await take(keeper, 1))).toEqual([seen?.id]);
    pubsub.failing = true;
    const skipped = await commit(6); // more than maxFillEvents, never published
    pubsub.failing = false;
    const [last] = await commit(1);
    const error = await rejection(keeper.next());
    expect(error.details).toMatchObject({ reason: 'RESYNC_REQUIRED' });

    // Nobody listens any more: the feed is gone with what it kept, and a resume starts a new one.
    asked.length = 0;
    const resumed = subscribe(skipped[4]);
    expect(ids(await take(resumed, 2))).toEqual([skipped[5]?.id, last?.id]);
    expect(asked).toEqual(['open_topic']);
  });
});

describe('event streams over Redis', () => {
  const transports: PubSub[] = [];
  let admin: Redis;
  beforeAll(() => {
    admin = new Redis(REDIS_URL);
  });
  afterAll(async () => {
    await admin.quit();
  });
  afterEach(async () => {
    await Promise.all(iterators.splice(0).map((iterator) => iterator.return?.()));
    await Promise.all(transports.splice(0).map((transport) => transport.close()));
  });

  async function instance(prefix: string): Promise<PubSub> {
    const connections = createRedisConnections(REDIS_URL, { keyPrefix: prefix });
    const transport = await createRedisPubSub({ connections, logger: silentLogger, channelPrefix: prefix });
    transports.push(transport);
    return transport;
  }

  const numsub = async (channel: string) =>
    Number(((await admin.pubsub('NUMSUB', channel)) as [string, number])[1]);

  it('delivers events committed on one instance to a stream on another, and resumes across them', async () => {
    const prefix = uniquePrefix();
    const [a, b] = [await instance(prefix), await instance(prefix)];
    const [seen] = await commit(1, { transport: a });
    const missed = await commit(2, { transport: a });

    const stream = open({ after: encodeCursor(TOPIC, seen?.id ?? '') }, b);
    await stream.ready;
    const live = await commit(2, { transport: a });

    expect(ids(await take(stream, 4))).toEqual(ids([...missed, ...live]));
  });

  it('catches up from the table when its subscriber connection comes back (Redis dropped what was published meanwhile)', async () => {
    const prefix = uniquePrefix();
    const a = await instance(prefix);
    const connectionName = `test-${randomUUID()}`;
    // No automatic reconnect, so the test decides how long the connection stays away.
    const subscriber = new Redis(REDIS_URL, { connectionName, retryStrategy: () => null });
    const b = await createRedisPubSub({
      connections: { publisher: new Redis(REDIS_URL, { enableOfflineQueue: false }), subscriber },
      logger: silentLogger,
      channelPrefix: prefix,
    });
    transports.push(b);
    const stream = open({}, b);
    await stream.ready;
    const before = await commit(1, { transport: a });
    expect(ids(await take(stream, 1))).toEqual(ids(before));

    const clients = String(await admin.client('LIST'));
    const id = /id=(\d+) [^\n]* name=([^ ]+) /.exec(
      clients.split('\n').find((line) => line.includes(connectionName)) ?? '',
    );
    await admin.client('KILL', 'ID', String(id?.[1]));
    await eventually(() => subscriber.status === 'end');
    expect(b.status()).toBe('down');
    const missed = await commit(2, { transport: a });

    await subscriber.connect();
    expect(ids(await take(stream, 2))).toEqual(ids(missed));
    expect(b.status()).toBe('up');
    const live = await commit(1, { transport: a });
    expect(ids(await take(stream, 1))).toEqual(ids(live));
  });

  it('releases the Redis subscription when the iterator is returned without ever being read', async () => {
    const prefix = uniquePrefix();
    const transport = await instance(prefix);
    const stream = open({ topics: [TOPIC, OTHER_TOPIC] }, transport);
    await stream.ready;
    expect(await numsub(`${prefix}${TOPIC}`)).toBe(1);

    await stream.return?.();
    await eventually(
      async () =>
        (await numsub(`${prefix}${TOPIC}`)) === 0 && (await numsub(`${prefix}${OTHER_TOPIC}`)) === 0,
    );
    expect(transport.stats?.()).toEqual({ topics: 0, handlers: 0 });
  });
});
