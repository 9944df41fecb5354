/**
 * Import rules of src/ (`npm run lint` runs them; docs/architecture.md "Layers" explains them).
 * Layers, lowest first: a module may import its own layer and the ones below it, never one above.
 */
const layers = [
  { name: 'base', path: '^src/(config|errors)\\.ts$|^src/limits/config\\.ts$|^src/generated/' },
  { name: 'observability', path: '^src/observability/' },
  { name: 'db', path: '^src/db/' },
  { name: 'events', path: '^src/events/' },
  { name: 'auth', path: '^src/auth/' },
  { name: 'presence', path: '^src/presence/' },
  { name: 'domain', path: '^src/domain/' },
  { name: 'fanout', path: '^src/fanout/' },
  { name: 'limits', path: '^src/limits/(?!config\\.ts$)' },
  { name: 'trusted', path: '^src/trusted/' },
  { name: 'schema', path: '^src/schema/' },
  { name: 'server', path: '^src/server/|^src/main\\.ts$' },
];

const layerRules = layers.slice(0, -1).map((layer, index) => ({
  name: `${layer.name}-imports-no-layer-above`,
  comment: `${layer.name} may import only ${layers
    .slice(0, index + 1)
    .map((l) => l.name)
    .join(', ')}`,
  severity: 'error',
  from: { path: layer.path },
  to: { path: layers.slice(index + 1).map((l) => `(${l.path})`) },
}));

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'A module must not import itself through others.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    ...layerRules,
    {
      name: 'domain-knows-no-graphql',
      comment: 'Domain rules are plain TypeScript: GraphQL lives in src/schema and src/server.',
      severity: 'error',
      from: { path: '^src/domain/' },
      to: { path: 'node_modules/(graphql|graphql-yoga|graphql-ws|@pothos|@graphql-yoga|@envelop)/' },
    },
    {
      name: 'client-is-a-package-of-its-own',
      comment:
        'expediter/client runs in browsers and apps: it imports nothing server-side (testing.ts starts a server).',
      severity: 'error',
      from: { path: '^src/client/', pathNot: '^src/client/testing\\.ts$' },
      to: { path: '^src/', pathNot: '^src/client/' },
    },
    {
      name: 'demo-builds-on-the-client',
      comment: 'The live demo is an app of the client helper.',
      severity: 'error',
      from: { path: '^src/demo/' },
      to: { path: '^src/', pathNot: '^src/(demo|client)/' },
    },
    {
      name: 'only-the-server-serves-the-demo',
      comment: 'Below the composition root nothing knows the client package or the demo.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(server|client|demo)/|^src/main\\.ts$' },
      to: { path: '^src/(client|demo)/' },
    },
    {
      name: 'product-code-imports-no-tests',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(test|bench|scripts)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^src/(generated|client/gql)/' },
    // Type-only imports count: a cycle of types is a cycle of design.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.json'],
    },
  },
};
