import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type GraphQLError, parse } from 'graphql';
import { createSchema, createYoga } from 'graphql-yoga';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config';
import { createLogger } from '../../src/observability/logger';
import { createMetrics } from '../../src/observability/metrics';
import { ManifestError, readManifest } from '../../src/trusted/manifest';
import { useTrustedDocuments } from '../../src/trusted/plugin';
import {
  createTrustedDocuments,
  type TrustedDocuments,
  type TrustedDocumentsMode,
} from '../../src/trusted/trusted-documents';

const ME = 'query Me { me }';
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const persisted = (hash: string) => ({ persistedQuery: { version: 1, sha256Hash: hash } });

const directories: string[] = [];
const opened: TrustedDocuments[] = [];
afterEach(() => {
  for (const documents of opened.splice(0)) documents.close();
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
});

function manifestDirectory(files: Record<string, unknown>): string {
  const directory = mkdtempSync(join(tmpdir(), 'expediter-trusted-'));
  directories.push(directory);
  for (const [name, content] of Object.entries(files))
    writeFileSync(join(directory, name), typeof content === 'string' ? content : JSON.stringify(content));
  return directory;
}

function documents(
  mode: TrustedDocumentsMode,
  options: { introspection?: boolean; directory?: string } = {},
) {
  const directory = options.directory ?? manifestDirectory({ 'app.json': { [`sha256:${sha256(ME)}`]: ME } });
  const metrics = createMetrics({ processMetrics: false });
  const trusted = createTrustedDocuments({
    mode,
    manifests: [],
    directory,
    reloadIntervalMs: 0,
    introspection: options.introspection ?? false,
    logger: createLogger('silent'),
    metrics,
  });
  opened.push(trusted);
  return { trusted, metrics, directory };
}

const codeOf = (resolution: ReturnType<TrustedDocuments['resolve']>) => resolution.error?.extensions.code;

describe('the rule, mode by mode', () => {
  it('allow: runs registered hashes (either spelling, either form), text, and registers new hashes (APQ)', () => {
    const { trusted } = documents('allow');
    for (const request of [
      { documentId: `sha256:${sha256(ME)}` },
      { extensions: persisted(sha256(ME)) },
      { extensions: persisted(`sha256:${sha256(ME)}`) },
    ]) {
      const resolved = trusted.resolve(request);
      expect(resolved.params?.query).toBe(ME);
      expect(resolved.trusted).toMatchObject({ name: 'Me', manifest: 'app.json' });
    }
    expect(trusted.resolve({ query: '{ me }' }).params?.query).toBe('{ me }');

    const text = 'query Other { me }';
    expect(codeOf(trusted.resolve({ extensions: persisted(sha256(text)) }))).toBe(
      'PERSISTED_QUERY_NOT_FOUND',
    );
    expect(trusted.resolve({ query: text, extensions: persisted(sha256(text)) }).trusted?.manifest).toBe(
      'apq',
    );
    expect(trusted.resolve({ extensions: persisted(sha256(text)) }).params?.query).toBe(text);
    expect(trusted.size()).toBe(1); // APQ registrations are not manifests
  });

  it('require: only registered hashes; text and unknown hashes are refused, and APQ never registers', async () => {
    const { trusted, metrics } = documents('require');
    expect(trusted.resolve({ documentId: `sha256:${sha256(ME)}`, query: 'ignored' }).params?.query).toBe(ME);
    expect(codeOf(trusted.resolve({ query: ME }))).toBe('PERSISTED_QUERY_ID_REQUIRED');
    const text = 'query Other { me }';
    expect(codeOf(trusted.resolve({ query: text, extensions: persisted(sha256(text)) }))).toBe(
      'PERSISTED_QUERY_NOT_IN_LIST',
    );
    expect(codeOf(trusted.resolve({ extensions: persisted(sha256(text)) }))).toBe(
      'PERSISTED_QUERY_NOT_IN_LIST',
    );
    expect((await metrics.unregisteredHashes.get()).values[0]?.value).toBe(2);
  });

  it('require with introspection on: text passes only as introspection (checked when validated)', () => {
    const { trusted } = documents('require', { introspection: true });
    expect(trusted.resolve({ query: '{ __schema { types { name } } }' })).toMatchObject({
      introspectionOnly: true,
    });
  });

  it('off: text runs, a hash alone is answered PersistedQueryNotSupported (the links then send text)', () => {
    const { trusted } = documents('off');
    expect(trusted.resolve({ query: '{ me }', extensions: persisted(sha256(ME)) }).params?.query).toBe(
      '{ me }',
    );
    const refused = trusted.resolve({ extensions: persisted(sha256(ME)) });
    expect(refused.error?.message).toBe('PersistedQueryNotSupported');
    expect(codeOf(refused)).toBe('PERSISTED_QUERY_NOT_SUPPORTED');
  });

  it('refuses malformed requests as BAD_USER_INPUT in every mode', () => {
    for (const mode of ['off', 'allow', 'require'] as const) {
      const { trusted } = documents(mode);
      for (const request of [
        { query: 42 },
        { documentId: 42 },
        { extensions: { persistedQuery: 'x' } },
        { extensions: { persistedQuery: { version: 2, sha256Hash: sha256(ME) } } },
        { documentId: 'x'.repeat(201) },
        { documentId: 'a', extensions: persisted('b') },
      ]) {
        expect(codeOf(trusted.resolve(request)), `${mode} ${JSON.stringify(request)}`).toBe('BAD_USER_INPUT');
      }
    }
  });

  it('allow: text that does not hash to the hash it names runs as text, and the hash stays unregistered', () => {
    const { trusted } = documents('allow');
    const impostor = trusted.resolve({ query: '{ me }', extensions: persisted('0'.repeat(64)) });
    expect(impostor.params?.query).toBe('{ me }');
    expect(impostor.trusted).toBeUndefined();
    expect(codeOf(trusted.resolve({ extensions: persisted('0'.repeat(64)) }))).toBe(
      'PERSISTED_QUERY_NOT_FOUND',
    );
  });
});

