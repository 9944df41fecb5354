import { randomUUID } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import WebSocket from 'ws';
import { signToken, tokenForDemoUser } from '../src/auth/tokens';
import { createTestDatabase } from '../test/support/db';
import { BENCH_JWT_SECRET, BENCH_STORE, BENCH_TENANT, nowMs } from './protocol';
import { type Server, startServer, stats } from './storm-support';

/**
 * `npm run bench:session-end`: how soon a session's end reaches its long-lived operations (issue #12: "within a
 * second", on every transport and every instance). Two Expediter instances A and B share a fresh seeded
 * PostgreSQL database and Redis. For each of N users: a graphql-ws subscription on A and one on B, an SSE
 * subscription on A and one on B, each proven live by one order event. Then
 *  - revoked: `revokeSessions` for every user, one after another, through A; per operation, the time from the
 *    mutation's response (and from its send) to the end: the socket's close with 4401, or the SSE stream's final
 *    `UNAUTHENTICATED` result and the end of its response (the later of the two);
 *  - expired: fresh users whose tokens share one `exp` a few seconds ahead; per operation, the time from `exp`
 *    to the end.
 * The clock is the bench process's (the client's): what a user would see, client work included. Loopback only;
 * every wait is bounded; the database and the Redis keys are removed at the end.
 */

const USAGE = `npm run bench:session-end -- [--users 200] [--concurrency 8 (users opening at once)] [--expiry-lead 0 (seconds after setup; 0: auto)]
  [--end-timeout 10] [--results (append the table to bench/RESULTS.md)]`;

const { values: flags } = parseArgs({
  options: {
    users: { type: 'string', default: '200' },
    concurrency: { type: 'string', default: '8' },
    'expiry-lead': { type: 'string', default: '0' },
    'end-timeout': { type: 'string', default: '10' },
    results: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (flags.help) {
  console.log(USAGE);
  process.exit(0);
}

const USERS = Math.min(Math.max(Number(flags.users), 1), 2000);
const CONCURRENCY = Math.max(Number(flags.concurrency), 1);
const END_TIMEOUT_MS = Number(flags['end-timeout']) * 1000;
const LIVE_TIMEOUT_MS = 60_000;
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

const SUBSCRIPTION = 'subscription ($storeId: ID!) { orderUpdated(storeId: $storeId) { kind order { id } } }';
const CREATE_ORDER = `mutation ($input: CreateOrderInput!) { createOrder(input: $input) { id } }`;
const REVOKE = 'mutation ($userId: ID!) { revokeSessions(userId: $userId) { userId revokedAt } }';

type Transport = 'graphql-ws' | 'SSE';
type Cause = 'revoked' | 'expired';

/** One long-lived operation: a subscription on one instance over one transport. */
interface Operation {
  user: string;
  transport: Transport;
  instance: 'A' | 'B';
  /** Resolves once the operation has delivered a live event (its order id). */
  live: Promise<void>;
  /** Set when the operation ended as it should (4401 close; SSE UNAUTHENTICATED + response end). */
  endedAt?: number;
  /** Anything else that ended it (wrong code, wrong error, a stream that ended without the error). */
  wrongEnd?: string;
  /** Resolves when the operation has ended, one way or the other. */
  ended: Promise<void>;
  close(): void;
}

// ---------------------------------------------------------------------------------------------------------
// Clients: raw sockets and raw HTTP, so the client's share of the measured time stays small.

function liveWaiter() {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => {});
  return { promise, resolve, reject };
}

function wsOperation(server: Server, instance: 'A' | 'B', user: string, token: string): Operation {
  const live = liveWaiter();
  let isLive = false;
  const socket = new WebSocket(server.wsUrl, 'graphql-transport-ws', { perMessageDeflate: false });
  const op: Operation = {
    user,
    transport: 'graphql-ws',
    instance,
    live: live.promise,
    ended: new Promise<void>((resolve) => {
      socket.on('close', (code, reason) => {
        const at = nowMs();
        if (code === 4401 && isLive) op.endedAt = at;
        else op.wrongEnd ??= `closed ${code} ${reason.toString()}`;
        live.reject(new Error(`${user} graphql-ws on ${instance}: closed ${code} ${reason.toString()}`));
        resolve();
      });
    }),
    close: () => socket.terminate(),
  };
  socket.on('error', (error) => {
    op.wrongEnd ??= error.message;
  });
  socket.on('open', () =>
    socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } })),
  );
  socket.on('message', (data: Buffer) => {
    const message = JSON.parse(data.toString()) as { type: string; payload?: { data?: unknown } };
    if (message.type === 'connection_ack') {
      socket.send(
        JSON.stringify({
          id: '1',
          type: 'subscribe',
          payload: { query: SUBSCRIPTION, variables: { storeId: BENCH_STORE } },
        }),
      );
    } else if (message.type === 'next' && message.payload?.data) {
      isLive = true;
      live.resolve();
    } else if (message.type === 'ping') socket.send('{"type":"pong"}');
    else if (message.type !== 'pong') op.wrongEnd ??= `${message.type}: ${JSON.stringify(message.payload)}`;
  });
  return op;
}

