import { createHash } from 'node:crypto';
import {
  appendFileSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDb } from '../../src/db/client';
import { DEFAULT_MIGRATIONS_DIR, MigrationError, migrate } from '../../src/db/migrate';
import { createTestDatabase, type TestDatabase } from '../support/db';

const MIGRATION_NAMES = readdirSync(DEFAULT_MIGRATIONS_DIR, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .sort();

interface MigrationRow {
  id: string;
  checksum: string;
  migration_name: string;
  logs: string | null;
  started_at: Date;
  finished_at: Date | null;
  rolled_back_at: Date | null;
  applied_steps_count: number;
}

describe('migrate', () => {
  let database: TestDatabase;
  let migrationsDir: string;

  beforeEach(async () => {
    database = await createTestDatabase({ empty: true });
    migrationsDir = mkdtempSync(join(tmpdir(), 'expediter-migrations-'));
    cpSync(DEFAULT_MIGRATIONS_DIR, migrationsDir, { recursive: true });
  });
  afterEach(async () => {
    await database.drop();
    rmSync(migrationsDir, { recursive: true, force: true });
  });

  const rows = () =>
    database.handle.query<MigrationRow>(
      'SELECT * FROM "_prisma_migrations" ORDER BY "started_at", "migration_name"',
    );

  function addMigration(name: string, sql: string): void {
    mkdirSync(join(migrationsDir, name));
    writeFileSync(join(migrationsDir, name, 'migration.sql'), sql);
  }

  it('applies every migration to an empty database, then nothing on a second run', async () => {
    expect(await migrate(database.handle)).toEqual({ applied: MIGRATION_NAMES });
    expect(await migrate(database.handle)).toEqual({ applied: [] });
    expect((await rows()).map((row) => row.migration_name)).toEqual(MIGRATION_NAMES);
  });

  it('records each migration the way prisma migrate deploy does', async () => {
    await migrate(database.handle);
    const [row] = await rows();
    const script = readFileSync(join(DEFAULT_MIGRATIONS_DIR, MIGRATION_NAMES[0] as string, 'migration.sql'));
    expect(row).toMatchObject({
      migration_name: MIGRATION_NAMES[0],
      checksum: createHash('sha256').update(script).digest('hex'),
      logs: null,
      rolled_back_at: null,
      applied_steps_count: 1,
    });
    expect(row?.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(row?.finished_at?.getTime()).toBeGreaterThanOrEqual(row?.started_at.getTime() ?? Number.NaN);
  });

  it("creates _prisma_migrations with Prisma's column definitions", async () => {
    await migrate(database.handle);
    const columns = await database.handle.query(`
      SELECT column_name, data_type, character_maximum_length AS length, is_nullable, column_default
      FROM information_schema.columns WHERE table_name = '_prisma_migrations' ORDER BY ordinal_position`);
    expect(columns).toEqual([
      {
        column_name: 'id',
        data_type: 'character varying',
        length: 36,
        is_nullable: 'NO',
        column_default: null,
      },
      {
        column_name: 'checksum',
        data_type: 'character varying',
        length: 64,
        is_nullable: 'NO',
        column_default: null,
      },
      {
        column_name: 'finished_at',
        data_type: 'timestamp with time zone',
        length: null,
        is_nullable: 'YES',
        column_default: null,
      },
      {
        column_name: 'migration_name',
        data_type: 'character varying',
        length: 255,
        is_nullable: 'NO',
        column_default: null,
      },
      { column_name: 'logs', data_type: 'text', length: null, is_nullable: 'YES', column_default: null },
      {
        column_name: 'rolled_back_at',
        data_type: 'timestamp with time zone',
        length: null,
        is_nullable: 'YES',
        column_default: null,
      },
      {
        column_name: 'started_at',
        data_type: 'timestamp with time zone',
        length: null,
        is_nullable: 'NO',
        column_default: 'now()',
      },
      {
        column_name: 'applied_steps_count',
        data_type: 'integer',
        length: null,
        is_nullable: 'NO',
        column_default: '0',
      },
    ]);
  });

  it('applies once when two instances migrate the same fresh database at the same time', async () => {
    const other = await createDb({ databaseUrl: database.url, dataDir: tmpdir() });
    try {
      const results = await Promise.all([migrate(database.handle), migrate(other)]);
      expect(results.map((r) => r.applied).sort()).toEqual([[], MIGRATION_NAMES]);
      expect(await rows()).toHaveLength(MIGRATION_NAMES.length);
    } finally {
      await other.close();
    }
  });

  it('applies only the new migration when one is added', async () => {
    await migrate(database.handle, { migrationsDir });
    addMigration('29990101000000_add_probe', 'CREATE TABLE "Probe" ("id" INTEGER NOT NULL);');
    expect(await migrate(database.handle, { migrationsDir })).toEqual({
      applied: ['29990101000000_add_probe'],
    });
    expect(await database.handle.query('SELECT count(*)::int AS n FROM "Probe"')).toEqual([{ n: 0 }]);
  });

  it('refuses to continue when an applied migration was modified', async () => {
    await migrate(database.handle, { migrationsDir });
    appendFileSync(join(migrationsDir, MIGRATION_NAMES[0] as string, 'migration.sql'), '\n-- edited\n');
    addMigration('29990101000000_add_probe', 'CREATE TABLE "Probe" ("id" INTEGER NOT NULL);');

    const error = await migrate(database.handle, { migrationsDir }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MigrationError);
    expect((error as Error).message).toContain(`\`${MIGRATION_NAMES[0]}\` was modified after it was applied`);
    expect(await database.handle.query(`SELECT to_regclass('"Probe"') AS probe`)).toEqual([{ probe: null }]);
  });

  it('accepts an applied migration whose only change is CRLF line endings', async () => {
    await migrate(database.handle, { migrationsDir });
    const file = join(migrationsDir, MIGRATION_NAMES[0] as string, 'migration.sql');
    writeFileSync(file, readFileSync(file, 'utf8').replace(/\n/g, '\r\n'));
    expect(await migrate(database.handle, { migrationsDir })).toEqual({ applied: [] });
  });

  it('rolls back a failing migration, records it, and refuses to run until it is resolved', async () => {
    addMigration('29990101000000_broken', 'CREATE TABLE "Probe" ("id" INTEGER);\nSELECT no_such_function();');

    await expect(migrate(database.handle, { migrationsDir })).rejects.toThrow(
      /`29990101000000_broken` failed and was rolled back: function no_such_function\(\) does not exist/,
    );
    expect(await database.handle.query(`SELECT to_regclass('"Probe"') AS probe`)).toEqual([{ probe: null }]);
    const failed = (await rows()).find((row) => row.migration_name === '29990101000000_broken');
    expect(failed).toMatchObject({ finished_at: null, rolled_back_at: null, applied_steps_count: 0 });
    expect(failed?.logs).toContain('no_such_function');

    writeFileSync(
      join(migrationsDir, '29990101000000_broken', 'migration.sql'),
      'CREATE TABLE "Probe" ("id" INTEGER);',
    );
    await expect(migrate(database.handle, { migrationsDir })).rejects.toThrow(
      /`29990101000000_broken` \(started at .*\) failed, so no new migrations will be applied/,
    );

    // What `prisma migrate resolve --rolled-back` does.
    await database.handle.exec(
      `UPDATE "_prisma_migrations" SET "rolled_back_at" = now() WHERE "migration_name" = '29990101000000_broken'`,
    );
    expect(await migrate(database.handle, { migrationsDir })).toEqual({ applied: ['29990101000000_broken'] });
  });

  it('warns about applied migrations missing from the directory', async () => {
    await migrate(database.handle, { migrationsDir });
    await database.handle.query(
      `INSERT INTO "_prisma_migrations" ("id", "checksum", "migration_name", "finished_at", "applied_steps_count")
       VALUES ('00000000-0000-4000-8000-000000000000', 'x', '20000101000000_elsewhere', now(), 1)`,
    );
    const warnings: unknown[] = [];
    const logger = { info: () => {}, warn: (details: object) => warnings.push(details) };
    expect(await migrate(database.handle, { migrationsDir, logger })).toEqual({ applied: [] });
    expect(warnings).toEqual([{ migrations: ['20000101000000_elsewhere'] }]);
  });

  it('refuses a migrations directory locked to another provider', async () => {
    writeFileSync(join(migrationsDir, 'migration_lock.toml'), 'provider = "mysql"\n');
    await expect(migrate(database.handle, { migrationsDir })).rejects.toThrow(
      /provider "mysql", expected "postgresql"/,
    );
  });
});
