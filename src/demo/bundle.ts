import { fileURLToPath } from 'node:url';

/**
 * Bundles the demo page (demo/app.ts with urql, the client helper and the generated documents) for the
 * browser, in memory. esbuild is loaded only when the page is first requested.
 */
export async function buildDemoBundle(): Promise<string> {
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: [fileURLToPath(new URL('./app.ts', import.meta.url))],
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
