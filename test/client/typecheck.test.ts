import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

describe('the generated client types', () => {
  it('exist (npm test runs codegen first) and type-check with everything that uses them', async () => {
    expect(existsSync('src/client/gql/graphql.ts')).toBe(true);
    const result = await run(process.execPath, [
      'node_modules/typescript/bin/tsc',
      '--noEmit',
      '-p',
      'test/client/tsconfig.json',
    ])
      .then(() => ({ code: 0, stdout: '' }))
      .catch((error: { code: number; stdout: string }) => ({ code: error.code, stdout: error.stdout }));
    expect(result).toEqual({ code: 0, stdout: '' });
  }, 120_000);
});
