import type { GraphiQLOptions } from 'graphql-yoga';

/** Where the GraphiQL assets of @graphql-yoga/graphiql are served from (see web-pages.ts). */
export const GRAPHIQL_ASSETS_PATH = '/graphiql/assets/';

/**
 * Yoga's GraphiQL page, with its assets served by this server instead of unpkg, so that it works
 * offline and in air-gapped deployments.
 *
 * Yoga's GraphiQL sends the Headers tab with HTTP requests, but over WebSocket it only puts them in
 * each subscribe message's `extensions.headers`, never in `connection_init`, where Expediter
 * authenticates (the socket would close with 4401). So this page passes the Headers tab's
 * `Authorization` and `x-store-id` as the connection params `authorization` and `storeId`, read on
 * every (re)connect from the editor's saved state.
 */
export function renderOfflineGraphiQL(options: GraphiQLOptions): string {
  const title = escapeHtml(options.title ?? 'Expediter GraphiQL');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${title}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${GRAPHIQL_ASSETS_PATH}graphiql.css">
</head>
<body id="body" class="no-focus-outline">
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
<script>
  ${HEADERS_TO_CONNECTION_PARAMS}
  const options = ${JSON.stringify(withDefaultQuery(options)).replace(/</g, '\\u003c')};
  options.connectionParams = () => headersToConnectionParams(localStorage.getItem('graphiql:headers'));
  YogaGraphiQL.renderYogaGraphiQL(document.getElementById('root'), options);
</script>
</body>
</html>
`;
}

/**
 * GraphiQL's saved Headers tab (JSON text) as Expediter's connection_init payload. Browser code, kept
 * as source text so that no build step can rewrite it (graphiql.test.ts runs this same text).
 */
export const HEADERS_TO_CONNECTION_PARAMS = `function headersToConnectionParams(savedHeaders) {
    let headers = {};
    try {
      headers = JSON.parse(savedHeaders || '{}') || {};
    } catch {
      // the Headers tab holds text that is not JSON (yet): send no credentials
    }
    const header = (name) => {
      const entry = Object.entries(headers).find(([key]) => key.toLowerCase() === name);
      return entry && typeof entry[1] === 'string' ? entry[1] : undefined;
    };
    const params = {};
    if (header('authorization')) params.authorization = header('authorization');
    if (header('x-store-id')) params.storeId = header('x-store-id');
    return params;
  }`;

/** Yoga's GraphiQL 4.5 opens with `query` (else its welcome text) and never reads `defaultQuery`. */
function withDefaultQuery(options: GraphiQLOptions): GraphiQLOptions & { query?: string } {
  return { ...options, query: (options as { query?: string }).query ?? options.defaultQuery };
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
