import type { IncomingMessage, ServerResponse } from 'node:http';
import { decodeJwt } from 'jose';
import { tokenForDemoUser } from '../auth/tokens';
import { type Config, DEV_JWT_SECRET } from '../config';
import { type DemoUser, demoData } from '../db/demo-data';
import type { ExampleScope } from '../demo/graphiql/examples';
import { DEMO_SIGN_IN_PATH, type DemoSignInUser } from '../demo/graphiql/page';
import type { DemoSignInRoute } from '../demo/web-pages';

/** As long as `npm run token` signs for by default: a working day. */
const TOKEN_LIFETIME = '8h';
const MAX_BODY_BYTES = 1024;

/**
 * Why demo sign-in is off, or null when it is on. It mints tokens without a password, so it exists
 * only in development, and only while tokens are signed with the published development secret: with
 * a real key (JWT_SECRET, JWKS_URL, JWKS_FILE) it would hand out tokens that key's deployment trusts.
 */
export function demoSignInRefusal(config: Pick<Config, 'env' | 'jwt'>): string | null {
  if (config.env !== 'development')
    return `NODE_ENV is ${config.env}: demo sign-in exists in development only`;
  if (config.jwt.jwksUrl || config.jwt.jwksFile || config.jwt.secret !== DEV_JWT_SECRET)
    return 'a real signing key is configured (JWT_SECRET, JWKS_URL or JWKS_FILE): tokens come from your identity provider';
  return null;
}

/**
 * GET DEMO_SIGN_IN_PATH lists the demo users, POST {"user": "<id>"} signs a fresh token for one. Users
 * are offered only when demoSignInRefusal has nothing against it and the demo data is loaded; outside
 * development the path does not exist at all.
 */
export function createDemoSignIn(options: {
  config: Pick<Config, 'env' | 'jwt'>;
  /** Which demo users the database holds (src/db/seed.ts). */
  loadedDemoUserIds(): Promise<ReadonlySet<string>>;
}): DemoSignInRoute {
  const { config } = options;

  async function users(): Promise<DemoSignInUser[] | null> {
    if (demoSignInRefusal(config)) return null;
    const loaded = await options.loadedDemoUserIds();
    const available = demoData.users.filter((user) => loaded.has(user.id));
    return available.length > 0 ? available.map(signInUser) : null;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    if ((req.url ?? '').split('?')[0] !== DEMO_SIGN_IN_PATH) return false;
    if (config.env !== 'development') return false; // not even a refusal: the page does not exist
    const refusal = demoSignInRefusal(config);
    if (refusal) return refuse(res, 403, 'FORBIDDEN', `Demo sign-in is off: ${refusal}`);
    const offered = await users();
    if (!offered)
      return refuse(
        res,
        403,
        'FORBIDDEN',
        'Demo sign-in is off: the demo data is not loaded (SEED_DEMO_DATA=true, or `npm run db:seed`)',
      );
    if (req.method === 'GET' || req.method === 'HEAD') return sendJson(res, 200, { users: offered });
    if (req.method !== 'POST') {
      res.setHeader('allow', 'GET, HEAD, POST');
      return refuse(res, 405, 'METHOD_NOT_ALLOWED', 'Use GET to list the demo users, POST to sign in');
    }
    // A JSON body cannot be sent across origins without a CORS preflight, which this path never grants.
    if (!/^application\/json\b/i.test(req.headers['content-type'] ?? ''))
      return refuse(res, 415, 'BAD_REQUEST', 'Send {"user": "<demo user id>"} as application/json');
    const body = await readBody(req);
    if (body === undefined)
      return refuse(res, 413, 'BAD_REQUEST', `The body exceeds ${MAX_BODY_BYTES} bytes`);
    const userId = parseUserId(body);
    const user = offered.find((candidate) => candidate.id === userId);
    if (!user)
      return refuse(
        res,
        400,
        'BAD_USER_INPUT',
        `Send {"user": "<demo user id>"}, one of: ${offered.map((candidate) => candidate.id).join(', ')}`,
      );
    const token = await tokenForDemoUser(user.id, {
      secret: config.jwt.secret as string,
      issuer: config.jwt.issuer,
      audience: config.jwt.audience,
      expiresIn: TOKEN_LIFETIME,
    });
    const expiresAt = new Date((decodeJwt(token).exp ?? 0) * 1000).toISOString();
    return sendJson(res, 200, { token, expiresAt, user });
  }

  return { users, handle };
}

function signInUser(user: DemoUser): DemoSignInUser {
  return { id: user.id, name: user.name, roles: user.roles, stores: user.storeIds, scope: scopeOf(user) };
}

/** The user's first store, their station (else the store's first) and the store's first two products. */
function scopeOf(user: DemoUser): ExampleScope {
  const store = demoData.stores.find(
    (candidate) =>
      candidate.tenantId === user.tenantId &&
      (user.storeIds.includes('*') || user.storeIds.includes(candidate.id)),
  )!;
  const stationId =
    user.stationIds[0] ?? demoData.stations.find((station) => station.storeId === store.id)!.id;
  const [first, second] = demoData.products.filter((product) => product.storeId === store.id);
  return { storeId: store.id, stationId, productIds: [first!.id, second!.id] };
}

function parseUserId(body: string): string | undefined {
  try {
    const parsed = JSON.parse(body) as { user?: unknown };
    return typeof parsed?.user === 'string' ? parsed.user : undefined;
  } catch {
    return undefined;
  }
}

/** The body as text, or undefined past MAX_BODY_BYTES (reading stops there). */
async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function refuse(res: ServerResponse, status: number, code: string, message: string): true {
  return sendJson(res, status, { error: { code, message } });
}

function sendJson(res: ServerResponse, status: number, body: unknown): true {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
  return true;
}
