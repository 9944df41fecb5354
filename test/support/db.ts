import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { createDb, type DbHandle } from '../../src/db/client';
import { DEFAULT_MIGRATIONS_DIR, migrate } from '../../src/db/migrate';
import { seed } from '../../src/db/seed';
import { started } from './started';

/**
 * Real PostgreSQL databases for tests: each test file clones a template (migrated, optionally
 * seeded) built once per run by global-setup.ts, which takes milliseconds instead of migrating.
 */

/** Maintenance connection used to create and drop databases; override with TEST_DATABASE_URL. */
export const TEST_DATABASE_ADMIN_URL =
  process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

export const TEST_DATABASE_PREFIX = 'expediter_t_';
const TEMPLATE_PREFIX = 'expediter_tpl_';

export interface TestDatabase {
  url: string;
  /** Database name, e.g. expediter_t_mgxk2a_1234_9f3c. */
  name: string;
  handle: DbHandle;
  /** Closes the handle and drops the database. */
  drop(): Promise<void>;
}

export interface TestDatabaseOptions {
  /** Load the demo data (src/db/demo-data.ts). */
  seed?: boolean;
  /** An empty database without migrations (for testing the migration runner itself). */
  empty?: boolean;
}

/** A test file's database, created before its tests and dropped after them. */
export function useTestDatabase(opts: TestDatabaseOptions = {}): TestDatabase {
  return started(
    () => createTestDatabase(opts),
    (database) => database.drop(),
  );
}

export async function createTestDatabase(opts: TestDatabaseOptions = {}): Promise<TestDatabase> {
  const name = newTestDatabaseName();
  const template = opts.empty ? 'template0' : templateNames()[opts.seed ? 'seeded' : 'migrated'];
  await createDatabaseFrom(name, template);
  const url = databaseUrl(name);
  const handle = await createDb({ databaseUrl: url, dataDir: join(tmpdir(), 'expediter-unused') });
  return {
    url,
    name,
    handle,
    async drop() {
      await handle.close();
      await withAdmin((admin) => admin.query(`DROP DATABASE IF EXISTS ${ident(name)} WITH (FORCE)`));
    },
  };
}

