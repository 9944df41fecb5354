import type { GraphiQLOptions } from 'graphql-yoga';
import type { ExampleScope } from './examples';

/** Where the GraphiQL assets of @graphql-yoga/graphiql are served from (see web-pages.ts). */
export const GRAPHIQL_ASSETS_PATH = '/graphiql/assets/';
/** Expediter's part of the page (graphiql/app.ts, bundled on first request). */
export const GRAPHIQL_APP_PATH = '/graphiql/app.js';

/** GET: the demo users one may sign in as; POST {"user": "<id>"}: a fresh token (src/server/demo-sign-in.ts). */
export const DEMO_SIGN_IN_PATH = '/demo/sign-in';

/** A demo user as the sign-in pickers show them, with where GraphiQL's examples point for them. */
export interface DemoSignInUser {
  id: string;
  name: string;
  roles: string[];
  /** Store ids, or ['*'] for every store of the tenant. */
  stores: string[];
  scope: ExampleScope;
}

/** What the page's script reads from the page (graphiql/app.ts). */
export interface GraphiQLPageConfig {
  /** Yoga's GraphiQL options: title, default document and the like. */
  graphiql: GraphiQLOptions;
  /** The demo users to offer for sign-in; null where sign-in is off (production, a real key, no demo data). */
  demoUsers: DemoSignInUser[] | null;
  signInPath: string;
}

/**
 * Yoga's GraphiQL page with Expediter's part: a bar for demo sign-in, examples and the subscription
 * transport, and a fetcher whose failures are readable (graphiql/fetcher.ts). The assets are served by
 * this server instead of unpkg, so that it works offline and in air-gapped deployments.
 */
export function renderGraphiQLPage(config: GraphiQLPageConfig): string {
  const title = escapeHtml(config.graphiql.title ?? 'Expediter GraphiQL');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${title}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${GRAPHIQL_ASSETS_PATH}graphiql.css">
<style>
  html, body { height: 100%; margin: 0; }
  body { display: flex; flex-direction: column; font-family: system-ui, sans-serif; }
  #root { flex: 1; min-height: 0; }
  #expediter-bar { display: flex; flex-wrap: wrap; gap: .5rem 1.25rem; align-items: center; padding: .4rem 1rem;
    background: #1d232a; color: #fff; font-size: .85rem; position: relative; z-index: 20; }
  #expediter-bar strong { font-size: .95rem; }
  #expediter-bar select, #expediter-bar button { font: inherit; padding: .15rem .4rem; }
  #expediter-bar a { color: #9fd0ff; }
  #expediter-bar .sign-in { display: inline-flex; gap: .4rem; align-items: center; }
  #examples { position: relative; }
  #examples summary { cursor: pointer; }
  #examples ul { position: absolute; left: 0; top: 1.6rem; margin: 0; padding: .5rem .75rem; list-style: none;
    background: #fff; color: #1d232a; border-radius: .4rem; box-shadow: 0 4px 16px #0004; min-width: 18rem; }
  #examples li { padding: .2rem 0; }
  #examples li a { color: #1d5fa8; text-decoration: none; }
  #examples li small { color: #7a828b; margin-left: .4rem; }
  #sign-in-status[data-state="error"] { color: #ff9b8f; }
</style>
</head>
<body id="body" class="no-focus-outline">
<div id="expediter-bar"></div>
<div id="root">Loading ${title}…</div>
<script>
  const workers = '${GRAPHIQL_ASSETS_PATH}monacoeditorwork/';
  const workerUrls = {
    editorWorkerService: workers + 'editor.worker.bundle.js',
    json: workers + 'json.worker.bundle.js',
    graphql: workers + 'graphql.worker..bundle.js',
  };
  self.MonacoEnvironment = { globalAPI: false, getWorkerUrl: (_id, label) => workerUrls[label] };
</script>
<script src="${GRAPHIQL_ASSETS_PATH}yoga-graphiql.umd.js"></script>
<script id="expediter-graphiql-config" type="application/json">${jsonForScript(config)}</script>
<script type="module" src="${GRAPHIQL_APP_PATH}"></script>
</body>
</html>
`;
}

/** JSON inside a script element: `<` escaped, so no value can close the element. */
function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
