import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { describe, expect, it } from 'vitest';
import type { AuthError } from '../../src/auth/errors';
import { createTokenVerifier } from '../../src/auth/jwt';
import type { Role } from '../../src/auth/principal';
import { tokenCommand } from '../../src/auth/token-cli';
import {
  DemoTokenError,
  signTableToken,
  signToken,
  TABLE_TOKEN_LIFETIME_SECONDS,
  tokenForDemoUser,
} from '../../src/auth/tokens';
import { DEV_JWT_SECRET } from '../../src/config';

const SECRET = 'tokens-test-secret-long-enough';
const signing = { secret: SECRET, issuer: 'expediter', audience: 'expediter-api' };
const verifier = createTokenVerifier(signing);
const now = () => Math.floor(Date.now() / 1000);
const KITCHEN_CLAIMS = {
  sub: 'acme-kitchen',
  tid: 'acme',
  roles: ['KITCHEN'] as Role[],
  stores: ['acme-downtown'],
  stations: ['acme-downtown-grill'],
  jti: 'fixed-jti',
};

describe('signToken', () => {
  it('signs HS256 tokens the verifier accepts, with exactly the given claims', async () => {
    const token = await signToken({ ...KITCHEN_CLAIMS, expiresIn: '2h' }, signing);
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'HS256', typ: 'JWT' });
    const payload = decodeJwt(token);
    expect(payload).toEqual({
      ...KITCHEN_CLAIMS,
      iss: 'expediter',
      aud: 'expediter-api',
      iat: expect.any(Number),
      exp: expect.any(Number),
    });
    expect(payload.exp! - payload.iat!).toBe(7200);
    expect(await verifier.verify(token)).toMatchObject({
      userId: 'acme-kitchen',
      stations: ['acme-downtown-grill'],
    });
  });

  it('writes "*" as stores ["*"], defaults to one hour and a random jti', async () => {
    const claims = { sub: 'acme-admin', tid: 'acme', roles: ['ADMIN'] as const, stores: '*' as const };
    const first = decodeJwt(await signToken(claims, signing));
    const second = decodeJwt(await signToken(claims, signing));
    expect(first.stores).toEqual(['*']);
    expect(first.exp! - first.iat!).toBe(3600);
    expect(first.jti).toMatch(/^[0-9a-f-]{36}$/);
    expect(first.jti).not.toBe(second.jti);
    expect(first.stations).toBeUndefined();
  });

  it('reads a numeric expiresIn as seconds from now', async () => {
    const token = await signToken(
      { sub: 'u', tid: 't', roles: ['STAFF'], stores: [], expiresIn: 90 },
      signing,
    );
    expect(decodeJwt(token).exp! - now()).toBeGreaterThanOrEqual(89);
    expect(decodeJwt(token).exp! - now()).toBeLessThanOrEqual(90);
  });

  it('sets nbf when asked, which the verifier honours', async () => {
    const token = await signToken(
      { sub: 'u', tid: 't', roles: ['STAFF'], stores: [], notBefore: '1h' },
      signing,
    );
    const error = await verifier.verify(token).catch((e: unknown) => e);
    expect((error as AuthError).reason).toBe('not_yet_valid');
  });
});

describe('tokenForDemoUser', () => {
  it("carries the demo user's tenant, roles, stores and stations", async () => {
    const kitchen = decodeJwt(await tokenForDemoUser('acme-kitchen', signing));
    expect(kitchen).toMatchObject({
      sub: 'acme-kitchen',
      tid: 'acme',
      roles: ['KITCHEN'],
      stores: ['acme-downtown'],
      stations: ['acme-downtown-grill'],
    });
    const admin = await verifier.verify(await tokenForDemoUser('globex-admin', signing));
    expect(admin).toMatchObject({
      userId: 'globex-admin',
      tenantId: 'globex',
      roles: ['ADMIN'],
      stores: '*',
    });
  });

  it('narrows the token to one store the user may use', async () => {
    expect(
      decodeJwt(await tokenForDemoUser('acme-manager', { ...signing, storeId: 'acme-uptown' })).stores,
    ).toEqual(['acme-uptown']);
    await expect(tokenForDemoUser('acme-staff', { ...signing, storeId: 'acme-uptown' })).rejects.toThrow(
      'Demo user acme-staff may not act in store acme-uptown',
    );
    await expect(tokenForDemoUser('acme-admin', { ...signing, storeId: 'globex-central' })).rejects.toThrow(
      DemoTokenError,
    );
  });

  it('refuses an unknown user', async () => {
    await expect(tokenForDemoUser('nobody', signing)).rejects.toThrow('Unknown demo user: nobody');
  });
});