function sseOperation(server: Server, instance: 'A' | 'B', user: string, token: string): Operation {
  const live = liveWaiter();
  let isLive = false;
  let errorAt: number | undefined;
  let response: http.IncomingMessage | undefined;
  const body = JSON.stringify({ query: SUBSCRIPTION, variables: { storeId: BENCH_STORE } });
  const request = http.request(`${server.url}/graphql`, {
    method: 'POST',
    agent: false,
    headers: {
      'content-type': 'application/json',
      accept: 'text/event-stream',
      authorization: `Bearer ${token}`,
      'content-length': Buffer.byteLength(body),
    },
  });
  const op: Operation = {
    user,
    transport: 'SSE',
    instance,
    live: live.promise,
    ended: new Promise<void>((resolve) => {
      let finished = false;
      const finish = (why: string) => {
        if (finished) return;
        finished = true;
        const at = nowMs();
        if (errorAt !== undefined && isLive && !op.wrongEnd) op.endedAt = Math.max(errorAt, at);
        else op.wrongEnd ??= why;
        live.reject(new Error(`${user} SSE on ${instance}: ${why}`));
        resolve();
      };
      request.on('error', (error) => finish(error.message));
      request.on('response', (res) => {
        response = res;
        if (res.statusCode !== 200) op.wrongEnd = `status ${res.statusCode}`;
        res.setEncoding('utf8');
        let buffer = '';
        res.on('data', (chunk: string) => {
          buffer += chunk;
          for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const event = /^event: *(.*)$/m.exec(block)?.[1];
            const data = /^data: *(.*)$/m.exec(block)?.[1];
            if (event !== 'next' || !data) continue;
            const result = JSON.parse(data) as {
              data?: unknown;
              errors?: Array<{ extensions?: { code?: string } }>;
            };
            if (result.data) {
              isLive = true;
              live.resolve();
            } else if (result.errors?.[0]?.extensions?.code === 'UNAUTHENTICATED') errorAt ??= nowMs();
            else op.wrongEnd ??= `errors: ${JSON.stringify(result.errors)}`;
          }
        });
        res.on('end', () => finish('response ended'));
        res.on('close', () => finish('response closed'));
      });
    }),
    close: () => {
      response?.destroy();
      request.destroy();
    },
  };
  request.end(body);
  return op;
}

