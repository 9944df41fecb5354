import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

/**
 * docs/clients.md shows files the tests run: a code block whose first line is
 * `// <path>` (or `// <path>#<region>`, for the lines between `// #region <name>` and `// #endregion <name>`)
 * must equal that file or region, so the snippets can never drift from tested code.
 */
const page = readFileSync('docs/clients.md', 'utf8');
const snippets = [...page.matchAll(/```ts\n\/\/ (\S+)\n([\s\S]*?)\n```/g)].map(([, ref, body]) => ({
  ref: ref!,
  body: body!,
}));

function source(ref: string): string {
  const [path, region] = ref.split('#') as [string, string | undefined];
  const text = readFileSync(path, 'utf8');
  if (!region) return text.trimEnd();
  const lines = text.split('\n');
  const start = lines.findIndex((line) => line.trim() === `// #region ${region}`);
  const end = lines.findIndex((line) => line.trim() === `// #endregion ${region}`);
  const body = lines.slice(start + 1, end);
  const indent = Math.min(...body.filter((l) => l.trim()).map((l) => l.length - l.trimStart().length));
  return body
    .map((line) => line.slice(indent))
    .join('\n')
    .trimEnd();
}

describe('docs/clients.md', () => {
  it('shows snippets taken from files', () => {
    expect(snippets.map((s) => s.ref)).toEqual([
      'codegen.ts',
      'src/client/examples/kitchen-display.ts',
      'src/client/examples/apollo.ts',
      'src/client/examples/urql.ts',
      'src/client/examples/sse.ts',
      'test/integration/clients.test.ts#testing-utility',
    ]);
  });

  it.each(snippets.map((s) => [s.ref, s.body]))('shows %s as it is', (ref, body) => {
    expect(body).toBe(source(ref));
  });
});
