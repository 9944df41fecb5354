import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEV_JWT_SECRET, loadConfig } from '../../src/config';
import type { GraphiQLPageConfig } from '../../src/demo/graphiql/page';
import { DEMO_SIGN_IN_PATH } from '../../src/demo/graphiql/page';
import { demoSignInRefusal } from '../../src/server/demo-sign-in';
import { createTestDatabase } from '../support/db';
import { startTestServer, type TestServer } from '../support/server';

/**
 * Demo sign-in mints tokens without a password: only in development, only with the development secret,
 * only with the demo data. Checked over HTTP against real servers in each configuration.
 */

const servers: TestServer[] = [];
afterAll(async () => {
  await Promise.all(servers.map((server) => server.close()));
});

async function serverWith(env: Record<string, string>, options: { databaseUrl?: string } = {}) {
  const server = await startTestServer({ env, ...options });
  servers.push(server);
  return server;
}

/** The environment `npm start` has: development, no key configured (so the development secret). */
const DEVELOPMENT = { NODE_ENV: 'development', JWT_SECRET: '' };

function signIn(server: TestServer, body: unknown, headers: Record<string, string> = {}) {
  return fetch(`${server.url}${DEMO_SIGN_IN_PATH}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** What GraphiQL's page tells its script (see src/demo/graphiql/page.ts). */
async function graphiqlPage(server: TestServer): Promise<GraphiQLPageConfig> {
  const response = await fetch(`${server.url}/graphql`, { headers: { accept: 'text/html' } });
  expect(response.status).toBe(200);
  const html = await response.text();
  const json = /<script id="expediter-graphiql-config" type="application\/json">(.*?)<\/script>/s.exec(
    html,
  )?.[1];
  return JSON.parse(json!);
}

describe('demoSignInRefusal', () => {
  it('is on only in development with the development secret', () => {
    expect(demoSignInRefusal(loadConfig({ NODE_ENV: 'development' }))).toBeNull();
    expect(loadConfig({ NODE_ENV: 'development' }).jwt.secret).toBe(DEV_JWT_SECRET);
    expect(demoSignInRefusal(loadConfig({ NODE_ENV: 'test' }))).toMatch(/development only/);
    expect(
      demoSignInRefusal(loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'a-real-production-secret' })),
    ).toMatch(/development only/);
    for (const key of [
      { JWT_SECRET: 'a-real-development-secret' },
      { JWKS_URL: 'https://id.example.com/.well-known/jwks.json' },
      { JWKS_FILE: '/etc/expediter/jwks.json' },
    ])
      expect(demoSignInRefusal(loadConfig({ NODE_ENV: 'development', ...key }))).toMatch(/real signing key/);
  });
});

describe('in development, with the demo data and no key configured', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await serverWith(DEVELOPMENT);
  });

  it('lists the demo users with where the examples point for each', async () => {
    const response = await fetch(`${server.url}${DEMO_SIGN_IN_PATH}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const { users } = (await response.json()) as { users: GraphiQLPageConfig['demoUsers'] };
    expect(users!.map((user) => user.id)).toContain('acme-manager');
    expect(users!.find((user) => user.id === 'globex-kitchen')).toEqual({
      id: 'globex-kitchen',
      name: 'Globex Diner Kitchen',
      roles: ['KITCHEN'],
      stores: ['globex-central'],
      scope: {
        storeId: 'globex-central',
        stationId: 'globex-central-grill',
        productIds: ['globex-central-burger', 'globex-central-fries'],
      },
    });
    expect((await graphiqlPage(server)).demoUsers).toEqual(users);
  });

  it('signs in: a fresh token the server accepts, for that user', async () => {
    const response = await signIn(server, { user: 'acme-staff' });
    expect(response.status).toBe(200);
    const { token, expiresAt, user } = (await response.json()) as {
      token: string;
      expiresAt: string;
      user: { id: string };
    };
    expect(user.id).toBe('acme-staff');
    const claims = decodeJwt(token);
    expect(claims).toMatchObject({ sub: 'acme-staff', tid: 'acme', roles: ['STAFF'] });
    expect(new Date(claims.exp! * 1000).toISOString()).toBe(expiresAt);
    expect((claims.exp! - claims.iat!) / 3600).toBe(8);
    const me = await server.gql('{ me { id roles } }', {}, { token });
    expect(me).toMatchObject({ data: { me: { id: 'acme-staff', roles: ['STAFF'] } } });
    const again = (await (await signIn(server, { user: 'acme-staff' })).json()) as { token: string };
    expect(decodeJwt(again.token).jti).not.toBe(claims.jti);
  });

  it('refuses what is not a sign-in, writing nothing', async () => {
    const refusal = async (response: Response) => ({
      status: response.status,
      body: (await response.json()) as { error: { code: string; message: string } },
    });
    expect(await refusal(await signIn(server, { user: 'nobody' }))).toMatchObject({
      status: 400,
      body: { error: { code: 'BAD_USER_INPUT', message: expect.stringContaining('acme-manager') } },
    });
    expect(await refusal(await signIn(server, '{"user":'))).toMatchObject({ status: 400 });
    expect(await refusal(await signIn(server, { user: ['acme-manager'] }))).toMatchObject({ status: 400 });
    expect(await refusal(await signIn(server, { user: 'x'.repeat(2000) }))).toMatchObject({ status: 413 });
    expect(
      await refusal(
        await signIn(server, 'user=acme-manager', { 'content-type': 'application/x-www-form-urlencoded' }),
      ),
    ).toMatchObject({ status: 415 });
    const put = await fetch(`${server.url}${DEMO_SIGN_IN_PATH}`, { method: 'PUT' });
    expect(put.status).toBe(405);
    expect(put.headers.get('allow')).toBe('GET, HEAD, POST');
  });
});

