import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/types';
import { createOutboxPublisher, createUnitOfWork } from '../../src/events/outbox';
import type { PubSub } from '../../src/events/pubsub';
import { createMemoryPubSub } from '../../src/events/pubsub-memory';
import { createOutboxRelay } from '../../src/events/relay';
import { assertNotPrunedPast, pruneEvents } from '../../src/events/retention';
import { useTestDatabase } from '../support/db';
import { eventually } from '../support/eventually';
import { type RecordingPubSub, recording, silentLogger } from './support';

const TOPIC = 't:acme:store:acme-downtown:orders';

const database = useTestDatabase();
let db: Db;

beforeAll(() => {
  db = database.handle.db;
});
beforeEach(async () => {
  await database.handle.exec('TRUNCATE "Event", "EventPruneMark", "EventTopicHead"');
});

/** Commits n events while pub/sub is unreachable, as if the process died between commit and publish. */
async function commitUnpublished(n: number): Promise<string[]> {
  const down = recording(createMemoryPubSub({ logger: silentLogger }));
  down.failing = true;
  const publisher = createOutboxPublisher(down, { db, logger: silentLogger });
  const uow = createUnitOfWork({ db, publisher, logger: silentLogger });
  await uow.run(async (_tx, emit) => {
    for (let i = 0; i < n; i++)
      emit({ tenantId: 'acme', topic: TOPIC, kind: 'order.CREATED', payload: { i } });
  });
  void publisher.close(); // the process "died": nothing of it retries
  const rows = await db.event.findMany({ where: { publishedAt: null }, orderBy: { id: 'asc' } });
  return rows.map((row) => row.id.toString());
}

function relayOver(pubsub: PubSub, options: { graceMs?: number; batchSize?: number } = {}) {
  return createOutboxRelay({ db, pubsub, logger: silentLogger, intervalMs: 50, graceMs: 0, ...options });
}

const unpublishedCount = () => db.event.count({ where: { publishedAt: null } });

describe('outbox relay', () => {
  it('publishes committed-but-unpublished events exactly once, in id order', async () => {
    const ids = await commitUnpublished(3);
    const pubsub = recording(createMemoryPubSub({ logger: silentLogger }));
    const relay = relayOver(pubsub);

    expect(await relay.backlog()).toMatchObject({ count: 3 });
    expect(await relay.sweepOnce()).toBe(3);
    expect(await relay.sweepOnce()).toBe(0);

    expect(pubsub.published.map((event) => event.id)).toEqual(ids);
    expect(pubsub.published[0]).toMatchObject({
      tenantId: 'acme',
      topic: TOPIC,
      kind: 'order.CREATED',
      payload: { i: 0 },
    });
    expect(await relay.backlog()).toEqual({ count: 0, oldestAgeSeconds: 0 });
  });

  it('leaves the fast path its grace period', async () => {
    await commitUnpublished(1);
    const pubsub = recording(createMemoryPubSub({ logger: silentLogger }));
    expect(await relayOver(pubsub, { graceMs: 60_000 }).sweepOnce()).toBe(0);
    expect(pubsub.published).toEqual([]);
  });

  it('marks nothing published while pub/sub fails, and catches up once it is back', async () => {
    await commitUnpublished(2);
    const pubsub = recording(createMemoryPubSub({ logger: silentLogger }));
    const relay = relayOver(pubsub);

    pubsub.failing = true;
    expect(await relay.sweepOnce()).toBe(0);
    expect(await unpublishedCount()).toBe(2);

    pubsub.failing = false;
    expect(await relay.sweepOnce()).toBe(2);
    expect(await unpublishedCount()).toBe(0);
  });

  it('does not try while pub/sub reports down', async () => {
    await commitUnpublished(1);
    const inner = recording(createMemoryPubSub({ logger: silentLogger }));
    const down: PubSub = { ...inner, status: () => 'down' };
    expect(await relayOver(down).sweepOnce()).toBe(0);
    expect(inner.published).toEqual([]);
    expect(await unpublishedCount()).toBe(1);
  });

  it('never publishes an event twice when two relays sweep at the same time', async () => {
    const ids = await commitUnpublished(60);
    const slowPublish = (pubsub: RecordingPubSub): RecordingPubSub => {
      const publish = pubsub.publish;
      pubsub.publish = async (topic, message) => {
        await new Promise((resolve) => setTimeout(resolve, 1));
        await publish(topic, message);
      };
      return pubsub;
    };
    const a = slowPublish(recording(createMemoryPubSub({ logger: silentLogger })));
    const b = slowPublish(recording(createMemoryPubSub({ logger: silentLogger })));

    const [byA, byB] = await Promise.all([
      relayOver(a, { batchSize: 10 }).sweepOnce(),
      relayOver(b, { batchSize: 10 }).sweepOnce(),
    ]);

    expect(byA + byB).toBe(60);
    const all = [...a.published, ...b.published].map((event) => event.id);
    expect(all.sort((x, y) => Number(x) - Number(y))).toEqual(ids);
    expect(await unpublishedCount()).toBe(0);
  });

  it('sweeps on its own once started, until stopped', async () => {
    await commitUnpublished(1);
    const pubsub = recording(createMemoryPubSub({ logger: silentLogger }));
    const relay = relayOver(pubsub);
    relay.start();
    try {
      await eventually(async () => (await unpublishedCount()) === 0);
    } finally {
      await relay.stop();
    }
    expect(pubsub.published).toHaveLength(1);
  });
});

