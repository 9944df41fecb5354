import { type DocumentNode, print } from 'graphql';
import type { SubscribePayload } from 'graphql-ws';

/** How the client turns documents and requests into graphql-ws payloads. */

const printed = new WeakMap<DocumentNode, string>();

export function printOnce(document: DocumentNode): string {
  let query = printed.get(document);
  if (query === undefined) {
    query = print(document);
    printed.set(document, query);
  }
  return query;
}

export function payloadOf(document: DocumentNode, variables: unknown): SubscribePayload {
  return {
    query: printOnce(document),
    variables: (variables ?? undefined) as Record<string, unknown> | undefined,
  };
}

/** The hash an Apollo-style request names (`extensions.persistedQuery.sha256Hash`), as the helper sends it. */
export function persistedHashOf(extensions: Record<string, unknown> | null | undefined): string | undefined {
  const persisted = extensions?.persistedQuery as { sha256Hash?: unknown } | undefined;
  return typeof persisted?.sha256Hash === 'string' ? persisted.sha256Hash : undefined;
}
