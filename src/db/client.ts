import { mkdirSync } from 'node:fs';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../generated/prisma/client';
import type { Db } from './types';

export interface DbHandle {
  db: Db;
  /** 'postgres' through adapter-pg, or 'pglite' embedded under dataDir. */
  mode: 'postgres' | 'pglite';
  /** Runs raw SQL outside Prisma (migrations); returns rows. */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Runs a multi-statement SQL script (a migration file). */
  exec(sql: string): Promise<void>;
  close(): Promise<void>;
}

export async function createDb(opts: { databaseUrl?: string; dataDir: string }): Promise<DbHandle> {
  return opts.databaseUrl ? createPostgres(opts.databaseUrl) : createPglite(opts.dataDir);
}

async function createPostgres(url: string): Promise<DbHandle> {
  const pg = await import('pg');
  const pool = new pg.default.Pool({ connectionString: url, max: 10 });
  const db = new PrismaClient({ adapter: new PrismaPg(pool) });
  return {
    db,
    mode: 'postgres',
    async query(sql, params = []) {
      return (await pool.query(sql, params)).rows;
    },
    async exec(sql) {
      await pool.query(sql);
    },
    async close() {
      await db.$disconnect();
      await pool.end().catch(() => {});
    },
  };
}

async function createPglite(dataDir: string): Promise<DbHandle> {
  const [{ PGlite }, { PrismaPGlite }] = await Promise.all([
    import('@electric-sql/pglite'),
    import('pglite-prisma-adapter'),
  ]);
  mkdirSync(dataDir, { recursive: true });
  const pglite = new PGlite(`${dataDir}/pglite`);
  await pglite.waitReady;
  const db = new PrismaClient({ adapter: new PrismaPGlite(pglite) });
  return {
    db,
    mode: 'pglite',
    async query(sql, params = []) {
      return (await pglite.query(sql, params)).rows as never[];
    },
    async exec(sql) {
      await pglite.exec(sql);
    },
    async close() {
      await db.$disconnect();
      await pglite.close();
    },
  };
}
