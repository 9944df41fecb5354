import type { DocumentNode } from 'graphql';

/**
 * A document that knows its result and variables types: structurally the `TypedDocumentNode` that
 * GraphQL Code Generator emits (and Apollo and urql accept), without depending on its package.
 */
export interface TypedDocument<TResult = Record<string, unknown>, TVariables = Record<string, unknown>>
  extends DocumentNode {
  __apiType?: (variables: TVariables) => TResult;
}

export type ResultOf<D> = D extends TypedDocument<infer R, infer _V> ? R : never;
export type VariablesOf<D> = D extends TypedDocument<infer _R, infer V> ? V : never;
