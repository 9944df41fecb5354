import { Client, cacheExchange, fetchExchange, subscriptionExchange } from '@urql/core';
import { persistedExchange } from '@urql/exchange-persisted';
import { createExpediterClient, type TokenProvider } from 'expediter/client';

export interface UrqlSetup {
  httpUrl: string; // https://api.example.com/graphql
  wsUrl: string; // wss://api.example.com/graphql
  getToken: TokenProvider; // ({ refresh }) => your auth library's access token
  storeId?: string;
  webSocketImpl?: unknown; // `ws` on Node < 22; browsers have WebSocket
}

/** urql: queries and mutations over HTTP, subscriptions over graphql-ws through the helper. */
export function createUrqlClient({ httpUrl, wsUrl, getToken, storeId, webSocketImpl }: UrqlSetup) {
  const expediter = createExpediterClient({ url: wsUrl, getToken, storeId, webSocketImpl });
  const urql = new Client({
    url: httpUrl,
    preferGetMethod: false,
    fetch: async (input, init) =>
      fetch(input, {
        ...init,
        headers: {
          ...(init?.headers as Record<string, string>),
          authorization: `Bearer ${await getToken({ refresh: false })}`,
          ...(storeId && { 'x-store-id': storeId }),
        },
      }),
    exchanges: [
      cacheExchange,
      // Generated documents go by the hash codegen gave them (registered on the server from the same manifest),
      // queries as GETs a CDN can cache; any other document goes as text.
      persistedExchange({
        enforcePersistedQueries: true,
        enableForMutation: true,
        enableForSubscriptions: true,
        generateHash: async (_text, document) =>
          (document as { __meta__?: { hash?: string } }).__meta__?.hash ?? '',
      }),
      fetchExchange,
      subscriptionExchange({ forwardSubscription: expediter.forwardSubscription }), // resumes after reconnects
    ],
  });
  return { urql, expediter };
}