/** The four operations of each user, opened `CONCURRENCY` users at a time, proven live by one order. */
async function openAll(a: Server, b: Server, tokens: Map<string, string>, adminToken: string) {
  const ops: Operation[] = [];
  const users = [...tokens.keys()];
  let next = 0;
  const worker = async () => {
    while (next < users.length) {
      const user = users[next++]!;
      const token = tokens.get(user)!;
      const mine = [
        wsOperation(a, 'A', user, token),
        wsOperation(b, 'B', user, token),
        sseOperation(a, 'A', user, token),
        sseOperation(b, 'B', user, token),
      ];
      ops.push(...mine);
      // Subscribed is not observable from outside (graphql-ws has no subscribe ack): wait for the response
      // headers / the ack, a little later the order proves each one live.
      await Promise.race([
        Promise.allSettled(mine.map((op) => op.ended)),
        new Promise((resolve) => setTimeout(resolve, 50)),
      ]);
    }
  };
  const progress = setInterval(() => console.log(`  opening: ${next} / ${users.length} users`), 5000);
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, users.length) }, worker)).finally(() =>
    clearInterval(progress),
  );
  // Orders until every operation has seen one (an operation subscribed after an order waits for the next).
  const deadline = Date.now() + LIVE_TIMEOUT_MS;
  const allLive = Promise.all(ops.map((op) => op.live));
  let settled = false;
  allLive.then(
    () => (settled = true),
    () => (settled = true),
  );
  while (!settled && Date.now() < deadline) {
    await gql(a, CREATE_ORDER, adminToken, {
      input: {
        storeId: BENCH_STORE,
        channel: 'POS',
        items: [{ productId: 'acme-downtown-burger', quantity: 1 }],
      },
    }).catch((error: Error) => console.warn(`  an order failed (the next one is tried): ${error.message}`));
    await Promise.race([allLive.catch(() => {}), new Promise((resolve) => setTimeout(resolve, 1000))]);
  }
  await allLive; // throws the first operation that ended or was refused instead of going live
  return ops;
}

async function gql<T = unknown>(server: Server, query: string, token: string, variables: unknown) {
  const response = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const result = (await response.json()) as { data?: T; errors?: unknown[] };
  if (result.errors) throw new Error(`${query.slice(0, 40)}: ${JSON.stringify(result.errors)}`);
  return result.data as T;
}

async function untilEnded(ops: Operation[]): Promise<void> {
  await Promise.race([
    Promise.all(ops.map((op) => op.ended)),
    new Promise((resolve) => setTimeout(resolve, END_TIMEOUT_MS)),
  ]);
}

// ---------------------------------------------------------------------------------------------------------
// The two causes

interface Measured {
  op: Operation;
  /** Milliseconds from the cause (the mutation's response; exp) to the end. */
  ms?: number;
  /** Revocations only: from the mutation's send. */
  fromSendMs?: number;
}

async function revoked(a: Server, b: Server, adminToken: string, users: string[]): Promise<Measured[]> {
  const tokens = new Map<string, string>();
  for (const user of users) tokens.set(user, await staffToken(user, '1h'));
  const ops = await openAll(a, b, tokens, adminToken);
  console.log(`  revoked: ${ops.length} operations live; revoking ${users.length} users through A`);
  const cpu = await cpuMeter(a, b);
  const sentAt = new Map<string, number>();
  const answeredAt = new Map<string, number>();
  for (const user of users) {
    sentAt.set(user, nowMs());
    await gql(a, REVOKE, adminToken, { userId: user });
    answeredAt.set(user, nowMs());
  }
  await untilEnded(ops);
  notes.push(`revoked: ${await cpu()}`);
  return ops.map((op) => ({
    op,
    ms: op.endedAt === undefined ? undefined : op.endedAt - answeredAt.get(op.user)!,
    fromSendMs: op.endedAt === undefined ? undefined : op.endedAt - sentAt.get(op.user)!,
  }));
}

