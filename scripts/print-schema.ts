import { readFileSync, writeFileSync } from 'node:fs';
import { printedSchema } from '../src/schema/print';

// `npm run schema` writes schema.graphql; `npm run schema -- --check` fails when the committed file is stale.
const path = new URL('../schema.graphql', import.meta.url);
const current = printedSchema();
if (process.argv.includes('--check')) {
  if (readFileSync(path, 'utf8') !== current) {
    console.error('schema.graphql is stale: run `npm run schema` and commit it');
    process.exit(1);
  }
  console.log('schema.graphql is up to date');
} else {
  writeFileSync(path, current);
  console.log('wrote schema.graphql');
}
