import { createHmac } from 'node:crypto';
import type { JWTPayload } from 'jose';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type Authenticator, createAuthenticator } from '../../src/auth/authenticate';
import { createTokenVerifier } from '../../src/auth/jwt';
import { createMemoryRevocationStore, type RevocationStore } from '../../src/auth/revocation';
import { createLogger } from '../../src/observability/logger';
import { authRefusal, nowSeconds, signHs256 } from '../support/auth';

const SECRET = 'verified-token-cache-test-secret';

const staff = { sub: 'acme-staff', tid: 'acme', roles: ['STAFF'], stores: ['acme-downtown'] };
const admin = { sub: 'acme-admin', tid: 'acme', roles: ['ADMIN'], stores: ['*'] };

const sign = (payload: JWTPayload, opts?: Parameters<typeof signHs256>[2]) =>
  signHs256(SECRET, payload, opts);
const reason = async (promise: Promise<unknown>) => (await authRefusal(promise)).reason;

/** The same token through one authenticator (and so one verifier and its cache) again and again. */
describe('verified-token cache', () => {
  let revocations: RevocationStore;
  let authenticator: Authenticator;
  const storesOfTenant: Record<string, string[]> = { acme: ['acme-downtown', 'acme-uptown'] };

  beforeEach(() => {
    revocations = createMemoryRevocationStore();
    authenticator = createAuthenticator({
      verifier: createTokenVerifier({ secret: SECRET }),
      revocations,
      logger: createLogger('silent'),
      storeOfTenant: async (tenantId, storeId) => storesOfTenant[tenantId]?.includes(storeId) ?? false,
    });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const as = (token: string, storeId?: string) =>
    authenticator.authenticate({ authorization: `Bearer ${token}`, storeId });

  it('refuses a remembered token from its exp on', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const exp = nowSeconds() + 30;
    const token = await sign(staff, { exp });
    expect((await as(token)).userId).toBe('acme-staff');
    vi.setSystemTime(exp * 1000 - 1);
    expect((await as(token)).userId).toBe('acme-staff');
    vi.setSystemTime(exp * 1000);
    expect(await reason(as(token))).toBe('expired');
    // And stays refused (nothing of the earlier verification is left to answer).
    expect(await reason(as(token))).toBe('expired');
  });

  it('refuses a remembered token once it is revoked, and every token of a revoked user', async () => {
    const token = await sign(staff, { jti: 'remembered' });
    const other = await sign(staff, { jti: 'other', iat: nowSeconds() - 60 });
    await as(token);
    await as(other);
    await revocations.revokeToken('remembered', nowSeconds() + 3600);
    expect(await reason(as(token))).toBe('revoked');
    expect((await as(other)).userId).toBe('acme-staff');
    await revocations.revokeUser('acme', 'acme-staff', nowSeconds() - 30);
    expect(await reason(as(other))).toBe('revoked');
  });

  it('checks the requested store on every use: another tenant’s store and a store the token lacks are refused', async () => {
    const everyStore = await sign(admin);
    expect((await as(everyStore, 'acme-uptown')).currentStoreId).toBe('acme-uptown');
    // A cache hit: the store is still asked of the tenant, so "*" does not reach globex's stores.
    expect(await reason(as(everyStore, 'globex-central'))).toBe('store_not_allowed');
    const oneStore = await sign(staff);
    expect((await as(oneStore, 'acme-downtown')).currentStoreId).toBe('acme-downtown');
    expect(await reason(as(oneStore, 'acme-uptown'))).toBe('store_not_allowed');
    // The store of one request is not the next one's.
    expect((await as(oneStore)).currentStoreId).toBeUndefined();
  });

  it("gives each token its own caller: another tenant's token never gets a remembered principal", async () => {
    const acme = await sign(staff);
    const globex = await sign({ ...staff, sub: 'globex-staff', tid: 'globex', stores: ['globex-central'] });
    await as(acme);
    const principal = await as(globex);
    expect([principal.tenantId, principal.userId]).toEqual(['globex', 'globex-staff']);
    expect(await reason(as(globex, 'acme-downtown'))).toBe('store_not_allowed');
  });

  it('refuses a remembered signature on an altered payload', async () => {
    const token = await sign(staff);
    await as(token);
    const [header, , signature] = token.split('.');
    const forged = Buffer.from(
      JSON.stringify({ ...staff, sub: 'acme-admin', roles: ['ADMIN'], exp: nowSeconds() + 60 }),
    );
    expect(await reason(as(`${header}.${forged.toString('base64url')}.${signature}`))).toBe('bad_signature');
  });

  it('hands out a principal nobody can change for the next caller', async () => {
    const token = await sign(staff);
    const principal = await as(token);
    expect(() => {
      (principal.roles as string[]).push('ADMIN');
    }).toThrow(TypeError);
    expect((await as(token)).roles).toEqual(['STAFF']);
  });
});

describe('HS256 verified with node:crypto', () => {
  const verifier = createTokenVerifier({ secret: SECRET });
  const verifyReason = (token: string) => reason(verifier.verify(token));

  it('refuses a signature in another encoding of the same bytes', async () => {
    const token = await sign(staff);
    const [header, payload, signature] = token.split('.') as [string, string, string];
    // base64 with padding decodes to the same bytes in Node but is not the token's canonical encoding.
    const padded = `${Buffer.from(signature, 'base64url').toString('base64')}`;
    expect(await verifyReason(`${header}.${payload}.${padded}`)).toBe('malformed');
    expect(await verifyReason(`${header}.${payload}.${signature}A`)).toBe('bad_signature');
  });

  it('refuses a header with "crit", and a token of more or fewer parts', async () => {
    const valid = await sign(staff);
    const [, payload, signature] = valid.split('.');
    const crit = Buffer.from(JSON.stringify({ alg: 'HS256', crit: ['x'], x: 1 })).toString('base64url');
    expect(await verifyReason(`${crit}.${payload}.${signature}`)).toBe('malformed');
    expect(await verifyReason(`${valid}.extra`)).toBe('malformed');
    expect(await verifyReason(valid.split('.').slice(0, 2).join('.'))).toBe('malformed');
  });

  it('checks the claims as jose does: issuer, audience, a payload that is not JSON', async () => {
    const strict = createTokenVerifier({ secret: SECRET, issuer: 'https://issuer.test', audience: 'api' });
    expect(await reason(strict.verify(await sign(staff)))).toBe('wrong_issuer');
    const header = Buffer.from('{"alg":"HS256"}').toString('base64url');
    const payload = Buffer.from('not json').toString('base64url');
    const signature = createHmac('sha256', SECRET).update(`${header}.${payload}`).digest('base64url');
    expect(await verifyReason(`${header}.${payload}.${signature}`)).toBe('malformed');
  });
});