async function expired(
  a: Server,
  b: Server,
  adminToken: string,
  users: string[],
  leadSeconds: number,
): Promise<Measured[]> {
  const exp = Math.floor(Date.now() / 1000) + leadSeconds;
  const tokens = new Map<string, string>();
  for (const user of users) tokens.set(user, await staffToken(user, exp - Math.floor(Date.now() / 1000)));
  const ops = await openAll(a, b, tokens, adminToken);
  const left = exp * 1000 - Date.now();
  console.log(`  expired: ${ops.length} operations live, ${(left / 1000).toFixed(1)} s before their exp`);
  if (left <= 0) throw new Error('the tokens expired before every operation was live: raise --expiry-lead');
  await new Promise((resolve) => setTimeout(resolve, Math.max(left - 1000, 0)));
  const cpu = await cpuMeter(a, b);
  await new Promise((resolve) => setTimeout(resolve, exp * 1000 - Date.now()));
  await untilEnded(ops);
  notes.push(`expired: ${await cpu()}`);
  return ops.map((op) => ({ op, ms: op.endedAt === undefined ? undefined : op.endedAt - exp * 1000 }));
}

/** What each process spent (CPU ms) and the wall time between the start and the end of a phase. */
const notes: string[] = [];
async function cpuMeter(a: Server, b: Server) {
  const started = nowMs();
  const [a0, b0] = await Promise.all([stats(a), stats(b)]);
  const c0 = process.cpuUsage();
  return async () => {
    const wall = nowMs() - started;
    const c1 = process.cpuUsage(c0);
    const [a1, b1] = await Promise.all([stats(a), stats(b)]);
    const ms = (micros: number) => (micros / 1000).toFixed(0);
    return `${wall.toFixed(0)} ms wall; CPU: A ${ms(a1.cpuMicros - a0.cpuMicros)} ms, B ${ms(b1.cpuMicros - b0.cpuMicros)} ms, the bench's clients ${ms(c1.user + c1.system)} ms`;
  };
}

/** A STAFF token of a bench user; a number `expiresIn` is seconds from now (signToken's rule). */
function staffToken(user: string, expiresIn: string | number) {
  return signToken(
    { sub: user, tid: BENCH_TENANT, roles: ['STAFF'], stores: [BENCH_STORE], expiresIn },
    { secret: BENCH_JWT_SECRET },
  );
}

// ---------------------------------------------------------------------------------------------------------
// Report

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? Number.NaN;
}

const ms = (value: number) => (Number.isNaN(value) ? '-' : value.toFixed(1));

function rows(cause: Cause, measured: Measured[]): string[][] {
  const lines: string[][] = [];
  for (const transport of ['graphql-ws', 'SSE'] as const) {
    for (const instance of ['A', 'B'] as const) {
      const mine = measured.filter((m) => m.op.transport === transport && m.op.instance === instance);
      const times = mine.flatMap((m) => (m.ms === undefined ? [] : [m.ms])).sort((x, y) => x - y);
      const fromSend = mine.flatMap((m) => (m.fromSendMs === undefined ? [] : [m.fromSendMs]));
      lines.push([
        cause,
        transport,
        instance,
        `${times.length} / ${mine.length}`,
        ms(quantile(times, 0.5)),
        ms(quantile(times, 0.99)),
        ms(times.at(-1) ?? Number.NaN),
        cause === 'revoked' ? ms(Math.max(...fromSend)) : '-',
      ]);
    }
  }
  return lines;
}

