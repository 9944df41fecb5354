import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { tokenForDemoUser } from '../src/auth/tokens';
import { encodeCursor } from '../src/events/cursor';
import { topics } from '../src/events/topics';
import { createTestDatabase } from '../test/support/db';
import { Child } from './child';
import {
  BENCH_JWT_SECRET,
  BENCH_STORE,
  BENCH_TENANT,
  type ClientReply,
  type ClientRequest,
  type ConnectRequest,
  nowMs,
  type ServerReply,
  type ServerRequest,
  type ServerStats,
  type System,
} from './protocol';
import { baselineTrigger, expediterTrigger, type Trigger } from './triggers';

/**
 * `npm run bench`: Expediter against Socket.io 4 + Redis adapter and raw `ws`, side by side, on loopback.
 * Every server runs in its own child process, so its CPU time (process.cpuUsage over IPC) divided by the
 * deliveries is the figure compared. Clients are raw sockets in separate processes. Flags: see USAGE.
 */

const USAGE = `npm run bench -- [--n 1000,5000] [--events 100] [--rate 50] [--connections 10000]
  [--cross 1000] [--systems expediter,socketio,ws] [--skip fanout,cross,connections] [--profile (CPU profiles)] [--heap (heap snapshots around the connections)] [--clients 2]
  [--fanout shared|unshared|off (Expediter's engine: whole; without shared streams; none)] [--no-fanout (= off)]
  [--no-results (do not write bench/RESULTS.md)]`;

const { values: flags } = parseArgs({
  options: {
    n: { type: 'string', default: '1000' },
    events: { type: 'string', default: '100' },
    rate: { type: 'string', default: '20' },
    connections: { type: 'string', default: '10000' },
    cross: { type: 'string', default: '1000' },
    systems: { type: 'string', default: 'expediter,socketio,ws' },
    skip: { type: 'string', default: '' },
    clients: { type: 'string', default: '2' },
    profile: { type: 'boolean', default: false },
    heap: { type: 'boolean', default: false },
    'no-results': { type: 'boolean', default: false },
    'no-fanout': { type: 'boolean', default: false },
    fanout: { type: 'string', default: 'shared' },
    help: { type: 'boolean', default: false },
  },
});
if (flags.help) {
  console.log(USAGE);
  process.exit(0);
}

const EVENTS = Number(flags.events);
const FANOUT_MODE = flags['no-fanout'] ? 'off' : flags.fanout;
const RATE = Number(flags.rate);
const CLIENT_PROCESSES = Number(flags.clients);
const SYSTEMS = flags.systems.split(',') as System[];
const SKIP = new Set(flags.skip.split(',').filter(Boolean));
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const ORDER_TOPIC = topics.storeOrders(BENCH_TENANT, BENCH_STORE);
const DELIVERY_TIMEOUT_MS = 20_000;
const TRIGGER_ONLY_EVENTS = 40;
const TRIGGER_WARMUP_EVENTS = 40;
const CONNECT_WARMUP = 1000;

const SUBSCRIPTION = /* GraphQL */ `subscription Orders($storeId: ID!, $after: String) {
  orderUpdated(storeId: $storeId, after: $after) {
    cursor kind previousStatus occurredAt
    order { id number status channel totalCents currency items { name quantity unitPriceCents } }
  }
}`;

// ---------------------------------------------------------------------------------------------------------
// Child processes

type ServerChild = Child<ServerRequest, ServerReply & { type: string }> & { url: string; wsUrl: string };
type ClientChild = Child<ClientRequest, ClientReply>;

function spawn(file: string, name: string, env: Record<string, string>, execArgv: string[] = []) {
  return fork(new URL(file, import.meta.url).pathname, [], {
    execArgv: ['--import', 'tsx', '--expose-gc', ...execArgv],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    serialization: 'advanced',
  }).on('error', (error) => console.error(name, error));
}

