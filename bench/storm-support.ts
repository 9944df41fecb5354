import { fork } from 'node:child_process';
import type { Redis } from 'ioredis';
import type { createTestDatabase } from '../test/support/db';
import { Child } from './child';
import { nowMs, type ServerReply, type ServerRequest, type ServerStats } from './protocol';
import type { StormReply, StormRequest, StormSystem } from './storm-protocol';

/** bench/storm.ts's child processes (servers A and B, client processes) and its PostgreSQL and Redis readings. */

export type Database = Awaited<ReturnType<typeof createTestDatabase>>;

// ---------------------------------------------------------------------------------------------------------
// Child processes

export { Child };

export type Server = Child<ServerRequest, ServerReply & { type: string }> & { url: string; wsUrl: string };
export type Client = Child<StormRequest, StormReply>;

export function spawn(file: string, env: Record<string, string> = {}) {
  return fork(new URL(file, import.meta.url).pathname, [], {
    execArgv: ['--import', 'tsx', '--expose-gc'],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    serialization: 'advanced',
  });
}

export async function startServer(system: StormSystem, env: Record<string, string>): Promise<Server> {
  const file = system === 'expediter' ? './servers/expediter.ts' : './servers/socketio-recovery.ts';
  const child = new Child<ServerRequest, ServerReply & { type: string }>(spawn(file, env));
  const { port } = (await child.ready) as { port: number };
  const base = `127.0.0.1:${port}`;
  return Object.assign(child, {
    url: `http://${base}`,
    wsUrl: system === 'expediter' ? `ws://${base}/graphql` : `ws://${base}`,
  });
}

export const stats = (server: Server) => server.ask<ServerReply & ServerStats>({ cmd: 'stats' }, 'stats');

// ---------------------------------------------------------------------------------------------------------
// What the storm costs PostgreSQL and Redis

export interface Load {
  at: number;
  /** Transactions of the bench database (pg_stat_database: commits + rollbacks). */
  xacts: number;
  /** Commands Redis processed (INFO stats), every client of the server together. */
  redisCommands: number;
  /** Expediter B's own counters (/metrics): Event-table reads, resumes by source, connections shed. */
  eventLogQueries: number;
  resumesFromMemory: number;
  resumesFromTable: number;
  shed: number;
}

export async function load(database: Database, redis: Redis, b: Server, system: StormSystem): Promise<Load> {
  await database.handle.query('SELECT pg_stat_clear_snapshot()');
  const rows = (await database.handle.query(
    'SELECT (xact_commit + xact_rollback)::text AS n FROM pg_stat_database WHERE datname = $1',
    [database.name],
  )) as Array<{ n: string }>;
  const info = await redis.info('stats');
  // An instance that does not answer /metrics in time leaves its rows empty rather than the run without a table.
  const metrics = system === 'expediter' ? await metricsOf(b).catch(() => undefined) : '';
  const sum = (name: string, label = '') =>
    metrics === undefined
      ? Number.NaN
      : metrics
          .split('\n')
          .filter((line) => line.startsWith(name) && line.includes(label))
          .reduce((total, line) => total + Number(line.split(' ').at(-1)), 0);
  return {
    at: nowMs(),
    xacts: Number(rows[0]?.n ?? 0),
    redisCommands: Number(/total_commands_processed:(\d+)/.exec(info)?.[1] ?? 0),
    eventLogQueries: sum('expediter_event_log_queries_total'),
    resumesFromMemory: sum('expediter_stream_resumes_total', 'source="memory"'),
    resumesFromTable: sum('expediter_stream_resumes_total', 'source="table"'),
    shed: sum('expediter_ws_connections_shed_total'),
  };
}

/** B's /metrics, asked again a few times: a busy instance may reset a connection in a storm. */
async function metricsOf(server: Server): Promise<string> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await (await fetch(`${server.url}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
    } catch (error) {
      if (attempt >= 2) throw error;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}
