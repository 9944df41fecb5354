import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createPubSub } from '../../src/events/create-pubsub';
import type { PubSub } from '../../src/events/pubsub';
import { createMemoryPubSub } from '../../src/events/pubsub-memory';
import { createRedisConnections, createRedisPubSub } from '../../src/events/pubsub-redis';
import { eventually } from '../support/eventually';
import { REDIS_URL, silentLogger, uniquePrefix } from './support';

function collector() {
  const messages: unknown[] = [];
  return { messages, handler: (message: unknown) => messages.push(message) };
}

/** A logger whose lines the test can read. */
function capturingLogger() {
  const lines: Array<{ msg: string }> = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()));
      done();
    },
  });
  return { lines, logger: pino({ level: 'info' }, stream) };
}

describe('in-process pub/sub', () => {
  it('delivers JSON copies to the subscribers of the topic, in publish order', async () => {
    const pubsub = await createPubSub({ logger: silentLogger });
    const orders = collector();
    const other = collector();
    await pubsub.subscribe('t:a:orders', orders.handler);
    await pubsub.subscribe('t:a:other', other.handler);

    const at = new Date('2026-01-02T03:04:05.000Z');
    await pubsub.publish('t:a:orders', { n: 1, id: 7n, at });
    await pubsub.publish('t:a:orders', { n: 2 });
    await eventually(() => orders.messages.length === 2);

    expect(orders.messages).toEqual([{ n: 1, id: '7', at: '2026-01-02T03:04:05.000Z' }, { n: 2 }]);
    expect(other.messages).toEqual([]);
    expect(pubsub.status()).toBe('up');
    await pubsub.close();
  });

  it('stops delivering after unsubscribe and counts live subscriptions', async () => {
    const pubsub = createMemoryPubSub({ logger: silentLogger });
    const first = collector();
    const unsubscribe = await pubsub.subscribe('t:a:orders', first.handler);
    await pubsub.subscribe('t:a:orders', () => {});
    expect(pubsub.stats?.()).toEqual({ topics: 1, handlers: 2 });

    unsubscribe();
    unsubscribe();
    await pubsub.publish('t:a:orders', { n: 1 });
    await new Promise((resolve) => setImmediate(resolve));

    expect(first.messages).toEqual([]);
    expect(pubsub.stats?.()).toEqual({ topics: 1, handlers: 1 });
    await pubsub.close();
  });

  it('keeps delivering to other handlers when one throws', async () => {
    const pubsub = createMemoryPubSub({ logger: silentLogger });
    const healthy = collector();
    await pubsub.subscribe('t:a:orders', () => {
      throw new Error('boom');
    });
    await pubsub.subscribe('t:a:orders', healthy.handler);
    await pubsub.publish('t:a:orders', { n: 1 });
    await eventually(() => healthy.messages.length === 1);
    await pubsub.close();
  });
});