let profileCount = 0;
async function startServers(
  system: System,
  count: number,
  env: Record<string, string>,
): Promise<ServerChild[]> {
  const prefix = `bench:${process.pid}:${randomUUID().slice(0, 8)}:`;
  const servers: ServerChild[] = [];
  for (let i = 0; i < count; i++) {
    const profile =
      flags.profile && system === 'expediter'
        ? // One directory per server: tsx's loader thread writes a profile too (the large file is the main thread's).
          ['--cpu-prof', `--cpu-prof-dir=bench/profiles/expediter-${++profileCount}`]
        : [];
    const child = new Child<ServerRequest, ServerReply & { type: string }>(
      spawn(
        `./servers/${system}.ts`,
        `${system} server`,
        { ...env, BENCH_REDIS_PREFIX: prefix, BENCH_REDIS_URL: REDIS_URL, BENCH_FANOUT: FANOUT_MODE },
        profile,
      ),
      `${system} server`,
    );
    const { port } = (await child.ready) as { port: number };
    const base = `127.0.0.1:${port}`;
    servers.push(
      Object.assign(child, {
        url: `http://${base}`,
        wsUrl: system === 'expediter' ? `ws://${base}/graphql` : `ws://${base}`,
      }),
    );
  }
  return servers;
}

async function stopAll(children: Array<Child<never, never> | ServerChild | ClientChild>) {
  for (const child of children) child.send({ cmd: 'close' } as never);
  await Promise.all(children.map((child) => child.exited()));
}

async function serverStats(servers: ServerChild[], gc = false): Promise<ServerStats> {
  const all = await Promise.all(
    servers.map((server) => server.ask<ServerReply & ServerStats>({ cmd: 'stats', gc }, 'stats')),
  );
  return {
    cpuMicros: all.reduce((sum, s) => sum + s.cpuMicros, 0),
    rss: all.reduce((sum, s) => sum + s.rss, 0),
    heapUsed: all.reduce((sum, s) => sum + s.heapUsed, 0),
  };
}

function startClients(): ClientChild[] {
  return Array.from(
    { length: CLIENT_PROCESSES },
    (_, i) => new Child<ClientRequest, ClientReply>(spawn('./client.ts', `client ${i}`, {}), `client ${i}`),
  );
}

async function connect(
  clients: ClientChild[],
  system: System,
  urls: string[],
  n: number,
  concurrency: number,
  variables?: Record<string, unknown>,
  /** First user index: a warm-up uses users of its own, so nothing it caches serves the measured run. */
  firstUser = 0,
) {
  const per = Math.ceil(n / clients.length);
  const replies = await Promise.all(
    clients.map((client, i) => {
      const request: ConnectRequest = {
        cmd: 'connect',
        system,
        urls,
        from: firstUser + i * per,
        count: Math.max(0, Math.min(per, n - i * per)),
        concurrency,
        query: SUBSCRIPTION,
        variables,
      };
      return client.ask<Extract<ClientReply, { type: 'connected' }>>(request, 'connected');
    }),
  );
  const millis = replies.flatMap((r) => r.millis);
  const failures = replies.reduce((sum, r) => sum + r.failures, 0);
  if (failures > 0)
    console.warn(
      `  ${system}: ${failures} subscribers failed: ${replies.find((r) => r.firstError)?.firstError}`,
    );
  return { millis, failures };
}

async function deliveries(clients: ClientChild[]): Promise<number> {
  const counts = await Promise.all(
    clients.map((c) => c.ask<Extract<ClientReply, { type: 'count' }>>({ cmd: 'count' }, 'count')),
  );
  return counts.reduce((sum, c) => sum + c.deliveries, 0);
}

/** Fires `count` events at RATE per second (not waiting for one to finish before the next is due). */
async function fireAll(trigger: Trigger, count: number) {
  const started = nowMs();
  const fired: Array<Promise<{ key: string; at: number; tookMs: number }>> = [];
  for (let i = 0; i < count; i++) {
    const due = started + (i * 1000) / RATE;
    const wait = due - nowMs();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    fired.push(trigger.fire(i));
  }
  return Promise.all(fired);
}

// ---------------------------------------------------------------------------------------------------------
// Scenarios

