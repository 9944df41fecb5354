import type { TokenProvider } from 'expediter/client';
import { createClient } from 'graphql-sse';

/**
 * Where WebSockets are blocked: subscriptions over Server-Sent Events on the same /graphql endpoint
 * (graphql-sse's "distinct connections" mode, one HTTP request per subscription), authenticated with
 * the Authorization header. There is no helper here: to resume, subscribe again with `after`.
 */
export function createSseClient(options: { httpUrl: string; getToken: TokenProvider; storeId?: string }) {
  return createClient({
    url: options.httpUrl,
    singleConnection: false,
    headers: async () => ({
      authorization: `Bearer ${await options.getToken({ refresh: false })}`,
      ...(options.storeId && { 'x-store-id': options.storeId }),
    }),
  });
}