describe('guest tokens at a table', () => {
  const table = { id: 'acme-downtown-12', tenantId: 'acme', storeId: 'acme-downtown' };

  it('are a CUSTOMER of the table’s store, bound to the table by the claim `table`, for four hours', async () => {
    const { token, expiresAt } = await signTableToken(table, signing);
    const principal = await verifier.verify(token);
    expect(principal).toMatchObject({
      userId: 'guest:acme-downtown-12',
      tenantId: 'acme',
      roles: ['CUSTOMER'],
      stores: ['acme-downtown'],
      stations: [],
      table: 'acme-downtown-12',
    });
    expect(principal.expiresAt! - principal.issuedAt!).toBe(TABLE_TOKEN_LIFETIME_SECONDS);
    expect(expiresAt.getTime()).toBe(principal.expiresAt! * 1000);
  });

  it('name the party seated when they were issued (claim `seating`), when the table says', async () => {
    const { token } = await signTableToken({ ...table, seatingId: 'party-1' }, signing);
    expect(await verifier.verify(token)).toMatchObject({ table: 'acme-downtown-12', seating: 'party-1' });
    const withoutTable = await signToken(
      {
        sub: 'acme-customer',
        tid: 'acme',
        roles: ['CUSTOMER'],
        stores: ['acme-downtown'],
        seating: 'party-1',
      },
      signing,
    );
    const error = await verifier.verify(withoutTable).catch((e: unknown) => e);
    expect((error as AuthError).reason).toBe('bad_claims');
  });

  it.each([
    ['another role', { roles: ['STAFF'] as const }],
    ['a second role', { roles: ['CUSTOMER', 'STAFF'] as const }],
    ['every store', { stores: '*' as const }],
    ['two stores', { stores: ['acme-downtown', 'acme-uptown'] }],
    ['stations', { stations: ['acme-downtown-grill'] }],
    ['another user id', { sub: 'acme-customer' }],
  ])('refuse a table claim with %s (bad claims)', async (_name, change) => {
    const token = await signToken(
      {
        sub: 'guest:acme-downtown-12',
        tid: 'acme',
        roles: ['CUSTOMER'],
        stores: ['acme-downtown'],
        table: 'acme-downtown-12',
        ...change,
      },
      signing,
    );
    const error = await verifier.verify(token).catch((e: unknown) => e);
    expect((error as AuthError).reason).toBe('bad_claims');
  });
});

// Each test starts the CLI in a process of its own (tsx compiles it first): slow on a busy machine.
describe('token command', { timeout: 120_000 }, () => {
  const env = { JWT_SECRET: SECRET, JWT_ISSUER: 'expediter', JWT_AUDIENCE: 'expediter-api' };

  it('prints just the token, signed with the configured secret, issuer and audience', async () => {
    const result = await tokenCommand(['acme-manager', '--expires', '30m', '--store', 'acme-downtown'], env);
    expect(result.exitCode).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    const principal = await verifier.verify(result.stdout.trim());
    expect(principal).toMatchObject({ userId: 'acme-manager', stores: ['acme-downtown'] });
    expect(principal.expiresAt! - principal.issuedAt!).toBe(1800);
  });

  it('defaults to eight hours and the development secret', async () => {
    const result = await tokenCommand(['acme-staff'], {});
    const principal = await createTokenVerifier({ secret: DEV_JWT_SECRET }).verify(result.stdout.trim());
    expect(principal.expiresAt! - principal.issuedAt!).toBe(8 * 3600);
  });

  it('lists the demo users when the user is unknown', async () => {
    const result = await tokenCommand(['nobody'], env);
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('Unknown demo user: nobody');
    expect(result.stderr).toMatch(/^ {2}acme-manager +MANAGER +stores: \*$/m);
    expect(result.stderr).toMatch(/^ {2}globex-kitchen +KITCHEN +stores: globex-central$/m);
  });

  it.each([
    ['no user', [], 'Usage:'],
    ['an unknown option', ['acme-staff', '--bogus'], "Unknown option '--bogus'"],
    ['a bad duration', ['acme-staff', '--expires', 'soon'], 'Invalid --expires value: soon'],
  ])('explains %s and exits 1', async (_name, args, message) => {
    const result = await tokenCommand(args, env);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain(message);
  });

  it('signs a guest token for a demo table with --table', async () => {
    const result = await tokenCommand(['--table', 'acme-downtown-12'], env);
    expect(result).toMatchObject({ exitCode: 0, stderr: '' });
    const principal = await verifier.verify(result.stdout.trim());
    expect(principal).toMatchObject({ userId: 'guest:acme-downtown-12', table: 'acme-downtown-12' });
    expect(principal.expiresAt! - principal.issuedAt!).toBe(4 * 3600);
    const short = await tokenCommand(['--table', 'globex-central-3', '--expires', '30m'], env);
    const globex = await verifier.verify(short.stdout.trim());
    expect(globex).toMatchObject({
      tenantId: 'globex',
      stores: ['globex-central'],
      table: 'globex-central-3',
    });
    expect(globex.expiresAt! - globex.issuedAt!).toBe(1800);
  });

  it.each([
    ['an unknown table', ['--table', 'acme-downtown-13'], 'Unknown demo table: acme-downtown-13'],
    ['a table and a user', ['acme-staff', '--table', 'acme-downtown-12'], '--table signs a guest token'],
  ])('refuses %s', async (_name, args, message) => {
    const result = await tokenCommand(args, env);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain(message);
  });

  it('refuses to sign when only a JWKS is configured', async () => {
    const result = await tokenCommand(['acme-staff'], { JWKS_URL: 'https://idp.example/jwks.json' });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('Signing needs JWT_SECRET');
  });

  it('runs as a script whose stdout is only the token', async () => {
    const { stdout } = await promisify(execFile)('npx', ['tsx', 'src/auth/token-cli.ts', 'acme-customer'], {
      env: { ...process.env, ...env },
    });
    expect((await verifier.verify(stdout.trim())).userId).toBe('acme-customer');
    expect(stdout.trim().split('\n')).toHaveLength(1);
  });
});
