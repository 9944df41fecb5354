import { GraphQLError } from 'graphql';
import { AuthError } from '../auth/errors';
import { DomainError } from '../errors';
import type { Logger } from '../observability/logger';

/**
 * Yoga's maskError: intentional errors keep their message and get `extensions.code`; anything else is
 * logged for operators and replaced by a generic message for clients.
 */
export function createErrorMasker(logger: Logger) {
  return (error: unknown, message: string): Error => {
    const original = error instanceof GraphQLError ? (error.originalError ?? error) : error;
    const graphqlError = error instanceof GraphQLError ? error : undefined;

    if (original instanceof DomainError) {
      return new GraphQLError(original.message, {
        nodes: graphqlError?.nodes,
        path: graphqlError?.path,
        extensions: { code: original.code, ...original.details },
      });
    }
    if (original instanceof AuthError) {
      return new GraphQLError(original.message, {
        nodes: graphqlError?.nodes,
        path: graphqlError?.path,
        extensions: {
          code: original.closeCode === 4403 ? 'FORBIDDEN' : 'UNAUTHENTICATED',
          reason: original.reason,
        },
      });
    }
    if (graphqlError && !graphqlError.originalError && graphqlError.extensions?.code) return graphqlError;
    if (graphqlError && original === graphqlError) return graphqlError;
    if (original instanceof GraphQLError && original.extensions?.code) return original;

    logger.error({ err: original, path: graphqlError?.path }, 'unexpected error');
    return new GraphQLError(message, {
      nodes: graphqlError?.nodes,
      path: graphqlError?.path,
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    });
  };
}
