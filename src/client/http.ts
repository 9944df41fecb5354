import { type DocumentNode, type FormattedExecutionResult, print } from 'graphql';
import { ExpediterError, fromGraphQLErrors, toExpediterError } from './errors';
import { operationInfo } from './operation';
import { asksForText, documentHash } from './persisted';
import type { TypedDocument } from './typed';

export interface HttpRequestOptions {
  token?: string;
  /** The current store (`x-store-id`), one the token allows. */
  storeId?: string;
  fetch?: typeof fetch;
  signal?: AbortSignal;
  /**
   * Send a generated document (codegen's `persistedDocuments`) by its hash (default true): a query as
   * `GET ?documentId=…` (cacheable by a CDN), a mutation as `POST { documentId }`. A server that does not know
   * the hash gets the text instead.
   */
  persistedDocuments?: boolean;
}

/** A typed query or mutation over HTTP; rejects with an ExpediterError. */
export async function httpRequest<TResult, TVariables>(
  url: string,
  document: TypedDocument<TResult, TVariables>,
  variables: TVariables,
  options: HttpRequestOptions = {},
): Promise<TResult> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.storeId) headers['x-store-id'] = options.storeId;
  const send = async (init: RequestInit, target = url): Promise<FormattedExecutionResult> => {
    try {
      const response = await (options.fetch ?? fetch)(target, { ...init, signal: options.signal });
      return (await response.json()) as FormattedExecutionResult;
    } catch (error) {
      throw toExpediterError(error);
    }
  };
  const post = (body: Record<string, unknown>) =>
    send({
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  const hash = options.persistedDocuments === false ? undefined : documentHash(document);
  let body: FormattedExecutionResult | undefined;
  if (hash) {
    const documentId = `sha256:${hash}`;
    if (operationInfo(document).type === 'query') {
      const target = new URL(url);
      target.searchParams.set('documentId', documentId);
      if (variables && Object.keys(variables).length > 0)
        target.searchParams.set('variables', JSON.stringify(variables));
      body = await send({ method: 'GET', headers }, target.href);
    } else {
      body = await post({ documentId, variables });
    }
    if (asksForText(body.errors)) body = undefined;
  }
  body ??= await post({ query: print(document as DocumentNode), variables });
  if (body.errors?.length) throw fromGraphQLErrors(body.errors);
  if (!body.data) throw new ExpediterError('The server sent no data', { code: 'BAD_RESPONSE' });
  return body.data as TResult;
}
