import { type DocumentNode, Kind, type OperationDefinitionNode, parse } from 'graphql';

export interface OperationInfo {
  type: 'query' | 'mutation' | 'subscription';
  /** The operation declares `$after`, so the client can resume it from its last cursor. */
  resumable: boolean;
}

const cache = new Map<string, OperationInfo>();

/** What the client needs to know about an operation, parsed once per query text. */
export function operationInfo(query: string | DocumentNode, operationName?: string | null): OperationInfo {
  const key = typeof query === 'string' ? `${operationName ?? ''}\u0000${query}` : undefined;
  const cached = key ? cache.get(key) : undefined;
  if (cached) return cached;
  const document = typeof query === 'string' ? parse(query) : query;
  const operation = selectOperation(document, operationName);
  const info: OperationInfo = {
    type: operation?.operation ?? 'query',
    resumable: operation?.variableDefinitions?.some((v) => v.variable.name.value === 'after') ?? false,
  };
  if (key) {
    if (cache.size > 500) cache.clear();
    cache.set(key, info);
  }
  return info;
}

function selectOperation(document: DocumentNode, name?: string | null): OperationDefinitionNode | undefined {
  const operations = document.definitions.filter(
    (d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION,
  );
  return name ? operations.find((o) => o.name?.value === name) : operations[0];
}
