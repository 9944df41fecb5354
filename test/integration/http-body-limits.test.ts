import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server';

// The HTTP body rules at their boundary. A POST whose size is not declared up front
// (chunked) is refused with 411, as docs/limits.md documents, instead of being read without bound.

let app: TestServer;
beforeAll(async () => {
  app = await startTestServer({ env: { HTTP_MAX_BODY_BYTES: '4096' } });
});
afterAll(() => app?.close());

/** POSTs the body in chunks with Transfer-Encoding: chunked (no Content-Length). */
function postChunked(url: string, chunks: string[]): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}/graphql`,
      { method: 'POST', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' } },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    for (const chunk of chunks) req.write(chunk);
    req.end();
  });
}

describe('HTTP body size', () => {
  it('refuses a chunked POST with 411, small or large, and serves the same query with a Content-Length', async () => {
    const query = JSON.stringify({ query: '{ __typename }' });
    const small = await postChunked(app.url, [query]);
    expect(small.status).toBe(411);
    const large = await postChunked(app.url, [query.slice(0, -1), `,"pad":"${'x'.repeat(10_000)}"}`]);
    expect(large.status).toBe(411);

    const declared = await fetch(`${app.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: query,
    });
    expect(declared.status).toBe(200);
    expect(await declared.json()).toEqual({ data: { __typename: 'Query' } });
  });

  it('refuses a declared body one byte over HTTP_MAX_BODY_BYTES with 413 and accepts one at the limit', async () => {
    const body = (size: number) => {
      const base = JSON.stringify({ query: '{ __typename }' });
      return JSON.stringify({ query: `{ __typename }${' '.repeat(size - base.length)}` });
    };
    const post = (text: string) =>
      fetch(`${app.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: text,
      });
    expect(Buffer.byteLength(body(4096))).toBe(4096);
    expect((await post(body(4096))).status).toBe(200);
    expect((await post(body(4097))).status).toBe(413);
  });
});
