import { createHash } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GraphQLError } from 'graphql';
import { LRUCache } from 'lru-cache';
import { ConfigError } from '../config';
import type { Logger } from '../observability/logger';
import type { Metrics } from '../observability/metrics';
import { type ManifestEntry, readManifest } from './manifest';

export type TrustedDocumentsMode = 'off' | 'allow' | 'require';

/** The codes of every refusal (docs/clients.md "Trusted documents" explains each). */
export const TrustedDocumentCode = {
  /** allow: the hash is not known yet; send it again with the document text (automatic persisted queries). */
  NotFound: 'PERSISTED_QUERY_NOT_FOUND',
  /** off: hashes are not accepted; send the document text (Apollo's and urql's links then stop hashing). */
  NotSupported: 'PERSISTED_QUERY_NOT_SUPPORTED',
  /** require: no manifest registers this hash (an app version the server does not know, or a retired one). */
  NotInList: 'PERSISTED_QUERY_NOT_IN_LIST',
  /** require: a document sent as text (only introspection passes, where INTROSPECTION is on). */
  IdRequired: 'PERSISTED_QUERY_ID_REQUIRED',
} as const;

/** A document a request named by its hash, as logs, metrics and limits see it. */
export interface TrustedOperation {
  /** The id as the client sent it (`sha256:<hex>` or `<hex>`). */
  id: string;
  name: string;
  /** Where it was registered: `codegen`, a manifest's file name, or `apq` (registered on first use). */
  manifest: string;
}

/** Whatever a transport received: an HTTP body or query string, a graphql-ws or SSE subscribe payload. */
export interface OperationRequest {
  query?: unknown;
  documentId?: unknown;
  operationName?: unknown;
  variables?: unknown;
  extensions?: unknown;
}

/** The parameters yoga executes: the document text is always there, whichever form the request had. */
export interface ResolvedParams {
  query: string;
  operationName?: string;
  variables?: Record<string, unknown>;
  extensions?: Record<string, unknown>;
}

export type Resolution =
  | {
      params: ResolvedParams;
      /** Set when the request named a registered (or, in `allow`, an APQ-registered) document. */
      trusted?: TrustedOperation;
      /** require: text let through because it may be introspection; anything else is refused when validated. */
      introspectionOnly?: boolean;
      error?: undefined;
    }
  | { error: GraphQLError; params?: undefined; trusted?: undefined; introspectionOnly?: undefined };

export interface TrustedDocumentsOptions {
  mode: TrustedDocumentsMode;
  /** Manifests to load at start (the codegen manifest of `npm run codegen`); a missing one is skipped. */
  manifests: string[];
  /** Every `*.json` in it is a manifest (codegen's or Apollo's format), reloaded while the server runs. */
  directory?: string;
  /** How often `directory` is checked for added, changed and removed manifests; 0: never. */
  reloadIntervalMs: number;
  /** require: text that is introspection only passes (GraphiQL's schema explorer, codegen against a server). */
  introspection: boolean;
  logger: Logger;
  metrics: Pick<
    Metrics,
    'persistedOperations' | 'unregisteredHashes' | 'textOperations' | 'persistedDocuments'
  >;
}

export interface TrustedDocuments {
  readonly mode: TrustedDocumentsMode;
  /** The one rule: which document a request runs, or why it is refused. Every transport asks it. */
  resolve(request: OperationRequest): Resolution;
  /** Reads the directory again now (the timer does it every reloadIntervalMs). */
  reload(): void;
  /** Number of registered documents (manifests only, not APQ). */
  size(): number;
  close(): void;
}

interface Registered {
  body: string;
  operation: TrustedOperation;
}

/** The manifest `npm run codegen` writes for src/client/operations (the documents of `expediter/client`). */
export const CODEGEN_MANIFEST = fileURLToPath(
  new URL('../client/gql/persisted-documents.json', import.meta.url),
);

const MAX_ID_LENGTH = 200;
const APQ_CACHE_SIZE = 1000;

/**
 * Trusted documents: the manifests apps ship (web, iOS, Android: one per app version) and the rule that decides
 * what runs. `allow` runs registered hashes, text, and registers hashes on first use (APQ); `require` runs only
 * registered hashes. Manifests are loaded at start (an unreadable one stops the start) and the directory is
 * polled; a manifest that becomes unreadable keeps its last good documents, a removed one retires its hashes.
 */