interface FanoutResult {
  cpuPerDelivery: number;
  /** CPU of the same triggers with no subscriber, per event: what the mutation itself costs. */
  triggerCpuPerEvent: number;
  netCpuPerDelivery: number;
  deliveriesPerSecond: number;
  p50: number;
  p99: number;
  max: number;
  expected: number;
  delivered: number;
  lost: number;
  duplicated: number;
  frameBytes: number;
  triggerMs: number;
}

interface Setup {
  databaseUrl: string;
  staffToken: string;
  cursor(): Promise<string>;
}

let baselineRun = 0;
function triggerFor(system: System, server: ServerChild, setup: Setup): Trigger {
  return system === 'expediter'
    ? expediterTrigger(server.url, setup.staffToken)
    : baselineTrigger(server.url, ++baselineRun);
}

async function fanout(system: System, n: number, instances: number, setup: Setup): Promise<FanoutResult> {
  const servers = await startServers(system, instances, { BENCH_DATABASE_URL: setup.databaseUrl });
  const clients = startClients();
  try {
    // Warm-up, and the cost of the triggers alone (nobody subscribed yet; measured again at the end).
    await fireAll(triggerFor(system, servers[0]!, setup), TRIGGER_WARMUP_EVENTS);
    const triggerBefore = await triggerAlone(system, servers, setup);

    const variables =
      system === 'expediter' ? { storeId: BENCH_STORE, after: await setup.cursor() } : undefined;
    await connect(
      clients,
      system,
      servers.map((s) => s.wsUrl),
      n,
      50,
      variables,
    );
    await new Promise((r) => setTimeout(r, 500));
    await Promise.all(clients.map((c) => c.ask({ cmd: 'reset' }, 'reset')));

    const before = await serverStats(servers);
    const fired = await fireAll(triggerFor(system, servers[0]!, setup), EVENTS);
    const expected = EVENTS * n;
    const deadline = Date.now() + DELIVERY_TIMEOUT_MS;
    while ((await deliveries(clients)) < expected && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    const after = await serverStats(servers);

    const reports = await Promise.all(
      clients.map((c) => c.ask<Extract<ClientReply, { type: 'report' }>>({ cmd: 'report' }, 'report')),
    );
    const sent = new Map(fired.map((f) => [f.key, f.at]));
    const latencies: number[] = [];
    let lastReceipt = 0;
    for (const report of reports) {
      for (const [key, times] of Object.entries(report.receipts)) {
        const at = sent.get(key);
        if (at === undefined) continue; // not one of this run's events
        for (const t of times) {
          latencies.push(t - at);
          if (t > lastReceipt) lastReceipt = t;
        }
      }
    }
    latencies.sort((a, b) => a - b);
    const delivered = latencies.length;
    // The triggers alone once more, subscribers gone (the JIT is warm now): the lower figure is subtracted,
    // so the fan-out row errs on the high side for every system alike.
    await stopAll(clients);
    await new Promise((r) => setTimeout(r, 1000));
    const triggerCpuPerEvent = Math.min(triggerBefore, await triggerAlone(system, servers, setup));
    const cpu = after.cpuMicros - before.cpuMicros;
    const firstTrigger = Math.min(...fired.map((f) => f.at));
    const triggerMs = fired.map((f) => f.tookMs).sort((a, b) => a - b)[Math.floor(fired.length / 2)] ?? 0;
    return {
      cpuPerDelivery: cpu / Math.max(1, delivered),
      triggerCpuPerEvent,
      netCpuPerDelivery: (cpu - triggerCpuPerEvent * EVENTS) / Math.max(1, delivered),
      deliveriesPerSecond: delivered / ((lastReceipt - firstTrigger) / 1000),
      p50: percentile(latencies, 0.5),
      p99: percentile(latencies, 0.99),
      max: latencies.at(-1) ?? Number.NaN,
      expected,
      delivered,
      lost: expected - delivered,
      duplicated: reports.reduce((sum, r) => sum + r.duplicates, 0),
      frameBytes: Math.max(...reports.map((r) => r.frameBytes)),
      triggerMs,
    };
  } finally {
    await stopAll([...clients, ...servers]);
  }
}

/** Server CPU per event of TRIGGER_ONLY_EVENTS triggers fired at RATE. */
async function triggerAlone(system: System, servers: ServerChild[], setup: Setup): Promise<number> {
  const before = await serverStats(servers);
  await fireAll(triggerFor(system, servers[0]!, setup), TRIGGER_ONLY_EVENTS);
  await new Promise((r) => setTimeout(r, 300));
  const after = await serverStats(servers);
  return (after.cpuMicros - before.cpuMicros) / TRIGGER_ONLY_EVENTS;
}

interface ConnectionsResult {
  connected: number;
  failures: number;
  rssPerConnectionKiB: number;
  /** JS heap in use after a full GC: steadier than RSS, which moves with what the allocators keep. */
  heapPerConnectionKiB: number;
  /** Server CPU from the first measured connect to a second after the last, per connection. */
  cpuPerConnectMs: number;
  p50: number;
  p99: number;
}

async function connections(system: System, n: number, setup: Setup): Promise<ConnectionsResult> {
  const servers = await startServers(system, 1, { BENCH_DATABASE_URL: setup.databaseUrl });
  const clients = startClients();
  try {
    await fireAll(triggerFor(system, servers[0]!, setup), 5);
    const variables =
      system === 'expediter' ? { storeId: BENCH_STORE, after: await setup.cursor() } : undefined;
    // Warm-up, for every system alike: connections of other users, opened and closed, so that the measured
    // connects run on a JIT-compiled path, as on a server that has been up for a while.
    const warmClients = startClients();
    await connect(
      warmClients,
      system,
      servers.map((s) => s.wsUrl),
      CONNECT_WARMUP,
      25,
      variables,
      n,
    );
    await stopAll(warmClients);
    await new Promise((r) => setTimeout(r, 1000));
    const heapFile = (when: string) =>
      path.resolve(`bench/profiles/expediter-${n}-connections-${when}.heapsnapshot`);
    if (flags.heap && system === 'expediter') {
      mkdirSync(path.resolve('bench/profiles'), { recursive: true });
      await servers[0]!.ask({ cmd: 'heap', file: heapFile('before') }, 'heap');
    }
    const before = await serverStats(servers, true);
    const { millis, failures } = await connect(
      clients,
      system,
      servers.map((s) => s.wsUrl),
      n,
      25,
      variables,
    );
    await new Promise((r) => setTimeout(r, 1000));
    const after = await serverStats(servers, true);
    if (flags.heap && system === 'expediter') {
      await servers[0]!.ask({ cmd: 'heap', file: heapFile('after') }, 'heap');
      console.log(
        `  heap per connection: tsx bench/heap-summary.ts ${heapFile('after')} ${heapFile('before')} ${n}`,
      );
    }
    millis.sort((a, b) => a - b);
    return {
      connected: millis.length,
      failures,
      rssPerConnectionKiB: (after.rss - before.rss) / 1024 / Math.max(1, millis.length),
      heapPerConnectionKiB: (after.heapUsed - before.heapUsed) / 1024 / Math.max(1, millis.length),
      cpuPerConnectMs: (after.cpuMicros - before.cpuMicros) / 1000 / Math.max(1, millis.length),
      p50: percentile(millis, 0.5),
      p99: percentile(millis, 0.99),
    };
  } finally {
    await stopAll([...clients, ...servers]);
  }
}

/** A scenario that fails for one system (e.g. a refused trigger) leaves a gap in its column, not the run. */
async function failedAs<T>(what: string, run: () => Promise<T>): Promise<T | undefined> {
  try {
    return await run();
  } catch (error) {
    console.error(`  ${what} failed: ${error instanceof Error ? error.message : String(error)}`);
    return undefined;
  }
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

// ---------------------------------------------------------------------------------------------------------
// Report

type Row = { label: string; unit: string; lowerIsBetter: boolean; values: Partial<Record<System, number>> };

function fmt(value: number | undefined, unit: string): string {
  if (value === undefined || Number.isNaN(value)) return '-';
  if (unit === 'count' || unit === 'B') return String(Math.round(value));
  if (Math.abs(value) >= 1000) return `${Math.round(value).toLocaleString('en-US')}`;
  return value.toFixed(value >= 100 ? 0 : value >= 10 ? 1 : 2);
}

function ratio(row: Row, base: System): string {
  const ours = row.values.expediter;
  const theirs = row.values[base];
  if (ours === undefined || theirs === undefined || row.unit === 'count' || theirs === 0) return '';
  return `${(ours / theirs).toFixed(2)}×`;
}

function table(title: string, rows: Row[]): string {
  const header = ['metric', 'unit', 'Expediter', 'Socket.io', 'raw ws', 'Exp/Socket.io', 'Exp/ws'];
  const lines = rows.map((row) => [
    row.label,
    row.unit,
    fmt(row.values.expediter, row.unit),
    fmt(row.values.socketio, row.unit),
    fmt(row.values.ws, row.unit),
    ratio(row, 'socketio'),
    ratio(row, 'ws'),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const render = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [
    `### ${title}`,
    '',
    render(header),
    render(widths.map((w) => '-'.repeat(w))),
    ...lines.map(render),
    '',
  ].join('\n');
}

/** One figure of each system's result, for the systems that have one. */
function picker<R>(results: Partial<Record<System, R>>) {
  return (f: (r: R) => number) =>
    Object.fromEntries(
      Object.entries(results)
        .filter(([, r]) => r !== undefined)
        .map(([s, r]) => [s, f(r as R)]),
    ) as Partial<Record<System, number>>;
}

function fanoutRows(results: Partial<Record<System, FanoutResult>>): Row[] {
  const pick = picker(results);
  return [
    {
      label: 'server CPU per delivery',
      unit: 'µs',
      lowerIsBetter: true,
      values: pick((r) => r.cpuPerDelivery),
    },
    {
      label: '  of which fan-out (minus trigger alone)',
      unit: 'µs',
      lowerIsBetter: true,
      values: pick((r) => r.netCpuPerDelivery),
    },
    {
      label: 'trigger alone (mutation / POST), per event',
      unit: 'µs',
      lowerIsBetter: true,
      values: pick((r) => r.triggerCpuPerEvent),
    },
    {
      label: 'deliveries per second',
      unit: '/s',
      lowerIsBetter: false,
      values: pick((r) => r.deliveriesPerSecond),
    },
    { label: 'latency trigger→receipt p50', unit: 'ms', lowerIsBetter: true, values: pick((r) => r.p50) },
    { label: 'latency trigger→receipt p99', unit: 'ms', lowerIsBetter: true, values: pick((r) => r.p99) },
    { label: 'latency trigger→receipt max', unit: 'ms', lowerIsBetter: true, values: pick((r) => r.max) },
    { label: 'trigger round trip p50', unit: 'ms', lowerIsBetter: true, values: pick((r) => r.triggerMs) },
    { label: 'delivered / expected', unit: 'count', lowerIsBetter: false, values: pick((r) => r.delivered) },
    { label: 'lost', unit: 'count', lowerIsBetter: true, values: pick((r) => r.lost) },
    { label: 'duplicated', unit: 'count', lowerIsBetter: true, values: pick((r) => r.duplicated) },
    { label: 'frame size', unit: 'B', lowerIsBetter: true, values: pick((r) => r.frameBytes) },
  ];
}

function connectionRows(results: Partial<Record<System, ConnectionsResult>>): Row[] {
  const pick = picker(results);
  return [
    {
      label: 'connected and subscribed',
      unit: 'count',
      lowerIsBetter: false,
      values: pick((r) => r.connected),
    },
    { label: 'failed', unit: 'count', lowerIsBetter: true, values: pick((r) => r.failures) },
    {
      label: 'server RSS per connection',
      unit: 'KiB',
      lowerIsBetter: true,
      values: pick((r) => r.rssPerConnectionKiB),
    },
    {
      label: 'server heap per connection (after GC)',
      unit: 'KiB',
      lowerIsBetter: true,
      values: pick((r) => r.heapPerConnectionKiB),
    },
    {
      label: 'server CPU per connect+auth+subscribe',
      unit: 'ms',
      lowerIsBetter: true,
      values: pick((r) => r.cpuPerConnectMs),
    },
    { label: 'connect+auth+subscribe p50', unit: 'ms', lowerIsBetter: true, values: pick((r) => r.p50) },
    { label: 'connect+auth+subscribe p99', unit: 'ms', lowerIsBetter: true, values: pick((r) => r.p99) },
  ];
}

// ---------------------------------------------------------------------------------------------------------

async function main() {
  const startedAt = Date.now();
  const database = await createTestDatabase({ seed: true });
  // Enough stock that no bench order is ever refused.
  await database.handle.query(`UPDATE "InventoryItem" SET "quantity" = 100000000, "lowStockThreshold" = 0`);
  const setup: Setup = {
    databaseUrl: database.url,
    staffToken: await tokenForDemoUser('acme-staff', { secret: BENCH_JWT_SECRET, expiresIn: '2h' }),
    /** A cursor just before the newest order event: each subscriber's replay of it says "subscribed". */
    async cursor() {
      const rows = (await database.handle.query(
        `SELECT max("id")::text AS id FROM "Event" WHERE "topic" = $1`,
        [ORDER_TOPIC],
      )) as Array<{ id: string }>;
      return encodeCursor(ORDER_TOPIC, String(BigInt(rows[0]!.id) - 1n));
    },
  };
  const sections: string[] = [];
  const print = (section: string) => {
    console.log(`\n${section}`);
    sections.push(section);
  };
  try {
    for (const n of SKIP.has('fanout') ? [] : flags.n.split(',').map(Number)) {
      const results: Partial<Record<System, FanoutResult>> = {};
      for (const system of SYSTEMS) {
        console.log(`fan-out: ${system}, ${n} subscribers, ${EVENTS} events at ${RATE}/s`);
        results[system] = await failedAs(`fan-out ${system} N=${n}`, () => fanout(system, n, 1, setup));
      }
      print(
        table(
          `Fan-out: ${n} subscribers on one store, ${EVENTS} events at ${RATE}/s, one instance`,
          fanoutRows(results),
        ),
      );
    }
    if (!SKIP.has('cross')) {
      const n = Number(flags.cross);
      const results: Partial<Record<System, FanoutResult>> = {};
      for (const system of SYSTEMS) {
        console.log(`cross-instance: ${system}, ${n} subscribers over two instances`);
        results[system] = await failedAs(`cross-instance ${system}`, () => fanout(system, n, 2, setup));
      }
      print(
        table(
          `Cross-instance: two instances + one Redis, ${n} subscribers split across them, triggers on the first (CPU summed)`,
          fanoutRows(results),
        ),
      );
    }
    if (!SKIP.has('connections')) {
      const n = Number(flags.connections);
      const results: Partial<Record<System, ConnectionsResult>> = {};
      for (const system of SYSTEMS) {
        console.log(`connections: ${system}, ${n} idle subscribed connections`);
        results[system] = await failedAs(`connections ${system}`, () => connections(system, n, setup));
      }
      print(
        table(
          `Connections: ${n} idle authenticated connections, one subscription each`,
          connectionRows(results),
        ),
      );
    }
  } finally {
    await database.drop();
  }
  const seconds = Math.round((Date.now() - startedAt) / 1000);
  console.log(`\nbench finished in ${seconds} s`);
  if (!flags['no-results']) writeResults(sections, seconds);
}

function writeResults(sections: string[], seconds: number) {
  const cpu = os.cpus();
  const machine = `${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM, ${os.type()} ${os.release()}, Node ${process.version}`;
  const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
  mkdirSync(new URL('.', import.meta.url).pathname, { recursive: true });
  writeFileSync(
    new URL('./RESULTS.md', import.meta.url),
    [
      '# Benchmark results',
      '',
      `- Date: ${new Date().toISOString()}`,
      `- Machine: ${machine}`,
      `- Command: \`${command}\` (${seconds} s)`,
      '- Loopback only; PostgreSQL and Redis on the same machine; each server in its own process; ratios are Expediter ÷ baseline from this one run (below 1.00× is better for Expediter on every row except deliveries per second).',
      '',
      ...sections,
    ].join('\n'),
  );
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
