import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { GRAPHIQL_APP_PATH, renderGraphiQLPage } from '../../src/demo/graphiql/page';
import { createWebPages } from '../../src/demo/web-pages';

describe('renderGraphiQLPage', () => {
  it('loads every asset from this server, then the page script with its configuration', () => {
    const html = renderGraphiQLPage({
      graphiql: { title: 'Expediter GraphiQL' },
      demoUsers: null,
      signInPath: '/demo/sign-in',
    });
    expect(html).not.toMatch(/unpkg|https?:\/\//);
    expect(html).toContain('<script src="/graphiql/assets/yoga-graphiql.umd.js"></script>');
    expect(html).toContain(`<script type="module" src="${GRAPHIQL_APP_PATH}"></script>`);
    expect(html).toContain(
      '{"graphiql":{"title":"Expediter GraphiQL"},"demoUsers":null,"signInPath":"/demo/sign-in"}',
    );
  });

  it('cannot be broken out of by option values', () => {
    const html = renderGraphiQLPage({
      graphiql: { defaultQuery: '# </script><script>alert(1)</script>', title: '<b>' },
      demoUsers: null,
      signInPath: '/demo/sign-in',
    });
    expect(html.match(/<\/script>/g)).toHaveLength(4);
    expect(html).toContain('<title>&#60;b&#62;</title>');
  });
});

describe('createWebPages', () => {
  const pages = createWebPages();
  async function get(url: string) {
    const response = { status: 0, headers: {} as Record<string, string>, body: '' };
    const res = {
      writeHead(status: number, headers: Record<string, string>) {
        response.status = status;
        response.headers = headers;
      },
      end(body: string | Buffer) {
        response.body = String(body);
      },
    } as unknown as ServerResponse;
    const handled = await pages.handle({ method: 'GET', url } as IncomingMessage, res);
    return { handled, ...response };
  }

  it("serves GraphiQL's assets from the npm package", async () => {
    const css = await get('/graphiql/assets/graphiql.css');
    expect(css).toMatchObject({
      handled: true,
      status: 200,
      headers: { 'content-type': 'text/css; charset=utf-8' },
    });
    expect((await get('/graphiql/assets/monacoeditorwork/json.worker.bundle.js')).status).toBe(200);
  });

  it('serves nothing outside the package, nor unknown kinds of files', async () => {
    expect((await get('/graphiql/assets/../../package.json')).status).toBe(404);
    expect((await get('/graphiql/assets/%2e%2e/%2e%2e/package.json')).status).toBe(404);
    expect((await get('/graphiql/assets/missing.js')).status).toBe(404);
  });

  it('serves the demo page and its bundle, and leaves other paths alone', async () => {
    expect(await get('/demo')).toMatchObject({ handled: true, status: 200 });
    const bundle = await get('/demo/app.js');
    expect(bundle).toMatchObject({
      status: 200,
      headers: { 'content-type': 'text/javascript; charset=utf-8' },
    });
    expect(bundle.body).toContain('kdsTicket');
    expect((await get('/graphql')).handled).toBe(false);
  });

  it("serves GraphiQL's page script", async () => {
    const script = await get(GRAPHIQL_APP_PATH);
    expect(script).toMatchObject({
      status: 200,
      headers: { 'content-type': 'text/javascript; charset=utf-8' },
    });
    expect(script.body).toContain('renderYogaGraphiQL');
    expect(script.body).toContain('graphql-transport-ws');
  });
});
