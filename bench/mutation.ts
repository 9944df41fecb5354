import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { parseArgs } from 'node:util';
import { print } from 'graphql';
import { tokenForDemoUser } from '../src/auth/tokens';
import { CreateOrderDocument } from '../src/client/gql/graphql';
import { loadConfig } from '../src/config';
import { createServer } from '../src/server/server';
import { createTestDatabase } from '../test/support/db';
import { BENCH_JWT_SECRET, BENCH_STORE, cpuMicros, nowMs, tell } from './protocol';

/**
 * `npx tsx bench/mutation.ts`: what one mutation costs the server. The server runs in a child process
 * configured like the fan-out bench's (PostgreSQL + Redis, production settings, no subscriber); this
 * process sends createOrder then updateOrderStatus mutations over HTTP, sequentially and at a fixed rate,
 * and reads the child's CPU time (process.cpuUsage over IPC) around each phase, minus its idle CPU.
 * `--profile out.cpuprofile` records the measured phases with the inspector's profiler (after warm-up),
 * and prints the top self-time functions and packages; `--summarize file.cpuprofile` only prints that.
 * `create-text` and `create-hash` send the app's own CreateOrder document (src/client/operations) as text and
 * by its hash (trusted documents), alternating one by one so both see the same machine: request bytes and CPU.
 */

const USAGE = `npx tsx bench/mutation.ts [--count 200] [--warmup 50] [--rate 20] [--profile out.cpuprofile]
  [--summarize file.cpuprofile] [--top 30]
  [--phases create,update,floor,create-rated,update-rated,create-text,create-hash]
  (more phases: ready, bump, pay, to-ready, complete, adjust (each on the orders of 'create', in that order), saturate (createOrder from
  --clients 50 concurrent clients for --seconds 10: orders/s), saturate-socketio (the same on Socket.io's bare POST))`;

