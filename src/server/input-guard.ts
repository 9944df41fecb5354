import {
  type ASTNode,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type FieldNode,
  type GraphQLArgument,
  GraphQLError,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLSchema,
  getArgumentValues,
  getNamedType,
  getNullableType,
  getOperationAST,
  getVariableValues,
  isInputObjectType,
  isListType,
  isScalarType,
  type OperationDefinitionNode,
  TypeInfo,
  visit,
  visitWithTypeInfo,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { withoutSuggestions } from '../limits/operation-limits';

/** Bounds of a JSON argument (notification `data`); docs/api.md "Errors" documents them. */
export const JSON_ARGUMENT_LIMITS = { maxDepth: 10, maxBytes: 16 * 1024 } as const;

export interface InputGuardOptions {
  /** Strip graphql-js's "Did you mean …?" from coercion messages (everywhere but development). */
  hideSuggestions: boolean;
}

/**
 * The caller's input, checked once for every operation on every transport (HTTP, SSE, graphql-ws all
 * execute through yoga's envelop) before anything runs, and before any budget is taken (this plugin sits
 * in front of the rate limits):
 * - the operation to run exists, and the variables coerce to their declared types (graphql-js's message);
 * - every String and ID argument, at any depth of input objects and lists, and every string inside a JSON
 *   argument is text PostgreSQL can store: no NUL, no unpaired surrogate;
 * - JSON arguments are bounded in depth and size.
 * Refusals are BAD_USER_INPUT errors naming the argument; the operation does not execute.
 */
export function inputGuardPlugin(options: InputGuardOptions): Plugin<Record<string, unknown>> {
  const guard = ({ args, setResultAndStopExecution }: GuardHookArgs) => {
    const refused = refusals(args, options);
    if (!refused) return;
    // Over HTTP a refusal is a request error (400 with application/graphql-response+json, as yoga answers
    // validation errors); a WebSocket client gets the errors alone.
    const overHttp = !(args.contextValue as { socket?: unknown } | undefined)?.socket;
    const http = overHttp ? { http: { status: 400, spec: true } } : {};
    setResultAndStopExecution({
      errors: refused.map(
        (r) =>
          new GraphQLError(r.message, {
            nodes: r.nodes,
            extensions: { code: 'BAD_USER_INPUT', ...r.extensions, ...http },
          }),
      ),
    });
  };
  return { onExecute: guard, onSubscribe: guard };
}

interface GuardHookArgs {
  args: ExecutionArgs;
  setResultAndStopExecution(result: ExecutionResult): void;
}

interface Refusal {
  message: string;
  nodes?: ASTNode | readonly ASTNode[];
  extensions?: Record<string, unknown>;
}

function refusals(args: ExecutionArgs, options: InputGuardOptions): Refusal[] | undefined {
  const operation = getOperationAST(args.document, args.operationName);
  if (!operation) {
    // As yoga answers it over HTTP, where it resolves the operation before executing.
    const message = 'Could not determine what operation to execute.';
    return [{ message, extensions: { code: 'OPERATION_RESOLUTION_FAILURE' } }];
  }

  const raw = args.variableValues ?? {};
  const coerced = getVariableValues(args.schema, operation.variableDefinitions ?? [], raw, { maxErrors: 20 });
  if (coerced.errors) {
    return coerced.errors.map((error) => ({
      message: options.hideSuggestions ? withoutSuggestions(error.message) : error.message,
      nodes: error.nodes,
    }));
  }
  // Variables the operation does not declare are never read by graphql-js; drop them so nothing else
  // (logs, the fan-out engine's group keys) serialises what a caller may have made arbitrarily large.
  const declared = new Set(
    operation.variableDefinitions?.map((definition) => definition.variable.name.value),
  );
  if (Object.keys(raw).some((name) => !declared.has(name))) {
    args.variableValues = Object.fromEntries(Object.entries(raw).filter(([name]) => declared.has(name)));
  }

  const problem = firstArgumentProblem(args, operation, coerced.coerced);
  return problem ? [problem] : undefined;
}

/** Checks each field's coerced arguments, at any depth of the operation and its fragments. */
function firstArgumentProblem(
  args: ExecutionArgs,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown>,
): Refusal | undefined {
  for (const { field, node } of fieldsWithArguments(args.schema, args.document, operation)) {
    let values: Record<string, unknown>;
    try {
      values = getArgumentValues(field, node, variables);
    } catch (error) {
      // Validated documents with coerced variables do not get here; a literal graphql-js still refuses does.
      return { message: error instanceof Error ? error.message : String(error), nodes: node };
    }
    for (const argument of field.args) {
      const found = checkValue(values[argument.name], argument.type, argument.name);
      if (found) {
        return {
          message: `Argument "${found.path}" of "${field.name}" ${found.message}.`,
          nodes: node,
          extensions: { field: found.path, reason: found.reason },
        };
      }
    }
  }
  return undefined;
}

interface FieldWithArguments {
  field: GraphQLField<unknown, unknown>;
  node: FieldNode;
}

/**
 * The fields with arguments of an operation and of the document's fragments, in document order, found by one
 * walk with the schema's types per document and operation: documents come from yoga's parser cache (one object
 * per query text), so a client's repeated operation is walked once, not on every request.
 */
const walked = new WeakMap<
  DocumentNode,
  { schema: GraphQLSchema; byOperation: Map<OperationDefinitionNode, FieldWithArguments[]> }
>();

function fieldsWithArguments(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
): FieldWithArguments[] {
  let known = walked.get(document);
  if (known?.schema !== schema) {
    known = { schema, byOperation: new Map() };
    walked.set(document, known);
  }
  const cached = known.byOperation.get(operation);
  if (cached) return cached;
  const typeInfo = new TypeInfo(schema);
  const fields: FieldWithArguments[] = [];
  visit(
    document,
    visitWithTypeInfo(typeInfo, {
      OperationDefinition: (node) => (node === operation ? undefined : false),
      Field(node) {
        const field = typeInfo.getFieldDef();
        if (field && node.arguments?.length) fields.push({ field, node });
      },
    }),
  );
  known.byOperation.set(operation, fields);
  return fields;
}

interface ValueProblem {
  /** The argument, dotted into input objects and lists: `input.items.0.notes`. */
  path: string;
  reason: 'NUL_CHARACTER' | 'UNPAIRED_SURROGATE' | 'JSON_TOO_DEEP' | 'JSON_TOO_LARGE' | 'NOT_A_FINITE_NUMBER';
  message: string;
}

function checkValue(value: unknown, type: GraphQLArgument['type'], path: string): ValueProblem | undefined {
  if (value == null) return undefined;
  const nullable = getNullableType(type) as GraphQLInputType;
  if (isListType(nullable)) {
    const items = value as unknown[];
    for (let i = 0; i < items.length; i++) {
      const found = checkValue(items[i], nullable.ofType, `${path}.${i}`);
      if (found) return found;
    }
    return undefined;
  }
  if (isInputObjectType(nullable)) {
    const fields = nullable.getFields();
    for (const [name, fieldValue] of Object.entries(value as Record<string, unknown>)) {
      const field = fields[name];
      const found = field && checkValue(fieldValue, field.type, `${path}.${name}`);
      if (found) return found;
    }
    return undefined;
  }
  const named = getNamedType(nullable);
  if (isScalarType(named) && named.name === 'JSON') return checkJson(value, path);
  if (typeof value === 'string') return checkText(value, path);
  return undefined;
}

const UNPAIRED_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Text PostgreSQL can store: no NUL (it ends C strings) and no unpaired surrogate (not valid UTF-8). */
function checkText(text: string, path: string): ValueProblem | undefined {
  if (text.includes('\u0000')) {
    return {
      path,
      reason: 'NUL_CHARACTER',
      message: 'contains the NUL character (U+0000), which cannot be stored',
    };
  }
  const surrogate = UNPAIRED_SURROGATE.exec(text);
  if (surrogate) {
    const code = surrogate[0].charCodeAt(0).toString(16).toUpperCase();
    return {
      path,
      reason: 'UNPAIRED_SURROGATE',
      message: `contains an unpaired surrogate (U+${code}), which is not valid Unicode`,
    };
  }
  return undefined;
}

/**
 * A JSON value within JSON_ARGUMENT_LIMITS, with storable text in its keys and strings. Iterative and
 * stopping at the first problem, so a value nested thousands of levels deep costs nothing to refuse.
 * Size is the length of its JSON text in UTF-8 bytes (escapes aside), counted as the walk goes.
 */
function checkJson(root: unknown, path: string): ValueProblem | undefined {
  const { maxDepth, maxBytes } = JSON_ARGUMENT_LIMITS;
  const stack: Array<{ value: unknown; depth: number }> = [{ value: root, depth: 0 }];
  let bytes = 0;
  while (stack.length > 0) {
    const { value, depth } = stack.pop()!;
    if (value !== null && typeof value === 'object') {
      if (depth >= maxDepth) {
        return { path, reason: 'JSON_TOO_DEEP', message: `is JSON nested deeper than ${maxDepth} levels` };
      }
      const entries = Array.isArray(value)
        ? value.map((item) => [undefined, item] as const)
        : Object.entries(value);
      bytes += 2 + Math.max(entries.length - 1, 0);
      for (const [key, item] of entries) {
        if (key !== undefined) {
          const found = checkText(key, path);
          if (found) return found;
          bytes += Buffer.byteLength(key) + 3;
        }
        stack.push({ value: item, depth: depth + 1 });
      }
    } else if (typeof value === 'string') {
      const found = checkText(value, path);
      if (found) return found;
      bytes += Buffer.byteLength(value) + 2;
    } else if (typeof value === 'number') {
      if (!Number.isFinite(value)) {
        return { path, reason: 'NOT_A_FINITE_NUMBER', message: 'is JSON with a number that is not finite' };
      }
      bytes += String(value).length;
    } else {
      bytes += String(value).length;
    }
    if (bytes > maxBytes) {
      return { path, reason: 'JSON_TOO_LARGE', message: `is JSON larger than ${maxBytes} bytes` };
    }
  }
  return undefined;
}
