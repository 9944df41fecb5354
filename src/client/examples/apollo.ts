import { ApolloClient, ApolloLink, HttpLink, InMemoryCache } from '@apollo/client';
import { SetContextLink } from '@apollo/client/link/context';
import { PersistedQueryLink } from '@apollo/client/link/persisted-queries';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import {
  generatePersistedQueryIdsFromManifest,
  type PersistedQueryManifestForGeneratingPersistedQueryIds,
} from '@apollo/persisted-query-lists';
import { createExpediterClient, type TokenProvider } from 'expediter/client';
import { OperationTypeNode } from 'graphql';

export interface ApolloSetup {
  httpUrl: string; // https://api.example.com/graphql
  wsUrl: string; // wss://api.example.com/graphql
  getToken: TokenProvider; // ({ refresh }) => your auth library's access token
  storeId?: string;
  webSocketImpl?: unknown; // `ws` on Node < 22; browsers have WebSocket
  // Your app's persisted query manifest (`npx generate-persisted-query-manifest`), also deployed to the
  // server's TRUSTED_DOCUMENTS_DIR: operations are then sent by id, which TRUSTED_DOCUMENTS=require needs.
  persistedQueries?: PersistedQueryManifestForGeneratingPersistedQueryIds;
}

/** Apollo Client 4: queries and mutations over HTTP, subscriptions over graphql-ws through the helper. */
export function createApolloClient(setup: ApolloSetup) {
  const { httpUrl, wsUrl, getToken, storeId, webSocketImpl, persistedQueries } = setup;
  const expediter = createExpediterClient({ url: wsUrl, getToken, storeId, webSocketImpl });
  const auth = new SetContextLink(async ({ headers }) => ({
    headers: {
      ...headers,
      authorization: `Bearer ${await getToken({ refresh: false })}`,
      ...(storeId && { 'x-store-id': storeId }),
    },
  }));
  const transports = ApolloLink.split(
    (operation) => operation.operationType === OperationTypeNode.SUBSCRIPTION,
    new GraphQLWsLink(expediter.graphqlWs), // resumes from the last cursor after a reconnect
    auth.concat(new HttpLink({ uri: httpUrl })),
  );
  const link = persistedQueries
    ? new PersistedQueryLink({
        ...generatePersistedQueryIdsFromManifest({ loadManifest: () => persistedQueries }),
        useGETForHashedQueries: true, // queries by id are GETs a CDN can cache
      }).concat(transports)
    : transports;
  return { apollo: new ApolloClient({ link, cache: new InMemoryCache() }), expediter };
}
