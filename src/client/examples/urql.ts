import { Client, cacheExchange, fetchExchange, subscriptionExchange } from '@urql/core';
import { createExpediterClient, type TokenProvider } from 'expediter/client';

export interface UrqlSetup {
  httpUrl: string; // https://api.example.com/graphql
  wsUrl: string; // wss://api.example.com/graphql
  token: TokenProvider; // ({ refresh }) => your auth library's access token
  storeId?: string;
  webSocketImpl?: unknown; // `ws` on Node < 22; browsers have WebSocket
}

/** urql: queries and mutations over HTTP, subscriptions over graphql-ws through the helper. */
export function createUrqlClient({ httpUrl, wsUrl, token, storeId, webSocketImpl }: UrqlSetup) {
  const expediter = createExpediterClient({ url: wsUrl, token, storeId, webSocketImpl });
  const urql = new Client({
    url: httpUrl,
    preferGetMethod: false,
    fetch: async (input, init) =>
      fetch(input, {
        ...init,
        headers: {
          ...(init?.headers as Record<string, string>),
          authorization: `Bearer ${await token({ refresh: false })}`,
          ...(storeId && { 'x-store-id': storeId }),
        },
      }),
    exchanges: [
      cacheExchange,
      fetchExchange,
      subscriptionExchange({ forwardSubscription: expediter.forwardSubscription }), // resumes after reconnects
    ],
  });
  return { urql, expediter };
}
