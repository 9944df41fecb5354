import pg from 'pg';
import { describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  dropLeftoverTestDatabases,
  TEST_DATABASE_PREFIX,
  testDatabaseCreatedAt,
  withAdmin,
} from '../support/db';

const exists = (name: string) =>
  withAdmin(
    async (admin) =>
      (await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount === 1,
  );

describe('test databases', () => {
  it('are fresh migrated clones, separate from each other, and gone after drop()', async () => {
    const [a, b] = await Promise.all([createTestDatabase(), createTestDatabase()]);
    try {
      expect(a.name).not.toBe(b.name);
      expect(a.name.startsWith(TEST_DATABASE_PREFIX)).toBe(true);
      await a.handle.db.tenant.create({ data: { id: 'only-in-a', name: 'A' } });
      expect(await a.handle.db.tenant.count()).toBe(1);
      expect(await b.handle.db.tenant.count()).toBe(0);
    } finally {
      await Promise.all([a.drop(), b.drop()]);
    }
    expect(await exists(a.name)).toBe(false);
  });

  it('carry their creation time in their name', async () => {
    const before = Math.floor(Date.now() / 1000) * 1000;
    const database = await createTestDatabase({ empty: true });
    await database.drop();
    const createdAt = testDatabaseCreatedAt(database.name)?.getTime() ?? 0;
    expect(createdAt).toBeGreaterThanOrEqual(before);
    expect(createdAt).toBeLessThanOrEqual(Date.now());
    expect(testDatabaseCreatedAt('postgres')).toBeUndefined();
  });

  it('left over by an interrupted run are dropped, younger ones are kept', async () => {
    const leftover = `${TEST_DATABASE_PREFIX}${Math.floor(Date.parse('2020-01-01') / 1000).toString(36)}_1_abcdef`;
    await withAdmin((admin) => admin.query(`CREATE DATABASE "${leftover}" TEMPLATE template0`));
    const young = await createTestDatabase({ empty: true });
    try {
      const dropped = await dropLeftoverTestDatabases(new Date(Date.parse('2021-01-01')));
      expect(dropped).toContain(leftover);
      expect(dropped).not.toContain(young.name);
      expect(await exists(leftover)).toBe(false);
      expect(await exists(young.name)).toBe(true);
    } finally {
      await young.drop();
    }
  });

  it('left over but still in use (a long bench) are kept', async () => {
    const inUse = await createTestDatabase({ empty: true });
    const renamed = `${TEST_DATABASE_PREFIX}${Math.floor(Date.parse('2020-01-02') / 1000).toString(36)}_2_abcdef`;
    await inUse.handle.close();
    await withAdmin((admin) => admin.query(`ALTER DATABASE "${inUse.name}" RENAME TO "${renamed}"`));
    const holder = new pg.Client({ connectionString: inUse.url.replace(inUse.name, renamed) });
    await holder.connect();
    try {
      const dropped = await dropLeftoverTestDatabases(new Date(Date.parse('2021-01-01')));
      expect(dropped).not.toContain(renamed);
      expect(await exists(renamed)).toBe(true);
    } finally {
      await holder.end();
      await withAdmin((admin) => admin.query(`DROP DATABASE IF EXISTS "${renamed}"`));
    }
  });
});
