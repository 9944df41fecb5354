import type { Db } from '../db/types';
import { Prisma } from '../generated/prisma/client';
import { EVENT_ROW_COLUMNS, type EventRow, envelopeOf } from './outbox';
import type { EventEnvelope } from './types';

/**
 * The Event table as a history to read from (the outbox is its write side): where a topic stands now, what
 * a topic holds after a position, and what a resuming stream missed. Whatever pub/sub lost is here.
 */
export interface EventLog {
  /**
   * The newest committed event id of the tenant (and of system events). Any event of theirs that commits
   * later gets a larger id (see the outbox locks), so it is a safe starting position for a live topic.
   */
  latestId(tenantId: string | null): Promise<bigint>;
  /**
   * latestId and, in the same statement (one snapshot, one round trip), the topic's recent events through
   * it: at most `maxEvents`, none older than `maxAgeMs`. `floor` is the id after which every event of the
   * topic through `position` is in `recent` (the chain: the oldest one's prevId), so a topic feed can
   * serve resumes from cursors at or above it without another read.
   */
  openTopic?(
    topic: string,
    tenantId: string | null,
    window: { maxEvents: number; maxAgeMs: number },
  ): Promise<{ position: bigint; floor: bigint; recent: EventEnvelope[] }>;
  /**
   * Each topic's events after its own position, at most `limit + 1` per topic (one more shows there were too
   * many), through `through` when given; all in id order.
   */
  readTopics(
    positions: ReadonlyArray<{ topic: string; after: bigint }>,
    options: { through?: bigint; limit: number },
  ): Promise<EventEnvelope[]>;
  /**
   * The topics' events after the id (up to `limit + 1`) and how far retention pruned them, in one statement:
   * one round trip per resuming subscriber, and one snapshot for both answers.
   */
  replay(
    topics: readonly string[],
    after: bigint,
    limit: number,
  ): Promise<{ events: EventEnvelope[]; prunedThrough: bigint | null }>;
}

export function createEventLog(db: Db): EventLog {
  return {
    async latestId(tenantId) {
      const [row] = await db.$queryRaw<Array<{ id: bigint | null }>>`
        SELECT GREATEST(
          (SELECT max("id") FROM "Event" WHERE "tenantId" = ${tenantId}),
          (SELECT max("id") FROM "Event" WHERE "tenantId" IS NULL)) AS "id"`;
      return row?.id ?? 0n;
    },

    async openTopic(topic, tenantId, { maxEvents, maxAgeMs }) {
      const rows = await db.$queryRaw<
        Array<Nullable<EventRow> & { latest: bigint | null; head: bigint | null }>
      >`
        WITH latest AS (
          SELECT GREATEST(
            (SELECT max("id") FROM "Event" WHERE "tenantId" = ${tenantId}),
            (SELECT max("id") FROM "Event" WHERE "tenantId" IS NULL)) AS "id")
        SELECT latest."id" AS "latest",
          (SELECT max("id") FROM "Event" WHERE "topic" = ${topic} AND "id" <= latest."id") AS "head",
          e."id", e."tenantId", e."topic", e."kind", e."payload", e."createdAt", e."prevId"
        FROM latest
        LEFT JOIN LATERAL (
          SELECT ${EVENT_ROW_COLUMNS} FROM "Event"
          WHERE "topic" = ${topic} AND "id" <= latest."id"
            AND "createdAt" > (now() AT TIME ZONE 'UTC') - ${maxAgeMs}::float8 * interval '1 millisecond'
          ORDER BY "id" DESC
          LIMIT ${maxEvents}::int) AS e ON TRUE
        ORDER BY e."id"`;
      const position = rows[0]?.latest ?? 0n;
      const recent = rows.filter(
        (row): row is EventRow & { latest: bigint | null; head: bigint | null } => row.id !== null,
      );
      const oldest = recent[0];
      // No recent event: nothing of the topic after its newest event (or after the start, if it has none).
      const floor = oldest ? (oldest.prevId ?? oldest.id - 1n) : (rows[0]?.head ?? position);
      return { position, floor, recent: recent.map(envelopeOf) };
    },

    async readTopics(positions, { through, limit }) {
      if (positions.length === 0) return [];
      const topics = positions.map((p) => p.topic);
      const afters = positions.map((p) => p.after.toString());
      const upTo =
        through === undefined ? Prisma.empty : Prisma.sql`AND "id" <= ${through.toString()}::bigint`;
      const rows = await db.$queryRaw<EventRow[]>`
        SELECT e.* FROM unnest(${topics}::text[], ${afters}::bigint[]) AS t("topic", "after")
        CROSS JOIN LATERAL (
          SELECT ${EVENT_ROW_COLUMNS} FROM "Event"
          WHERE "topic" = t."topic" AND "id" > t."after" ${upTo}
          ORDER BY "id"
          LIMIT ${limit + 1}::int) AS e
        ORDER BY e."id"`;
      return rows.map(envelopeOf);
    },

    async replay(topics, after, limit) {
      const rows = await db.$queryRaw<Array<Nullable<EventRow> & { prunedThrough: bigint | null }>>`
        SELECT mark."prunedThrough", e."id", e."tenantId", e."topic", e."kind", e."payload", e."createdAt",
          e."prevId"
        FROM (SELECT max("prunedThroughId") AS "prunedThrough" FROM "EventPruneMark"
              WHERE "topic" = ANY(${topics as string[]}::text[])) AS mark
        LEFT JOIN LATERAL (
          SELECT ${EVENT_ROW_COLUMNS} FROM "Event"
          WHERE "topic" = ANY(${topics as string[]}::text[]) AND "id" > ${after.toString()}::bigint
          ORDER BY "id"
          LIMIT ${limit + 1}::int) AS e ON TRUE
        ORDER BY e."id"`;
      const events = rows.filter(
        (row): row is EventRow & { prunedThrough: bigint | null } => row.id !== null,
      );
      return { events: events.map(envelopeOf), prunedThrough: rows[0]?.prunedThrough ?? null };
    },
  };
}

type Nullable<T> = { [K in keyof T]: T[K] | null };
