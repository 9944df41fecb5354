import { ApolloClient, ApolloLink, HttpLink, InMemoryCache } from '@apollo/client';
import { SetContextLink } from '@apollo/client/link/context';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { createExpediterClient, type TokenProvider } from 'expediter/client';
import { OperationTypeNode } from 'graphql';

export interface ApolloSetup {
  httpUrl: string; // https://api.example.com/graphql
  wsUrl: string; // wss://api.example.com/graphql
  token: TokenProvider; // ({ refresh }) => your auth library's access token
  storeId?: string;
  webSocketImpl?: unknown; // `ws` on Node < 22; browsers have WebSocket
}

/** Apollo Client 4: queries and mutations over HTTP, subscriptions over graphql-ws through the helper. */
export function createApolloClient({ httpUrl, wsUrl, token, storeId, webSocketImpl }: ApolloSetup) {
  const expediter = createExpediterClient({ url: wsUrl, token, storeId, webSocketImpl });
  const auth = new SetContextLink(async ({ headers }) => ({
    headers: {
      ...headers,
      authorization: `Bearer ${await token({ refresh: false })}`,
      ...(storeId && { 'x-store-id': storeId }),
    },
  }));
  const link = ApolloLink.split(
    (operation) => operation.operationType === OperationTypeNode.SUBSCRIPTION,
    new GraphQLWsLink(expediter.graphqlWs), // resumes from the last cursor after a reconnect
    auth.concat(new HttpLink({ uri: httpUrl })),
  );
  return { apollo: new ApolloClient({ link, cache: new InMemoryCache() }), expediter };
}
