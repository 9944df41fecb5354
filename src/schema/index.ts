import type { GraphQLSchema } from 'graphql';
import { builder } from './builder';
import './enums';
import './stores';
import './menu';
import './tables';
import './orders';
import './kds';
import './inventory';
import './notifications';
import './dashboard';
import './sessions';
import './presence';
import './ops';

let schema: GraphQLSchema | undefined;

/** The executable schema; every domain module above registers its types on the shared builder. */
export function buildSchema(): GraphQLSchema {
  schema ??= builder.toSchema({ sortSchema: true });
  return schema;
}
