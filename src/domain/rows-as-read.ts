import { Prisma } from '../generated/prisma/client';

/**
 * The guard of a hot mutation's two round trips (docs/architecture.md, "Hot mutations in one statement"): a read
 * outside any transaction takes the version of every row the mutation relies on (`versionSql`), the service plans
 * the change from what it read, and the one statement (src/events/one-statement.ts) writes only if those rows are
 * still as read (`goIfAsRead`, its "go" CTE). When anything differs, nothing is written and the service takes its
 * transaction, which answers as it always did.
 *
 * A version is the rows' whole text and xmin in id order, so any write of any of them counts. Rows the statement
 * writes are locked (FOR UPDATE, in id order, in the order given: callers list them in the order their transaction
 * path locks them, so the two paths do not deadlock each other); rows it only relies on are compared as the
 * statement's snapshot sees them.
 */

type Table = 'Order' | 'OrderItem' | 'KdsTicket' | 'InventoryItem';

export interface RowsAsRead {
  table: Table;
  /** The rows whose `column` equals `value`: one row by "id", or a set such as an order's items by "orderId". */
  column: string;
  value: string;
  /** What versionSql gave at the read. */
  version: string;
  /** Lock the rows (the statement writes them, or must keep them as they are until it commits). */
  lock?: boolean;
}

/**
 * A row's version: its text and the transaction that wrote it (xmin), so that a write which left every value as it
 * was still counts (a concurrent statement that rewrote the ticket as it was may have changed what the ticket's
 * items say, which the statement reads from its snapshot without locking them).
 */
const ROW_VERSION = `v::text || '@' || v.xmin::text`;

const name = (identifier: string) => `"${identifier.replaceAll('"', '')}"`;

/** SQL text, for the read, of the version of `table`'s rows whose `column` equals `operand` (`$1`, `o."id"`...). */
export function versionSql(table: Table, column: string, operand: string): string {
  return `(SELECT COALESCE(string_agg(${ROW_VERSION}, ',' ORDER BY v."id"), '') FROM ${name(table)} v
    WHERE v.${name(column)} = ${operand})`;
}

/**
 * The "go" CTE (with one CTE per row set before it): ok when every set is still as read, each locked in turn if
 * asked, and then every condition holds (conditions that need the locks come after them). `patch` is null.
 */
export function goIfAsRead(rows: readonly RowsAsRead[], conditions: readonly Prisma.Sql[] = []): Prisma.Sql {
  const ctes = rows.map(
    (set, i) => Prisma.sql`${Prisma.raw(`"asread${i}"`)} AS MATERIALIZED (
      SELECT ${Prisma.raw(ROW_VERSION)} AS "v", v."id" FROM ${Prisma.raw(name(set.table))} v
      WHERE v.${Prisma.raw(name(set.column))} = ${set.value}
      ORDER BY v."id" ${set.lock ? Prisma.raw('FOR UPDATE') : Prisma.empty})`,
  );
  const checks = rows.map(
    (set, i) =>
      Prisma.sql`(SELECT COALESCE(string_agg("v", ',' ORDER BY "id"), '') FROM ${Prisma.raw(`"asread${i}"`)}) = ${set.version}`,
  );
  const ok = [...checks, ...conditions];
  const before = ctes.length ? Prisma.sql`${Prisma.join(ctes, ',\n')},` : Prisma.empty;
  return Prisma.sql`${before}
    "go" AS MATERIALIZED (SELECT ${ok.length ? Prisma.join(ok, ' AND ') : Prisma.sql`true`} AS "ok", NULL::jsonb AS "patch")`;
}

/** What every write of such a statement is conditional on. */
export const IF_GO = Prisma.sql`(SELECT "ok" FROM "go")`;

/** A timestamp parameter as the columns hold it (timestamp without time zone, UTC). */
export const utc = (at: string | null) => Prisma.sql`(${at}::timestamptz AT TIME ZONE 'UTC')`;

/** SQL text, for a read, of a timestamp column as toISOString writes it. */
export const isoSql = (column: string) => `to_char(${column}, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
