import { createSchema, createYoga } from 'graphql-yoga';
import { describe, expect, it } from 'vitest';
import { defaultLimits } from '../../src/limits/config';
import { operationLimitPlugins } from '../../src/limits/operation-limits';

const schema = createSchema({
  typeDefs: /* GraphQL */ `
    type Node {
      id: ID!
      child: Node
      children(first: Int): [Node!]!
    }
    type Query {
      node: Node
      nodes(first: Int): [Node!]!
      search(ids: [ID!]): Int
    }
  `,
  resolvers: {
    Query: { node: () => ({ id: '1' }), nodes: () => [], search: () => 0 },
    Node: { child: () => null, children: () => [] },
  },
});

function server(options: { env?: 'development' | 'production'; introspection?: boolean } = {}) {
  const yoga = createYoga({
    schema,
    maskedErrors: false,
    plugins: operationLimitPlugins({
      limits: defaultLimits().operation,
      hideSuggestions: options.env !== 'development',
      introspection: options.introspection ?? true,
    }),
  });
  return async (query: string) => {
    const response = await yoga.fetch('http://localhost/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query }),
    });
    return (await response.json()) as {
      data?: unknown;
      errors?: Array<{ message: string; extensions?: { code?: string; limit?: string } }>;
    };
  };
}

const run = server();
const limitOf = (result: Awaited<ReturnType<typeof run>>) => result.errors?.map((e) => e.extensions?.limit);
const repeat = (n: number, text: (i: number) => string) =>
  Array.from({ length: n }, (_, i) => text(i)).join(' ');

/** `node { child { … { id } } }`: `depth` fields from the root to the leaf. */
const nested = (depth: number) => `{ node ${'{ child '.repeat(depth - 2)}{ id }${' }'.repeat(depth - 2)} }`;

describe('operation limits at their defaults', () => {
  it('allows depth 12 and refuses depth 13 before executing', async () => {
    expect((await run(nested(12))).errors).toBeUndefined();
    const refused = await run(nested(13));
    expect(refused.data).toBeUndefined();
    expect(refused.errors?.[0]?.extensions).toEqual({ code: 'GRAPHQL_VALIDATION_FAILED', limit: 'depth' });
  });

  it('allows 15 aliases and refuses 16', async () => {
    expect((await run(`{ ${repeat(15, (i) => `a${i}: node { id }`)} }`)).errors).toBeUndefined();
    expect(limitOf(await run(`{ ${repeat(16, (i) => `a${i}: node { id }`)} }`))).toEqual(['aliases']);
  });

  it('allows 10 directives and refuses 11', async () => {
    expect((await run(`{ ${repeat(10, () => '__typename @include(if: true)')} }`)).errors).toBeUndefined();
    expect(limitOf(await run(`{ ${repeat(11, () => '__typename @include(if: true)')} }`))).toEqual([
      'directives',
    ]);
  });

  it('multiplies the cost of a list by its `first` and refuses above 5000', async () => {
    // nodes(first: k) { id } costs (2 + 1.5 × 1) × k = 3.5k
    expect((await run('{ nodes(first: 1428) { id } }')).errors).toBeUndefined();
    expect(limitOf(await run('{ nodes(first: 1429) { id } }'))).toEqual(['cost']);
  });

  it('allows 2000 tokens and refuses 2001 while parsing', async () => {
    // `{ search ( ids : [` + n ids + `] ) }`: 9 + n tokens
    expect((await run(`{ search(ids: [${repeat(1991, String)}]) }`)).errors).toBeUndefined();
    const refused = await run(`{ search(ids: [${repeat(1992, String)}]) }`);
    expect(refused.errors?.[0]?.extensions).toMatchObject({
      code: 'GRAPHQL_VALIDATION_FAILED',
      limit: 'tokens',
    });
    expect(refused.errors?.[0]?.message).toBe('Token limit of 2000 exceeded.');
  });

  it('allows a 64 KiB document and refuses one byte more without parsing it', async () => {
    const document = (bytes: number) => `{ __typename }${' '.repeat(bytes - 14)}`;
    expect((await run(document(65536))).errors).toBeUndefined();
    const refused = await run(document(65537));
    expect(refused.errors?.[0]?.extensions).toMatchObject({ limit: 'documentSize' });
    expect(refused.errors?.[0]?.message).toBe('Document of 65537 bytes exceeds the limit of 65536 bytes.');
  });

  it('hides field suggestions outside development', async () => {
    const [hidden] = (await run('{ nodez { id } }')).errors ?? [];
    expect(hidden?.message).not.toContain('Did you mean');
    const [shown] = (await server({ env: 'development' })('{ nodez { id } }')).errors ?? [];
    expect(shown?.message).toContain('Did you mean "node"');
  });

  it('refuses introspection when it is disabled', async () => {
    const query = '{ __schema { queryType { name } } }';
    expect((await run(query)).errors).toBeUndefined();
    const refused = await server({ introspection: false })(query);
    expect(refused.errors?.[0]?.message).toContain('introspection has been disabled');
  });
});
