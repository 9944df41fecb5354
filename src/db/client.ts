import { mkdirSync } from 'node:fs';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../generated/prisma/client';
import type { Db } from './types';

/** Raw SQL access outside Prisma. */
export interface SqlRunner {
  /** Runs one statement with $1-style parameters; returns rows. */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Runs a multi-statement SQL script (a migration file). */
  exec(sql: string): Promise<void>;
}

export interface DbHandle extends SqlRunner {
  db: Db;
  /** 'postgres' through adapter-pg, or 'pglite' embedded under dataDir. */
  mode: 'postgres' | 'pglite';
  /**
   * Runs fn on one database session held for its whole duration, for session state such as
   * advisory locks and BEGIN/COMMIT (query/exec above may each use a different pooled connection).
   * Sessions of one handle never overlap in PGlite mode (a single embedded backend).
   */
  session<T>(fn: (session: SqlRunner) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export async function createDb(opts: {
  databaseUrl?: string;
  dataDir: string;
  /** PostgreSQL: the pool's connections (10 by default). */
  poolSize?: number;
}): Promise<DbHandle> {
  return opts.databaseUrl
    ? createPostgres(opts.databaseUrl, opts.poolSize ?? 10)
    : createPglite(opts.dataDir);
}

async function createPostgres(url: string, poolSize: number): Promise<DbHandle> {
  const pg = await import('pg');
  const pool = new pg.default.Pool({ connectionString: url, max: poolSize });
  // An idle client whose connection the server ends (restart, failover) emits 'error'; the pool replaces it.
  pool.on('error', () => {});
  // 'minimal': the other formats capture a stack trace (new Error) on every query to point at its call site.
  const db = new PrismaClient({ adapter: new PrismaPg(pool), errorFormat: 'minimal' });
  return {
    db,
    mode: 'postgres',
    async query(sql, params = []) {
      return (await pool.query(sql, params)).rows;
    },
    async exec(sql) {
      await pool.query(sql);
    },
    async session(fn) {
      const client = await pool.connect();
      let failed = false;
      try {
        return await fn({
          async query(sql, params = []) {
            return (await client.query(sql, params)).rows;
          },
          async exec(sql) {
            await client.query(sql);
          },
        });
      } catch (error) {
        failed = true;
        throw error;
      } finally {
        // A session that failed may still hold a lock or an open transaction: discard it.
        client.release(failed);
      }
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
  const db = new PrismaClient({ adapter: new PrismaPGlite(pglite), errorFormat: 'minimal' });
  const runner: SqlRunner = {
    async query(sql, params = []) {
      return (await pglite.query(sql, params)).rows as never[];
    },
    async exec(sql) {
      await pglite.exec(sql);
    },
  };
  let lastSession: Promise<unknown> = Promise.resolve();
  return {
    db,
    mode: 'pglite',
    ...runner,
    session(fn) {
      const next = lastSession.then(() => fn(runner));
      lastSession = next.catch(() => {});
      return next;
    },
    async close() {
      await db.$disconnect();
      await pglite.close();
    },
  };
}
