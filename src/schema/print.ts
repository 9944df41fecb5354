import { lexicographicSortSchema, printSchema } from 'graphql';
import { buildSchema } from './index';

/** The SDL committed as schema.graphql. */
export function printedSchema(): string {
  return `${printSchema(lexicographicSortSchema(buildSchema()))}\n`;
}