const { values: flags } = parseArgs({
  options: {
    count: { type: 'string', default: '200' },
    warmup: { type: 'string', default: '50' },
    rate: { type: 'string', default: '20' },
    profile: { type: 'string' },
    summarize: { type: 'string' },
    top: { type: 'string', default: '30' },
    phases: {
      type: 'string',
      default: 'create,update,floor,create-rated,update-rated,create-text,create-hash',
    },
    clients: { type: 'string', default: '50' },
    seconds: { type: 'string', default: '10' },
    child: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});

const CREATE_ORDER = /* GraphQL */ `mutation ($input: CreateOrderInput!) {
  createOrder(input: $input) { id status items { id ticketId } }
}`;
const MARK_READY = /* GraphQL */ `mutation ($itemId: ID!) { markItemReady(itemId: $itemId) { id status } }`;
const BUMP = /* GraphQL */ `mutation ($ticketId: ID!) { bumpTicket(ticketId: $ticketId) { id status } }`;
const PAY = /* GraphQL */ `mutation ($orderId: ID!) { recordPayment(orderId: $orderId, amount: 100) { id paidCents } }`;
const ADJUST = /* GraphQL */ `mutation ($itemId: ID!) {
  adjustInventory(itemId: $itemId, delta: 1, reason: "bench") { id quantity }
}`;
const UPDATE_STATUS = /* GraphQL */ `mutation ($orderId: ID!, $status: OrderStatus!) {
  updateOrderStatus(orderId: $orderId, status: $status) { id status }
}`;
const TYPENAME = /* GraphQL */ `query { __typename }`;
const ORDER_ITEMS = [
  { productId: `${BENCH_STORE}-burger`, quantity: 1 },
  { productId: `${BENCH_STORE}-fries`, quantity: 2 },
  { productId: `${BENCH_STORE}-lemonade`, quantity: 1 },
];
const IDLE_WINDOW_MS = 1000;

type ChildRequest = { cmd: 'cpu' } | { cmd: 'profile-start' } | { cmd: 'profile-stop'; file: string };
type ChildReply =
  | { type: 'ready'; port: number }
  | { type: 'cpu'; micros: number; queries: number }
  | { type: 'done' };

const sqlText = (query: unknown) =>
  String(typeof query === 'string' ? query : (query as { text?: string }).text)
    .replace(/\s+/g, ' ')
    .slice(0, 160);

/** Counts statements sent to PostgreSQL (every pool and transaction query goes through Client#query). */
async function countQueries(): Promise<() => number> {
  const pg = (await import('pg')).default;
  const original = pg.Client.prototype.query;
  let count = 0;
  pg.Client.prototype.query = function (this: unknown, ...args: unknown[]) {
    count++;
    if (process.env.BENCH_LOG_SQL) console.error('SQL', sqlText(args[0]));
    return (original as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof original;
  return () => count;
}

// ---------------------------------------------------------------------------------------------------------
// Child: the server

async function serveChild() {
  const config = loadConfig({
    NODE_ENV: 'production',
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: process.env.BENCH_DATABASE_URL,
    REDIS_URL: process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379',
    REDIS_PREFIX: process.env.BENCH_REDIS_PREFIX,
    JWT_SECRET: BENCH_JWT_SECRET,
    LOG_LEVEL: 'warn',
    SEED_DEMO_DATA: 'false',
    OUTBOX_RELAY_INTERVAL_MS: '1000',
    RATE_LIMIT_MUTATIONS: '10000000',
    RATE_LIMIT_SUBSCRIPTIONS: '10000000',
    RATE_LIMIT_HTTP_PER_IP: '10000000',
    // The phases send text; create-hash sends hashes (EXPEDITER_TRUSTED_DOCUMENTS=require runs only it).
    TRUSTED_DOCUMENTS: 'allow',
    // EXPEDITER_X=... sets X, as in the fan-out bench (e.g. EXPEDITER_DASHBOARD_THROTTLE_MS).
    ...Object.fromEntries(
      Object.entries(process.env)
        .filter(([key]) => key.startsWith('EXPEDITER_'))
        .map(([key, value]) => [key.slice('EXPEDITER_'.length), value]),
    ),
  });
  const queries = await countQueries();
  const server = await createServer(config);
  const session = new Session();
  session.connect();
  process.on('message', async (message: ChildRequest) => {
    if (message.cmd === 'cpu') return tell({ type: 'cpu', micros: cpuMicros(), queries: queries() });
    if (message.cmd === 'profile-start') {
      await session.post('Profiler.enable');
      await session.post('Profiler.setSamplingInterval', { interval: 200 });
      await session.post('Profiler.start');
    } else {
      const { profile } = await session.post('Profiler.stop');
      writeFileSync(message.file, JSON.stringify(profile));
    }
    await tell({ type: 'done' });
  });
  process.on('disconnect', () => {
    void Promise.race([server.close(), new Promise((r) => setTimeout(r, 2000))]).then(() => process.exit(0));
  });
  await tell({ type: 'ready', port: server.port });
}

// ---------------------------------------------------------------------------------------------------------
// Parent: the driver

function startChild(databaseUrl: string) {
  const child = fork(new URL(import.meta.url).pathname, ['--child'], {
    execArgv: ['--import', 'tsx'],
    env: {
      ...process.env,
      BENCH_DATABASE_URL: databaseUrl,
      BENCH_REDIS_PREFIX: `bench-mut:${randomUUID()}:`,
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const replies: ((reply: ChildReply) => void)[] = [];
  child.on('message', (reply: ChildReply) => replies.shift()?.(reply));
  const next = () => new Promise<ChildReply>((resolve) => replies.push(resolve));
  const ask = (request: ChildRequest) => {
    const reply = next();
    child.send(request);
    return reply;
  };
  return {
    ready: next() as Promise<{ type: 'ready'; port: number }>,
    cpu: async () => (await ask({ cmd: 'cpu' })) as { micros: number; queries: number },
    ask,
    close: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.disconnect();
      }),
  };
}

function graphqlClient(url: string, token: string) {
  async function post<T>(requestBody: string): Promise<T> {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: requestBody,
    });
    const body = (await response.json()) as { data?: T; errors?: unknown };
    if (body.errors) throw new Error(`mutation failed: ${JSON.stringify(body.errors)}`);
    return body.data as T;
  }
  const gql = <T>(query: string, variables: Record<string, unknown>) =>
    post<T>(JSON.stringify({ query, variables }));
  return Object.assign(gql, { post });
}

interface PhaseResult {
  label: string;
  count: number;
  /** Bytes of each request's body, where the phase sends one kind of request. */
  requestBytes?: number;
  cpuMsPerOp: number;
  queriesPerOp: number;
  p50: number;
  p99: number;
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? Number.NaN;

async function runPhase(
  label: string,
  count: number,
  ratePerSecond: number | null,
  op: (i: number) => Promise<unknown>,
  cpu: () => Promise<{ micros: number; queries: number }>,
  idleMicrosPerMs: number,
): Promise<PhaseResult> {
  const latencies: number[] = [];
  const startCpu = await cpu();
  const startedAt = nowMs();
  const timed = async (i: number) => {
    const at = nowMs();
    await op(i);
    latencies.push(nowMs() - at);
  };
  if (ratePerSecond === null) {
    for (let i = 0; i < count; i++) await timed(i);
  } else {
    const pending: Promise<void>[] = [];
    for (let i = 0; i < count; i++) {
      const due = startedAt + (i * 1000) / ratePerSecond;
      const wait = due - nowMs();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      pending.push(timed(i));
    }
    await Promise.all(pending);
  }
  const elapsedMs = nowMs() - startedAt;
  const endCpu = await cpu();
  const used = endCpu.micros - startCpu.micros - idleMicrosPerMs * elapsedMs;
  latencies.sort((a, b) => a - b);
  return {
    label,
    count,
    cpuMsPerOp: used / 1000 / count,
    queriesPerOp: (endCpu.queries - startCpu.queries) / count,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
  };
}

async function drive() {
  const count = Number(flags.count);
  const warmup = Number(flags.warmup);
  const rate = Number(flags.rate);
  const database = await createTestDatabase({ seed: true });
  await database.handle.query(`UPDATE "InventoryItem" SET "quantity" = 100000000, "lowStockThreshold" = 0`);
  const child = startChild(database.url);
  try {
    const { port } = await child.ready;
    const token = await tokenForDemoUser('acme-staff', { secret: BENCH_JWT_SECRET, expiresIn: '2h' });
    const gql = graphqlClient(`http://127.0.0.1:${port}/graphql`, token);
    const created: { id: string; items: { id: string; ticketId: string }[] }[] = [];
    const createOrder = async () => {
      const { createOrder: order } = await gql<{ createOrder: (typeof created)[number] }>(CREATE_ORDER, {
        input: { storeId: BENCH_STORE, channel: 'POS', items: ORDER_ITEMS },
      });
      created.push(order);
      return order.id;
    };
    const manager = graphqlClient(
      `http://127.0.0.1:${port}/graphql`,
      await tokenForDemoUser('acme-manager', { secret: BENCH_JWT_SECRET, expiresIn: '2h' }),
    );
    const accept = (id: string) => gql(UPDATE_STATUS, { orderId: id, status: 'ACCEPTED' });
    // The same createOrder two ways: the document's text (as a client without trusted documents sends it), or its
    // hash, which the server looks up in the codegen manifest. Same variables, same result fields.
    const variables = { input: { storeId: BENCH_STORE, channel: 'POS', items: ORDER_ITEMS } };
    const hash = (CreateOrderDocument as unknown as { __meta__: { hash: string } }).__meta__.hash;
    const bodies = {
      text: JSON.stringify({ query: print(CreateOrderDocument), variables }),
      hash: JSON.stringify({ documentId: hash, variables }),
    };
    for (let i = 0; i < 20; i++) await Promise.all([gql.post(bodies.text), gql.post(bodies.hash)]);

    const coldIds: string[] = [];
    const cold = await runPhase(
      'createOrder, first 5 (cold)',
      5,
      null,
      async () => coldIds.push(await createOrder()),
      child.cpu,
      0,
    );
    for (let i = 0; i < warmup; i++) await accept(await createOrder());
    await new Promise((r) => setTimeout(r, 1500)); // let the throttled dashboard and the relay settle
    const idleStart = (await child.cpu()).micros;
    await new Promise((r) => setTimeout(r, IDLE_WINDOW_MS));
    const idleMicrosPerMs = ((await child.cpu()).micros - idleStart) / IDLE_WINDOW_MS;

    const ids: string[] = [];
    const rated: string[] = [];
    // The orders 'create' placed, for the kitchen and payment phases (each acts once on each order).
    const placed = () => created.filter((order) => ids.includes(order.id));
    const phases: Record<string, () => Promise<PhaseResult>> = {
      create: () =>
        runPhase('createOrder, sequential', count, null, async () => ids.push(await createOrder()), ...meter),
      update: () =>
        runPhase('updateOrderStatus, sequential', ids.length, null, (i) => accept(ids[i]!), ...meter),
      floor: () =>
        runPhase('query { __typename } (HTTP floor)', count, null, () => gql(TYPENAME, {}), ...meter),
      'create-rated': () =>
        runPhase(
          `createOrder at ${rate}/s`,
          count,
          rate,
          async () => rated.push(await createOrder()),
          ...meter,
        ),
      'update-rated': () =>
        runPhase(`updateOrderStatus at ${rate}/s`, rated.length, rate, (i) => accept(rated[i]!), ...meter),
      ready: () =>
        runPhase(
          'markItemReady, sequential',
          ids.length,
          null,
          (i) => gql(MARK_READY, { itemId: placed()[i]!.items[0]!.id }),
          ...meter,
        ),
      bump: () =>
        runPhase(
          'bumpTicket, sequential',
          ids.length,
          null,
          (i) => gql(BUMP, { ticketId: placed()[i]!.items[1]!.ticketId }),
          ...meter,
        ),
      pay: () =>
        runPhase(
          'recordPayment, sequential',
          ids.length,
          null,
          (i) => gql(PAY, { orderId: ids[i]! }),
          ...meter,
        ),
      // After ready and bump: each order's last ticket is open; READY by hand, then COMPLETED closes that ticket.
      'to-ready': () =>
        runPhase(
          'updateOrderStatus READY, sequential',
          ids.length,
          null,
          (i) => gql(UPDATE_STATUS, { orderId: ids[i]!, status: 'READY' }),
          ...meter,
        ),
      complete: () =>
        runPhase(
          'updateOrderStatus COMPLETED, sequential',
          ids.length,
          null,
          (i) => gql(UPDATE_STATUS, { orderId: ids[i]!, status: 'COMPLETED' }),
          ...meter,
        ),
      adjust: () =>
        runPhase(
          'adjustInventory, sequential',
          count,
          null,
          () => manager(ADJUST, { itemId: `${BENCH_STORE}-burger-stock` }),
          ...meter,
        ),
      saturate: () => saturate(Number(flags.clients), Number(flags.seconds) * 1000),
      'saturate-socketio': () => saturateSocketio(Number(flags.clients), Number(flags.seconds) * 1000),
      'create-text': () => byForm('text'),
      'create-hash': () => byForm('hash'),
    };
    /** createOrders from `clients` concurrent clients for `ms`: throughput at saturation, CPU and SQL per order. */
    async function saturate(clients: number, ms: number): Promise<PhaseResult> {
      const latencies: number[] = [];
      const start = await child.cpu();
      const startedAt = nowMs();
      await Promise.all(
        Array.from({ length: clients }, async () => {
          while (nowMs() - startedAt < ms) {
            const at = nowMs();
            await createOrder();
            latencies.push(nowMs() - at);
          }
        }),
      );
      const elapsed = nowMs() - startedAt;
      const end = await child.cpu();
      latencies.sort((a, b) => a - b);
      const n = latencies.length;
      console.log(
        `saturate: ${clients} clients, ${n} createOrders in ${(elapsed / 1000).toFixed(1)} s = ${((n * 1000) / elapsed).toFixed(0)}/s, server CPU ${(((end.micros - start.micros) / 1000 / elapsed) * 100).toFixed(0)}% of a core`,
      );
      return {
        label: `createOrder, ${clients} clients (${((n * 1000) / elapsed).toFixed(0)}/s)`,
        count: n,
        cpuMsPerOp: (end.micros - start.micros) / 1000 / n,
        queriesPerOp: (end.queries - start.queries) / n,
        p50: percentile(latencies, 50),
        p99: percentile(latencies, 99),
      };
    }
    /**
     * The reference line: Socket.io's bare POST /emit (bench/servers/socketio.ts, no database, no subscriber) from
     * the same number of clients for the same time, with an order-sized event.
     */
    async function saturateSocketio(clients: number, ms: number): Promise<PhaseResult> {
      const io = fork(new URL('./servers/socketio.ts', import.meta.url).pathname, [], {
        execArgv: ['--import', 'tsx'],
        env: { ...process.env, BENCH_REDIS_PREFIX: `bench-mut-io:${randomUUID()}:` },
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      const replies: ((reply: { type: string; port?: number; cpuMicros?: number }) => void)[] = [];
      io.on('message', (reply: { type: string }) => replies.shift()?.(reply));
      const next = () =>
        new Promise<{ type: string; port?: number; cpuMicros?: number }>((r) => replies.push(r));
      const { port: ioPort } = await next();
      const ioCpu = async () => {
        const reply = next();
        io.send({ cmd: 'stats' });
        return { micros: (await reply).cpuMicros ?? 0, queries: 0 };
      };
      const event = JSON.stringify({
        storeId: BENCH_STORE,
        event: { kind: 'CREATED', order: created[0] ?? {} },
      });
      const emit = () =>
        fetch(`http://127.0.0.1:${ioPort}/emit`, { method: 'POST', body: event }).then((r) =>
          r.arrayBuffer(),
        );
      for (let i = 0; i < 200; i++) await emit();
      const latencies: number[] = [];
      const start = await ioCpu();
      const startedAt = nowMs();
      await Promise.all(
        Array.from({ length: clients }, async () => {
          while (nowMs() - startedAt < ms) {
            const at = nowMs();
            await emit();
            latencies.push(nowMs() - at);
          }
        }),
      );
      const elapsed = nowMs() - startedAt;
      const end = await ioCpu();
      io.disconnect();
      latencies.sort((a, b) => a - b);
      const n = latencies.length;
      return {
        label: `Socket.io bare POST, ${clients} clients (${((n * 1000) / elapsed).toFixed(0)}/s)`,
        count: n,
        cpuMsPerOp: (end.micros - start.micros) / 1000 / n,
        queriesPerOp: 0,
        p50: percentile(latencies, 50),
        p99: percentile(latencies, 99),
      };
    }
    /**
     * One form's CPU per createOrder: both forms alternate in blocks of 10 (text, hash, text, ...) so that a
     * machine busy with other work weighs on both alike; the CPU of each block is metered on its own.
     */
    const formResults = new Map<'text' | 'hash', PhaseResult>();
    async function measureForms() {
      const totals = {
        text: { micros: 0, queries: 0, latencies: [] as number[] },
        hash: { micros: 0, queries: 0, latencies: [] as number[] },
      };
      for (let block = 0; block < count / 10; block++) {
        for (const form of ['text', 'hash'] as const) {
          const start = await child.cpu();
          const startedAt = nowMs();
          for (let i = 0; i < 10; i++) {
            const at = nowMs();
            await gql.post(bodies[form]);
            totals[form].latencies.push(nowMs() - at);
          }
          const end = await child.cpu();
          totals[form].micros += end.micros - start.micros - idleMicrosPerMs * (nowMs() - startedAt);
          totals[form].queries += end.queries - start.queries;
        }
      }
      for (const form of ['text', 'hash'] as const) {
        const { micros, queries, latencies } = totals[form];
        const n = latencies.length;
        latencies.sort((a, b) => a - b);
        formResults.set(form, {
          label: `createOrder by ${form} (alternating)`,
          count: n,
          requestBytes: Buffer.byteLength(bodies[form]),
          cpuMsPerOp: micros / 1000 / n,
          queriesPerOp: queries / n,
          p50: percentile(latencies, 50),
          p99: percentile(latencies, 99),
        });
      }
    }
    async function byForm(form: 'text' | 'hash'): Promise<PhaseResult> {
      if (!formResults.has(form)) await measureForms();
      return formResults.get(form)!;
    }
    const meter = [child.cpu, idleMicrosPerMs] as const;
    const results = [cold];
    if (flags.profile) await child.ask({ cmd: 'profile-start' });
    for (const name of flags.phases.split(',')) {
      const phase = phases[name];
      if (!phase) throw new Error(`Unknown phase ${name}: ${Object.keys(phases).join(', ')}`);
      results.push(await phase());
    }
    if (flags.profile) await child.ask({ cmd: 'profile-stop', file: flags.profile });

    console.log(`idle server CPU: ${idleMicrosPerMs.toFixed(2)} ms per second (subtracted)`);
    console.table(
      results.map((r) => ({
        phase: r.label,
        n: r.count,
        'CPU ms/op': r.cpuMsPerOp.toFixed(2),
        'SQL/op': r.queriesPerOp.toFixed(1),
        'request bytes': r.requestBytes ?? '',
        'p50 ms': r.p50.toFixed(1),
        'p99 ms': r.p99.toFixed(1),
      })),
    );
    if (flags.profile) summarize(flags.profile, Number(flags.top));
  } finally {
    await child.close();
    await database.drop();
  }
}

// ---------------------------------------------------------------------------------------------------------
// Profile summary: self time summed by function and by package

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

function packageOf(url: string): string {
  if (!url) return '(native/vm)';
  const modules = url.lastIndexOf('node_modules/');
  if (modules >= 0) {
    const rest = url.slice(modules + 'node_modules/'.length).split('/');
    return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : (rest[0] ?? url);
  }
  if (url.startsWith('node:')) return url;
  const src = url.indexOf('/src/');
  return src >= 0 ? url.slice(src + 1) : url;
}

function summarize(file: string, top: number) {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as {
    nodes: ProfileNode[];
    startTime: number;
    endTime: number;
    samples: number[];
    timeDeltas: number[];
  };
  const selfMicros = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    selfMicros.set(id, (selfMicros.get(id) ?? 0) + (profile.timeDeltas[i + 1] ?? 0));
  });
  const total = profile.endTime - profile.startTime;
  const byFunction = new Map<string, number>();
  const byPackage = new Map<string, number>();
  for (const node of profile.nodes) {
    const micros = selfMicros.get(node.id) ?? 0;
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url ? `${packageOf(url)}:${lineNumber + 1}` : '';
    const key = `${functionName || '(anonymous)'} ${where}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + micros);
    const pkg = url ? packageOf(url) : functionName.startsWith('(') ? `${functionName} ` : '(native/vm)';
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + micros);
  }
  const print = (title: string, map: Map<string, number>) => {
    const busy = total - (map.get('(idle) ') ?? 0) - (map.get('(program) ') ?? 0);
    console.log(`\n${title} (profile ${(total / 1000).toFixed(0)} ms)`);
    console.table(
      [...map]
        .sort((a, b) => b[1] - a[1])
        .slice(0, top)
        .map(([name, micros]) => ({
          name,
          ms: (micros / 1000).toFixed(1),
          '%': ((micros / busy) * 100).toFixed(1),
        })),
    );
  };
  print('Self time by function', byFunction);
  print('Self time by package / file', byPackage);
}

if (flags.help) console.log(USAGE);
else if (flags.summarize) summarize(flags.summarize, Number(flags.top));
else if (flags.child) void serveChild();
else
  drive().then(
    () => process.exit(0),
    (error) => {
      console.error(error);
      process.exit(1);
    },
  );
