import { randomUUID } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { tokenForDemoUser } from '../src/auth/tokens';
import { encodeCursor } from '../src/events/cursor';
import { topics } from '../src/events/topics';
import { createTestDatabase } from '../test/support/db';
import { BENCH_JWT_SECRET, BENCH_STORE, BENCH_TENANT, nowMs } from './protocol';
import type { StormReply, StormReport, StormRequest, StormSystem } from './storm-protocol';
import { Child, type Client, type Database, load, spawn, startServer, stats } from './storm-support';
import { baselineTrigger, expediterTrigger, fireContinuously, type Trigger } from './triggers';

/**
 * `npm run bench:storm`: the reconnect storm. N subscribers on instance A, events at RATE/s (written through
 * a third instance throughout); A is stopped (SIGTERM: its graceful close; then SIGKILL in a second round) and
 * every subscriber reconnects to B and resumes. Measured: time until every subscriber is live again, events
 * lost and duplicated, PostgreSQL transactions and Event-table reads during the storm, Redis commands, and
 * B's CPU. Expediter against Socket.io with connection state recovery (bench/servers/socketio-recovery.ts).
 * Loopback only; every wait is bounded, so it stops by itself.
 */

const USAGE = `npm run bench:storm -- [--n 10000] [--rate 20] [--signals SIGTERM,SIGKILL] [--systems expediter,socketio]
  [--clients 2] [--recovery-timeout 120] [--results (append the tables to bench/RESULTS.md)]`;

