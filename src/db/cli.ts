import { resolve } from 'node:path';
import { type Config, ConfigError, loadConfig } from '../config';
import { createDb, type DbHandle } from './client';
import { MigrationError, type MigrationLogger, migrate } from './migrate';
import { seed } from './seed';

const USAGE = `Usage: tsx src/db/cli.ts <command>

Commands:
  migrate          apply pending migrations (prisma/migrations)
  seed             apply pending migrations, then load the demo data (idempotent)
  reset [--force]  drop everything in the database, migrate and seed
                   (--force is required when NODE_ENV=production)

Uses DATABASE_URL, or embedded PGlite under DATA_DIR when DATABASE_URL is unset.`;

const COMMANDS = ['migrate', 'seed', 'reset'] as const;
type Command = (typeof COMMANDS)[number];

const consoleLogger: MigrationLogger = {
  info: (details, message) => console.log(`${message} ${JSON.stringify(details)}`),
  warn: (details, message) => console.warn(`warning: ${message} ${JSON.stringify(details)}`),
};

async function main(argv: string[]): Promise<number> {
  const [command, ...flags] = argv;
  if (!isCommand(command)) {
    console.error(command ? `Unknown command: ${command}\n\n${USAGE}` : USAGE);
    return 2;
  }
  const config = loadConfig();
  if (command === 'reset' && config.env === 'production' && !flags.includes('--force')) {
    console.error('Refusing to reset a production database without --force.');
    return 1;
  }
  console.log(`Database: ${describe(config)}`);
  const handle = await createDb({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    await run(command, handle);
    return 0;
  } finally {
    await handle.close();
  }
}

async function run(command: Command, handle: DbHandle): Promise<void> {
  if (command === 'reset') {
    await handle.exec('DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;');
    console.log('Dropped every table, type and migration record.');
  }
  const { applied } = await migrate(handle, { logger: consoleLogger });
  console.log(applied.length > 0 ? `Applied ${applied.length} migration(s).` : 'No pending migrations.');
  if (command === 'seed' || command === 'reset') {
    await seed(handle.db);
    console.log('Demo data loaded (tenants acme and globex; see src/db/demo-data.ts).');
  }
}

function isCommand(value: string | undefined): value is Command {
  return COMMANDS.includes(value as Command);
}

function describe(config: Config): string {
  if (!config.databaseUrl) return `embedded PGlite in ${resolve(config.dataDir, 'pglite')}`;
  const url = new URL(config.databaseUrl);
  url.password = url.password ? '***' : '';
  return `PostgreSQL ${url.toString()}`;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const expected = error instanceof ConfigError || error instanceof MigrationError;
    const detail = process.env.LOG_LEVEL === 'debug' ? (error as Error).stack : (error as Error).message;
    console.error(expected ? (error as Error).message : `Failed: ${detail ?? String(error)}`);
    process.exitCode = 1;
  },
);
