import { fileURLToPath } from 'node:url';

/** The pages' browser scripts, each bundled from its entry module. */
export const BROWSER_ENTRIES = {
  demo: './app.ts',
  graphiql: './graphiql/app.ts',
} as const;

/**
 * Bundles one page's script (with urql, graphql-ws, the client helper, the generated documents, ...)
 * for the browser, in memory. esbuild is loaded only when a page is first requested.
 */
export async function buildBundle(entry: keyof typeof BROWSER_ENTRIES): Promise<string> {
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: [fileURLToPath(new URL(BROWSER_ENTRIES[entry], import.meta.url))],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    define: { 'process.env.NODE_ENV': '"production"' },
    legalComments: 'none',
    logLevel: 'silent',
  });
  return result.outputFiles[0]!.text;
}
