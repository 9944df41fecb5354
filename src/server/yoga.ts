import { createYoga, type GraphiQLOptions, type YogaServerOptions } from 'graphql-yoga';
import type { Authenticator } from '../auth/authenticate';
import { canWatchStation } from '../auth/policy';
import type { Principal } from '../auth/principal';
import type { Session, Sessions } from '../auth/session';
import type { Config } from '../config';
import type { Services } from '../domain/index';
import type { SubscriptionRunner } from '../domain/subscription-plans';
import { newId } from '../observability/ids';
import type { Logger } from '../observability/logger';
import type { GraphQLContext, LiveConnection } from '../schema/context';
import { buildSchema } from '../schema/index';
import { createErrorMasker } from './errors';
import { useSessionEnd } from './session-end';

export const GRAPHQL_PATH = '/graphql';

export interface GraphqlAppOptions {
  config: Config;
  logger: Logger;
  services: Services;
  authenticator: Authenticator;
  /** Where an HTTP request's session comes from (an SSE subscription ends with it). */
  sessions: Sessions;
  /** Envelop plugins (instrumentation, limits): they apply to HTTP, SSE and WebSocket operations alike. */
  plugins: NonNullable<YogaServerOptions<Record<string, unknown>, GraphQLContext>['plugins']>;
  /** GraphiQL's page (src/demo/web-pages.ts), served at GRAPHQL_PATH to browsers when config.graphiql is on. */
  renderGraphiQL(options: GraphiQLOptions): Promise<string>;
}

/**
 * The GraphQL endpoint: schema, GraphiQL, error masking and the per-operation context. WebSocket
 * operations reach the same instance through `getEnveloped` with the session of their connection;
 * HTTP and SSE operations authenticate from their headers here, a session per request.
 */
export function createGraphqlApp(options: GraphqlAppOptions) {
  const { config, logger, services, authenticator, sessions } = options;

  async function httpSession(request: Request | undefined): Promise<Session | null> {
    const authorization = request?.headers.get('authorization');
    if (!authorization) return null;
    const principal = await authenticator.authenticate({
      authorization,
      storeId: request?.headers.get('x-store-id') ?? undefined,
    });
    return sessions.open(principal);
  }

  return createYoga<Record<string, unknown>, GraphQLContext>({
    schema: buildSchema(),
    plugins: [useSessionEnd(), ...options.plugins],
    graphqlEndpoint: GRAPHQL_PATH,
    landingPage: false,
    graphiql: config.graphiql ? { title: 'Expediter GraphiQL' } : false,
    renderGraphiQL: options.renderGraphiQL,
    logging: {
      debug: (...args) => logger.debug(args),
      info: (...args) => logger.info(args),
      warn: (...args) => logger.warn(args),
      // Yoga logs every error its masker replaced, expected ones included; the masker logs the unexpected.
      error: (...args) => logger.debug(args),
    },
    maskedErrors: { maskError: createErrorMasker(logger) },
    context: async (initial): Promise<GraphQLContext> => {
      const session =
        'session' in initial
          ? (initial.session as Session | null)
          : await httpSession(initial.request as Request | undefined);
      return {
        principal: session?.principal ?? null,
        session,
        connection: (initial.connection as LiveConnection | undefined) ?? null,
        services,
        // graphql-ws with the fan-out engine passes its subscriber; everything else runs plans privately.
        subscriptions: isSubscriptionRunner(initial.subscriptions)
          ? initial.subscriptions
          : services.subscriptions,
        requestId: newId(),
        access: {
          platformTenants: config.platformTenants,
          canWatchStation: stationAccessCache(services),
        },
      };
    },
  });
}

/** The `station` auth scope's decision, looked up once per station per operation. */
function stationAccessCache(services: Services) {
  const decisions = new Map<string, Promise<boolean>>();
  return (caller: Principal, stationId: string): Promise<boolean> => {
    let decision = decisions.get(stationId);
    if (!decision) {
      decision = services.stores
        .findStation(caller, stationId)
        .then((station) => station !== null && canWatchStation(caller, station));
      decisions.set(stationId, decision);
    }
    return decision;
  };
}

/** What graphql-ws puts on an operation's initial context for the fan-out engine (src/server/graphql-ws.ts). */
function isSubscriptionRunner(value: unknown): value is SubscriptionRunner {
  return typeof value === 'object' && value !== null && 'open' in value && typeof value.open === 'function';
}
