import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Principal } from '../../src/auth/principal';
import { guestUserId } from '../../src/db/guests';
import { encodeCursor } from '../../src/events/cursor';
import { topics } from '../../src/events/topics';
import {
  as,
  createDomainFixture,
  type DomainFixture,
  downtownOrder,
  nextWithin,
} from '../support/domain-fixture';

const staff = as('acme-staff');

let f: DomainFixture;

beforeAll(async () => {
  f = await createDomainFixture();
});
afterAll(() => f.close());

beforeEach(async () => {
  await f.deps.db.diningTable.updateMany({ where: { storeId: 'acme-downtown' }, data: { status: 'FREE' } });
});

/** The principal a guest token of the table yields, issued `secondsAgo` before now. */
function guestAt(tableId: string, secondsAgo = 0): Principal & { table: string } {
  return {
    userId: guestUserId(tableId),
    tenantId: 'acme',
    roles: ['CUSTOMER'],
    stores: ['acme-downtown'],
    stations: [],
    table: tableId,
    issuedAt: Math.floor(Date.now() / 1000) - secondsAgo,
  };
}

const fries = [{ productId: 'acme-downtown-fries', quantity: 1 }];

const staffOrderAt = (tableNumber: number) =>
  f.orders.createOrder(staff, downtownOrder({ channel: 'TABLE', tableNumber, items: fries }));

/** Seats a party at the table; tokens issued before it are (per the table row) an earlier party's. */
async function seat(tableId: string, partySize = 2) {
  const seated = await f.tables.seatTable(staff, tableId, partySize);
  return seated.seatedAt!;
}

describe('a guest orders at its table', () => {
  it('places TABLE orders at its own table, for the table rather than a customer account', async () => {
    await seat('acme-downtown-4');
    const guest = guestAt('acme-downtown-4');
    const order = await f.orders.createOrder(guest, {
      storeId: 'acme-downtown',
      channel: 'TABLE',
      items: fries,
    });
    expect(order).toMatchObject({ tableNumber: 4, tableId: 'acme-downtown-4', customerId: null });
    expect((await f.tables.tables(staff, 'acme-downtown'))[3]?.status).toBe('ORDERED');
  });

  it('is refused other channels, other tables (existing or not alike), other stores and a table without a party', async () => {
    await seat('acme-downtown-4');
    await seat('acme-downtown-5');
    const guest = guestAt('acme-downtown-4');
    await expect(
      f.orders.createOrder(guest, { storeId: 'acme-downtown', channel: 'KIOSK', items: fries }),
    ).rejects.toMatchObject({ code: 'BAD_USER_INPUT', details: { field: 'channel' } });
    for (const tableNumber of [5, 99]) {
      await expect(
        f.orders.createOrder(guest, {
          storeId: 'acme-downtown',
          channel: 'TABLE',
          tableNumber,
          items: fries,
        }),
      ).rejects.toMatchObject({ code: 'FORBIDDEN', message: 'A table token orders at its own table only' });
    }
    await expect(
      f.orders.createOrder(guest, { storeId: 'acme-uptown', channel: 'TABLE', items: fries }),
    ).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(
      f.orders.createOrder(guestAt('acme-downtown-6'), {
        storeId: 'acme-downtown',
        channel: 'TABLE',
        items: fries,
      }),
    ).rejects.toMatchObject({ code: 'CONFLICT', details: { status: 'FREE' } });
  });
});

