import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/eventually';
import { startTestServer, type TestServer } from '../support/server';

/**
 * Overload is expected, not a fault: a write that gets no database connection within DATABASE_TRANSACTION_MAX_WAIT_MS
 * is refused with RATE_LIMITED (reason OVERLOADED, retryAfter) and writes nothing (docs/api.md "Errors"). The
 * server here has ONE pooled connection; a transaction the test keeps waiting on a row lock holds it.
 */

const CREATE_ORDER = `mutation ($input: CreateOrderInput!) { createOrder(input: $input) { id number } }`;
const input = {
  storeId: 'acme-downtown',
  channel: 'POS',
  items: [{ productId: 'acme-downtown-fries', quantity: 1 }],
};

describe('a write the database cannot take in time', () => {
  let app: TestServer;
  let token: string;
  beforeAll(async () => {
    app = await startTestServer({
      env: {
        DATABASE_POOL_SIZE: '1',
        DATABASE_TRANSACTION_MAX_WAIT_MS: '300',
        OUTBOX_RELAY_INTERVAL_MS: '60000',
      },
    });
    token = await app.token('acme-staff');
    // The caller is known to the instance before the pool is taken (its checks are then served from memory).
    expect((await app.gql('{ me { id } }', {}, { token })).errors).toBeUndefined();
  });
  afterAll(() => app?.close());

  it('is refused with RATE_LIMITED, reason OVERLOADED and a retryAfter, and writes nothing', async () => {
    const holder = new pg.Client({ connectionString: app.databaseUrl });
    await holder.connect();
    try {
      const count = async () =>
        (await holder.query('SELECT count(*)::int AS n FROM "Order"')).rows[0].n as number;
      const before = await count();
      await holder.query('BEGIN');
      await holder.query(`SELECT 1 FROM "Store" WHERE "id" = 'acme-downtown' FOR UPDATE`);
      // The first order's transaction takes the pool's one connection and waits for the store's row.
      const first = app.gql<{ createOrder: { id: string } }>(CREATE_ORDER, { input }, { token });
      await eventually(async () => {
        const { rows } = await holder.query(
          `SELECT count(*)::int AS n FROM pg_stat_activity
           WHERE datname = current_database() AND wait_event_type = 'Lock'`,
        );
        return rows[0].n > 0;
      });

      const started = Date.now();
      const refused = await app.gql(CREATE_ORDER, { input }, { token });
      expect(refused.data?.createOrder ?? null).toBeNull();
      expect(refused.errors).toEqual([
        expect.objectContaining({
          message: 'The server is busy: retry after 1 s',
          extensions: expect.objectContaining({ code: 'RATE_LIMITED', reason: 'OVERLOADED', retryAfter: 1 }),
        }),
      ]);
      expect(Date.now() - started).toBeGreaterThanOrEqual(250); // it waited for a connection first

      await holder.query('COMMIT');
      expect((await first).data?.createOrder.id).toBeDefined();
      // The first order only: the refused call wrote nothing.
      expect(await count()).toBe(before + 1);
      // Once the connection is free, the same call goes through.
      expect((await app.gql(CREATE_ORDER, { input }, { token })).errors).toBeUndefined();
    } finally {
      await holder.query('ROLLBACK').catch(() => {});
      await holder.end();
    }
  });
});
