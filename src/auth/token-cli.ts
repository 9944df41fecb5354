import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config';
import { demoUsers, findDemoTable } from '../db/demo-data';
import { DemoTokenError, signTableToken, TABLE_TOKEN_LIFETIME_SECONDS, tokenForDemoUser } from './tokens';

const USAGE =
  'Usage: npm run -s token -- <demo-user> [--expires 8h] [--store <store-id>]\n' +
  '       npm run -s token -- --table <table-id> [--expires 4h]   (a guest token at a dining table)';

export interface CommandResult {
  exitCode: 0 | 1;
  /** Just the token, so `TOKEN=$(npm run -s token -- acme-manager)` works. */
  stdout: string;
  stderr: string;
}

/**
 * Signs a token for a demo user, or a guest token for a demo table (`--table acme-downtown-12`), with the
 * configured secret, issuer and audience. Reads no database: the demo users and tables are constants, and the
 * embedded PGlite may be locked by a running server.
 */
export async function tokenCommand(
  args: string[],
  env: Record<string, string | undefined>,
): Promise<CommandResult> {
  const failure = (message: string): CommandResult => ({ exitCode: 1, stdout: '', stderr: `${message}\n` });
  let parsed: ReturnType<typeof parseCommandLine>;
  try {
    parsed = parseCommandLine(args);
  } catch (error) {
    return failure(`${(error as Error).message}\n${USAGE}`);
  }
  const { userId, expires, store, table } = parsed;
  if (table !== undefined && (userId || store))
    return failure(`--table signs a guest token: no user, no --store\n${USAGE}`);
  if (!userId && table === undefined) return failure(`${USAGE}\n\n${demoUserList()}`);
  const demoTable = table === undefined ? undefined : findDemoTable(table);
  if (table !== undefined && !demoTable)
    return failure(`Unknown demo table: ${table} (e.g. acme-downtown-12)`);

  let jwt: ReturnType<typeof loadConfig>['jwt'];
  try {
    jwt = loadConfig(env).jwt;
  } catch (error) {
    if (error instanceof ConfigError) return failure(error.message);
    throw error;
  }
  if (!jwt.secret) {
    return failure(
      'Signing needs JWT_SECRET (HS256). With JWKS_URL/JWKS_FILE, tokens come from your identity provider.',
    );
  }
  const signing = { secret: jwt.secret, issuer: jwt.issuer, audience: jwt.audience };
  try {
    const token = demoTable
      ? (await signTableToken(demoTable, { ...signing, expiresIn: expires ?? TABLE_TOKEN_LIFETIME_SECONDS }))
          .token
      : await tokenForDemoUser(userId as string, { ...signing, expiresIn: expires ?? '8h', storeId: store });
    return { exitCode: 0, stdout: `${token}\n`, stderr: '' };
  } catch (error) {
    if (error instanceof DemoTokenError) return failure(`${error.message}\n\n${demoUserList()}`);
    if (error instanceof TypeError) return failure(`Invalid --expires value: ${expires}`); // jose's time span parser
    throw error;
  }
}

function parseCommandLine(args: string[]) {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { expires: { type: 'string' }, store: { type: 'string' }, table: { type: 'string' } },
  });
  if (positionals.length > 1) throw new Error(`Expected one demo user, got: ${positionals.join(' ')}`);
  return { userId: positionals[0], expires: values.expires, store: values.store, table: values.table };
}

function demoUserList(): string {
  const lines = demoUsers.map(
    (user) => `  ${user.id.padEnd(18)} ${user.roles.join(',').padEnd(9)} stores: ${user.storeIds.join(',')}`,
  );
  return `Demo users:\n${lines.join('\n')}`;
}

function isMainModule(): boolean {
  const entry = process.argv[1];
  return entry !== undefined && import.meta.url === pathToFileURL(realpathSync(entry)).href;
}

if (isMainModule()) {
  const result = await tokenCommand(process.argv.slice(2), process.env);
  process.stdout.write(result.stdout);
  process.stderr.write(result.stderr);
  process.exitCode = result.exitCode;
}
