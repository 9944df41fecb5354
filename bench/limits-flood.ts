import { fork } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { tokenForDemoUser } from '../src/auth/tokens';
import { loadConfig } from '../src/config';
import { createServer } from '../src/server/server';
import { createTestDatabase } from '../test/support/db';

/**
 * `npx tsx bench/limits-flood.ts`: does one socket flooding messages slow other clients down?
 *
 * The server runs in its own process, the flooder in another; this process is the victim, sending
 * one small query every 20 ms over its own socket and timing each round trip. Three phases per
 * server: quiet, a flood of pings, a flood of subscribe messages (each a 100-field document the
 * server has to parse, validate and execute). Two servers: the defaults (WS_MESSAGES_PER_CONNECTION
 * 100/s, which closes the flooder with 4429) and the guard opened wide, to see what it prevents.
 */

const SECRET = 'bench-limits-flood-secret-0123456789';
const FLOOD_MESSAGES = 20_000;
const SAMPLES = 100;
const self = fileURLToPath(import.meta.url);

type Role = 'server' | 'flooder';
const role = process.argv[2] as Role | undefined;
if (role === 'server') void serve();
else if (role === 'flooder') void flood(process.argv[3]!, process.argv[4] as 'ping' | 'subscribe');
else
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });

async function serve() {
  const config = loadConfig({
    NODE_ENV: 'production',
    PORT: '0',
    DATABASE_URL: process.env.FLOOD_DATABASE_URL,
    JWT_SECRET: SECRET,
    LOG_LEVEL: 'error',
    SEED_DEMO_DATA: 'false',
    TRUSTED_DOCUMENTS: 'allow', // the flooders send text
    ...(process.env.FLOOD_GUARD_OFF ? { WS_MESSAGES_PER_CONNECTION: '1000000000' } : {}),
  });
  const server = await createServer(config);
  process.send?.({ wsUrl: server.wsUrl });
  process.on('message', async () => {
    await server.close();
    process.exit(0);
  });
}

async function flood(wsUrl: string, kind: 'ping' | 'subscribe') {
  const token = await tokenForDemoUser('globex-customer', { secret: SECRET, expiresIn: '1h' });
  const socket = new WebSocket(wsUrl, 'graphql-transport-ws');
  socket.on('error', () => {});
  await new Promise((resolve) => socket.once('open', resolve));
  socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } }));
  await new Promise((resolve) => socket.once('message', resolve));
  const query = `{ ${'__typename '.repeat(100)}}`;
  const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
  const started = performance.now();
  for (let i = 0; i < FLOOD_MESSAGES && socket.readyState === WebSocket.OPEN; i++) {
    socket.send(
      JSON.stringify(
        kind === 'ping' ? { type: 'ping' } : { id: `f${i}`, type: 'subscribe', payload: { query } },
      ),
    );
  }
  process.send?.({ queuedMs: performance.now() - started });
  const code = await Promise.race([closed, new Promise<number>((r) => setTimeout(() => r(0), 15_000))]);
  process.send?.({ closeCode: code });
  socket.terminate();
  process.exit(0);
}

async function main() {
  const database = await createTestDatabase({ seed: true });
  await database.handle.close();
  const report: string[] = [];
  for (const guard of ['on', 'off'] as const) {
    const server = fork(self, ['server'], {
      env: {
        ...process.env,
        FLOOD_DATABASE_URL: database.url,
        ...(guard === 'off' ? { FLOOD_GUARD_OFF: '1' } : {}),
      },
    });
    const { wsUrl } = await new Promise<{ wsUrl: string }>((resolve) =>
      server.once('message', resolve as never),
    );
    const victim = await connectVictim(wsUrl);
    for (const phase of ['quiet', 'ping', 'subscribe'] as const) {
      let flooder: ReturnType<typeof fork> | undefined;
      const flooderDone = new Promise<number>((resolve) => {
        if (phase === 'quiet') return resolve(0);
        flooder = fork(self, ['flooder', wsUrl, phase]);
        flooder.on(
          'message',
          (m: { closeCode?: number }) => m.closeCode !== undefined && resolve(m.closeCode),
        );
      });
      if (flooder) await new Promise((r) => setTimeout(r, 300)); // let the flood start
      const latencies = await measure(victim);
      const closeCode = await flooderDone;
      report.push(
        `guard ${guard.padEnd(3)} | ${phase.padEnd(9)} | victim p50 ${fmt(pct(latencies, 0.5))} p99 ${fmt(pct(latencies, 0.99))} max ${fmt(Math.max(...latencies))} | flooder ${phase === 'quiet' ? '-' : closeCode ? `closed ${closeCode}` : 'still open'}`,
      );
      console.log(report.at(-1));
    }
    await victim.dispose();
    server.send('stop');
    await new Promise((resolve) => server.once('exit', resolve));
  }
  await database.drop();
  console.log(`\n${report.join('\n')}`);
}

async function connectVictim(wsUrl: string) {
  const token = await tokenForDemoUser('acme-customer', { secret: SECRET, expiresIn: '1h' });
  // lazy: false keeps one socket; a lazy client would reconnect for every one-off query.
  const client = createClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    lazy: false,
    connectionParams: { authorization: `Bearer ${token}` },
  });
  return client;
}

/** One query every 20 ms (50/s, inside the victim's own message budget), timed end to end. */
async function measure(client: ReturnType<typeof createClient>): Promise<number[]> {
  const latencies: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const started = performance.now();
    await new Promise<void>((resolve, reject) => {
      client.subscribe(
        { query: '{ __typename }' },
        {
          next: () => {},
          error: (error) => {
            const { code, reason } = error as { code?: number; reason?: string };
            reject(new Error(`victim refused or closed: ${code ?? ''} ${reason ?? JSON.stringify(error)}`));
          },
          complete: resolve,
        },
      );
    });
    const elapsed = performance.now() - started;
    latencies.push(elapsed);
    await new Promise((r) => setTimeout(r, Math.max(20 - elapsed, 0)));
  }
  return latencies;
}

const pct = (values: number[], p: number) =>
  [...values].sort((x, y) => x - y)[Math.floor((values.length - 1) * p)]!;
const fmt = (ms: number) => `${ms.toFixed(1).padStart(7)} ms`;