export function createTrustedDocuments(options: TrustedDocumentsOptions): TrustedDocuments {
  const { mode, logger, metrics } = options;
  const fixed = options.manifests.flatMap((path) => loadFixed(path, logger));
  /** Directory manifests by file name, with what identified the version read. */
  let fromDirectory = new Map<string, { stamp: string; entries: ManifestEntry[] }>();
  let registry = new Map<string, Registered>();
  const apq = mode === 'allow' ? new LRUCache<string, Registered>({ max: APQ_CACHE_SIZE }) : undefined;

  function rebuild() {
    const next = new Map<string, Registered>();
    const counts = new Map<string, number>();
    const add = (manifest: string, entries: ManifestEntry[]) => {
      counts.set(manifest, entries.length);
      for (const entry of entries) {
        const key = keyOf(entry.id);
        const existing = next.get(key);
        if (existing && existing.body !== entry.body) {
          logger.warn(
            { id: entry.id, manifest, kept: existing.operation.manifest },
            'conflicting manifest id',
          );
          continue;
        }
        next.set(key, { body: entry.body, operation: { id: entry.id, name: entry.name, manifest } });
      }
    };
    for (const { manifest, entries } of fixed) add(manifest, entries);
    for (const [file, { entries }] of fromDirectory) add(file, entries);
    registry = next;
    metrics.persistedDocuments.reset();
    for (const [manifest, count] of counts) metrics.persistedDocuments.set({ manifest }, count);
  }

  /** At start every manifest must read; later an unreadable one keeps its previous version. */
  function readDirectory(strict: boolean): boolean {
    const directory = options.directory;
    if (!directory) return false;
    const next = new Map<string, { stamp: string; entries: ManifestEntry[] }>();
    for (const file of readdirSync(directory)
      .filter((name) => name.endsWith('.json'))
      .sort()) {
      const path = join(directory, file);
      let stamp: string;
      try {
        const stats = statSync(path);
        stamp = `${stats.mtimeMs}:${stats.size}`;
      } catch {
        continue; // removed while listing
      }
      const previous = fromDirectory.get(file);
      if (previous?.stamp === stamp) {
        next.set(file, previous);
        continue;
      }
      try {
        next.set(file, { stamp, entries: readManifest(path) });
      } catch (error) {
        if (strict) throw error;
        logger.error({ err: error, manifest: file }, 'manifest unreadable; keeping its previous documents');
        if (previous) next.set(file, previous);
      }
    }
    const changed =
      next.size !== fromDirectory.size ||
      [...next].some(([file, value]) => fromDirectory.get(file) !== value);
    fromDirectory = next;
    return changed;
  }

  readDirectory(true);
  rebuild();
  if (mode === 'require' && registry.size === 0)
    throw new ConfigError(
      'Invalid configuration:\n  TRUSTED_DOCUMENTS=require, but no manifest registers a document (run `npm run codegen`, set TRUSTED_DOCUMENTS_DIR)',
    );
  logger.info(
    { mode, documents: registry.size, manifests: [...fixed.map((m) => m.manifest), ...fromDirectory.keys()] },
    'trusted documents loaded',
  );

  function reload() {
    try {
      if (!readDirectory(false)) return;
    } catch (error) {
      logger.error({ err: error, directory: options.directory }, 'manifest directory unreadable');
      return;
    }
    rebuild();
    logger.info(
      { documents: registry.size, manifests: [...fromDirectory.keys()] },
      'trusted documents reloaded',
    );
  }
  const timer =
    options.directory && options.reloadIntervalMs > 0
      ? setInterval(reload, options.reloadIntervalMs)
      : undefined;
  timer?.unref();

  function resolve(request: OperationRequest): Resolution {
    const form = requestForm(request);
    if ('error' in form) return form;
    const { id, text } = form;

    if (mode === 'off') {
      if (id !== undefined && text === undefined) return { error: refusal('NotSupported') };
      return { params: paramsOf(request, text) };
    }
    if (id === undefined) {
      if (text === undefined || mode === 'allow') {
        if (text !== undefined) metrics.textOperations.inc({ outcome: 'ran' });
        return { params: paramsOf(request, text) };
      }
      if (options.introspection) {
        metrics.textOperations.inc({ outcome: 'introspection' });
        return { params: paramsOf(request, text), introspectionOnly: true };
      }
      metrics.textOperations.inc({ outcome: 'refused' });
      return { error: refusal('IdRequired') };
    }

    const key = keyOf(id);
    const registered = registry.get(key) ?? apq?.get(key);
    if (registered) {
      metrics.persistedOperations.inc({
        manifest: registered.operation.manifest,
        operation: registered.operation.name,
      });
      return { params: paramsOf(request, registered.body), trusted: registered.operation };
    }
    metrics.unregisteredHashes.inc();
    if (!apq) return { error: refusal('NotInList') };
    if (text === undefined) return { error: refusal('NotFound') };
    if (sha256(text) !== key) {
      // Text runs in `allow` anyway; it is only not registered under a hash that is not its own.
      metrics.textOperations.inc({ outcome: 'ran' });
      return { params: paramsOf(request, text) };
    }
    const operation = {
      id,
      name: typeof request.operationName === 'string' ? request.operationName : '(anonymous)',
      manifest: 'apq',
    };
    apq.set(key, { body: text, operation });
    return { params: paramsOf(request, text), trusted: operation };
  }

  return {
    mode,
    resolve,
    reload,
    size: () => registry.size,
    close: () => clearInterval(timer),
  };
}

