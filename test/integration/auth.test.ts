import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signToken } from '../../src/auth/tokens';
import { startTestServer, TEST_JWT_SECRET, type TestServer } from '../support/server';

const secret = new TextEncoder().encode(TEST_JWT_SECRET);
const ORDER_SUBSCRIPTION = /* GraphQL */ `
  subscription ($storeId: ID!) { orderUpdated(storeId: $storeId) { kind order { id storeId } } }
`;

function unsignedToken(claims: Record<string, unknown>): string {
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${encode({ alg: 'none', typ: 'JWT' })}.${encode(claims)}.`;
}

const acmeStaffClaims = {
  sub: 'acme-staff',
  tid: 'acme',
  roles: ['STAFF'] as const,
  stores: ['acme-downtown'],
};

describe('authentication at connection_init', () => {
  let app: TestServer;
  beforeAll(async () => {
    app = await startTestServer();
  });
  afterAll(async () => {
    await app?.close();
  });

  async function closeCodeFor(connectionParams: Record<string, unknown>) {
    const error = await app.connect(undefined, { connectionParams }).then(
      () => undefined,
      (e: { code: number; reason: string }) => e,
    );
    return error;
  }

  it('acknowledges a valid token', async () => {
    const client = await app.connect(await app.token('acme-staff'));
    await client.dispose();
  });

  it.each([
    ['no token at all', {}],
    ['a token that is not a JWT', { authorization: 'Bearer not-a-jwt' }],
    ['a number instead of a string', { authorization: 42 }],
    ['a scheme other than Bearer', { authorization: 'Basic dXNlcjpwYXNz' }],
  ])('closes with 4401 for %s', async (_name, params) => {
    const error = await closeCodeFor(params);
    expect(error?.code).toBe(4401);
  });

  it('closes with 4401 for a token signed with another secret', async () => {
    const forged = await new SignJWT({ tid: 'acme', roles: ['ADMIN'], stores: ['*'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('acme-admin')
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode('another-secret-of-sufficient-length'));
    expect((await closeCodeFor({ authorization: `Bearer ${forged}` }))?.code).toBe(4401);
  });

  it('closes with 4401 for an unsigned (alg: none) token', async () => {
    const token = unsignedToken({ ...acmeStaffClaims, exp: Math.floor(Date.now() / 1000) + 3600 });
    expect((await closeCodeFor({ authorization: `Bearer ${token}` }))?.code).toBe(4401);
  });

  it('closes with 4401 for an expired token and does not echo the token', async () => {
    const token = await new SignJWT({ tid: 'acme', roles: ['STAFF'], stores: ['acme-downtown'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('acme-staff')
      .setIssuedAt(Math.floor(Date.now() / 1000) - 7200)
      .setExpirationTime(Math.floor(Date.now() / 1000) - 3600)
      .sign(secret);
    const error = await closeCodeFor({ authorization: `Bearer ${token}` });
    expect(error?.code).toBe(4401);
    expect(error?.reason).not.toContain(token.slice(0, 20));
  });

  it('closes with 4403 when the requested store is not in the token', async () => {
    const token = await app.token('acme-staff');
    expect((await closeCodeFor({ authorization: `Bearer ${token}`, storeId: 'acme-uptown' }))?.code).toBe(
      4403,
    );
    expect((await closeCodeFor({ authorization: `Bearer ${token}`, storeId: 'globex-central' }))?.code).toBe(
      4403,
    );
  });

  it("closes with 4403 when an every-store token asks for another tenant's store", async () => {
    const token = await app.token('acme-manager'); // stores: ["*"] covers acme's stores only
    const error = await closeCodeFor({ authorization: `Bearer ${token}`, storeId: 'globex-central' });
    expect(error?.code).toBe(4403);
    const own = await app.connect(token, { storeId: 'acme-uptown' });
    await own.dispose();
  });

  it('closes an open connection with 4401 when its token expires', async () => {
    const token = await signToken({ ...acmeStaffClaims, expiresIn: 2 }, { secret: TEST_JWT_SECRET });
    const client = await app.connect(token);
    const closed = await client.closed;
    expect(closed.code).toBe(4401);
  });
});

describe('authentication over HTTP', () => {
  let app: TestServer;
  beforeAll(async () => {
    app = await startTestServer();
  });
  afterAll(async () => {
    await app?.close();
  });

  it('answers UNAUTHENTICATED without a token', async () => {
    const result = await app.gql('{ stores { id } }');
    expect(result.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(result.data ?? null).toBeNull();
  });

  it('answers UNAUTHENTICATED for a bad token', async () => {
    const result = await app.gql('{ stores { id } }', {}, { token: 'garbage' });
    expect(result.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('answers FORBIDDEN for a store header the token does not allow', async () => {
    const result = await app.gql(
      '{ stores { id } }',
      {},
      { token: await app.token('acme-staff'), storeId: 'acme-uptown' },
    );
    expect(result.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('serves a seeded query with a dev token', async () => {
    const result = await app.gql<{ stores: Array<{ id: string }> }>(
      '{ stores { id } }',
      {},
      {
        token: await app.token('acme-manager'),
      },
    );
    expect(result.errors).toBeUndefined();
    expect(result.data?.stores.map((s) => s.id).sort()).toEqual(['acme-downtown', 'acme-uptown']);
  });
});

describe('revokeSessions', () => {
  let app: TestServer;
  beforeAll(async () => {
    app = await startTestServer();
  });
  afterAll(async () => {
    await app?.close();
  });

  const REVOKE = 'mutation ($userId: ID!) { revokeSessions(userId: $userId) { userId revokedAt } }';

  it('lets only an admin revoke someone else', async () => {
    const result = await app.gql(
      REVOKE,
      { userId: 'acme-manager' },
      { token: await app.token('acme-staff') },
    );
    expect(result.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it("does not reveal another tenant's users", async () => {
    const result = await app.gql(
      REVOKE,
      { userId: 'globex-staff' },
      { token: await app.token('acme-admin') },
    );
    const missing = await app.gql(
      REVOKE,
      { userId: 'no-such-user' },
      { token: await app.token('acme-admin') },
    );
    // Indistinguishable from a user that does not exist at all.
    expect(result.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect(result.errors?.[0]?.message.replace('globex-staff', 'X')).toBe(
      missing.errors?.[0]?.message.replace('no-such-user', 'X'),
    );
  });

  it("closes the user's live sockets with 4401 and refuses the old token", async () => {
    const oldToken = await app.token('acme-kitchen');
    const socket = await app.connect(oldToken);
    await new Promise((r) => setTimeout(r, 1100)); // iat has one-second resolution
    const result = await app.gql(
      REVOKE,
      { userId: 'acme-kitchen' },
      { token: await app.token('acme-admin') },
    );
    expect(result.errors).toBeUndefined();
    expect((await socket.closed).code).toBe(4401);
    await expect(app.connect(oldToken)).rejects.toMatchObject({ code: 4401 });
    await new Promise((r) => setTimeout(r, 1100)); // a token issued in the revocation's second is revoked too
    const fresh = await app.connect(await app.token('acme-kitchen'));
    await fresh.dispose();
  });
});

describe('tenant isolation for subscriptions', () => {
  let app: TestServer;
  beforeAll(async () => {
    app = await startTestServer();
  });
  afterAll(async () => {
    await app?.close();
  });

  it("refuses a subscription to another tenant's store", async () => {
    const client = await app.connect(await app.token('acme-admin'));
    const sub = client.subscribe(ORDER_SUBSCRIPTION, { storeId: 'globex-central' });
    const result = await sub.next();
    expect(result.errors?.[0]?.extensions?.code).toMatch(/FORBIDDEN|NOT_FOUND/);
    expect(JSON.stringify(result)).not.toContain('Globex');
    await client.dispose();
  });

  it('delivers nothing to a validly signed token that names a store of another tenant', async () => {
    const token = await signToken(
      {
        sub: 'acme-admin',
        tid: 'acme',
        roles: ['ADMIN'] as const,
        stores: ['globex-central'],
        expiresIn: '1h',
      },
      { secret: TEST_JWT_SECRET },
    );
    const client = await app.connect(token);
    const sub = client.subscribe(ORDER_SUBSCRIPTION, { storeId: 'globex-central' });
    const result = await sub.next();
    expect(result.errors?.[0]?.extensions?.code).toMatch(/FORBIDDEN|NOT_FOUND/);
    await client.dispose();
  });
});
