import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DOC_PATH, renderPermissionsTable, withTable } from '../../scripts/permissions-doc';

describe('docs/api.md, Who may do what', () => {
  it('is the table generated from src/auth/permissions.ts (run `npm run docs:permissions` after changing it)', () => {
    const committed = readFileSync(DOC_PATH, 'utf8');
    expect(committed).toBe(withTable(committed, renderPermissionsTable()));
  });
});