describe('manifests', () => {
  it("reads codegen's format and Apollo's, naming each operation", () => {
    const directory = manifestDirectory({
      'codegen.json': { [`sha256:${sha256(ME)}`]: ME },
      'apollo.json': {
        format: 'apollo-persisted-query-manifest',
        version: 1,
        operations: [{ id: 'abc', name: 'Orders', type: 'query', body: 'query Orders { orders }' }],
      },
    });
    expect(readManifest(join(directory, 'codegen.json'))).toEqual([
      { id: `sha256:${sha256(ME)}`, body: ME, name: 'Me' },
    ]);
    expect(readManifest(join(directory, 'apollo.json'))).toEqual([
      { id: 'abc', body: 'query Orders { orders }', name: 'Orders' },
    ]);
  });

  it('refuses, naming the file, what is not a manifest', () => {
    const broken = {
      'text.json': 'not json',
      'list.json': [ME],
      'number.json': { a: 1 },
      'syntax.json': { a: 'query {' },
      'two.json': { a: 'query A { a } query B { b }' },
      'version.json': { format: 'apollo-persisted-query-manifest', version: 2, operations: [] },
      'operations.json': { format: 'apollo-persisted-query-manifest', version: 1, operations: [{ id: 'a' }] },
    };
    const directory = manifestDirectory(broken);
    for (const file of Object.keys(broken)) {
      expect(() => readManifest(join(directory, file))).toThrow(ManifestError);
      expect(() => readManifest(join(directory, file))).toThrow(file);
    }
  });

  it('an unreadable manifest stops the start; require without any document stops it too', () => {
    expect(() => documents('allow', { directory: manifestDirectory({ 'bad.json': '{' }) })).toThrow(
      ManifestError,
    );
    expect(() => documents('require', { directory: manifestDirectory({}) })).toThrow(ConfigError);
    expect(documents('allow', { directory: manifestDirectory({}) }).trusted.size()).toBe(0);
  });

  it('reload: added and changed manifests register, removed ones retire, unreadable ones keep their last version', () => {
    const { trusted, directory } = documents('require');
    const other = 'query Other { me }';
    const id = { documentId: sha256(other) };
    expect(codeOf(trusted.resolve(id))).toBe('PERSISTED_QUERY_NOT_IN_LIST');

    writeFileSync(join(directory, 'v2.json'), JSON.stringify({ [sha256(other)]: other }));
    trusted.reload();
    expect(trusted.resolve(id).params?.query).toBe(other);

    writeFileSync(join(directory, 'v2.json'), '{ "truncated');
    trusted.reload();
    expect(trusted.resolve(id).params?.query).toBe(other);

    rmSync(join(directory, 'v2.json'));
    trusted.reload();
    expect(codeOf(trusted.resolve(id))).toBe('PERSISTED_QUERY_NOT_IN_LIST');
    expect(trusted.size()).toBe(1);
  });
});

describe('the plugin', () => {
  const schema = createSchema({
    typeDefs: 'type Query { me: String }',
    resolvers: { Query: { me: () => 'x' } },
  });

  it('fails closed under require: an operation that no transport resolved does not validate', () => {
    const { trusted } = documents('require');
    const yoga = createYoga({ schema, plugins: [useTrustedDocuments(trusted)] });
    const enveloped = yoga.getEnveloped({});
    const errors = enveloped.validate(enveloped.schema, parse('{ me }'));
    expect(errors.map((e: GraphQLError) => e.extensions.code)).toEqual(['PERSISTED_QUERY_ID_REQUIRED']);
    expect(enveloped.validate(enveloped.schema, parse('{ __typename }'))).toEqual([]);
  });

  it('reads a GET request’s documentId from the query string', async () => {
    const { trusted } = documents('require');
    const yoga = createYoga({ schema, plugins: [useTrustedDocuments(trusted)] });
    const response = await yoga.fetch(`http://localhost/graphql?documentId=sha256:${sha256(ME)}`);
    expect(await response.json()).toEqual({ data: { me: 'x' } });
  });
});

describe('configuration', () => {
  it('defaults to require in production and allow elsewhere', () => {
    const production = { NODE_ENV: 'production', JWT_SECRET: 'a-production-secret' };
    expect(loadConfig(production).trustedDocuments.mode).toBe('require');
    expect(loadConfig({ ...production, TRUSTED_DOCUMENTS: 'allow' }).trustedDocuments.mode).toBe('allow');
    expect(loadConfig({}).trustedDocuments).toEqual({
      mode: 'allow',
      directory: undefined,
      reloadIntervalMs: 10_000,
    });
    expect(() => loadConfig({ TRUSTED_DOCUMENTS: 'sometimes' })).toThrow(ConfigError);
  });
});