describe('Redis pub/sub', () => {
  const opened: PubSub[] = [];
  let admin: Redis;
  let prefix: string;

  beforeAll(() => {
    admin = new Redis(REDIS_URL);
  });
  afterAll(async () => {
    await admin.quit();
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((pubsub) => pubsub.close()));
  });

  async function open(opts: { keyPrefix?: string; connectionName?: string; logger?: pino.Logger } = {}) {
    const connections = createRedisConnections(REDIS_URL, {
      keyPrefix: opts.keyPrefix ?? prefix,
      connectionName: opts.connectionName,
    });
    const pubsub = await createRedisPubSub({
      connections,
      logger: opts.logger ?? silentLogger,
      channelPrefix: opts.keyPrefix ?? prefix,
    });
    opened.push(pubsub);
    return pubsub;
  }

  /** Redis's own count of subscribers of a channel. */
  async function numsub(channel: string): Promise<number> {
    const reply = (await admin.pubsub('NUMSUB', channel)) as [string, number];
    return Number(reply[1]);
  }

  async function clientOf(connectionName: string) {
    const list = await admin.client('LIST');
    return String(list)
      .split('\n')
      .find((line) => line.includes(` name=${connectionName} `));
  }

  it('carries a message published on one instance to a subscriber on another', async () => {
    prefix = uniquePrefix();
    const a = await open();
    const b = await open();
    const received = collector();
    await b.subscribe('t:acme:orders', received.handler);

    // subscribe() resolved after SUBSCRIBE was acknowledged: a publish right now is not lost.
    await a.publish('t:acme:orders', { id: '1', big: 2n });
    await eventually(() => received.messages.length === 1);

    expect(received.messages).toEqual([{ id: '1', big: '2' }]);
    expect(a.status()).toBe('up');
  });

  it('keeps instances with different prefixes apart', async () => {
    prefix = uniquePrefix();
    const a = await open();
    const stranger = await open({ keyPrefix: uniquePrefix() });
    const mine = collector();
    const theirs = collector();
    await a.subscribe('t:acme:orders', mine.handler);
    await stranger.subscribe('t:acme:orders', theirs.handler);

    await a.publish('t:acme:orders', { id: '1' });
    await eventually(() => mine.messages.length === 1);
    await stranger.publish('t:acme:orders', { id: '2' });
    await eventually(() => theirs.messages.length === 1);

    expect(mine.messages).toEqual([{ id: '1' }]);
    expect(theirs.messages).toEqual([{ id: '2' }]);
  });

  it('multiplexes every topic over one subscriber connection and releases each on unsubscribe', async () => {
    prefix = uniquePrefix();
    const connectionName = `test-${randomUUID()}`;
    const pubsub = await open({ connectionName });
    const unsubscribers = await Promise.all(
      ['t:acme:a', 't:acme:b', 't:acme:c'].map((topic) => pubsub.subscribe(topic, () => {})),
    );
    const second = await pubsub.subscribe('t:acme:a', () => {});

    expect(await clientOf(`${connectionName}:sub`)).toContain(' sub=3 ');
    expect(await numsub(`${prefix}t:acme:a`)).toBe(1);
    expect(pubsub.stats?.()).toEqual({ topics: 3, handlers: 4 });

    for (const unsubscribe of unsubscribers) unsubscribe();
    await eventually(async () => (await numsub(`${prefix}t:acme:b`)) === 0);
    expect(await numsub(`${prefix}t:acme:a`)).toBe(1); // still wanted by `second`
    second();
    await eventually(async () => (await numsub(`${prefix}t:acme:a`)) === 0);
    expect(pubsub.stats?.()).toEqual({ topics: 0, handlers: 0 });
  });

  it('shares its publisher connection, with the key prefix, for other modules', async () => {
    prefix = uniquePrefix();
    const pubsub = await open();
    const redis = pubsub.redis?.();
    await redis?.set('k', 'v', 'EX', 60);
    expect(await admin.get(`${prefix}k`)).toBe('v');
    await admin.del(`${prefix}k`);
  });

  it('survives a dropped subscriber connection: reports down, reconnects, resubscribes', async () => {
    prefix = uniquePrefix();
    const connectionName = `test-${randomUUID()}`;
    const { lines, logger } = capturingLogger();
    const pubsub = await open({ connectionName, logger });
    const received = collector();
    await pubsub.subscribe('t:acme:orders', received.handler);

    const id = /id=(\d+)/.exec((await clientOf(`${connectionName}:sub`)) ?? '')?.[1];
    await admin.client('KILL', 'ID', String(id));
    await eventually(() => lines.some((line) => line.msg === 'redis pub/sub down; reconnecting'));
    await eventually(() => pubsub.status() === 'up' && lines.some((line) => line.msg === 'redis pub/sub up'));
    await eventually(async () => (await numsub(`${prefix}t:acme:orders`)) === 1);

    await pubsub.publish('t:acme:orders', { id: '1' });
    await eventually(() => received.messages.length === 1);
  });

  it('starts down when Redis is unreachable and then rejects publishes at once instead of queueing', async () => {
    const connections = createRedisConnections('redis://127.0.0.1:1');
    const pubsub = await createRedisPubSub({ connections, logger: silentLogger, connectTimeoutMs: 50 });
    opened.push(pubsub);

    expect(pubsub.status()).toBe('down');
    // ioredis refuses the command outright rather than parking it until Redis comes back.
    await expect(pubsub.publish('t:acme:orders', { id: '1' })).rejects.toThrow(/enableOfflineQueue/);
  });
});