async function main() {
  const startedAt = Date.now();
  const loadBefore = loadAverage();
  const database = await createTestDatabase({ seed: true });
  const prefix = `bench:session-end:${process.pid}:${randomUUID().slice(0, 8)}:`;
  const redis = new Redis(REDIS_URL);
  const servers: Server[] = [];
  const measured: Array<[Cause, Measured[]]> = [];
  try {
    await database.handle.query(`UPDATE "InventoryItem" SET "quantity" = 100000000, "lowStockThreshold" = 0`);
    const names = (kind: string) => Array.from({ length: USERS }, (_, i) => `bench-${kind}-${i}`);
    for (const kind of ['rev', 'exp']) {
      await database.handle.query(
        `INSERT INTO "User" ("id", "tenantId", "name", "email", "roles", "storeIds", "stationIds")
         SELECT 'bench-${kind}-' || i, $1, 'Bench ' || i, 'bench-${kind}-' || i || '@bench.invalid',
                ARRAY['STAFF']::"Role"[], ARRAY[$2], ARRAY[]::text[]
         FROM generate_series(0, ${USERS - 1}) AS i`,
        [BENCH_TENANT, BENCH_STORE],
      );
    }
    const env = {
      BENCH_DATABASE_URL: database.url,
      BENCH_REDIS_URL: REDIS_URL,
      BENCH_REDIS_PREFIX: prefix,
      // Opening is not what is measured: on a loaded machine a handshake may wait longer than the default 5 s.
      EXPEDITER_WS_CONNECTION_INIT_TIMEOUT_MS: '60000',
    };
    servers.push(await startServer('expediter', env), await startServer('expediter', env));
    const [a, b] = servers as [Server, Server];
    const adminToken = await tokenForDemoUser('acme-admin', { secret: BENCH_JWT_SECRET, expiresIn: '2h' });

    console.log(`session-end: ${USERS} users × (graphql-ws + SSE) × (A + B)`);
    const setupStarted = Date.now();
    const byRevocation = await revoked(a, b, adminToken, names('rev'));
    measured.push(['revoked', byRevocation]);
    for (const m of byRevocation) m.op.close();
    // The expiry lead: what opening everything took in the first round, twice over, and 3 s more.
    const lead = Number(flags['expiry-lead']) || Math.ceil((2 * (Date.now() - setupStarted)) / 1000) + 3;
    const byExpiry = await expired(a, b, adminToken, names('exp'), lead);
    measured.push(['expired', byExpiry]);
    for (const m of byExpiry) m.op.close();
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
    await deleteKeys(redis, prefix);
    redis.disconnect();
    await database.drop();
  }

  const header = [
    'cause',
    'transport',
    'instance',
    'ended / opened',
    'p50 ms',
    'p99 ms',
    'max ms',
    'max from send ms',
  ];
  const render = (cells: string[]) => `| ${cells.join(' | ')} |`;
  const lines = measured.flatMap(([cause, m]) => rows(cause, m));
  const table = [render(header), render(header.map(() => '---')), ...lines.map(render)].join('\n');
  const all = measured.flatMap(([, m]) => m);
  const missing = all.filter((m) => m.ms === undefined);
  const worst = Math.max(...all.flatMap((m) => [m.ms ?? Number.POSITIVE_INFINITY, m.fromSendMs ?? 0]));
  const verdict =
    missing.length > 0
      ? `${missing.length} operations did not end as they should (first: ${missing[0]!.op.user} ${missing[0]!.op.transport} on ${missing[0]!.op.instance}: ${missing[0]!.op.wrongEnd ?? `not ended within ${END_TIMEOUT_MS / 1000} s`})`
      : `max ${worst.toFixed(1)} ms (revocations counted from the mutation's send): ${worst < 1000 ? 'under' : 'NOT under'} 1 s`;
  const seconds = Math.round((Date.now() - startedAt) / 1000);
  const cpu = os.cpus();
  const about = `- ${new Date().toISOString()}, \`npm run bench:session-end -- ${process.argv.slice(2).join(' ')}\` (${seconds} s), ${cpu[0]?.model ?? 'CPU'} × ${cpu.length}, load average before/after: ${loadBefore} / ${loadAverage()}`;
  const cpuNotes = notes.map((note) => `- ${note}`).join('\n');
  console.log(`\n${table}\n\n${verdict}\n${cpuNotes}\n${about}`);
  if (flags.results) {
    appendFileSync(
      new URL('./RESULTS.md', import.meta.url),
      `\n## Session end (issue #12: revocation and expiry end every operation within a second)\n\n${about}\n\n${table}\n\n${verdict}. Each phase, from its first cause to its last end:\n\n${cpuNotes}\n`,
    );
  }
  if (missing.length > 0) process.exitCode = 1;
}

async function deleteKeys(redis: Redis, prefix: string) {
  let cursor = '0';
  do {
    const [nextCursor, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = nextCursor;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
}

function loadAverage() {
  return os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
