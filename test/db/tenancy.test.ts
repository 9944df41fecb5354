import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DbHandle } from '../../src/db/client';
import { createTenancyLookups } from '../../src/db/tenancy';
import { createTestDatabase, type TestDatabase } from '../support/db';

/** The real database, with the user queries sent to it counted. */
function countingUserQueries(handle: DbHandle) {
  const counter = { queries: 0 };
  const counted: Pick<DbHandle, 'db' | 'query'> = {
    db: handle.db,
    query: (sql, params) => {
      if (sql.includes('FROM "User"')) counter.queries++;
      return handle.query(sql, params);
    },
  };
  return { handle: counted, counter };
}

describe('tenancy lookups', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase({ seed: true });
  });
  afterAll(() => database.drop());

  it("says whether a user id is another tenant's user", async () => {
    const lookups = createTenancyLookups(database.handle);
    expect(await lookups.userOfOtherTenant('acme', 'globex-staff')).toBe(true);
    expect(await lookups.userOfOtherTenant('acme', 'acme-staff')).toBe(false);
    expect(await lookups.userOfOtherTenant('globex', 'globex-staff')).toBe(false);
    expect(await lookups.userOfOtherTenant('acme', 'nobody-at-all')).toBe(false);
  });

  it('answers the users asked in one turn of the event loop with one query, each answer its own', async () => {
    const { handle, counter } = countingUserQueries(database.handle);
    const lookups = createTenancyLookups(handle);
    const asked: Array<[string, string]> = [
      ['acme', 'acme-staff'],
      ['acme', 'globex-staff'],
      ['globex', 'globex-staff'],
      ['globex', 'acme-manager'],
      ['acme', 'unknown-user'],
    ];
    const answers = await Promise.all(asked.map(([tenant, user]) => lookups.userOfOtherTenant(tenant, user)));
    expect(answers).toEqual([false, true, false, true, false]);
    expect(counter.queries).toBe(1);
    // Remembered: asking again costs nothing.
    expect(await lookups.userOfOtherTenant('acme', 'globex-staff')).toBe(true);
    expect(counter.queries).toBe(1);
  });

  it("reads a user's sessionsRevokedAt in seconds, within the user's tenant only, sharing the connect's query", async () => {
    const { handle, counter } = countingUserQueries(database.handle);
    const revokedAt = new Date('2030-01-01T12:00:00.750Z');
    await database.handle.db.user.update({
      where: { id: 'acme-kitchen' },
      data: { sessionsRevokedAt: revokedAt },
    });
    const lookups = createTenancyLookups(handle);
    const [revoked, other, foreign] = await Promise.all([
      lookups.sessionsRevokedBefore('acme', 'acme-kitchen'),
      lookups.userOfOtherTenant('acme', 'acme-kitchen'),
      lookups.sessionsRevokedBefore('globex', 'acme-kitchen'),
    ]);
    expect(revoked).toBe(Math.floor(revokedAt.getTime() / 1000));
    expect(other).toBe(false);
    expect(foreign).toBeUndefined();
    expect(await lookups.sessionsRevokedBefore('acme', 'acme-staff')).toBeUndefined();
    expect(counter.queries).toBe(2);
  });

  it("gives presence the user's name from the connect's query, within the user's tenant only", async () => {
    const { handle, counter } = countingUserQueries(database.handle);
    const lookups = createTenancyLookups(handle);
    const [foreign, revoked] = await Promise.all([
      lookups.userOfOtherTenant('acme', 'acme-manager'),
      lookups.sessionsRevokedBefore('acme', 'acme-manager'),
    ]);
    expect([foreign, revoked]).toEqual([false, undefined]);
    const name = (await database.handle.db.user.findUniqueOrThrow({ where: { id: 'acme-manager' } })).name;
    expect(await lookups.userName('acme', 'acme-manager')).toBe(name);
    expect(await lookups.userName('globex', 'acme-manager')).toBeNull();
    expect(await lookups.userName('acme', 'nobody-at-all')).toBeNull();
    // The connect's one query answered the name of acme-manager; the other two ids were asked once more.
    expect(counter.queries).toBe(3);
  });

  it("answers for a table's guests with the start of the table's last seating (earlier parties' tokens end)", async () => {
    const lookups = createTenancyLookups(database.handle);
    expect(await lookups.sessionsRevokedBefore('acme', 'guest:acme-downtown-5')).toBeUndefined();
    const seatedAt = new Date('2030-01-01T19:30:00.250Z');
    await database.handle.db.diningTable.update({ where: { id: 'acme-downtown-6' }, data: { seatedAt } });
    expect(await lookups.sessionsRevokedBefore('acme', 'guest:acme-downtown-6')).toBe(
      Math.floor(seatedAt.getTime() / 1000) - 1,
    );
    expect(await lookups.sessionsRevokedBefore('globex', 'guest:acme-downtown-6')).toBeUndefined();
    expect(await lookups.userOfOtherTenant('acme', 'guest:acme-downtown-6')).toBe(false);
  });

  it('remembers a store of the tenant, and asks again about one that was not (it may be new)', async () => {
    const lookups = createTenancyLookups(database.handle);
    expect(await lookups.storeOfTenant('acme', 'acme-downtown')).toBe(true);
    expect(await lookups.storeOfTenant('acme', 'globex-central')).toBe(false);
    expect(await lookups.storeOfTenant('acme', 'acme-brand-new')).toBe(false);
    await database.handle.query(
      `INSERT INTO "Store" ("id", "tenantId", "name", "currency", "timezone") VALUES ('acme-brand-new', 'acme', 'New', 'USD', 'UTC')`,
    );
    expect(await lookups.storeOfTenant('acme', 'acme-brand-new')).toBe(true);
  });
});
