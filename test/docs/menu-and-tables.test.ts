import { readFileSync } from 'node:fs';
import { buildSchema, parse, validate } from 'graphql';
import { describe, expect, it } from 'vitest';

/** docs/menu-and-tables.md's GraphiQL examples are valid operations of the committed schema. */
const page = readFileSync('docs/menu-and-tables.md', 'utf8');
const schema = buildSchema(readFileSync('schema.graphql', 'utf8'));
const examples = [...page.matchAll(/```graphql\n([\s\S]*?)\n```/g)].map(([, body]) => body!);

describe('docs/menu-and-tables.md', () => {
  it('has an example for the menu, the tables and a guest', () => {
    const text = examples.join('\n');
    for (const field of [
      'menuUpdated',
      'setProductAvailability',
      'tableUpdated',
      'seatTable',
      'issueTableToken',
    ]) {
      expect(text, field).toContain(`${field}(`);
    }
  });

  it.each(examples.map((body) => [body.split('\n')[0]!, body]))(
    '%s … is valid against the schema',
    (_first, body) => {
      expect(validate(schema, parse(body)).map((error) => error.message)).toEqual([]);
    },
  );
});
