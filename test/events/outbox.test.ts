import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/types';
import { createOutboxPublisher, createUnitOfWork } from '../../src/events/outbox';
import { createMemoryPubSub } from '../../src/events/pubsub-memory';
import type { EventEnvelope } from '../../src/events/types';
import type { UnitOfWork } from '../../src/events/unit-of-work';
import { Prisma } from '../../src/generated/prisma/client';
import { useTestDatabase } from '../support/db';
import { eventually } from '../support/eventually';
import { type RecordingPubSub, recording, silentLogger } from './support';

const TOPIC = 't:acme:store:acme-downtown:orders';

const database = useTestDatabase();
let db: Db;
let pubsub: RecordingPubSub;
let committed: EventEnvelope[][];
let uow: UnitOfWork;

beforeAll(() => {
  db = database.handle.db;
});
beforeEach(async () => {
  await database.handle.exec('TRUNCATE "Event", "EventTopicHead", "Tenant" CASCADE');
  pubsub = recording(createMemoryPubSub({ logger: silentLogger }));
  committed = [];
  uow = createUnitOfWork({
    db,
    publisher: createOutboxPublisher(pubsub, { db, logger: silentLogger }),
    logger: silentLogger,
    onCommit: [(events) => committed.push([...events])],
  });
});

const order = (n: number) => ({ tenantId: 'acme', topic: TOPIC, kind: 'order.CREATED', payload: { n } });

async function storedEvents() {
  return db.event.findMany({ orderBy: { id: 'asc' } });
}

/** The envelope that acme's order.CREATED event stored as `row` must be published as. */
const publishedAs = (row: Awaited<ReturnType<typeof storedEvents>>[number]) => ({
  id: row.id.toString(),
  tenantId: 'acme',
  topic: TOPIC,
  kind: 'order.CREATED',
  payload: row.payload,
  createdAt: row.createdAt.toISOString(),
  prevId: row.prevId?.toString() ?? null,
});