describe('a guest sees its party’s orders and nothing else', () => {
  it('reads only the orders of its table’s party; any other order does not exist for it', async () => {
    await seat('acme-downtown-8');
    const earlier = await staffOrderAt(8);
    await f.tables.setTableStatus(staff, 'acme-downtown-8', 'PAYING');
    await f.orders.recordPayment(staff, earlier.id, earlier.totalCents);
    for (const status of ['ACCEPTED', 'IN_PROGRESS', 'READY'] as const) {
      await f.orders.updateOrderStatus(staff, earlier.id, status);
    }
    await f.tables.setTableStatus(staff, 'acme-downtown-8', 'FREE');
    await seat('acme-downtown-8');
    await seat('acme-downtown-9');
    const ours = await staffOrderAt(8);
    const neighbours = await staffOrderAt(9);
    const pos = await f.orders.createOrder(staff, downtownOrder());

    const guest = guestAt('acme-downtown-8');
    const page = await f.orders.orders(guest, { storeId: 'acme-downtown' });
    expect(page.edges.map((edge) => edge.node.id)).toEqual([ours.id]);
    expect((await f.orders.order(guest, ours.id)).id).toBe(ours.id);
    for (const other of [earlier, neighbours, pos]) {
      await expect(f.orders.order(guest, other.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    }
  });

  it('follows its table’s orders live, and a replay from any cursor holds no other party’s', async () => {
    await seat('acme-downtown-10');
    const previousParty = await staffOrderAt(10);
    await f.orders.cancelOrder(staff, previousParty.id, 'left');
    await f.tables.setTableStatus(staff, 'acme-downtown-10', 'FREE');
    await seat('acme-downtown-10');
    await seat('acme-downtown-11');
    const guest = guestAt('acme-downtown-10');
    const stream = await f.orders.subscribeOrders(guest, 'acme-downtown');
    try {
      await staffOrderAt(11);
      await f.orders.createOrder(staff, downtownOrder());
      const ours = await staffOrderAt(10);
      // Events arrive in commit order: the first one being ours means the two before were not delivered.
      const event = await nextWithin(stream);
      expect(event).toMatchObject({ kind: 'CREATED', order: { id: ours.id, tableId: 'acme-downtown-10' } });
    } finally {
      await stream.return?.();
    }

    // A guest may forge a cursor of its own stream from the first event on: the previous party stays hidden.
    const table = await f.deps.db.diningTable.findUniqueOrThrow({ where: { id: 'acme-downtown-10' } });
    const streamKey = `${topics.tableOrders('acme', 'acme-downtown-10')}:seating:${table.seatingId}`;
    const replay = await f.orders.subscribeOrders(guest, 'acme-downtown', encodeCursor(streamKey, '1'));
    try {
      const last = await staffOrderAt(10);
      const replayed = [];
      for (;;) {
        const replayedEvent = await nextWithin(replay);
        replayed.push(replayedEvent);
        if (replayedEvent.order.id === last.id) break;
      }
      expect(new Set(replayed.map((e) => e.order.seatingId))).toEqual(new Set([table.seatingId]));
      expect(replayed.map((e) => e.order.id)).not.toContain(previousParty.id);
    } finally {
      await replay.return?.();
    }
  });

  it('refuses a cursor of the store’s stream and another store', async () => {
    await seat('acme-downtown-3');
    const store = await f.orders.subscribeOrders(staff, 'acme-downtown');
    await f.orders.createOrder(staff, downtownOrder());
    const { cursor } = await nextWithin(store);
    await store.return?.();
    const guest = guestAt('acme-downtown-3');
    await expect(f.orders.subscribeOrders(guest, 'acme-downtown', cursor)).rejects.toMatchObject({
      code: 'BAD_USER_INPUT',
    });
    await expect(f.orders.subscribeOrders(guest, 'acme-uptown')).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });
});

describe('seating the next party ends the previous party’s guest tokens', () => {
  it('refuses them (UNAUTHENTICATED) and revokes them; a token issued for the new party works', async () => {
    // Tokens carry whole seconds: the previous party sat down a minute ago and got its token 30 s ago.
    await f.deps.db.diningTable.update({
      where: { id: 'acme-downtown-2' },
      data: {
        status: 'SEATED',
        partySize: 2,
        seatedAt: new Date(Date.now() - 60_000),
        seatingId: randomUUID(),
      },
    });
    const previous = guestAt('acme-downtown-2', 30);
    expect(await f.revocations.isRevoked(previous)).toBe(false);
    expect((await f.orders.orders(previous, { storeId: 'acme-downtown' })).edges).toEqual([]);
    await f.tables.setTableStatus(staff, 'acme-downtown-2', 'FREE');
    await seat('acme-downtown-2');
    const ended = { code: 'UNAUTHENTICATED', details: { reason: 'TABLE_TOKEN_ENDED' } };
    await expect(
      f.orders.createOrder(previous, { storeId: 'acme-downtown', channel: 'TABLE', items: fries }),
    ).rejects.toMatchObject(ended);
    await expect(f.orders.orders(previous, { storeId: 'acme-downtown' })).rejects.toMatchObject(ended);
    await expect(f.orders.subscribeOrders(previous, 'acme-downtown')).rejects.toMatchObject(ended);
    expect(await f.revocations.isRevoked(previous)).toBe(true);

    const current = guestAt('acme-downtown-2');
    expect(await f.revocations.isRevoked(current)).toBe(false);
    const order = await f.orders.createOrder(current, {
      storeId: 'acme-downtown',
      channel: 'TABLE',
      items: fries,
    });
    expect(order.tableId).toBe('acme-downtown-2');
  });

  it('issues guest tokens for a table with a party only, to floor staff', async () => {
    await expect(f.tables.issueTableToken(staff, 'acme-downtown-1')).rejects.toMatchObject({
      code: 'CONFLICT',
      details: { status: 'FREE' },
    });
    await seat('acme-downtown-1');
    const issued = await f.tables.issueTableToken(staff, 'acme-downtown-1');
    expect(issued).toMatchObject({ tableId: 'acme-downtown-1', token: expect.stringMatching(/^ey/) });
    expect(Date.parse(issued.expiresAt) - Date.now()).toBeGreaterThan(3 * 3600 * 1000);
    for (const who of [as('acme-kitchen'), as('acme-customer'), guestAt('acme-downtown-1')]) {
      await expect(f.tables.issueTableToken(who, 'acme-downtown-1')).rejects.toMatchObject({
        code: 'FORBIDDEN',
      });
    }
    await expect(f.tables.issueTableToken(as('acme-admin'), 'globex-central-1')).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
  });
});
