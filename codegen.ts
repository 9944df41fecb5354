import type { CodegenConfig } from '@graphql-codegen/cli';

/**
 * Typed documents for TypeScript clients (`npm run codegen`): src/client/operations/*.graphql against
 * the committed schema.graphql, into src/client/gql/ (generated, not committed). Mobile teams point
 * their own generator (Apollo Kotlin, Apollo iOS, graphql_codegen) at the same two inputs.
 * `persistedDocuments` puts each document's sha256 on it and writes the manifest
 * src/client/gql/persisted-documents.json, which the server registers at start (docs/clients.md
 * "Trusted documents").
 */
const config: CodegenConfig = {
  schema: 'schema.graphql',
  documents: ['src/client/operations/**/*.graphql'],
  ignoreNoDocuments: false,
  generates: {
    'src/client/gql/': {
      preset: 'client',
      presetConfig: { fragmentMasking: false, persistedDocuments: true },
      config: {
        scalars: { DateTime: 'string', JSON: 'unknown', SafeInt: 'number' },
        enumsAsTypes: true,
        useTypeImports: true,
        skipTypename: true,
        strictScalars: true,
      },
    },
  },
};

export default config;
