import type { SqlRunner } from '../../src/db/client';

/**
 * What the server's background work changes on its own, apart from any call: the relay stamps published
 * events, the KDS sweep stamps late tickets, snapshots and retention marks come on timers.
 */
const BACKGROUND_COLUMNS = ['publishedAt', 'lateAt'];
const BACKGROUND_TABLES = ['_prisma_migrations', 'DashboardSnapshot', 'EventPruneMark'];

/**
 * A digest of every row of every table (minus the background work above), by table: two equal fingerprints
 * mean no call inserted, updated or deleted a row in between.
 */
export async function databaseFingerprint(db: SqlRunner): Promise<Record<string, string>> {
  const tables = await db.query<{ name: string }>(
    `SELECT table_name AS name FROM information_schema.tables
     WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND NOT (table_name = ANY($1))
     ORDER BY table_name`,
    [BACKGROUND_TABLES],
  );
  const without = BACKGROUND_COLUMNS.map((column) => ` - '${column}'`).join('');
  const digests = tables.map(
    ({ name }) =>
      `SELECT '${name}' AS name, count(*)::text || ':' || coalesce(md5(string_agg(r.row, '|' ORDER BY r.row)), '') AS digest
       FROM (SELECT (to_jsonb(t)${without})::text AS row FROM "${name}" t) r`,
  );
  const rows = await db.query<{ name: string; digest: string }>(digests.join(' UNION ALL '));
  return Object.fromEntries(rows.map((row) => [row.name, row.digest]));
}
