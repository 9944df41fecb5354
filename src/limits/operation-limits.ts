import { EnvelopArmor } from '@escape.tech/graphql-armor';
import {
  type DocumentNode,
  GraphQLError,
  NoSchemaIntrospectionCustomRule,
  type ValidationContext,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { LimitsConfig } from './config';

export type OperationLimit = 'depth' | 'cost' | 'aliases' | 'directives' | 'tokens' | 'documentSize';

export interface OperationLimitOptions {
  limits: LimitsConfig['operation'];
  /** Mask "Did you mean …?" in validation errors (everywhere but development); see `withoutSuggestions`. */
  hideSuggestions: boolean;
  introspection: boolean;
}

/**
 * Limits every document before it executes, over HTTP and WebSocket alike: both transports parse and
 * validate through yoga's envelop, where these plugins sit. graphql-armor does the measuring; this
 * module only turns its refusals into errors with `extensions.code` and `extensions.limit`.
 */
export function operationLimitPlugins(options: OperationLimitOptions): Plugin<Record<string, unknown>>[] {
  const { limits } = options;
  const armor = new EnvelopArmor({
    // Its pattern misses enum values ('Did you mean the enum value "X"?'): hideSuggestionsPlugin below.
    blockFieldSuggestion: { enabled: false },
    maxTokens: { n: limits.maxTokens },
    maxDepth: { n: limits.maxDepth, ...reportAs('depth') },
    costLimit: { maxCost: limits.maxCost, ...reportAs('cost') },
    maxAliases: { n: limits.maxAliases, ...reportAs('aliases') },
    maxDirectives: { n: limits.maxDirectives, ...reportAs('directives') },
  });
  return [
    documentLimitPlugin(limits.maxDocumentBytes),
    ...(armor.protect().plugins as Plugin<Record<string, unknown>>[]),
    ...(options.hideSuggestions ? [hideSuggestionsPlugin()] : []),
    ...(options.introspection ? [] : [noIntrospectionPlugin()]),
  ];
}

export function operationLimitError(limit: OperationLimit, message: string): GraphQLError {
  return new GraphQLError(message.replace(/^Syntax Error: /, ''), {
    extensions: { code: 'GRAPHQL_VALIDATION_FAILED', limit },
  });
}

/** Report as a validation error (a 400 with the others) instead of throwing from the validator. */
function reportAs(limit: OperationLimit) {
  const onReject = (context: ValidationContext | null, error: GraphQLError) => {
    context?.reportError(operationLimitError(limit, error.message));
  };
  return { propagateOnRejection: false, onReject: [onReject] };
}

/** Refuses oversized documents before parsing them, and labels parse errors (the token limit armor enforces as such). */
function documentLimitPlugin(maxDocumentBytes: number): Plugin<Record<string, unknown>> {
  return {
    onParse({ params, setParsedDocument }) {
      const source = typeof params.source === 'string' ? params.source : params.source.body;
      const bytes = Buffer.byteLength(source, 'utf8');
      if (bytes > maxDocumentBytes) {
        const error = operationLimitError(
          'documentSize',
          `Document of ${bytes} bytes exceeds the limit of ${maxDocumentBytes} bytes.`,
        );
        setParsedDocument(error as unknown as DocumentNode);
        return;
      }
      return ({ result, replaceParseResult }) => {
        if (!(result instanceof GraphQLError)) return;
        if (/Token limit of \d+ exceeded/.test(result.message)) {
          replaceParseResult(operationLimitError('tokens', result.message));
          return;
        }
        // Yoga labels the parse errors of HTTP requests only; over graphql-ws, and when its parse cache throws
        // the same error again for an HTTP request, it would have no code. Labelled here, the cached error has it.
        (result.extensions as Record<string, unknown>).code ??= 'GRAPHQL_PARSE_FAILED';
      };
    },
  };
}

const SUGGESTION = /\s*Did you mean [^?]*\?/g;

/**
 * graphql-js's message without its "Did you mean …?" hints (fields, arguments, types, enum values, input
 * fields, inline fragments): they let anyone map a schema whose introspection is off.
 */
export function withoutSuggestions(message: string): string {
  return message.replace(SUGGESTION, ' [Suggestion hidden]').trim();
}

function hideSuggestionsPlugin(): Plugin<Record<string, unknown>> {
  return {
    onValidate() {
      return ({ valid, result }) => {
        if (valid) return;
        for (const error of result) error.message = withoutSuggestions(error.message);
      };
    },
  };
}

function noIntrospectionPlugin(): Plugin<Record<string, unknown>> {
  return {
    onValidate({ addValidationRule }) {
      addValidationRule(NoSchemaIntrospectionCustomRule);
    },
  };
}
