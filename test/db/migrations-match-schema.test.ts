import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SqlRunner } from '../../src/db/client';
import { migrate } from '../../src/db/migrate';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { type ExpectedDatabase, expectedDatabase } from './prisma-schema';

const SCHEMA = readFileSync(new URL('../../prisma/schema.prisma', import.meta.url), 'utf8');

const ACTIONS: Record<string, string> = {
  a: 'NO ACTION',
  r: 'RESTRICT',
  c: 'CASCADE',
  n: 'SET NULL',
  d: 'SET DEFAULT',
};

/** The same shape as expectedDatabase(), read from pg_catalog. */
async function actualDatabase(sql: SqlRunner): Promise<ExpectedDatabase> {
  const enums = await sql.query<{ name: string; values: string[] }>(`
    SELECT t.typname AS name, array_agg(e.enumlabel ORDER BY e.enumsortorder)::text[] AS values
    FROM pg_type t
    JOIN pg_enum e ON e.enumtypid = t.oid
    JOIN pg_namespace n ON n.oid = t.typnamespace AND n.nspname = 'public'
    GROUP BY t.typname`);
  const columns = await sql.query<ExpectedDatabase['columns'][number]>(`
    SELECT c.relname AS table, a.attname AS column, format_type(a.atttypid, a.atttypmod) AS type,
           a.attnotnull AS "notNull", a.atthasdef AS "hasDefault"
    FROM pg_attribute a
    JOIN pg_class c ON c.oid = a.attrelid AND c.relkind = 'r'
    JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
    WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relname <> '_prisma_migrations'`);
  const indexes = await sql.query<ExpectedDatabase['indexes'][number]>(`
    SELECT t.relname AS table, i.relname AS name, ix.indisunique AS unique, ix.indisprimary AS primary,
           array(SELECT a.attname FROM unnest(ix.indkey::int2[]) WITH ORDINALITY k(attnum, ord)
                 JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum ORDER BY k.ord)::text[] AS columns
    FROM pg_index ix
    JOIN pg_class i ON i.oid = ix.indexrelid
    JOIN pg_class t ON t.oid = ix.indrelid
    JOIN pg_namespace n ON n.oid = t.relnamespace AND n.nspname = 'public'
    WHERE t.relname <> '_prisma_migrations'`);
  const foreignKeys = await sql.query<ExpectedDatabase['foreignKeys'][number]>(`
    SELECT t.relname AS table, con.conname AS name, rt.relname AS "referencedTable",
           array(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY k(attnum, ord)
                 JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum ORDER BY k.ord)::text[] AS columns,
           array(SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY k(attnum, ord)
                 JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum ORDER BY k.ord)::text[]
             AS "referencedColumns",
           con.confdeltype AS "onDelete", con.confupdtype AS "onUpdate"
    FROM pg_constraint con
    JOIN pg_class t ON t.oid = con.conrelid
    JOIN pg_class rt ON rt.oid = con.confrelid
    JOIN pg_namespace n ON n.oid = t.relnamespace AND n.nspname = 'public'
    WHERE con.contype = 'f'`);
  return {
    enums,
    columns,
    indexes,
    foreignKeys: foreignKeys.map((fk) => ({
      ...fk,
      onDelete: ACTIONS[fk.onDelete] ?? fk.onDelete,
      onUpdate: ACTIONS[fk.onUpdate] ?? fk.onUpdate,
    })),
  };
}

/** Order-independent comparison with a readable diff: one sorted line per item. */
function lines(items: object[]): string[] {
  return items.map((item) => JSON.stringify(item, Object.keys(item).sort())).sort();
}

describe('the migrated database matches prisma/schema.prisma', () => {
  let database: TestDatabase;
  let actual: ExpectedDatabase;
  const expected = expectedDatabase(SCHEMA);

  beforeAll(async () => {
    database = await createTestDatabase({ empty: true });
    await migrate(database.handle);
    actual = await actualDatabase(database.handle);
  });
  afterAll(() => database?.drop());

  it('has every enum with its values in order', () => {
    expect(lines(actual.enums)).toEqual(lines(expected.enums));
  });

  it('has a table for every model and a column for every field, with type, nullability and default', () => {
    expect(lines(actual.columns)).toEqual(lines(expected.columns));
  });

  it('has the primary key, unique and secondary index of every @id, @unique, @@id, @@unique and @@index', () => {
    expect(lines(actual.indexes)).toEqual(lines(expected.indexes));
  });

  it('has a foreign key for every relation, with referential actions', () => {
    expect(lines(actual.foreignKeys)).toEqual(lines(expected.foreignKeys));
  });

  it('notices a difference (the comparison can fail)', async () => {
    await database.handle.exec('ALTER TABLE "Store" ALTER COLUMN "timezone" DROP DEFAULT');
    await database.handle.exec('DROP INDEX "Event_topic_id_idx"');
    const changed = await actualDatabase(database.handle);
    expect(lines(changed.columns)).not.toEqual(lines(expected.columns));
    expect(lines(changed.indexes)).not.toEqual(lines(expected.indexes));
  });
});

describe('expectedDatabase (the schema reader)', () => {
  const schema = `
    enum Kind {
      A
      B @map("b")
      @@map("kind")
    }
    model Thing {
      id      String   @id @default(uuid()) // comment
      seq     BigInt   @default(autoincrement())
      code    String   @unique(map: "thing_code")
      kinds   Kind[]
      ownerId String?  @map("owner_id")
      owner   Owner?   @relation(fields: [ownerId], references: [id], onDelete: Cascade)
      at      DateTime @updatedAt
      @@index([seq, at(sort: Desc)])
      @@map("things")
    }
    model Owner {
      id     String  @id
      things Thing[]
    }`;
  const expected = expectedDatabase(schema);

  it('maps names, types, nullability and defaults as Prisma does', () => {
    expect(expected.enums).toEqual([{ name: 'kind', values: ['A', 'b'] }]);
    expect(expected.columns.filter((c) => c.table === 'things')).toEqual([
      { table: 'things', column: 'id', type: 'text', notNull: true, hasDefault: false },
      { table: 'things', column: 'seq', type: 'bigint', notNull: true, hasDefault: true },
      { table: 'things', column: 'code', type: 'text', notNull: true, hasDefault: false },
      { table: 'things', column: 'kinds', type: '"kind"[]', notNull: false, hasDefault: false },
      { table: 'things', column: 'owner_id', type: 'text', notNull: false, hasDefault: false },
      {
        table: 'things',
        column: 'at',
        type: 'timestamp(3) without time zone',
        notNull: true,
        hasDefault: false,
      },
    ]);
  });

  it('names indexes and foreign keys by Prisma convention unless mapped', () => {
    expect(expected.indexes.map((i) => i.name)).toEqual([
      'things_pkey',
      'thing_code',
      'things_seq_at_idx',
      'Owner_pkey',
    ]);
    expect(expected.foreignKeys).toEqual([
      {
        table: 'things',
        name: 'things_owner_id_fkey',
        columns: ['owner_id'],
        referencedTable: 'Owner',
        referencedColumns: ['id'],
        onDelete: 'CASCADE',
        onUpdate: 'CASCADE',
      },
    ]);
  });

  it('refuses a line it does not understand', () => {
    expect(() => expectedDatabase('model Broken {\n  id String @id\n  ???\n}')).toThrow(/Unrecognised line/);
  });
});