describe('event retention', () => {
  it('prunes published events older than the retention window, keeping recent and unpublished ones', async () => {
    const [unpublishedOld] = await commitUnpublished(1);
    await relayOver(recording(createMemoryPubSub({ logger: silentLogger }))).sweepOnce();
    const [stillUnpublished] = await commitUnpublished(1);
    await commitUnpublished(1);
    await database.handle.query(
      `UPDATE "Event" SET "createdAt" = "createdAt" - interval '3 hours' WHERE id = ANY($1::bigint[])`,
      [[unpublishedOld, stillUnpublished]],
    );
    await database.handle.query(`UPDATE "Event" SET "publishedAt" = "createdAt" WHERE id = $1`, [
      unpublishedOld,
    ]);
    await database.handle.query(`UPDATE "Event" SET "publishedAt" = NULL WHERE id = $1`, [stillUnpublished]);

    expect(await pruneEvents(db, { retentionHours: 2, batchSize: 1 })).toBe(1);

    const left = await db.event.findMany({ orderBy: { id: 'asc' } });
    expect(left.map((row) => row.id.toString())).not.toContain(unpublishedOld);
    expect(left.map((row) => row.id.toString())).toContain(stillUnpublished);
    expect(left).toHaveLength(2);
  });

  it('refuses a resume position before what it pruned, per topic, and accepts one after', async () => {
    const OTHER = 't:acme:store:acme-uptown:orders';
    const [first, second] = await commitUnpublished(2);
    await relayOver(recording(createMemoryPubSub({ logger: silentLogger }))).sweepOnce();
    await database.handle.query(
      `UPDATE "Event" SET "createdAt" = "createdAt" - interval '3 hours', "publishedAt" = now() WHERE id = $1`,
      [first],
    );
    expect(await pruneEvents(db, { retentionHours: 2 })).toBe(1);

    const before = BigInt(first!) - 1n;
    const markOf = async (topic: string) => {
      const rows = (await database.handle.query(
        `SELECT "prunedThroughId"::text AS id FROM "EventPruneMark" WHERE "topic" = $1`,
        [topic],
      )) as Array<{ id: string }>;
      return rows[0] ? BigInt(rows[0].id) : null;
    };
    const mark = await markOf(TOPIC);
    expect(mark).toBe(BigInt(first!));
    expect(() => assertNotPrunedPast(mark, before)).toThrow(
      expect.objectContaining({ code: 'BAD_USER_INPUT', details: { reason: 'CURSOR_EXPIRED' } }),
    );
    // At the pruned event itself nothing after it is missing; another topic's position is unaffected.
    expect(() => assertNotPrunedPast(mark, BigInt(first!))).not.toThrow();
    expect(await markOf(OTHER)).toBeNull();
    expect(() => assertNotPrunedPast(null, before)).not.toThrow();
    expect(() => assertNotPrunedPast(mark, BigInt(second!))).not.toThrow();
  });
});
