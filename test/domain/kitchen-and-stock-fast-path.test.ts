import { beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { StatementOutcome } from '../../src/events/one-statement';
import type { EventEnvelope } from '../../src/events/types';
import { as, useDomainFixture } from '../support/domain-fixture';

/**
 * adjustInventory, markItemReady and bumpTicket in two round trips (a read, then one statement: src/domain/*-fast-path.ts):
 * the rows and events of the transaction they stand in for, and the transaction whenever the statement cannot say
 * the change (a refusal, an alert to raise, ...) or a row changed between the read and the write.
 */

const manager = as('acme-manager');
const fx = useDomainFixture();
const db = () => fx.database.handle.db;

// Seed: Burger 50 (threshold 10).
const BURGER = 'acme-downtown-burger-stock';

let statements: StatementOutcome[];
let published: EventEnvelope[] = [];
beforeAll(() => fx.listen((events) => published.push(...events)));
beforeEach(async () => {
  await db().inventoryAlert.deleteMany({});
  await db().stockMovement.deleteMany({ where: { inventoryItemId: BURGER } });
  await db().inventoryItem.updateMany({ where: { name: 'Burger' }, data: { quantity: 50 } });
  statements = [];
  published = [];
  const runStatement = fx.deps.publisher.runStatement;
  vi.spyOn(fx.deps.publisher, 'runStatement').mockImplementation(async (work) => {
    const outcome = await runStatement(work);
    statements.push(outcome);
    return outcome;
  });
  return () => vi.restoreAllMocks();
});

/** The next publisher.read returns what it read, after `meanwhile` changed the database. */
function changeAfterRead(meanwhile: () => Promise<unknown>) {
  const read = fx.deps.publisher.read;
  vi.spyOn(fx.deps.publisher, 'read').mockImplementationOnce(async (text, values) => {
    const rows = await read(text, values);
    await meanwhile();
    return rows;
  });
}

const itemRow = () => db().inventoryItem.findUniqueOrThrow({ where: { id: BURGER } });

describe('adjustInventory in one statement', () => {
  it('changes the stock, records the movement and announces ADJUSTMENT as the transaction does', async () => {
    const after = await fx.lastEventId();
    const adjusted = await fx.inventory.adjustInventory(manager, BURGER, -5, ' spill ');

    expect(statements.map((outcome) => outcome.ok)).toEqual([true]);
    const row = await itemRow();
    expect(adjusted).toMatchObject({ id: BURGER, quantity: 45, available: true });
    expect(adjusted.updatedAt).toBe(row.updatedAt.toISOString());
    expect(row.quantity).toBe(45);
    const movements = await db().stockMovement.findMany({ where: { inventoryItemId: BURGER } });
    expect(movements.map((m) => [m.reason, m.delta, m.quantityAfter, m.note, m.actorId])).toEqual([
      ['ADJUSTMENT', -5, 45, 'spill', manager.userId],
    ]);
    const events = await fx.events(after);
    expect(events.map((e) => [e.topic, e.kind, e.payload.severity, e.payload.item])).toEqual([
      ['t:acme:store:acme-downtown:inventory', 'inventory.ADJUSTMENT', 'LOW', adjusted],
    ]);
    expect(published.map((e) => [e.id, e.payload])).toEqual(events.map((e) => [e.id.toString(), e.payload]));
  });

  it('changes nothing and takes the transaction when the item changed after it was read', async () => {
    changeAfterRead(() => db().inventoryItem.update({ where: { id: BURGER }, data: { quantity: 30 } }));
    const adjusted = await fx.inventory.adjustInventory(manager, BURGER, 2, 'count');
    expect(statements.map((outcome) => outcome.ok)).toEqual([false]);
    expect(adjusted.quantity).toBe(32);
    expect((await itemRow()).quantity).toBe(32);
    expect(await db().stockMovement.count({ where: { inventoryItemId: BURGER } })).toBe(1);
  });

  it('takes the transaction when the stock crosses the alert threshold, which raises the alert', async () => {
    const after = await fx.lastEventId();
    const adjusted = await fx.inventory.adjustInventory(manager, BURGER, -40, 'count'); // 10: the threshold
    expect(statements).toEqual([]);
    expect(adjusted.quantity).toBe(10);
    expect((await fx.events(after)).map((e) => e.kind)).toEqual([
      'inventory.ADJUSTMENT',
      'inventory.LOW_STOCK',
    ]);
    // Back above it with the alert open: RESTOCKED, the transaction's again.
    await fx.inventory.adjustInventory(manager, BURGER, 5, 'count');
    expect(statements).toEqual([]);
    expect((await fx.events(after)).map((e) => e.kind).slice(2)).toEqual([
      'inventory.ADJUSTMENT',
      'inventory.RESTOCKED',
    ]);
    // No alert open, above the threshold: one statement.
    await fx.inventory.adjustInventory(manager, BURGER, 1, 'count');
    expect(statements.map((outcome) => outcome.ok)).toEqual([true]);
  });

  it('leaves refusals to the transaction, which writes nothing', async () => {
    await expect(fx.inventory.adjustInventory(manager, BURGER, -51, 'count')).rejects.toMatchObject({
      code: 'BAD_USER_INPUT',
      details: { field: 'delta', quantity: 50 },
    });
    await expect(
      fx.inventory.adjustInventory(manager, 'globex-central-burger-stock', 1, 'count'),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(
      fx.inventory.adjustInventory(as('acme-manager', { stores: ['acme-uptown'] }), BURGER, 1, 'count'),
    ).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect(statements).toEqual([]);
    expect((await itemRow()).quantity).toBe(50);
    expect(await db().stockMovement.count({ where: { inventoryItemId: BURGER } })).toBe(0);
  });
});
