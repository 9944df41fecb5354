import { type JWTPayload, SignJWT } from 'jose';
import { pino } from 'pino';
import { beforeEach, describe, expect, it } from 'vitest';
import { type Authenticator, createAuthenticator } from '../../src/auth/authenticate';
import { AuthError } from '../../src/auth/errors';
import { createTokenVerifier, KeySetUnavailableError, type TokenVerifier } from '../../src/auth/jwt';
import { createMemoryRevocationStore, type RevocationStore } from '../../src/auth/revocation';
import { authRefusal, nowSeconds, signHs256 } from '../support/auth';

const SECRET = 'authenticate-test-secret-long-enough';

const staff = { sub: 'acme-staff', tid: 'acme', roles: ['STAFF'], stores: ['acme-downtown'] };

const sign = (payload: JWTPayload, opts?: Parameters<typeof signHs256>[2]) =>
  signHs256(SECRET, payload, opts);
const refusal = authRefusal;

describe('authenticate', () => {
  let revocations: RevocationStore;
  let authenticator: Authenticator;
  let logs: Array<Record<string, unknown>>;
  let rawLogs: string[];

  beforeEach(() => {
    logs = [];
    rawLogs = [];
    const logger = pino(
      { level: 'info' },
      {
        write: (line: string) => {
          rawLogs.push(line);
          logs.push(JSON.parse(line));
        },
      },
    );
    revocations = createMemoryRevocationStore();
    authenticator = createAuthenticator({
      verifier: createTokenVerifier({ secret: SECRET }),
      revocations,
      logger,
    });
  });

  it('accepts "Bearer <jwt>" with any case of the scheme', async () => {
    const token = await sign(staff);
    for (const scheme of ['Bearer', 'bearer', 'BEARER']) {
      const principal = await authenticator.authenticate({ authorization: `${scheme} ${token}` });
      expect(principal.userId).toBe('acme-staff');
      expect(principal.currentStoreId).toBeUndefined();
    }
  });

  it.each([
    ['nothing', undefined],
    ['null', null],
    ['an empty string', ''],
  ])('refuses %s as missing', async (_name, authorization) => {
    const error = await refusal(authenticator.authenticate({ authorization }));
    expect(error.reason).toBe('missing');
    expect(error.closeCode).toBe(4401);
  });

  it.each([
    ['a number', 42],
    ['an object', { token: 'x' }],
    ['an array of headers', ['Bearer a.b.c']],
    ['another scheme', 'Basic dXNlcjpwYXNz'],
    ['a bare token without scheme', 'a.b.c'],
    ['the scheme alone', 'Bearer'],
    ['two tokens', 'Bearer a.b.c d.e.f'],
    ['a token that is not a JWT', 'Bearer not-a-jwt'],
  ])('refuses %s as malformed', async (_name, authorization) => {
    expect((await refusal(authenticator.authenticate({ authorization }))).reason).toBe('malformed');
  });

  it('sets the current store when the token allows it', async () => {
    const principal = await authenticator.authenticate({
      authorization: `Bearer ${await sign(staff)}`,
      storeId: 'acme-downtown',
    });
    expect(principal.currentStoreId).toBe('acme-downtown');
  });

  it('lets a token for every store pick any store', async () => {
    const token = await sign({ ...staff, sub: 'acme-admin', roles: ['ADMIN'], stores: ['*'] });
    const principal = await authenticator.authenticate({
      authorization: `Bearer ${token}`,
      storeId: 'acme-uptown',
    });
    expect(principal.stores).toBe('*');
    expect(principal.currentStoreId).toBe('acme-uptown');
  });

  it('refuses a store the token does not allow with 4403', async () => {
    const error = await refusal(
      authenticator.authenticate({ authorization: `Bearer ${await sign(staff)}`, storeId: 'acme-uptown' }),
    );
    expect(error.reason).toBe('store_not_allowed');
    expect(error.closeCode).toBe(4403);
    expect(error.message).toBe('Store not allowed');
  });

  it('refuses a store id that is not a string', async () => {
    const error = await refusal(
      authenticator.authenticate({ authorization: `Bearer ${await sign(staff)}`, storeId: 7 }),
    );
    expect(error.reason).toBe('malformed');
  });

  it('treats an empty store id as no store', async () => {
    const principal = await authenticator.authenticate({
      authorization: `Bearer ${await sign(staff)}`,
      storeId: '',
    });
    expect(principal.currentStoreId).toBeUndefined();
  });

  it('refuses a revoked token', async () => {
    await revocations.revokeToken('revoked-jti', nowSeconds() + 3600);
    const error = await refusal(
      authenticator.authenticate({ authorization: `Bearer ${await sign(staff, { jti: 'revoked-jti' })}` }),
    );
    expect(error.reason).toBe('revoked');
    expect(error.closeCode).toBe(4401);
    await expect(
      authenticator.authenticate({ authorization: `Bearer ${await sign(staff)}` }),
    ).resolves.toBeDefined();
  });

  it("refuses a revoked user's tokens issued before the revocation and accepts one issued after", async () => {
    const revokedAt = nowSeconds() - 10;
    await revocations.revokeUser('acme', 'acme-staff', revokedAt);
    const old = await sign(staff, { iat: revokedAt - 100 });
    const fresh = await sign(staff, { iat: revokedAt + 1 });
    expect((await refusal(authenticator.authenticate({ authorization: `Bearer ${old}` }))).reason).toBe(
      'revoked',
    );
    expect((await authenticator.authenticate({ authorization: `Bearer ${fresh}` })).userId).toBe(
      'acme-staff',
    );
  });

  it('passes on the verifier reasons (expired, wrong secret)', async () => {
    const expired = await sign(staff, { iat: nowSeconds() - 7200, exp: nowSeconds() - 3600 });
    expect((await refusal(authenticator.authenticate({ authorization: `Bearer ${expired}` }))).reason).toBe(
      'expired',
    );
    const forged = await new SignJWT(staff)
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode('some-other-secret-long-enough'));
    expect((await refusal(authenticator.authenticate({ authorization: `Bearer ${forged}` }))).reason).toBe(
      'bad_signature',
    );
  });

  it('logs each refusal with its reason at info or warn, never the token', async () => {
    const expired = await sign(staff, { iat: nowSeconds() - 7200, exp: nowSeconds() - 3600 });
    const forged = `${expired.slice(0, -4)}AAAA`;
    const revokedToken = await sign(staff, { jti: 'revoked-jti' });
    await revocations.revokeToken('revoked-jti', nowSeconds() + 3600);

    await refusal(authenticator.authenticate({ authorization: `Bearer ${expired}` }));
    await refusal(authenticator.authenticate({ authorization: `Bearer ${forged}` }));
    await refusal(authenticator.authenticate({ authorization: `Bearer ${revokedToken}` }));
    await refusal(
      authenticator.authenticate({ authorization: `Bearer ${await sign(staff)}`, storeId: 'acme-uptown' }),
    );

    expect(logs.map(({ level, reason, userId }) => ({ level, reason, userId }))).toEqual([
      { level: 30, reason: 'expired', userId: undefined },
      { level: 40, reason: 'bad_signature', userId: undefined },
      { level: 30, reason: 'revoked', userId: 'acme-staff' },
      { level: 40, reason: 'store_not_allowed', userId: 'acme-staff' },
    ]);
    for (const token of [expired, forged, revokedToken]) {
      expect(rawLogs.join('\n')).not.toContain(token.split('.')[2]);
      expect(rawLogs.join('\n')).not.toContain(token.split('.')[1]);
    }
  });

  it('logs at error when the key set is unavailable, since that is an operator problem', async () => {
    const outage = new KeySetUnavailableError(new Error('connect ECONNREFUSED'));
    const verifier: TokenVerifier = {
      verify: () => Promise.reject(new AuthError('unknown_key', { cause: outage })),
    };
    const logger = pino({ level: 'info' }, { write: (line: string) => logs.push(JSON.parse(line)) });
    const failing = createAuthenticator({ verifier, revocations, logger });
    const error = await refusal(failing.authenticate({ authorization: `Bearer ${await sign(staff)}` }));
    expect(error.closeCode).toBe(4401);
    expect(logs).toMatchObject([
      {
        level: 50,
        reason: 'unknown_key',
        msg: 'authentication failed: key set unavailable',
        err: { message: 'connect ECONNREFUSED' },
      },
    ]);
  });

  it('never echoes the token in the error a client sees', async () => {
    const token = await sign(staff, { iat: nowSeconds() - 7200, exp: nowSeconds() - 3600 });
    const error = await refusal(authenticator.authenticate({ authorization: `Bearer ${token}` }));
    expect(error.message).toBe('Token expired');
    expect(JSON.stringify({ message: error.message, reason: error.reason })).not.toContain(
      token.slice(0, 12),
    );
  });
});
