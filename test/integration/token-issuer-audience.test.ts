import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signToken, type TokenClaimsInput } from '../../src/auth/tokens';
import { startTestServer, TEST_JWT_SECRET, type TestServer } from '../support/server';

// With JWT_ISSUER and JWT_AUDIENCE set, a token must name both and be within its validity window, at
// connection_init and over HTTP alike; a refusal never echoes the token.

const ISSUER = 'https://auth.expediter.test';
const AUDIENCE = 'expediter-api';
const staff: TokenClaimsInput = {
  sub: 'acme-staff',
  tid: 'acme',
  roles: ['STAFF'],
  stores: ['acme-downtown'],
};
const sign = (claims: Partial<TokenClaimsInput>, opts: { issuer?: string; audience?: string } = {}) =>
  signToken({ ...staff, expiresIn: '1h', ...claims }, { secret: TEST_JWT_SECRET, ...opts });

describe('tokens with issuer, audience and validity window', () => {
  let app: TestServer;
  beforeAll(async () => {
    app = await startTestServer({
      env: { JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE },
    });
  });
  afterAll(() => app?.close());

  it('acknowledges a token with the configured issuer and audience', async () => {
    const client = await app.connect(await sign({}, { issuer: ISSUER, audience: AUDIENCE }));
    await client.dispose();
  });

  const refused: Array<[string, () => Promise<string>]> = [
    ['a wrong issuer', () => sign({}, { issuer: 'https://evil.test', audience: AUDIENCE })],
    ['no issuer', () => sign({}, { audience: AUDIENCE })],
    ['a wrong audience', () => sign({}, { issuer: ISSUER, audience: 'another-api' })],
    [
      'a token not valid for another minute',
      () => sign({ notBefore: '60s' }, { issuer: ISSUER, audience: AUDIENCE }),
    ],
    ['an expired token', () => sign({ expiresIn: -60 }, { issuer: ISSUER, audience: AUDIENCE })],
  ];

  it.each(refused)('closes the socket with 4401 for %s, without echoing the token', async (_name, make) => {
    const token = await make();
    const error = await app.connect(token).then(
      () => undefined,
      (e: { code: number; reason: string }) => e,
    );
    expect(error?.code).toBe(4401);
    expect(error?.reason).not.toContain(token.split('.')[1]);
  });

  it.each(refused)('answers UNAUTHENTICATED over HTTP for %s', async (_name, make) => {
    const token = await make();
    const result = await app.gql('{ me { id } }', {}, { token });
    expect(result.data ?? null).toBeNull();
    expect(result.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(JSON.stringify(result)).not.toContain(token.split('.')[1]);
  });
});
