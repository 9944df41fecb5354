import { Prisma } from '../generated/prisma/client';
import { toJson } from './pubsub';
import type { EventEnvelope, NewEvent } from './types';

/**
 * A unit of work as ONE statement: the caller's data-modifying CTEs and the outbox insert, sent in one round trip
 * and committed on their own (autocommit). What Prisma's interactive transaction costs per mutation (BEGIN,
 * each statement through the client runtime at 150-300 µs of CPU, COMMIT) is what the hot mutations spend most
 * of their time on (bench/RESULTS.md, "The write path"); a hot path that can say everything in one statement
 * uses this, and falls back to `run` when it cannot (see `StatementWork`).
 *
 * The guarantees are the unit of work's (src/events/outbox.ts, insertEvents): the events are the statement's
 * last writes, their ids drawn under the same advisory locks (taken only after every row lock of the caller's
 * CTEs, so the lock order is that of a transaction: rows first, then the tenant's event lock), each event
 * chained to the previous one of its topic through EventTopicHead, published after the commit.
 */

/** An event of the statement; `patch`: its payload gets the statement's computed value (`go.patch`) at this path. */
export interface StatementEvent extends NewEvent {
  patch?: readonly string[];
}

export interface StatementWork {
  /**
   * The caller's CTEs (comma-separated, without WITH). One of them, `"go"`, is one row with `ok` (boolean:
   * whether to apply) and `patch` (jsonb or null: the value patched into events); EVERY write of the CTEs must be
   * conditional on `(SELECT "ok" FROM "go")`, and "go" must depend on the row locks the writes need, so that
   * when ok is false the statement changes nothing (the caller then takes the slow path).
   */
  ctes: Prisma.Sql;
  events: readonly StatementEvent[];
}

export interface StatementOutcome {
  ok: boolean;
  /** `go.patch` as JSON. */
  patch: unknown;
  /** The committed events, in id order (none when !ok). */
  envelopes: EventEnvelope[];
}

/** Runs one SQL statement with $1-style parameters (the pg pool in PostgreSQL mode, Prisma's raw query with PGlite). */
export type SqlQuery = (text: string, values: unknown[]) => Promise<Record<string, unknown>[]>;

// Advisory lock keys (two-int form, a space of its own): class EVENTS_LOCK_CLASS holds one lock per
// tenant; GLOBAL_EVENTS_LOCK orders tenant events against `sys:` events (tenantId null).
const EVENTS_LOCK_CLASS = 0x45564e54; // 'EVNT'
const GLOBAL_EVENTS_LOCK_CLASS = 0x45564e47; // 'EVNG'

/**
 * The advisory locks that make event ids follow commit order (see insertEvents in outbox.ts), in the one order
 * every writer takes them: the global lock (exclusive for `sys:` events, shared otherwise), then each tenant's,
 * sorted, so two writers cannot deadlock on them.
 */
export function eventLocks(events: readonly Pick<NewEvent, 'tenantId'>[]): Prisma.Sql[] {
  const tenants = [...new Set(events.map((event) => event.tenantId))];
  return [
    tenants.includes(null)
      ? Prisma.sql`pg_advisory_xact_lock(${GLOBAL_EVENTS_LOCK_CLASS}::int, 0)`
      : Prisma.sql`pg_advisory_xact_lock_shared(${GLOBAL_EVENTS_LOCK_CLASS}::int, 0)`,
    ...tenants
      .filter((t): t is string => t !== null)
      .sort()
      .map((tenantId) => Prisma.sql`pg_advisory_xact_lock(${EVENTS_LOCK_CLASS}::int, hashtext(${tenantId}))`),
  ];
}

