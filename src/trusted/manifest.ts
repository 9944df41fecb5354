import { readFileSync } from 'node:fs';
import { getOperationAST, parse } from 'graphql';

/** One document a manifest registers, under the id clients send for it. */
export interface ManifestEntry {
  /** As the manifest spells it: `sha256:<hex>` (codegen) or `<hex>` (Apollo). */
  id: string;
  body: string;
  /** The operation's name (Apollo's manifest says it; for codegen's it is read from the document). */
  name: string;
}

export class ManifestError extends Error {
  override name = 'ManifestError';
}

const APOLLO_FORMAT = 'apollo-persisted-query-manifest';

/**
 * Reads a persisted-documents manifest in either format clients generate:
 * - GraphQL Code Generator's client preset (`persistedDocuments`), also Relay's: `{ "<id>": "<document>" }`;
 * - Apollo's persisted query manifest (Apollo Client Web's generator, Apollo iOS, Apollo Kotlin):
 *   `{ "format": "apollo-persisted-query-manifest", "version": 1, "operations": [{ id, name, type, body }] }`.
 * Every document must parse and hold exactly one operation; anything else throws, naming the file.
 */
export function readManifest(path: string): ManifestEntry[] {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ManifestError(`${path}: not a readable JSON file (${(error as Error).message})`);
  }
  const pairs = isApolloManifest(json) ? apolloPairs(json, path) : codegenPairs(json, path);
  return pairs.map(([id, body]) => ({ id, body, name: operationName(body, id, path) }));
}

function isApolloManifest(json: unknown): json is { format: string; version: unknown; operations: unknown } {
  return typeof json === 'object' && json !== null && (json as { format?: unknown }).format === APOLLO_FORMAT;
}

function apolloPairs(json: { version: unknown; operations: unknown }, path: string): [string, string][] {
  if (json.version !== 1)
    throw new ManifestError(`${path}: Apollo manifest version ${json.version} (1 expected)`);
  if (!Array.isArray(json.operations)) throw new ManifestError(`${path}: "operations" is not a list`);
  return json.operations.map((operation: { id?: unknown; body?: unknown }, index) => {
    if (typeof operation?.id !== 'string' || typeof operation.body !== 'string')
      throw new ManifestError(`${path}: operation ${index} needs a string "id" and "body"`);
    return [operation.id, operation.body];
  });
}

function codegenPairs(json: unknown, path: string): [string, string][] {
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new ManifestError(`${path}: neither { "<id>": "<document>" } nor an Apollo manifest`);
  return Object.entries(json).map(([id, body]) => {
    if (typeof body !== 'string') throw new ManifestError(`${path}: the document of ${id} is not a string`);
    return [id, body];
  });
}

function operationName(body: string, id: string, path: string): string {
  try {
    const operation = getOperationAST(parse(body, { noLocation: true }));
    if (!operation) throw new Error('it must hold exactly one operation');
    return operation.name?.value ?? '(anonymous)';
  } catch (error) {
    throw new ManifestError(`${path}: document ${id}: ${(error as Error).message}`);
  }
}