describe('unit of work', () => {
  it('commits the change with its events, then publishes them in id order and marks them published', async () => {
    const received: unknown[] = [];
    await pubsub.subscribe(TOPIC, (message) => received.push(message));

    const result = await uow.run(async (tx, emit) => {
      await tx.tenant.create({ data: { id: 'acme', name: 'Acme' } });
      emit(order(1));
      emit(order(2));
      emit(order(3));
      expect(pubsub.published).toEqual([]); // nothing leaves before the commit
      return 'done';
    });

    expect(result).toBe('done');
    const rows = await storedEvents();
    expect(rows.map((row) => row.payload)).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    // Marked published off the request path, in a batch (markDelayMs).
    await eventually(async () => (await storedEvents()).every((row) => row.publishedAt !== null));
    expect(await db.tenant.count()).toBe(1);

    const expected = rows.map(publishedAs);
    expect(pubsub.published).toEqual(expected);
    expect(committed).toEqual([expected]);
    await eventually(() => received.length === 3);
    expect(received).toEqual(expected);
  });

  it('leaves neither the change nor any event behind when the work throws, and publishes nothing', async () => {
    const failing = uow.run(async (tx, emit) => {
      await tx.tenant.create({ data: { id: 'acme', name: 'Acme' } });
      emit(order(1));
      throw new Error('business rule broken');
    });

    await expect(failing).rejects.toThrow('business rule broken');
    expect(await db.tenant.count()).toBe(0);
    expect(await storedEvents()).toEqual([]);
    expect(pubsub.published).toEqual([]);
    expect(committed).toEqual([]);
  });

  it('does not write or publish anything for a unit without events', async () => {
    await uow.run((tx) => tx.tenant.create({ data: { id: 'acme', name: 'Acme' } }));
    expect(await storedEvents()).toEqual([]);
    expect(committed).toEqual([]);
  });

  it('stores payloads as plain JSON: BigInts as strings, dates as ISO strings', async () => {
    const at = new Date('2026-03-04T05:06:07.890Z');
    await uow.run(async (_tx, emit) => emit({ ...order(1), payload: { total: 1234n, at } }));

    const [row] = await storedEvents();
    expect(row?.payload).toEqual({ total: '1234', at: '2026-03-04T05:06:07.890Z' });
    expect(pubsub.published[0]?.payload).toEqual({ total: '1234', at: '2026-03-04T05:06:07.890Z' });
  });

  it('still commits when publishing fails, leaving the events unpublished for the relay', async () => {
    pubsub.failing = true;
    await uow.run(async (tx, emit) => {
      await tx.tenant.create({ data: { id: 'acme', name: 'Acme' } });
      emit(order(1));
    });

    expect(await db.tenant.count()).toBe(1);
    const rows = await storedEvents();
    expect(rows.map((row) => row.publishedAt)).toEqual([null]);
    expect(committed).toHaveLength(1);
  });

  it('does not fail the mutation when a commit listener throws', async () => {
    const throwing = createUnitOfWork({
      db,
      publisher: createOutboxPublisher(pubsub, { db, logger: silentLogger }),
      logger: silentLogger,
      onCommit: [
        () => {
          throw new Error('listener bug');
        },
      ],
    });
    await expect(throwing.run(async (_tx, emit) => emit(order(1)))).resolves.toBeUndefined();
    expect(pubsub.published).toHaveLength(1);
  });

  it('refuses an event whose topic belongs to another tenant', async () => {
    const mismatched = uow.run(async (_tx, emit) =>
      emit({ tenantId: 'globex', topic: TOPIC, kind: 'order.CREATED', payload: {} }),
    );
    await expect(mismatched).rejects.toThrow(/topic of another/);
    expect(await storedEvents()).toEqual([]);
  });

  it('takes event ids at the end of the transaction, so ids follow commit order', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const slow = uow.run(async (_tx, emit) => {
      emit(order(1)); // emitted first...
      await gate;
    });
    await uow.run(async (_tx, emit) => emit(order(2)));
    release();
    await slow;

    const rows = await storedEvents();
    expect(rows.map((row) => row.payload)).toEqual([{ n: 2 }, { n: 1 }]); // ...but committed last
  });

  /** Holds an advisory lock in another session while `fn` runs, as a concurrent uncommitted unit would. */
  async function whileLockHeld(lockSql: string, fn: () => Promise<void>) {
    await database.handle.session(async (session) => {
      await session.query('BEGIN');
      await session.query(lockSql);
      try {
        await fn();
      } finally {
        await session.query('COMMIT');
      }
    });
  }

  async function advisoryLockWaiters(): Promise<number> {
    const [row] = await database.handle.query<{ waiting: number }>(
      `SELECT count(*)::int AS waiting FROM pg_locks
       WHERE locktype = 'advisory' AND NOT granted
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    );
    return row?.waiting ?? 0;
  }

  const waitingForAdvisoryLock = async () => (await advisoryLockWaiters()) === 1;

  it('serialises event writers of one tenant on an advisory lock held until commit', async () => {
    let blocked: Promise<void> | undefined;
    await whileLockHeld(`SELECT pg_advisory_xact_lock(${0x45564e54}, hashtext('acme'))`, async () => {
      blocked = uow.run(async (_tx, emit) => emit(order(1)));
      await eventually(waitingForAdvisoryLock);
      // Another tenant's writer is not held up.
      await uow.run(async (_tx, emit) =>
        emit({ tenantId: 'globex', topic: 't:globex:orders', kind: 'k', payload: {} }),
      );
      expect((await storedEvents()).map((row) => row.tenantId)).toEqual(['globex']);
    });
    await blocked;
    expect((await storedEvents()).map((row) => row.tenantId)).toEqual(['globex', 'acme']);
  });

  it('orders system events against every tenant: they wait for tenant writers in flight', async () => {
    let blocked: Promise<void> | undefined;
    await whileLockHeld(`SELECT pg_advisory_xact_lock_shared(${0x45564e47}, 0)`, async () => {
      blocked = uow.run(async (_tx, emit) =>
        emit({ tenantId: null, topic: 'sys:notifications', kind: 'notification.CREATED', payload: {} }),
      );
      await eventually(waitingForAdvisoryLock);
      expect(await storedEvents()).toEqual([]);
    });
    await blocked;
    expect((await storedEvents()).map((row) => row.topic)).toEqual(['sys:notifications']);
  });

  it('chains each topic: every event names the previous one of its topic, even for writers that waited on the lock', async () => {
    const other = 't:acme:store:acme-uptown:orders';
    const writers: Array<Promise<void>> = [];
    // Writers that queue on the tenant lock started their statement (and its snapshot) before the ones
    // ahead of them committed: the chain must still name those.
    await whileLockHeld(`SELECT pg_advisory_xact_lock(${0x45564e54}, hashtext('acme'))`, async () => {
      for (let i = 0; i < 4; i++) {
        writers.push(
          uow.run(async (_tx, emit) => {
            emit(order(i));
            emit({ ...order(i), topic: other });
            emit(order(i + 100));
          }),
        );
      }
      await eventually(async () => (await advisoryLockWaiters()) === 4);
    });
    await Promise.all(writers);

    const rows = await storedEvents();
    expect(rows).toHaveLength(12);
    const previous = new Map<string, bigint | null>();
    for (const row of rows) {
      expect(row.prevId).toBe(previous.get(row.topic) ?? null);
      previous.set(row.topic, row.id);
    }
    expect(pubsub.published.map((event) => event.prevId)).toEqual(
      rows.map((row) => row.prevId?.toString() ?? null),
    );
  });
});

describe('publisher backlog', () => {
  it('publishes what pub/sub refused as soon as it takes messages again, in commit order, before newer events', async () => {
    pubsub.failing = true;
    await uow.run(async (_tx, emit) => emit(order(1)));
    await uow.run(async (_tx, emit) => {
      emit(order(2));
      emit(order(3));
    });
    expect(pubsub.published).toEqual([]);
    pubsub.failing = false;
    await uow.run(async (_tx, emit) => emit(order(4)));

    expect(pubsub.published.map((event) => event.payload)).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }, { n: 4 }]);
    await eventually(async () => (await storedEvents()).every((row) => row.publishedAt !== null));
  });

  it('does not wait for a new commit or the relay: it retries on its own once pub/sub is back', async () => {
    pubsub.failing = true;
    await uow.run(async (_tx, emit) => emit(order(1)));
    pubsub.failing = false;

    await eventually(() => pubsub.published.length === 1);
    await eventually(async () => (await storedEvents()).every((row) => row.publishedAt !== null));
  });
});

describe('one-statement unit of work', () => {
  const go = (ok: boolean) =>
    Prisma.sql`"go" AS MATERIALIZED (SELECT ${ok}::boolean AS "ok", to_jsonb(42) AS "patch"),
      "tenant" AS (INSERT INTO "Tenant" ("id", "name") SELECT 'acme', 'Acme' WHERE (SELECT "ok" FROM "go"))`;
  const patched = (n: number) => ({ ...order(n), payload: { n, number: 0 }, patch: ['number'] });

  it('commits the rows and the events together, chained after the transaction path’s, payload patched', async () => {
    await uow.run(async (_tx, emit) => emit(order(1)));
    const outcome = await uow.runStatement({ ctes: go(true), events: [patched(2), patched(3)] });

    expect(outcome.ok).toBe(true);
    expect(await db.tenant.count()).toBe(1);
    const rows = await storedEvents();
    expect(rows.map((row) => row.payload)).toEqual([{ n: 1 }, { n: 2, number: 42 }, { n: 3, number: 42 }]);
    expect(rows.map((row) => row.prevId)).toEqual([null, rows[0]?.id, rows[1]?.id]);
    const expected = rows.slice(1).map(publishedAs);
    expect(outcome.envelopes).toEqual(expected);
    expect(pubsub.published.slice(1)).toEqual(expected);
  });

  it('writes nothing and publishes nothing when "go" says no', async () => {
    const outcome = await uow.runStatement({ ctes: go(false), events: [patched(1)] });
    expect(outcome).toMatchObject({ ok: false, envelopes: [] });
    expect(await db.tenant.count()).toBe(0);
    expect(await storedEvents()).toEqual([]);
    expect(pubsub.published).toEqual([]);
  });

  it('loses no event when publishing fails after the commit: the backlog goes out first once pub/sub is back', async () => {
    pubsub.failing = true;
    await uow.runStatement({ ctes: go(true), events: [patched(1)] });
    expect((await storedEvents()).map((row) => row.publishedAt)).toEqual([null]);
    pubsub.failing = false;
    await uow.run(async (_tx, emit) => emit(order(2)));

    expect(pubsub.published.map((event) => event.payload)).toEqual([{ n: 1, number: 42 }, { n: 2 }]);
    await eventually(async () => (await storedEvents()).every((row) => row.publishedAt !== null));
  });
});
