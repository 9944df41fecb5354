import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DbHandle, SqlRunner } from './client';

/**
 * Applies prisma/migrations the way `prisma migrate deploy` does (Prisma's native schema engine
 * cannot be downloaded here), keeping the same `_prisma_migrations` bookkeeping so either tool can
 * take over a database the other migrated.
 */

export const DEFAULT_MIGRATIONS_DIR = fileURLToPath(new URL('../../prisma/migrations', import.meta.url));

/** The advisory lock key `prisma migrate deploy` takes, so both runners exclude each other. */
export const PRISMA_MIGRATE_LOCK_KEY = 72707369;

export interface MigrationLogger {
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
}

export interface MigrateOptions {
  migrationsDir?: string;
  logger?: MigrationLogger;
}

export interface Migration {
  /** Directory name, e.g. `20261125170238_init`; migrations apply in name order. */
  name: string;
  script: string;
  /** sha256 hex of migration.sql, as Prisma records it. */
  checksum: string;
}

export class MigrationError extends Error {
  override name = 'MigrationError';
}

interface MigrationRow {
  id: string;
  checksum: string;
  migration_name: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
  started_at: Date;
  logs: string | null;
}

// Prisma's own definition of the table (schema-engine, PostgreSQL flavour).
const CREATE_MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

export async function migrate(handle: DbHandle, opts: MigrateOptions = {}): Promise<{ applied: string[] }> {
  const migrations = readMigrations(opts.migrationsDir ?? DEFAULT_MIGRATIONS_DIR);
  return handle.session(async (session) => {
    await session.query('SELECT pg_advisory_lock($1)', [PRISMA_MIGRATE_LOCK_KEY]);
    try {
      return await applyPending(session, migrations, opts.logger);
    } finally {
      await session.query('SELECT pg_advisory_unlock($1)', [PRISMA_MIGRATE_LOCK_KEY]);
    }
  });
}

export function readMigrations(migrationsDir: string): Migration[] {
  assertPostgresqlLock(migrationsDir);
  return readdirSync(migrationsDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(migrationsDir, entry.name, 'migration.sql')))
    .map((entry) => entry.name)
    .sort()
    .map((name) => {
      const script = readFileSync(join(migrationsDir, name, 'migration.sql'), 'utf8');
      return { name, script, checksum: sha256(script) };
    });
}

function assertPostgresqlLock(migrationsDir: string): void {
  const lockFile = join(migrationsDir, 'migration_lock.toml');
  if (!existsSync(migrationsDir))
    throw new MigrationError(`Migrations directory not found: ${migrationsDir}`);
  if (!existsSync(lockFile)) return;
  const provider = /^\s*provider\s*=\s*"([^"]+)"/m.exec(readFileSync(lockFile, 'utf8'))?.[1];
  if (provider !== 'postgresql') {
    throw new MigrationError(`${lockFile} is for provider "${provider}", expected "postgresql"`);
  }
}

async function applyPending(
  session: SqlRunner,
  migrations: Migration[],
  logger: MigrationLogger | undefined,
): Promise<{ applied: string[] }> {
  await session.exec(CREATE_MIGRATIONS_TABLE);
  const rows = await session.query<MigrationRow>(
    'SELECT * FROM "_prisma_migrations" ORDER BY "started_at", "migration_name"',
  );
  assertNoFailedMigration(rows);
  const applied = rows.filter((row) => row.finished_at !== null && row.rolled_back_at === null);
  assertChecksumsUnchanged(applied, migrations);
  warnAboutUnknownMigrations(applied, migrations, logger);

  const appliedNames = new Set(applied.map((row) => row.migration_name));
  const pending = migrations.filter((migration) => !appliedNames.has(migration.name));
  for (const migration of pending) {
    await applyOne(session, migration);
    logger?.info({ migration: migration.name }, 'migration applied');
  }
  return { applied: pending.map((migration) => migration.name) };
}

function assertNoFailedMigration(rows: MigrationRow[]): void {
  const failed = rows.find((row) => row.finished_at === null && row.rolled_back_at === null);
  if (!failed) return;
  throw new MigrationError(
    `Migration \`${failed.migration_name}\` (started at ${failed.started_at.toISOString()}) failed, so no ` +
      'new migrations will be applied. Fix the database by hand, then mark it with ' +
      `\`prisma migrate resolve --rolled-back ${failed.migration_name}\` (to retry it) or ` +
      `\`--applied\` (if you completed it by hand). Error logs:\n${failed.logs ?? '(none)'}`,
  );
}

function assertChecksumsUnchanged(applied: MigrationRow[], migrations: Migration[]): void {
  const byName = new Map(migrations.map((migration) => [migration.name, migration]));
  for (const row of applied) {
    const local = byName.get(row.migration_name);
    if (local && !checksumMatches(local.script, row.checksum)) {
      throw new MigrationError(
        `Migration \`${row.migration_name}\` was modified after it was applied (checksum ${row.checksum} in ` +
          `the database, ${local.checksum} on disk). Restore the file and put the change in a new migration.`,
      );
    }
  }
}

function warnAboutUnknownMigrations(
  applied: MigrationRow[],
  migrations: Migration[],
  logger: MigrationLogger | undefined,
): void {
  const local = new Set(migrations.map((migration) => migration.name));
  const unknown = applied.map((row) => row.migration_name).filter((name) => !local.has(name));
  if (unknown.length > 0) {
    logger?.warn(
      { migrations: unknown },
      'migrations applied to the database are missing from the migrations directory',
    );
  }
}

async function applyOne(session: SqlRunner, migration: Migration): Promise<void> {
  await session.exec('BEGIN');
  try {
    await session.exec(migration.script);
    await session.query(
      `INSERT INTO "_prisma_migrations"
         ("id", "checksum", "migration_name", "started_at", "finished_at", "applied_steps_count")
       VALUES ($1, $2, $3, now(), clock_timestamp(), 1)`,
      [randomUUID(), migration.checksum, migration.name],
    );
    await session.exec('COMMIT');
  } catch (error) {
    await session.exec('ROLLBACK');
    await recordFailure(session, migration, error);
    throw new MigrationError(
      `Migration \`${migration.name}\` failed and was rolled back: ${messageOf(error)}`,
    );
  }
}

/** Leaves the row Prisma leaves behind for a failed migration, which blocks later runs until resolved. */
async function recordFailure(session: SqlRunner, migration: Migration, error: unknown): Promise<void> {
  await session.query(
    `INSERT INTO "_prisma_migrations" ("id", "checksum", "migration_name", "logs", "applied_steps_count")
     VALUES ($1, $2, $3, $4, 0)`,
    [randomUUID(), migration.checksum, migration.name, messageOf(error)],
  );
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Prisma accepts a script whose line endings changed (e.g. a Windows checkout), so do we. */
function checksumMatches(script: string, checksum: string): boolean {
  return sha256(script) === checksum || sha256(script.replace(/\r\n/g, '\n')) === checksum;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
