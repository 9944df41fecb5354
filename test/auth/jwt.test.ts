import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, exportSPKI, generateKeyPair, type JWK, type JWTPayload, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTokenVerifier,
  KeySetUnavailableError,
  type TokenVerifier,
  tokenExpired,
} from '../../src/auth/jwt';
import { authRefusal } from '../support/auth';

const SECRET = 'jwt-test-secret-of-enough-length';
const ISSUER = 'https://issuer.test';
const AUDIENCE = 'expediter-api';
const now = () => Math.floor(Date.now() / 1000);

const claims = { tid: 'acme', roles: ['MANAGER'], stores: ['acme-downtown', 'acme-uptown'] };

type Key = Parameters<SignJWT['sign']>[0];

function build(payload: JWTPayload, alg = 'HS256', kid?: string) {
  return new SignJWT(payload)
    .setProtectedHeader({ alg, typ: 'JWT', ...(kid && { kid }) })
    .setSubject('acme-manager')
    .setJti('token-1')
    .setIssuedAt()
    .setExpirationTime('1h')
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE);
}

const hs256 = (payload: JWTPayload = claims, secret = SECRET) =>
  build(payload).sign(new TextEncoder().encode(secret));

function unsigned(payload: Record<string, unknown>): string {
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${encode({ alg: 'none', typ: 'JWT' })}.${encode(payload)}.`;
}

const refusal = (verifier: TokenVerifier, token: string) => authRefusal(verifier.verify(token));

const reasonFor = async (verifier: TokenVerifier, token: string) => (await refusal(verifier, token)).reason;

describe('HS256 verifier', () => {
  const verifier = createTokenVerifier({ secret: SECRET, issuer: ISSUER, audience: AUDIENCE });

  it('turns valid claims into a principal', async () => {
    const token = await build({ ...claims, stations: ['acme-downtown-grill'] }).sign(
      new TextEncoder().encode(SECRET),
    );
    const principal = await verifier.verify(token);
    expect(principal).toEqual({
      userId: 'acme-manager',
      tenantId: 'acme',
      roles: ['MANAGER'],
      stores: ['acme-downtown', 'acme-uptown'],
      stations: ['acme-downtown-grill'],
      tokenId: 'token-1',
      issuedAt: expect.any(Number),
      expiresAt: expect.any(Number),
    });
    expect(principal.expiresAt! - principal.issuedAt!).toBe(3600);
  });

  it('reads stores ["*"] as every store of the tenant', async () => {
    const principal = await verifier.verify(await hs256({ ...claims, roles: ['ADMIN'], stores: ['*'] }));
    expect(principal.stores).toBe('*');
    expect(principal.stations).toEqual([]);
  });

  it('refuses an empty token as missing', async () => {
    expect(await reasonFor(verifier, '')).toBe('missing');
  });

  it.each([
    ['not a JWT', 'not-a-jwt'],
    ['three garbage segments', 'a.b.c'],
    ['a header that is not JSON', `${Buffer.from('{oops').toString('base64url')}.e30.sig`],
  ])('refuses %s as malformed', async (_name, token) => {
    expect(await reasonFor(verifier, token)).toBe('malformed');
  });

  it('refuses an oversized token before parsing it', async () => {
    expect(await reasonFor(verifier, `${'a'.repeat(9000)}.b.c`)).toBe('malformed');
  });

  it('refuses a token signed with another secret', async () => {
    expect(await reasonFor(verifier, await hs256(claims, 'another-secret-of-enough-length'))).toBe(
      'bad_signature',
    );
  });

  it('refuses a token whose payload was altered after signing', async () => {
    const [header, , signature] = (await hs256()).split('.');
    const altered = Buffer.from(
      JSON.stringify({ ...claims, roles: ['ADMIN'], sub: 'x', exp: now() + 60, iss: ISSUER, aud: AUDIENCE }),
    ).toString('base64url');
    expect(await reasonFor(verifier, `${header}.${altered}.${signature}`)).toBe('bad_signature');
  });

  it('refuses an unsigned (alg: none) token', async () => {
    const token = unsigned({ sub: 'acme-admin', ...claims, exp: now() + 3600, iss: ISSUER, aud: AUDIENCE });
    expect(await reasonFor(verifier, token)).toBe('alg_not_allowed');
  });

  it('refuses an RS256 token', async () => {
    const { privateKey } = await generateKeyPair('RS256');
    expect(await reasonFor(verifier, await build(claims, 'RS256').sign(privateKey))).toBe('alg_not_allowed');
  });

  it('refuses a wrong issuer, a missing issuer and a wrong audience', async () => {
    const key = new TextEncoder().encode(SECRET);
    expect(await reasonFor(verifier, await build(claims).setIssuer('https://evil.test').sign(key))).toBe(
      'wrong_issuer',
    );
    const noIssuer = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('acme-manager')
      .setExpirationTime('1h')
      .setAudience(AUDIENCE)
      .sign(key);
    expect(await reasonFor(verifier, noIssuer)).toBe('wrong_issuer');
    expect(await reasonFor(verifier, await build(claims).setAudience('other-api').sign(key))).toBe(
      'wrong_audience',
    );
  });

  it('refuses a token that is not valid yet, beyond the 5 s clock tolerance', async () => {
    const key = new TextEncoder().encode(SECRET);
    expect(
      await reasonFor(
        verifier,
        await build(claims)
          .setNotBefore(now() + 60)
          .sign(key),
      ),
    ).toBe('not_yet_valid');
    expect(
      await reasonFor(
        verifier,
        await build(claims)
          .setIssuedAt(now() + 60)
          .sign(key),
      ),
    ).toBe('not_yet_valid');
    await expect(
      verifier.verify(
        await build(claims)
          .setNotBefore(now() + 2)
          .sign(key),
      ),
    ).resolves.toBeDefined();
  });

  it('refuses a token from its exp on, with no clock tolerance (the rule live sessions follow)', async () => {
    const key = new TextEncoder().encode(SECRET);
    const expired = await build(claims)
      .setIssuedAt(now() - 7200)
      .setExpirationTime(now() - 60)
      .sign(key);
    expect(await reasonFor(verifier, expired)).toBe('expired');
    const justExpired = await build(claims)
      .setIssuedAt(now() - 60)
      .setExpirationTime(now() - 2)
      .sign(key);
    expect(await reasonFor(verifier, justExpired)).toBe('expired');
    const expiringNow = await build(claims)
      .setIssuedAt(now() - 60)
      .setExpirationTime(now())
      .sign(key);
    expect(await reasonFor(verifier, expiringNow)).toBe('expired');
    await expect(
      verifier.verify(
        await build(claims)
          .setExpirationTime(now() + 2)
          .sign(key),
      ),
    ).resolves.toBeDefined();
  });

  it('tokenExpired: valid before the exp instant, expired from it on', () => {
    expect(tokenExpired(100, 99_999)).toBe(false);
    expect(tokenExpired(100, 100_000)).toBe(true);
    expect(tokenExpired(100, 100_001)).toBe(true);
  });

  it('refuses a token without exp', async () => {
    const token = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('acme-manager')
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .sign(new TextEncoder().encode(SECRET));
    expect(await reasonFor(verifier, token)).toBe('bad_claims');
  });

  it.each([
    ['no tid', { roles: ['STAFF'], stores: ['acme-downtown'] }],
    ['an unknown role', { ...claims, roles: ['STAFF', 'ROOT'] }],
    ['empty roles', { ...claims, roles: [] }],
    ['roles as a string', { ...claims, roles: 'ADMIN' }],
    ['no stores', { tid: 'acme', roles: ['STAFF'] }],
    ['"*" mixed with store ids', { ...claims, stores: ['*', 'acme-downtown'] }],
    ['a numeric tenant', { ...claims, tid: 7 }],
    ['stations that are not strings', { ...claims, stations: [1] }],
  ])('refuses claims with %s', async (_name, payload) => {
    expect(await reasonFor(verifier, await hs256(payload))).toBe('bad_claims');
  });

  it('refuses a token without sub', async () => {
    const token = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime('1h')
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .sign(new TextEncoder().encode(SECRET));
    expect(await reasonFor(verifier, token)).toBe('bad_claims');
  });

  it('gives clients a message that neither echoes the token nor explains the internals', async () => {
    const token = await hs256(claims, 'another-secret-of-enough-length');
    const error = await refusal(verifier, token);
    expect(error.message).toBe('Invalid token');
    expect(error.closeCode).toBe(4401);
  });
});

describe('JWKS verifiers', () => {
  let dir: string;
  let rsa: CryptoKeyPair;
  let ec: CryptoKeyPair;
  let jwksFile: string;
  let publicJwks: { keys: JWK[] };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'expediter-jwks-'));
    rsa = await generateKeyPair('RS256', { extractable: true });
    ec = await generateKeyPair('ES256', { extractable: true });
    publicJwks = {
      keys: [
        { ...(await exportJWK(rsa.publicKey)), kid: 'rsa-1', alg: 'RS256', use: 'sig' },
        { ...(await exportJWK(ec.publicKey)), kid: 'ec-1', alg: 'ES256', use: 'sig' },
      ],
    };
    jwksFile = join(dir, 'jwks.json');
    writeFileSync(jwksFile, JSON.stringify(publicJwks));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const signed = (alg: string, kid: string, key: Key) => build(claims, alg, kid).sign(key);

  describe('from a file', () => {
    let verifier: TokenVerifier;
    beforeAll(() => {
      verifier = createTokenVerifier({ jwksFile, issuer: ISSUER, audience: AUDIENCE });
    });

    it('accepts RS256 and ES256 tokens signed by a key of the set', async () => {
      expect((await verifier.verify(await signed('RS256', 'rsa-1', rsa.privateKey))).userId).toBe(
        'acme-manager',
      );
      expect((await verifier.verify(await signed('ES256', 'ec-1', ec.privateKey))).tenantId).toBe('acme');
    });

    it('refuses an HS256 token "signed" with a public key of the set (algorithm confusion)', async () => {
      const pem = new TextEncoder().encode(await exportSPKI(rsa.publicKey));
      const jwkBytes = new TextEncoder().encode(JSON.stringify(publicJwks.keys[0]));
      expect(await reasonFor(verifier, await build(claims, 'HS256', 'rsa-1').sign(pem))).toBe(
        'alg_not_allowed',
      );
      expect(await reasonFor(verifier, await build(claims, 'HS256', 'rsa-1').sign(jwkBytes))).toBe(
        'alg_not_allowed',
      );
    });

    it('refuses an HS256 token signed with any secret', async () => {
      expect(await reasonFor(verifier, await hs256())).toBe('alg_not_allowed');
    });

    it('refuses a token whose kid is not in the set', async () => {
      const other = await generateKeyPair('RS256');
      expect(await reasonFor(verifier, await signed('RS256', 'rsa-2', other.privateKey))).toBe('unknown_key');
    });

    it('refuses a token signed by another key under a known kid', async () => {
      const other = await generateKeyPair('RS256');
      expect(await reasonFor(verifier, await signed('RS256', 'rsa-1', other.privateKey))).toBe(
        'bad_signature',
      );
    });

    it('refuses an ES256 header on an RS256 key id', async () => {
      expect(await reasonFor(verifier, await signed('ES256', 'rsa-1', ec.privateKey))).toBe('unknown_key');
    });
  });

  describe('from a file and a secret together', () => {
    it('checks HS256 only against the secret and RS256 only against the set', async () => {
      const verifier = createTokenVerifier({ secret: SECRET, jwksFile, issuer: ISSUER, audience: AUDIENCE });
      expect((await verifier.verify(await hs256())).userId).toBe('acme-manager');
      expect((await verifier.verify(await signed('RS256', 'rsa-1', rsa.privateKey))).userId).toBe(
        'acme-manager',
      );
      const pem = new TextEncoder().encode(await exportSPKI(rsa.publicKey));
      expect(await reasonFor(verifier, await build(claims, 'HS256', 'rsa-1').sign(pem))).toBe(
        'bad_signature',
      );
    });
  });

  describe('from a URL', () => {
    let server: Server;
    let url: string;
    beforeAll(async () => {
      server = createServer((req, res) => {
        if (req.url === '/broken') {
          res.writeHead(500).end('oops');
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(publicJwks));
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it('accepts a token signed by a key the URL serves', async () => {
      const verifier = createTokenVerifier({
        jwksUrl: `${url}/.well-known/jwks.json`,
        issuer: ISSUER,
        audience: AUDIENCE,
      });
      expect((await verifier.verify(await signed('ES256', 'ec-1', ec.privateKey))).userId).toBe(
        'acme-manager',
      );
    });

    it('refuses tokens while the key set cannot be fetched, keeping the cause for operators', async () => {
      const verifier = createTokenVerifier({ jwksUrl: `${url}/broken` });
      const error = await refusal(verifier, await signed('RS256', 'rsa-1', rsa.privateKey));
      expect(error.reason).toBe('unknown_key');
      expect(error.cause).toBeInstanceOf(KeySetUnavailableError);
      expect(error.message).toBe('Invalid token');
    });
  });

  it('needs a secret or a key set', () => {
    expect(() => createTokenVerifier({})).toThrow(
      'JWT verification needs a secret, a JWKS URL or a JWKS file',
    );
  });
});
