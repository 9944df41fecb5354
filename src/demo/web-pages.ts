import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, extname, join, normalize, sep } from 'node:path';
import { buildDemoBundle } from './bundle';
import { GRAPHIQL_ASSETS_PATH } from './graphiql';
import { demoPage } from './page';

const CONTENT_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

/**
 * The server's browser pages besides GraphiQL itself: GraphiQL's assets (from the npm package, so no
 * CDN is needed) and the live demo at /demo. `handle` answers true when it served the request.
 */
export function createWebPages() {
  const graphiqlDist = dirname(createRequire(import.meta.url).resolve('@graphql-yoga/graphiql'));
  let bundle: Promise<string> | undefined;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const path = decodeURIComponent((req.url ?? '/').split('?')[0] ?? '/');
    if (path.startsWith(GRAPHIQL_ASSETS_PATH))
      return serveFile(res, graphiqlDist, path.slice(GRAPHIQL_ASSETS_PATH.length));
    if (path === '/demo' || path === '/demo/') return send(res, 200, 'text/html; charset=utf-8', demoPage());
    if (path === '/demo/app.js') {
      // Built on first request and kept: the page is for development, and build output is never committed.
      bundle ??= buildDemoBundle().catch((error) => {
        bundle = undefined;
        throw error;
      });
      try {
        return send(res, 200, CONTENT_TYPES['.js']!, await bundle);
      } catch (error) {
        return send(
          res,
          500,
          'text/plain',
          `The demo could not be built (has \`npm run codegen\` run?): ${(error as Error).message}`,
        );
      }
    }
    return false;
  }

  return { handle };
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