describe('demo sign-in is refused', () => {
  it('with NODE_ENV=production: no such path, and GraphiQL offers no sign-in', async () => {
    const server = await serverWith({
      NODE_ENV: 'production',
      JWT_SECRET: 'a-real-production-secret',
      GRAPHIQL: 'true',
    });
    expect((await fetch(`${server.url}${DEMO_SIGN_IN_PATH}`)).status).toBe(404);
    expect((await signIn(server, { user: 'acme-manager' })).status).toBe(404);
    expect((await graphiqlPage(server)).demoUsers).toBeNull();
  }, 60_000);

  it('with a real key configured, even in development', async () => {
    const server = await serverWith({ NODE_ENV: 'development', JWT_SECRET: 'a-real-development-secret' });
    const response = await signIn(server, { user: 'acme-manager' });
    expect(response.status).toBe(403);
    expect(await response.json()).toEqual({
      error: { code: 'FORBIDDEN', message: expect.stringContaining('a real signing key is configured') },
    });
    expect((await fetch(`${server.url}${DEMO_SIGN_IN_PATH}`)).status).toBe(403);
    expect((await graphiqlPage(server)).demoUsers).toBeNull();
  }, 60_000);

  it('without the demo data', async () => {
    const database = await createTestDatabase();
    await database.handle.close();
    const server = await serverWith(DEVELOPMENT, { databaseUrl: database.url });
    try {
      const response = await signIn(server, { user: 'acme-manager' });
      expect(response.status).toBe(403);
      expect(await response.json()).toEqual({
        error: { code: 'FORBIDDEN', message: expect.stringContaining('demo data is not loaded') },
      });
      expect((await graphiqlPage(server)).demoUsers).toBeNull();
    } finally {
      await server.close();
      servers.splice(servers.indexOf(server), 1);
      await database.drop();
    }
  }, 60_000);

  it('in tests (NODE_ENV=test): no such path', async () => {
    const server = await serverWith({});
    expect((await signIn(server, { user: 'acme-manager' })).status).toBe(404);
  }, 60_000);
});
