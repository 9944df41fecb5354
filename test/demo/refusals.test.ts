import { parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { exampleUrl, LIVE_ORDERS, shareableUrl } from '../../src/demo/graphiql/examples';
import { connectionParamsFromHeaders, operationType } from '../../src/demo/graphiql/fetcher';
import {
  closeRefusal,
  httpRefusal,
  networkRefusal,
  resultWithWhatToDo,
} from '../../src/demo/graphiql/refusals';
import { NO_TOKEN_REFUSAL } from './expected';

const withSignIn = { demoSignIn: true };
const withoutSignIn = { demoSignIn: false };

describe('a closed socket, as GraphiQL shows it', () => {
  it('4401: the code, the reason and how to get a token', () => {
    const error = closeRefusal(4401, 'Authentication required', withoutSignIn);
    expect(error).toEqual(NO_TOKEN_REFUSAL);
    expect(error.extensions.whatToDo).toContain('npm run -s token -- acme-manager');
  });

  it('4401 points at demo sign-in where the page offers it, and says why for an expired or revoked token', () => {
    expect(closeRefusal(4401, 'Authentication required', withSignIn).extensions.whatToDo).toMatch(
      /^Pick a demo user and press "Sign in"/,
    );
    expect(closeRefusal(4401, 'Token expired', withSignIn).extensions.whatToDo).toMatch(
      /^The token expired\. Sign in again/,
    );
    expect(closeRefusal(4401, 'Session revoked', withoutSignIn).extensions.whatToDo).toMatch(
      /^The session was revoked \(revokeSessions\)\. Get a new token/,
    );
  });

  it('4403: the store in x-store-id is not one of the token', () => {
    expect(closeRefusal(4403, 'Store not allowed', withSignIn)).toMatchObject({
      message: 'WebSocket closed with 4403 Forbidden: Store not allowed',
      extensions: { code: 'FORBIDDEN', whatToDo: expect.stringContaining('"x-store-id"') },
    });
  });

  it('4429: what to do depends on which flood it was', () => {
    const hint = (reason: string) => closeRefusal(4429, reason, withSignIn).extensions.whatToDo;
    expect(hint('Too many connections for this user')).toContain('WS_MAX_CONNECTIONS_PER_USER');
    expect(hint('Too many connections from this address')).toContain('WS_MAX_CONNECTIONS_PER_IP');
    expect(hint('Too many connection attempts')).toContain('WS_CONNECTION_ATTEMPTS_PER_IP');
    expect(hint('Too many messages')).toContain('WS_MESSAGES_PER_CONNECTION');
    expect(hint('Too many initialisation requests')).toContain('connection_init twice');
    expect(closeRefusal(4429, 'Too many messages', withSignIn).extensions.code).toBe('RATE_LIMITED');
  });

  it('1009, 1001, 1006 and 4413 say what happened without a reason from the server', () => {
    expect(closeRefusal(1009, '', withSignIn)).toMatchObject({
      message: 'WebSocket closed with 1009 Message too big',
      extensions: { closeCode: 1009, whatToDo: expect.stringContaining('WS_MAX_MESSAGE_BYTES') },
    });
    expect(closeRefusal(1009, '', withSignIn).extensions).not.toHaveProperty('reason');
    expect(closeRefusal(1001, 'Server shutting down', withSignIn).extensions.whatToDo).toContain('after:');
    expect(closeRefusal(1006, '', withSignIn).extensions.whatToDo).toContain('ALLOWED_ORIGINS');
    expect(closeRefusal(4413, '', withSignIn).extensions.code).toBe('SLOW_CONSUMER');
  });

  it('an unknown code still shows the code and the reason', () => {
    expect(closeRefusal(4999, 'Something', withSignIn)).toMatchObject({
      message: 'WebSocket closed with 4999 Closed: Something',
      extensions: {
        code: 'CONNECTION_CLOSED',
        closeCode: 4999,
        whatToDo: expect.stringContaining('close codes'),
      },
    });
  });
});

describe('HTTP failures and refusals, as GraphiQL shows them', () => {
  it('a response that is not a GraphQL result: status, an excerpt without markup, and what to do', () => {
    const error = httpRefusal(
      { status: 502, statusText: 'Bad Gateway', body: '<html><h1>502 Bad Gateway</h1>\n<p>nginx</p></html>' },
      withSignIn,
    );
    expect(error).toEqual({
      message: 'HTTP 502 Bad Gateway: 502 Bad Gateway nginx',
      extensions: { code: 'BAD_RESPONSE', httpStatus: 502, whatToDo: expect.stringContaining('/ready') },
    });
    expect(
      httpRefusal({ status: 429, statusText: '', body: '', retryAfter: '7' }, withSignIn).extensions,
    ).toMatchObject({ code: 'RATE_LIMITED', whatToDo: expect.stringContaining('wait 7 s') });
  });

  it('a server that cannot be reached', () => {
    expect(networkRefusal('http://127.0.0.1:1/graphql', new TypeError('fetch failed'))).toEqual({
      message: 'Could not reach http://127.0.0.1:1/graphql: fetch failed',
      extensions: { code: 'NETWORK_ERROR', whatToDo: expect.stringContaining('npm start') },
    });
  });

  it("the server's refusals get whatToDo; other errors and data stay as the server sent them", () => {
    const result = resultWithWhatToDo(
      {
        data: null,
        errors: [
          { message: 'Token expired', extensions: { code: 'UNAUTHENTICATED', reason: 'expired' } },
          { message: 'Not allowed', extensions: { code: 'FORBIDDEN' } },
          { message: 'Rate limit exceeded', extensions: { code: 'RATE_LIMITED', retryAfter: 3 } },
          { message: 'Order not found', extensions: { code: 'NOT_FOUND' } },
          { message: 'Said already', extensions: { code: 'FORBIDDEN', whatToDo: 'kept' } },
          {
            message: 'This server runs only registered documents',
            extensions: { code: 'PERSISTED_QUERY_ID_REQUIRED' },
          },
        ],
      },
      withSignIn,
    );
    expect(result.errors.map((error) => error.extensions.whatToDo)).toEqual([
      expect.stringMatching(/^The token expired\. Sign in again/),
      expect.stringContaining('Sign in as a demo user who may, e.g. acme-manager'),
      'A rate limit refused this operation: wait 3 s, then run again.',
      undefined,
      'kept',
      expect.stringContaining('TRUSTED_DOCUMENTS=allow'),
    ]);
    const data: { data: unknown; errors?: unknown[] } = { data: { me: { id: 'acme-manager' } } };
    expect(resultWithWhatToDo(data, withSignIn)).toBe(data);
  });
});

describe("GraphiQL's Headers tab as connection params", () => {
  it('sends Authorization and x-store-id, whatever their case, as authorization and storeId', () => {
    expect(
      connectionParamsFromHeaders({ Authorization: 'Bearer abc', 'X-Store-Id': 'acme-downtown', other: 'x' }),
    ).toEqual({ authorization: 'Bearer abc', storeId: 'acme-downtown' });
  });

  it('sends nothing for empty or non-string values', () => {
    expect(connectionParamsFromHeaders({})).toEqual({});
    expect(connectionParamsFromHeaders({ Authorization: 42, 'x-store-id': '' })).toEqual({});
  });
});

describe('which transport an operation takes', () => {
  const document = parse('query A { me { id } } subscription B { notifications { cursor } }');

  it('is decided by the operation that runs, by name or the only one', () => {
    expect(operationType(document, 'A')).toBe('query');
    expect(operationType(document, 'B')).toBe('subscription');
    expect(operationType(parse('subscription { notifications { cursor } }'))).toBe('subscription');
    expect(operationType(undefined)).toBeUndefined(); // did not parse: HTTP, and the server says why
  });
});

describe('links to a document and its variables', () => {
  it('carry the document and the variables, nothing else (no token)', () => {
    const link = new URL(
      shareableUrl('http://localhost:4000/graphql?query=old&x=1#token', '{ me { id } }', '{"a": 1}'),
    );
    expect(link.pathname).toBe('/graphql');
    expect([...link.searchParams]).toEqual([
      ['query', '{ me { id } }'],
      ['variables', '{"a": 1}'],
    ]);
    expect(link.hash).toBe('');
  });

  it('point an example at the given scope', () => {
    const link = new URL(
      exampleUrl('http://localhost:4000/graphql', LIVE_ORDERS, {
        storeId: 'globex-central',
        stationId: 'globex-central-grill',
        productIds: ['globex-central-burger', 'globex-central-fries'],
      }),
    );
    expect(link.searchParams.get('query')).toBe(LIVE_ORDERS.document);
    expect(JSON.parse(link.searchParams.get('variables')!)).toEqual({ storeId: 'globex-central' });
  });
});