/** Finds the requested id and the text, whichever form the client used; refuses malformed ones. */
function requestForm(request: OperationRequest): { id?: string; text?: string } | { error: GraphQLError } {
  const { query, documentId, extensions } = request;
  if (query != null && typeof query !== 'string') return { error: badInput('"query" must be a string') };
  const text = query ? query : undefined;
  let hash: string | undefined;
  const persisted = isObject(extensions) ? extensions.persistedQuery : undefined;
  if (persisted !== undefined) {
    if (!isObject(persisted) || persisted.version !== 1 || typeof persisted.sha256Hash !== 'string')
      return { error: badInput('extensions.persistedQuery must be { version: 1, sha256Hash: string }') };
    hash = persisted.sha256Hash;
  }
  if (documentId != null && typeof documentId !== 'string')
    return { error: badInput('"documentId" must be a string') };
  const id = documentId ?? hash;
  if (id === undefined) return { text };
  if (id.length === 0 || id.length > MAX_ID_LENGTH)
    return { error: badInput(`A document id has 1 to ${MAX_ID_LENGTH} characters`) };
  if (documentId != null && hash !== undefined && keyOf(documentId) !== keyOf(hash))
    return { error: badInput('"documentId" and extensions.persistedQuery name different documents') };
  return { id, text };
}

function paramsOf(request: OperationRequest, query: string | undefined): ResolvedParams {
  return {
    query: query as string, // undefined only when the request had no document at all: yoga refuses that itself
    operationName: typeof request.operationName === 'string' ? request.operationName : undefined,
    variables: isObject(request.variables) ? request.variables : undefined,
    extensions: isObject(request.extensions) ? request.extensions : undefined,
  };
}

/** Codegen prefixes its sha256 ids (`sha256:<hex>`, GraphQL over HTTP's form), Apollo does not: both are one key. */
function keyOf(id: string): string {
  return id.startsWith('sha256:') ? id.slice(7) : id;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function loadFixed(path: string, logger: Logger): { manifest: string; entries: ManifestEntry[] }[] {
  try {
    statSync(path);
  } catch {
    logger.warn(
      { manifest: path },
      'manifest not found (run `npm run codegen`); its documents are not registered',
    );
    return [];
  }
  return [
    {
      manifest: basename(path) === 'persisted-documents.json' ? 'codegen' : basename(path),
      entries: readManifest(path),
    },
  ];
}

const MESSAGES: Record<keyof typeof TrustedDocumentCode, string> = {
  // The exact messages Apollo's and urql's persisted-query links look for.
  NotFound: 'PersistedQueryNotFound',
  NotSupported: 'PersistedQueryNotSupported',
  NotInList:
    'This document is not registered on this server: it runs only the documents of registered app versions',
  IdRequired:
    'This server runs only registered documents: send the hash of one (extensions.persistedQuery or documentId), not document text',
};

export function refusal(kind: keyof typeof TrustedDocumentCode): GraphQLError {
  return new GraphQLError(MESSAGES[kind], { extensions: { code: TrustedDocumentCode[kind] } });
}

function badInput(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT' } });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
