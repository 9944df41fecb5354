import type { DocumentNode, GraphQLFormattedError } from 'graphql';
import type { SubscribePayload } from 'graphql-ws';

/**
 * The sha256 (hex) of a generated document: GraphQL Code Generator's `persistedDocuments` puts
 * `__meta__.hash` (`sha256:<hex>`) on every document it emits, and the server registers the same hashes.
 */
export function documentHash(document: DocumentNode): string | undefined {
  const hash = (document as { __meta__?: { hash?: unknown } }).__meta__?.hash;
  return typeof hash === 'string' && /^sha256:[0-9a-f]{64}$/.test(hash) ? hash.slice(7) : undefined;
}

/** A subscribe payload naming its document by hash (graphql-ws wants `query` to be a string: empty). */
export function byHash(payload: SubscribePayload, hash: string): SubscribePayload {
  return {
    query: '',
    operationName: payload.operationName,
    variables: payload.variables,
    extensions: { ...payload.extensions, persistedQuery: { version: 1, sha256Hash: hash } },
  };
}

/**
 * The server does not know the hash (an app version it has no manifest for) or takes no hashes
 * (TRUSTED_DOCUMENTS=off): the request is sent again with the text. Under `require` the server answers
 * PERSISTED_QUERY_NOT_IN_LIST instead, and the text would be refused too.
 */
export function asksForText(errors: readonly GraphQLFormattedError[] | undefined): boolean {
  return (
    errors?.some(
      (error) =>
        error.extensions?.code === 'PERSISTED_QUERY_NOT_FOUND' ||
        error.extensions?.code === 'PERSISTED_QUERY_NOT_SUPPORTED',
    ) ?? false
  );
}
