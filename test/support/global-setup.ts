import { dropLeftoverTestDatabases, ensureTemplates, TEST_DATABASE_ADMIN_URL, withAdmin } from './db';

// Test databases live for one test file (seconds); anything this old was left by an interrupted run,
// while younger ones may belong to a run another engineer started on the same server.
const LEFTOVER_AGE_MS = 15 * 60_000;

/** Vitest globalSetup: checks PostgreSQL, builds the database templates once per run, drops leftovers. */
export default async function setup(): Promise<void> {
  await assertPostgresReachable();
  await dropLeftoverTestDatabases(new Date(Date.now() - LEFTOVER_AGE_MS));
  await ensureTemplates();
}

async function assertPostgresReachable(): Promise<void> {
  try {
    await withAdmin((admin) => admin.query('SELECT 1'));
  } catch (error) {
    const redacted = TEST_DATABASE_ADMIN_URL.replace(/\/\/([^:@/]+):[^@/]+@/, '//$1:***@');
    throw new Error(
      `PostgreSQL is not reachable at ${redacted} (${(error as Error).message}). The tests need a real ` +
        'PostgreSQL: start it (e.g. `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`) ' +
        'or point TEST_DATABASE_URL at one.',
    );
  }
}
