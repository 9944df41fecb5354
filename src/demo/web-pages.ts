import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, extname, join, normalize, sep } from 'node:path';
import type { GraphiQLOptions } from 'graphql-yoga';
import { type BROWSER_ENTRIES, buildBundle } from './bundle';
import {
  DEMO_SIGN_IN_PATH,
  type DemoSignInUser,
  GRAPHIQL_APP_PATH,
  GRAPHIQL_ASSETS_PATH,
  renderGraphiQLPage,
} from './graphiql/page';
import { demoPage } from './page';

const CONTENT_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

const SCRIPTS: Record<string, keyof typeof BROWSER_ENTRIES> = {
  '/demo/app.js': 'demo',
  [GRAPHIQL_APP_PATH]: 'graphiql',
};

/** Demo sign-in (src/server/demo-sign-in.ts): development only, and it refuses by itself elsewhere. */
export interface DemoSignInRoute {
  /** The demo users to offer, or null where sign-in is off. */
  users(): Promise<DemoSignInUser[] | null>;
  /** Serves DEMO_SIGN_IN_PATH; false for other paths. */
  handle(req: IncomingMessage, res: ServerResponse): Promise<boolean>;
}

export interface WebPagesOptions {
  demoSignIn?: DemoSignInRoute;
}

/**
 * The server's browser pages: GraphiQL's page (rendered for yoga, which serves it at /graphql), its
 * assets (from the npm package, so no CDN is needed) and script, the live demo at /demo, and demo
 * sign-in. `handle` answers true when it served the request.
 */
export function createWebPages(options: WebPagesOptions = {}) {
  const graphiqlDist = dirname(createRequire(import.meta.url).resolve('@graphql-yoga/graphiql'));
  const bundles = new Map<string, Promise<string>>();

  /** Built on first request and kept: the pages are for development, and build output is never committed. */
  function bundle(entry: keyof typeof BROWSER_ENTRIES): Promise<string> {
    let built = bundles.get(entry);
    if (!built) {
      built = buildBundle(entry);
      built.catch(() => bundles.delete(entry));
      bundles.set(entry, built);
    }
    return built;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    if (options.demoSignIn && (await options.demoSignIn.handle(req, res))) return true;
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const path = decodeURIComponent((req.url ?? '/').split('?')[0] ?? '/');
    if (path.startsWith(GRAPHIQL_ASSETS_PATH))
      return serveFile(res, graphiqlDist, path.slice(GRAPHIQL_ASSETS_PATH.length));
    if (path === '/demo' || path === '/demo/') return send(res, 200, 'text/html; charset=utf-8', demoPage());
    const script = SCRIPTS[path];
    if (script) {
      try {
        return send(res, 200, CONTENT_TYPES['.js']!, await bundle(script));
      } catch (error) {
        return send(
          res,
          500,
          'text/plain',
          `The page could not be built (has \`npm run codegen\` run?): ${(error as Error).message}`,
        );
      }
    }
    return false;
  }

  /** GraphiQL's page, offering demo sign-in where it is on. */
  async function renderGraphiQL(graphiql: GraphiQLOptions): Promise<string> {
    const demoUsers = (await options.demoSignIn?.users()) ?? null;
    return renderGraphiQLPage({ graphiql, demoUsers, signInPath: DEMO_SIGN_IN_PATH });
  }

  return { handle, renderGraphiQL };
}

async function serveFile(res: ServerResponse, root: string, relative: string): Promise<boolean> {
  const file = normalize(join(root, relative));
  const type = CONTENT_TYPES[extname(file)];
  if (!file.startsWith(root + sep) || !type) return send(res, 404, 'text/plain', 'Not found');
  try {
    const body = await readFile(file);
    res.writeHead(200, { 'content-type': type, 'cache-control': 'public, max-age=86400' });
    res.end(body);
    return true;
  } catch {
    return send(res, 404, 'text/plain', 'Not found');
  }
}

function send(res: ServerResponse, status: number, type: string, body: string): true {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
  return true;
}
