import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { HEADERS_TO_CONNECTION_PARAMS, renderOfflineGraphiQL } from '../../src/demo/graphiql';
import { createWebPages } from '../../src/demo/web-pages';

const headersToConnectionParams = new Function(`return (${HEADERS_TO_CONNECTION_PARAMS})`)() as (
  saved: string | null,
) => Record<string, string>;

describe("GraphiQL's Headers tab as connection params", () => {
  it('sends Authorization and x-store-id, whatever their case, as authorization and storeId', () => {
    const saved = JSON.stringify({ Authorization: 'Bearer abc', 'X-Store-Id': 'acme-downtown', other: 'x' });
    expect(headersToConnectionParams(saved)).toEqual({
      authorization: 'Bearer abc',
      storeId: 'acme-downtown',
    });
  });

  it('sends nothing while the tab is empty or not JSON yet', () => {
    expect(headersToConnectionParams(null)).toEqual({});
    expect(headersToConnectionParams('{"Authorization": "Bea')).toEqual({});
    expect(headersToConnectionParams('{"Authorization": 42}')).toEqual({});
  });
});

describe('renderOfflineGraphiQL', () => {
  it('loads every asset from this server and opens with the default query', () => {
    const html = renderOfflineGraphiQL({
      defaultQuery: 'subscription { orderUpdated }',
      subscriptionsProtocol: 'WS',
    });
    expect(html).not.toMatch(/unpkg|https?:\/\//);
    expect(html).toContain('<script src="/graphiql/assets/yoga-graphiql.umd.js"></script>');
    expect(html).toContain('"query":"subscription { orderUpdated }"');
    expect(html).toContain('"subscriptionsProtocol":"WS"');
  });

  it('cannot be broken out of by option values', () => {
    const html = renderOfflineGraphiQL({
      defaultQuery: '# </script><script>alert(1)</script>',
      title: '<b>',
    });
    expect(html.match(/<\/script>/g)).toHaveLength(3);
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
});