const { values: flags } = parseArgs({
  options: {
    n: { type: 'string', default: '10000' },
    rate: { type: 'string', default: '20' },
    signals: { type: 'string', default: 'SIGTERM,SIGKILL' },
    systems: { type: 'string', default: 'expediter,socketio' },
    clients: { type: 'string', default: '2' },
    'recovery-timeout': { type: 'string', default: '120' },
    results: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (flags.help) {
  console.log(USAGE);
  process.exit(0);
}

const N = Number(flags.n);
const RATE = Number(flags.rate);
const CLIENT_PROCESSES = Number(flags.clients);
const RECOVERY_TIMEOUT_MS = Number(flags['recovery-timeout']) * 1000;
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const ORDER_TOPIC = topics.storeOrders(BENCH_TENANT, BENCH_STORE);
/** Events flow this long before A is stopped, and this long after everyone is live again. */
const STEADY_MS = 3000;
/** After the last event, how long subscribers get to receive everything. */
const SETTLE_TIMEOUT_MS = 60_000;
const SUBSCRIPTION = /* GraphQL */ `subscription Orders($storeId: ID!, $after: String) {
  orderUpdated(storeId: $storeId, after: $after) {
    cursor kind previousStatus occurredAt
    order { id number status channel totalCents currency items { name quantity unitPriceCents } }
  }
}`;

// ---------------------------------------------------------------------------------------------------------
// The scenario

export interface StormResult {
  connected: number;
  liveAgain: number;
  recoverySeconds: number;
  p50Seconds: number;
  p99Seconds: number;
  firstEventSeconds: number;
  firstEventP50Seconds: number;
  events: number;
  outOfOrder: number;
  stormSeconds: number;
  lost: number;
  subscribersWithLoss: number;
  duplicated: number;
  recovered: number;
  shed: number;
  attempts: number;
  xactsDuringStorm: number;
  xactsPerSecondBefore: number;
  eventLogQueries: number;
  resumesFromMemory: number;
  resumesFromTable: number;
  redisCommandsPerSecondStorm: number;
  redisCommandsPerSecondBefore: number;
  cpuSecondsB: number;
  cpuShareB: number;
  closes: Record<string, number>;
  firstError?: string;
}

async function storm(
  system: StormSystem,
  signal: NodeJS.Signals,
  database: Database,
  staffToken: string,
): Promise<StormResult> {
  const env = {
    BENCH_DATABASE_URL: database.url,
    BENCH_REDIS_URL: REDIS_URL,
    BENCH_REDIS_PREFIX: `bench:${process.pid}:${randomUUID().slice(0, 8)}:`,
  };
  const a = await startServer(system, env);
  const b = await startServer(system, env);
  // Events are written through a third instance W, as mutations land on any instance of a cluster: B's CPU
  // and pool are the storm's and the fan-out's alone (a mutation costs Expediter ~10 ms of CPU, a POST 1 ms).
  const w = await startServer(system, env);
  const clients: Client[] = Array.from(
    { length: CLIENT_PROCESSES },
    () => new Child<StormRequest, StormReply>(spawn('./storm-client.ts')),
  );
  const redis = new Redis(REDIS_URL);
  const trigger: Trigger =
    system === 'expediter' ? expediterTrigger(w.url, staffToken) : baselineTrigger(w.url, Date.now() % 1000);
  let firing: ReturnType<typeof fireContinuously> | undefined;
  try {
    // Warm-up: a few events through B before anyone subscribes.
    for (let i = 0; i < 4; i++) await trigger.fire(i);
    const after = system === 'expediter' ? await cursorBeforeNewest(database) : undefined;
    const per = Math.ceil(N / clients.length);
    const connected = await Promise.all(
      clients.map((client, i) =>
        client.ask<Extract<StormReply, { type: 'connected' }>>(
          {
            cmd: 'connect',
            system,
            url: a.wsUrl,
            failoverUrl: b.wsUrl,
            from: i * per,
            count: Math.max(0, Math.min(per, N - i * per)),
            concurrency: Math.ceil(50 / clients.length),
            query: SUBSCRIPTION,
            variables: { storeId: BENCH_STORE, after },
          },
          'connected',
        ),
      ),
    );
    const failures = connected.reduce((total, r) => total + r.failures, 0);
    if (failures > 0)
      console.warn(`  ${failures} subscribers failed to connect: ${connected[0]?.firstError}`);

    firing = fireContinuously(trigger, RATE);
    await new Promise((r) => setTimeout(r, STEADY_MS));
    const steady = await load(database, redis, b, system);
    await new Promise((r) => setTimeout(r, STEADY_MS));
    const before = await load(database, redis, b, system);
    const cpuBefore = await stats(b);

    const stoppedAt = nowMs();
    a.process.kill(signal);
    const deadline = stoppedAt + RECOVERY_TIMEOUT_MS;
    let progress = await totals(clients);
    while (
      (progress.disconnected < progress.subscribers || progress.liveAgain < progress.subscribers) &&
      nowMs() < deadline
    ) {
      await new Promise((r) => setTimeout(r, 100));
      progress = await totals(clients);
    }
    const recoveredAt = nowMs();
    const during = await load(database, redis, b, system);
    const cpuAfter = await stats(b);

    await new Promise((r) => setTimeout(r, STEADY_MS));
    await firing.stop();
    const events = firing.fired() - firing.failed();
    if (firing.failed() > 0) console.warn(`  ${firing.failed()} events failed: ${firing.firstFailure()}`);
    // Expediter's subscribers also received the one event before their first cursor.
    const expected = events + (system === 'expediter' ? 1 : 0);
    const settleBy = nowMs() + SETTLE_TIMEOUT_MS;
    while ((await totals(clients)).received < expected * progress.subscribers && nowMs() < settleBy)
      await new Promise((r) => setTimeout(r, 200));

    const reports = await Promise.all(
      clients.map((c) =>
        c.ask<Extract<StormReply, { type: 'report' }>>({ cmd: 'report', expected }, 'report'),
      ),
    );
    const sum = (f: (r: StormReport) => number) => reports.reduce((total, r) => total + f(r), 0);
    const since = (at: number[]) => at.map((t) => (t - stoppedAt) / 1000).sort((x, y) => x - y);
    const times = since(reports.flatMap((r) => r.liveAgainAt));
    const firstEvents = since(reports.flatMap((r) => r.firstEventAt));
    const stormSeconds = (recoveredAt - stoppedAt) / 1000;
    const cpuSecondsB = (cpuAfter.cpuMicros - cpuBefore.cpuMicros) / 1e6;
    return {
      connected: sum((r) => r.subscribers),
      liveAgain: sum((r) => r.liveAgain),
      recoverySeconds: times.at(-1) ?? Number.NaN,
      p50Seconds: percentile(times, 0.5),
      p99Seconds: percentile(times, 0.99),
      firstEventSeconds: firstEvents.at(-1) ?? Number.NaN,
      firstEventP50Seconds: percentile(firstEvents, 0.5),
      events,
      // The baseline's POSTs are concurrent and may be emitted in another order than fired: not counted.
      outOfOrder: system === 'socketio' ? Number.NaN : sum((r) => r.outOfOrder),
      lost: sum((r) => r.lost),
      subscribersWithLoss: sum((r) => r.subscribersWithLoss),
      duplicated: sum((r) => r.duplicated),
      recovered: sum((r) => r.recovered),
      shed: sum((r) => r.shed),
      attempts: sum((r) => r.attempts),
      xactsDuringStorm: during.xacts - before.xacts,
      stormSeconds,
      xactsPerSecondBefore: (before.xacts - steady.xacts) / ((before.at - steady.at) / 1000),
      eventLogQueries: during.eventLogQueries - before.eventLogQueries,
      resumesFromMemory: during.resumesFromMemory - before.resumesFromMemory,
      resumesFromTable: during.resumesFromTable - before.resumesFromTable,
      redisCommandsPerSecondStorm: (during.redisCommands - before.redisCommands) / stormSeconds,
      redisCommandsPerSecondBefore:
        (before.redisCommands - steady.redisCommands) / ((before.at - steady.at) / 1000),
      cpuSecondsB,
      cpuShareB: cpuSecondsB / stormSeconds,
      closes: reports.reduce<Record<string, number>>((all, r) => {
        for (const [code, count] of Object.entries(r.closes)) all[code] = (all[code] ?? 0) + count;
        return all;
      }, {}),
      firstError: reports.find((r) => r.firstError)?.firstError,
    };
  } finally {
    await firing?.stop();
    redis.disconnect();
    await Promise.all([...clients.map((c) => c.stop()), a.stop(), b.stop(), w.stop()]);
  }
}

async function totals(clients: Client[]) {
  const all = await Promise.all(
    clients.map((c) => c.ask<Extract<StormReply, { type: 'progress' }>>({ cmd: 'progress' }, 'progress')),
  );
  return {
    subscribers: all.reduce((t, p) => t + p.subscribers, 0),
    disconnected: all.reduce((t, p) => t + p.disconnected, 0),
    liveAgain: all.reduce((t, p) => t + p.liveAgain, 0),
    received: all.reduce((t, p) => t + p.received, 0),
  };
}

/** A cursor just before the newest order event: each subscriber's replay of it says "subscribed". */
async function cursorBeforeNewest(database: Database): Promise<string> {
  const rows = (await database.handle.query(`SELECT max("id")::text AS id FROM "Event" WHERE "topic" = $1`, [
    ORDER_TOPIC,
  ])) as Array<{ id: string }>;
  return encodeCursor(ORDER_TOPIC, String(BigInt(rows[0]!.id) - 1n));
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

// ---------------------------------------------------------------------------------------------------------
// Report

const ROWS: Array<[string, string, (r: StormResult) => number | string]> = [
  ['subscribers connected to A', 'count', (r) => r.connected],
  ['live again on B', 'count', (r) => r.liveAgain],
  ['time until every subscriber is subscribed again (from the signal)', 's', (r) => r.recoverySeconds],
  ['  p50 / p99 of that time', 's', (r) => `${fmt(r.p50Seconds)} / ${fmt(r.p99Seconds)}`],
  [
    'time until every subscriber has received an event again: max / p50',
    's',
    (r) => `${fmt(r.firstEventSeconds)} / ${fmt(r.firstEventP50Seconds)}`,
  ],
  ['events fired (RATE/s, through a third instance)', 'count', (r) => r.events],
  ['events lost (summed over subscribers)', 'count', (r) => r.lost],
  ['subscribers that lost at least one event', 'count', (r) => r.subscribersWithLoss],
  ['events duplicated', 'count', (r) => r.duplicated],
  [
    "events received after a later one (Expediter only: the baseline's POSTs race)",
    'count',
    (r) => r.outOfOrder,
  ],
  ['sessions restored by connection state recovery', 'count', (r) => r.recovered],
  ['connections shed (1013 + retryAfter)', 'count', (r) => r.shed],
  ['reconnect attempts', 'count', (r) => r.attempts],
  ['PostgreSQL transactions during the storm', 'count', (r) => r.xactsDuringStorm],
  [
    "  of which beyond the steady rate (the events' own, measured before)",
    'count',
    (r) => Math.round(r.xactsDuringStorm - r.xactsPerSecondBefore * r.stormSeconds),
  ],
  ['Event-table reads on B during the storm', 'count', (r) => r.eventLogQueries],
  [
    'resumes served from memory / from the table',
    'count',
    (r) => `${r.resumesFromMemory} / ${r.resumesFromTable}`,
  ],
  [
    'Redis commands per second: storm / before',
    '/s',
    (r) => `${fmt(r.redisCommandsPerSecondStorm)} / ${fmt(r.redisCommandsPerSecondBefore)}`,
  ],
  ["B's CPU during the storm", 's', (r) => r.cpuSecondsB],
  ["B's CPU share during the storm (1.00 = one core)", 'cores', (r) => r.cpuShareB],
];

function fmt(value: number | string | undefined): string {
  if (value === undefined) return '-';
  if (typeof value === 'string') return value;
  if (Number.isNaN(value)) return '-';
  if (Number.isInteger(value)) return String(value);
  return value.toFixed(Math.abs(value) >= 100 ? 0 : 2);
}

function table(title: string, results: Partial<Record<StormSystem, StormResult>>): string {
  const systems = Object.keys(results) as StormSystem[];
  const names: Record<StormSystem, string> = { expediter: 'Expediter', socketio: 'Socket.io + CSR' };
  const header = ['metric', 'unit', ...systems.map((s) => names[s])];
  const lines = ROWS.map(([label, unit, pick]) => [
    label,
    unit,
    ...systems.map((s) => (results[s] ? fmt(pick(results[s]!)) : '-')),
  ]);
  const render = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [`### ${title}`, '', render(header), render(header.map(() => '---')), ...lines.map(render), ''].join(
    '\n',
  );
}

async function main() {
  const startedAt = Date.now();
  const database = await createTestDatabase({ seed: true });
  await database.handle.query(`UPDATE "InventoryItem" SET "quantity" = 100000000, "lowStockThreshold" = 0`);
  const staffToken = await tokenForDemoUser('acme-staff', { secret: BENCH_JWT_SECRET, expiresIn: '2h' });
  const sections: string[] = [];
  try {
    for (const signal of flags.signals.split(',') as NodeJS.Signals[]) {
      const results: Partial<Record<StormSystem, StormResult>> = {};
      for (const system of flags.systems.split(',') as StormSystem[]) {
        console.log(`storm: ${system}, ${N} subscribers, ${RATE} events/s, A stopped with ${signal}`);
        try {
          results[system] = await storm(system, signal, database, staffToken);
          if (results[system]?.firstError) console.warn(`  first error: ${results[system]?.firstError}`);
          if (results[system])
            console.log(`  ${system}: closes by code ${JSON.stringify(results[system]?.closes)}`);
        } catch (error) {
          console.error(
            `  storm ${system} ${signal} failed: ${error instanceof Error ? error.stack : error}${error instanceof Error && error.cause ? ` (${String(error.cause)})` : ''}`,
          );
        }
      }
      const section = table(
        `Reconnect storm: ${N} subscribers on A, ${RATE} events/s, A stopped with ${signal}, everyone resumes on B`,
        results,
      );
      console.log(`\n${section}`);
      sections.push(section);
    }
  } finally {
    await database.drop();
  }
  const seconds = Math.round((Date.now() - startedAt) / 1000);
  const cpu = os.cpus();
  const header = `- ${new Date().toISOString()}, \`npm run bench:storm -- ${process.argv.slice(2).join(' ')}\` (${seconds} s), ${cpu[0]?.model ?? 'CPU'} × ${cpu.length}, load average before/after: ${LOAD_BEFORE} / ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`;
  console.log(`\n${header}\nstorm bench finished in ${seconds} s`);
  if (flags.results)
    appendFileSync(
      new URL('./RESULTS.md', import.meta.url),
      `\n## Reconnect storm\n\n${header}\n\n${sections.join('\n')}`,
    );
}

const LOAD_BEFORE = os
  .loadavg()
  .map((l) => l.toFixed(2))
  .join(' ');
main().catch((error) => {
  console.error(error);
  process.exit(1);
});
