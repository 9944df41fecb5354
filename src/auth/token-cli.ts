import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config';
import { demoUsers } from '../db/demo-data';
import { DemoTokenError, tokenForDemoUser } from './tokens';

const USAGE = 'Usage: npm run -s token -- <demo-user> [--expires 8h] [--store <store-id>]';

export interface CommandResult {
  exitCode: 0 | 1;
  /** Just the token, so `TOKEN=$(npm run -s token -- acme-manager)` works. */
  stdout: string;
  stderr: string;
}

/**
 * Signs a token for a demo user with the configured secret, issuer and audience. Reads no database:
 * the demo users are constants, and the embedded PGlite may be locked by a running server.
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
  const { userId, expires, store } = parsed;
  if (!userId) return failure(`${USAGE}\n\n${demoUserList()}`);

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
  try {
    const token = await tokenForDemoUser(userId, {
      secret: jwt.secret,
      issuer: jwt.issuer,
      audience: jwt.audience,
      expiresIn: expires,
      storeId: store,
    });
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
    options: { expires: { type: 'string', default: '8h' }, store: { type: 'string' } },
  });
  if (positionals.length > 1) throw new Error(`Expected one demo user, got: ${positionals.join(' ')}`);
  return { userId: positionals[0], expires: values.expires, store: values.store };
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
