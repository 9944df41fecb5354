import { type DocumentNode, type FormattedExecutionResult, print } from 'graphql';
import { ExpediterError, fromGraphQLErrors, toExpediterError } from './errors';
import type { TypedDocument } from './typed';

export interface HttpRequestOptions {
  token?: string;
  /** The current store (`x-store-id`), one the token allows. */
  storeId?: string;
  fetch?: typeof fetch;
  signal?: AbortSignal;
}

/** A typed query or mutation over HTTP (POST /graphql); rejects with an ExpediterError. */
export async function httpRequest<TResult, TVariables>(
  url: string,
  document: TypedDocument<TResult, TVariables>,
  variables: TVariables,
  options: HttpRequestOptions = {},
): Promise<TResult> {
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.storeId) headers['x-store-id'] = options.storeId;
  let body: FormattedExecutionResult;
  try {
    const response = await (options.fetch ?? fetch)(url, {
      method: 'POST',
      headers,
      body: JSON.stringify({ query: print(document as DocumentNode), variables }),
      signal: options.signal,
    });
    body = (await response.json()) as FormattedExecutionResult;
  } catch (error) {
    throw toExpediterError(error);
  }
  if (body.errors?.length) throw fromGraphQLErrors(body.errors);
  if (!body.data) throw new ExpediterError('The server sent no data', { code: 'BAD_RESPONSE' });
  return body.data as TResult;
}
