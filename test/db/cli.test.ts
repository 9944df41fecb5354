import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MIGRATIONS_DIR, readMigrations } from '../../src/db/migrate';
import { createTestDatabase, type TestDatabase } from '../support/db';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TSX = fileURLToPath(new URL('../../node_modules/.bin/tsx', import.meta.url));

async function cli(args: string[], env: Record<string, string>) {
  try {
    const { stdout, stderr } = await promisify(execFile)(TSX, ['src/db/cli.ts', ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, ...env },
      timeout: 30_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

// Each test starts the CLI in a process of its own (tsx compiles it first): slow on a busy machine.
describe('db CLI', { timeout: 120_000 }, () => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createTestDatabase({ empty: true });
  });
  afterAll(() => database?.drop());

  it('seeds an empty PostgreSQL database (migrating it first), then has nothing to migrate', async () => {
    const seeded = await cli(['seed'], { DATABASE_URL: database.url });
    expect(seeded).toMatchObject({ code: 0, stderr: '' });
    expect(seeded.stdout).toContain(`Applied ${readMigrations(DEFAULT_MIGRATIONS_DIR).length} migration(s).`);
    expect(seeded.stdout).toContain('Demo data loaded');
    expect(await database.handle.db.user.count()).toBe(10);

    const migrated = await cli(['migrate'], { DATABASE_URL: database.url });
    expect(migrated).toMatchObject({ code: 0, stderr: '' });
    expect(migrated.stdout).toContain('No pending migrations.');
  });

  it('exits with 2 and the usage on an unknown command', async () => {
    const result = await cli(['frobnicate'], {});
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('Unknown command: frobnicate');
    expect(result.stderr).toContain('Usage: tsx src/db/cli.ts <command>');
  });

  it('refuses to reset in production without --force', async () => {
    const result = await cli(['reset'], {
      NODE_ENV: 'production',
      JWT_SECRET: 'a-production-secret-value',
      DATABASE_URL: database.url,
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('Refusing to reset a production database without --force.');
    expect(await database.handle.db.user.count()).toBe(10);
  });
});
