import type { ASTVisitor, GraphQLError, ValidationContext } from 'graphql';
import { createGraphQLError, type Plugin } from 'graphql-yoga';
import { rootFieldCalls } from '../limits/rate-limit-plugin';
import {
  type Resolution,
  refusal,
  TrustedDocumentCode,
  type TrustedDocuments,
  type TrustedOperation,
} from './trusted-documents';

/** What the rule decided for one operation, on its context: logs and metrics read `operation`. */
export interface TrustedDocumentDecision {
  /** The registered document the request named (undefined: it came as text). */
  operation?: TrustedOperation;
  /** Text that passes only if it is introspection (require, with INTROSPECTION on). */
  introspectionOnly?: boolean;
}

/** The context fields that carry a decision into yoga's envelop (parse, validate, execute, logs). */
export function decisionContext(resolution: Resolution & { error?: undefined }): {
  trustedDocument: TrustedDocumentDecision;
} {
  return {
    trustedDocument: { operation: resolution.trusted, introspectionOnly: resolution.introspectionOnly },
  };
}

export function trustedOperationOf(context: unknown): TrustedOperation | undefined {
  return (context as { trustedDocument?: TrustedDocumentDecision } | undefined)?.trustedDocument?.operation;
}

/**
 * Trusted documents for yoga: HTTP and SSE requests are resolved while yoga reads their parameters (GET's
 * `documentId` from the query string too); graphql-ws resolves in its onSubscribe (src/server/graphql-ws.ts),
 * where yoga's onParams does not run. Both go through validation here, which holds the rest of the rule for
 * every transport: text that had to be introspection, and, in `require`, any operation that no transport
 * resolved (fails closed).
 */
export function useTrustedDocuments(trusted: Pick<TrustedDocuments, 'mode' | 'resolve'>): Plugin {
  return {
    onParams({ params, request, setParams, context }) {
      const documentId =
        (params as { documentId?: unknown }).documentId ??
        (request.method === 'GET'
          ? (new URL(request.url).searchParams.get('documentId') ?? undefined)
          : undefined);
      const resolution = trusted.resolve({ ...params, documentId });
      if (resolution.error) throw forHttp(resolution.error);
      setParams(resolution.params);
      Object.assign(context, decisionContext(resolution));
    },
    onValidate({ context, addValidationRule }) {
      const decision = (context as { trustedDocument?: TrustedDocumentDecision }).trustedDocument;
      if (decision?.introspectionOnly || (!decision && trusted.mode === 'require'))
        addValidationRule(TrustedIntrospectionOnly);
    },
  };
}

/** Refuses every operation that selects more than introspection fields (`__schema`, `__type`, `__typename`). */
function TrustedIntrospectionOnly(context: ValidationContext): ASTVisitor {
  return {
    OperationDefinition(operation) {
      if (rootFieldCalls(context.getDocument(), operation.selectionSet).length > 0)
        context.reportError(refusal('IdRequired'));
    },
  };
}

/**
 * Over HTTP, like yoga's own request errors: 400 where the client accepts application/graphql-response+json, 200
 * with the errors for plain application/json (GraphQL over HTTP); the links' retry signals always answer 200, as
 * APQ servers do. No cache keeps an answer: a hash refused now may be registered by the next manifest.
 */
function forHttp(error: GraphQLError): GraphQLError {
  const code = error.extensions.code;
  const retry = code === TrustedDocumentCode.NotFound || code === TrustedDocumentCode.NotSupported;
  return createGraphQLError(error.message, {
    extensions: {
      ...error.extensions,
      http: { spec: true, status: retry ? 200 : 400, headers: { 'cache-control': 'no-store' } },
    },
  });
}
