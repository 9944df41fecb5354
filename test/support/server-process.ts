import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { eventually } from './eventually';
import { TEST_JWT_SECRET, TEST_REDIS_URL } from './server';

/** The environment of an instance in another process that joins a test cluster (its database and Redis prefix). */
export function clusterMemberEnv(databaseUrl: string, redisPrefix: string): Record<string, string> {
  return {
    NODE_ENV: 'test',
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: databaseUrl,
    REDIS_URL: TEST_REDIS_URL,
    REDIS_PREFIX: redisPrefix,
    JWT_SECRET: TEST_JWT_SECRET,
    LOG_LEVEL: 'info',
    GRAPHIQL: 'false',
  };
}

/**
 * `node --import tsx src/main.ts` with the given environment; resolves with its URL once it listens, and kills it
 * if it does not.
 */
export async function startServerProcess(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Array<Record<string, unknown>> = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    try {
      logs.push(JSON.parse(line));
    } catch {
      // not a log line
    }
  });
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += String(chunk)));
  const exited = once(child, 'exit') as Promise<[number | null, string | null]>;
  let port: number;
  try {
    port = await Promise.race([
      eventually(() => logs.find((l) => l.msg === 'expediter listening')?.port as number | undefined, 60_000),
      exited.then(([code]) => {
        throw new Error(`server process exited with ${code} before listening: ${stderr}`);
      }),
    ]);
  } catch (error) {
    // A process that never came up must not outlive the test (it would hold its database and Redis).
    if (child.exitCode === null) child.kill('SIGKILL');
    throw error;
  }
  return { child, logs, exited, url: `http://127.0.0.1:${port}`, wsUrl: `ws://127.0.0.1:${port}/graphql` };
}