/** The URL of database `name` on the test server. */
export function databaseUrl(name: string): string {
  const url = new URL(TEST_DATABASE_ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Names carry their creation time so a later run can tell leftovers from a concurrent run's databases. */
function newTestDatabaseName(): string {
  const createdAt = Math.floor(Date.now() / 1000).toString(36);
  return `${TEST_DATABASE_PREFIX}${createdAt}_${process.pid}_${randomBytes(3).toString('hex')}`;
}

export function testDatabaseCreatedAt(name: string): Date | undefined {
  if (!name.startsWith(TEST_DATABASE_PREFIX)) return undefined;
  const seconds = Number.parseInt(name.slice(TEST_DATABASE_PREFIX.length).split('_')[0] ?? '', 36);
  return Number.isNaN(seconds) ? undefined : new Date(seconds * 1000);
}

async function createDatabaseFrom(name: string, template: string): Promise<void> {
  const create = (admin: pg.Client) =>
    admin.query(`CREATE DATABASE ${ident(name)} TEMPLATE ${ident(template)}`);
  try {
    await withAdmin(create);
  } catch (error) {
    // Run without global-setup (or a template dropped meanwhile): build the templates and retry once.
    if ((error as { code?: string }).code !== '3D000') throw error;
    await ensureTemplates();
    await withAdmin(create);
  }
}

/**
 * Template names include a hash of everything that shapes them (migrations, seed and demo data),
 * so a change rebuilds them instead of cloning a stale one.
 */
export function templateNames(): { migrated: string; seeded: string } {
  const hash = createHash('sha256');
  for (const name of readdirSync(DEFAULT_MIGRATIONS_DIR, { recursive: true, encoding: 'utf8' }).sort()) {
    if (name.endsWith('.sql') || name.endsWith('.toml')) {
      hash.update(name).update(readFileSync(join(DEFAULT_MIGRATIONS_DIR, name)));
    }
  }
  for (const file of ['seed.ts', 'demo-data.ts']) {
    hash.update(file).update(readFileSync(fileURLToPath(new URL(`../../src/db/${file}`, import.meta.url))));
  }
  const digest = hash.digest('hex').slice(0, 12);
  return { migrated: `${TEMPLATE_PREFIX}${digest}`, seeded: `${TEMPLATE_PREFIX}${digest}_seeded` };
}

// Serialises template builds across concurrent test runs on one server (any 64-bit key unused elsewhere).
const TEMPLATE_BUILD_LOCK_KEY = 7_270_736_901;

/** Builds the missing templates; returns the names it built. Safe when several runs start at once. */
export async function ensureTemplates(): Promise<string[]> {
  const { migrated, seeded } = templateNames();
  return withAdmin(async (admin) => {
    await admin.query('SELECT pg_advisory_lock($1)', [TEMPLATE_BUILD_LOCK_KEY]);
    try {
      const built: string[] = [];
      if (!(await databaseExists(admin, migrated))) {
        await buildTemplate(admin, migrated, false);
        built.push(migrated);
      }
      if (!(await databaseExists(admin, seeded))) {
        await buildTemplate(admin, seeded, true);
        built.push(seeded);
      }
      await dropStaleTemplates(admin, [migrated, seeded]);
      return built;
    } finally {
      await admin.query('SELECT pg_advisory_unlock($1)', [TEMPLATE_BUILD_LOCK_KEY]);
    }
  });
}

/** Builds under a temporary name and renames when complete, so an existing template is always whole. */
async function buildTemplate(admin: pg.Client, name: string, withSeed: boolean): Promise<void> {
  const building = `${name}_building`;
  await admin.query(`DROP DATABASE IF EXISTS ${ident(building)} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${ident(building)} TEMPLATE template0`);
  const handle = await createDb({
    databaseUrl: databaseUrl(building),
    dataDir: join(tmpdir(), 'expediter-unused'),
  });
  try {
    await migrate(handle);
    if (withSeed) await seed(handle.db);
  } finally {
    await handle.close();
  }
  await admin.query(`ALTER DATABASE ${ident(building)} RENAME TO ${ident(name)}`);
}

async function dropStaleTemplates(admin: pg.Client, current: string[]): Promise<void> {
  const { rows } = await admin.query<{ datname: string }>(
    'SELECT datname FROM pg_database WHERE starts_with(datname, $1) AND NOT (datname = ANY($2))',
    [TEMPLATE_PREFIX, current],
  );
  for (const { datname } of rows) {
    await admin.query(`DROP DATABASE IF EXISTS ${ident(datname)}`).catch(() => {});
  }
}

/**
 * Drops test databases created before `olderThan` that nobody is connected to (leftovers of interrupted runs);
 * returns their names. One still in use belongs to something long-running (a bench shares these databases) and is
 * kept: an interrupted run's connections are gone with its processes.
 */
export async function dropLeftoverTestDatabases(olderThan: Date): Promise<string[]> {
  return withAdmin(async (admin) => {
    const { rows } = await admin.query<{ datname: string }>(
      'SELECT datname FROM pg_database WHERE starts_with(datname, $1)',
      [TEST_DATABASE_PREFIX],
    );
    const candidates = rows
      .map((row) => row.datname)
      .filter((name) => (testDatabaseCreatedAt(name)?.getTime() ?? 0) < olderThan.getTime());
    const dropped: string[] = [];
    for (const name of candidates) {
      try {
        await admin.query(`DROP DATABASE IF EXISTS ${ident(name)}`);
        dropped.push(name);
      } catch (error) {
        if ((error as { code?: string }).code !== OBJECT_IN_USE) throw error;
      }
    }
    return dropped;
  });
}

/** SQLSTATE of DROP DATABASE while other sessions are connected to it. */
const OBJECT_IN_USE = '55006';

async function databaseExists(admin: pg.Client, name: string): Promise<boolean> {
  const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
  return rowCount === 1;
}

export async function withAdmin<T>(fn: (admin: pg.Client) => Promise<T>): Promise<T> {
  const admin = new pg.Client({ connectionString: TEST_DATABASE_ADMIN_URL, connectionTimeoutMillis: 5000 });
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.end();
  }
}

function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