export function statementSql(work: StatementWork): { sql: Prisma.Sql; payloads: string[] } {
  const { events } = work;
  const payloads = events.map((event) => toJson(event.payload ?? null));
  if (events.length === 0) {
    return {
      sql: Prisma.sql`WITH ${work.ctes} SELECT "ok", "patch"::text AS "patch", '[]' AS "events" FROM "go"`,
      payloads,
    };
  }
  const locks = eventLocks(events);
  const values = events.map(
    (event, i) =>
      Prisma.sql`(${i}::int, ${event.tenantId}, ${event.topic}, ${event.kind}, ${payloads[i]}::jsonb, ${
        event.patch ? `{${event.patch.join(',')}}` : null
      }::text[])`,
  );
  // As insertEvents: locks first (only when ok, and after "go", which holds the caller's row locks), then ids in
  // draw order given to the events in emit order, topic heads moved, events chained (prevId).
  const sql = Prisma.sql`
    WITH ${work.ctes},
    "evlock" AS MATERIALIZED (SELECT ${Prisma.join(locks)} FROM "go" WHERE "go"."ok"),
    "evids" AS MATERIALIZED (
      SELECT nextval(pg_get_serial_sequence('"Event"', 'id')) AS "id"
      FROM "evlock", generate_series(1, ${events.length}::int)),
    "evrows" AS MATERIALIZED (
      SELECT n."id", v."tenantId", v."topic", v."kind",
        CASE WHEN v."path" IS NULL THEN v."payload"
          ELSE jsonb_set(v."payload", v."path", (SELECT "patch" FROM "go")) END AS "payload"
      FROM (SELECT "id", (row_number() OVER (ORDER BY "id") - 1)::int AS "ord" FROM "evids") AS n
      JOIN (VALUES ${Prisma.join(values)}) AS v("ord", "tenantId", "topic", "kind", "payload", "path")
        ON v."ord" = n."ord"),
    "evheads" AS (
      INSERT INTO "EventTopicHead" ("topic", "lastId")
      SELECT "topic", max("id") FROM "evrows" GROUP BY "topic"
      ON CONFLICT ("topic") DO UPDATE
        SET "replacedId" = "EventTopicHead"."lastId", "lastId" = EXCLUDED."lastId"
      RETURNING "topic", "replacedId"),
    "evins" AS (
      INSERT INTO "Event" ("id", "tenantId", "topic", "kind", "payload", "createdAt", "prevId")
      SELECT r."id", r."tenantId", r."topic", r."kind", r."payload", clock_timestamp() AT TIME ZONE 'UTC',
        COALESCE(lag(r."id") OVER (PARTITION BY r."topic" ORDER BY r."id"), h."replacedId")
      FROM "evrows" AS r LEFT JOIN "evheads" AS h ON h."topic" = r."topic"
      ORDER BY r."id"
      RETURNING "id", "createdAt", "prevId")
    SELECT "ok", "patch"::text AS "patch",
      (SELECT COALESCE(json_agg(json_build_array("id"::text,
          to_char("createdAt", 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), "prevId"::text) ORDER BY "id"), '[]')::text
        FROM "evins") AS "events"
    FROM "go"`;
  return { sql, payloads };
}

/** Sends the statement and reads its outcome: the envelopes are the events as committed, payloads patched. */
export async function runStatement(query: SqlQuery, work: StatementWork): Promise<StatementOutcome> {
  const { sql, payloads } = statementSql(work);
  const [row] = await query(sql.text, sql.values);
  if (!row) throw new Error('one-statement unit of work: "go" returned no row');
  const ok = row.ok === true;
  const patch = row.patch == null ? null : JSON.parse(String(row.patch));
  if (!ok) return { ok, patch, envelopes: [] };
  const committed = JSON.parse(String(row.events)) as [string, string, string | null][];
  if (committed.length !== work.events.length)
    throw new Error('one-statement unit of work: events not inserted');
  const envelopes = work.events.map((event, i) => {
    const [id, createdAt, prevId] = committed[i] as [string, string, string | null];
    const payload = JSON.parse(payloads[i] as string);
    if (event.patch) setAt(payload, event.patch, patch);
    return { id, tenantId: event.tenantId, topic: event.topic, kind: event.kind, payload, createdAt, prevId };
  });
  return { ok, patch, envelopes };
}

function setAt(target: Record<string, unknown>, path: readonly string[], value: unknown) {
  let node = target;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string, unknown>;
  node[path.at(-1) as string] = value;
}
