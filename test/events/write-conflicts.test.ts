import { describe, expect, it } from 'vitest';
import type { Tx } from '../../src/db/types';
import { useDomainFixture } from '../support/domain-fixture';

/**
 * A transaction PostgreSQL rolls back for another (a deadlock, 40P01; a serialization failure, 40001) wrote
 * nothing: the unit of work runs it again, and past three tries refuses with CONFLICT (reason WRITE_CONFLICT),
 * not INTERNAL_SERVER_ERROR (docs/api.md "Errors"). Real PostgreSQL, real deadlocks.
 */

const fx = useDomainFixture();
const db = () => fx.database.handle.db;

/** A promise and its resolver. */
function signal() {
  let fire!: () => void;
  const fired = new Promise<void>((resolve) => {
    fire = resolve;
  });
  return { fire, fired };
}

const stock = async (ids: string[]) =>
  (await db().inventoryItem.findMany({ where: { id: { in: ids } }, orderBy: { id: 'asc' } })).map(
    (i) => i.quantity,
  );

describe('a unit of work PostgreSQL rolls back for a write conflict', () => {
  it('runs again when it was the victim of a deadlock, and both units commit once', async () => {
    const items = await db().inventoryItem.findMany({
      where: { storeId: 'acme-downtown' },
      take: 2,
      orderBy: { id: 'asc' },
    });
    const [x, y] = items.map((item) => item.id) as [string, string];
    const before = await stock([x, y]);
    const locked = { a: signal(), b: signal() };
    const tries = { a: 0, b: 0 };
    const add = (tx: Tx, id: string) =>
      tx.inventoryItem.update({ where: { id }, data: { quantity: { increment: 1 } } });
    // Each locks its first row, waits until the other has locked its own, then asks for the other's: a deadlock
    // on the first tries (PostgreSQL ends one of them); a retry goes straight through.
    const unit = (name: 'a' | 'b', first: string, second: string, other: 'a' | 'b') =>
      fx.deps.publisher.run(async (tx) => {
        tries[name] += 1;
        await add(tx, first);
        if (tries[name] === 1) {
          locked[name].fire();
          await locked[other].fired;
        }
        await add(tx, second);
        return name;
      });
    const done = await Promise.all([unit('a', x, y, 'b'), unit('b', y, x, 'a')]);
    expect(done).toEqual(['a', 'b']);
    expect([tries.a, tries.b].sort()).toEqual([1, 2]); // one victim, run once more
    expect(await stock([x, y])).toEqual(before.map((q) => q + 2)); // each unit's writes once
  });

  it('is refused with CONFLICT, reason WRITE_CONFLICT, after three tries, and writes nothing', async () => {
    const id = 'acme-downtown-burger-stock';
    const [before] = await stock([id]);
    let tries = 0;
    const after = await fx.lastEventId();
    const refused = fx.deps.publisher.run(async (tx, emit) => {
      tries += 1;
      await tx.inventoryItem.update({ where: { id }, data: { quantity: { increment: 1 } } });
      emit({
        tenantId: 'acme',
        topic: 't:acme:store:acme-downtown:inventory',
        kind: 'inventory.ADJUSTMENT',
        payload: {},
      });
      // PostgreSQL's own deadlock error, raised by the server as a deadlock victim would get it.
      await tx.$executeRawUnsafe(
        `DO $$ BEGIN RAISE EXCEPTION 'deadlock detected' USING ERRCODE = '40P01'; END $$`,
      );
    });
    await expect(refused).rejects.toMatchObject({
      code: 'CONFLICT',
      details: { reason: 'WRITE_CONFLICT' },
    });
    expect(tries).toBe(3);
    expect(await stock([id])).toEqual([before]);
    expect(await fx.events(after)).toEqual([]);
  });

  it('is refused the same way for a serialization failure (40001)', async () => {
    let tries = 0;
    const refused = fx.deps.publisher.run(async (tx) => {
      tries += 1;
      await tx.$queryRawUnsafe(
        `DO $$ BEGIN RAISE EXCEPTION 'could not serialize' USING ERRCODE = '40001'; END $$`,
      );
    });
    await expect(refused).rejects.toMatchObject({ code: 'CONFLICT', details: { reason: 'WRITE_CONFLICT' } });
    expect(tries).toBe(3);
  });

  it('leaves every other failure alone: not retried, not CONFLICT', async () => {
    let tries = 0;
    const failed = fx.deps.publisher.run(async (tx) => {
      tries += 1;
      await tx.$executeRawUnsafe(`DO $$ BEGIN RAISE EXCEPTION 'boom' USING ERRCODE = '22012'; END $$`);
    });
    await expect(failed).rejects.not.toMatchObject({ code: 'CONFLICT' });
    expect(tries).toBe(1);
  });
});
