import type { Principal } from '../auth/principal';
import type { Session } from '../auth/session';
import type { Services } from '../domain/index';
import type { SubscriptionRunner } from '../domain/subscription-plans';

/**
 * Per-operation context, the same for HTTP and WebSocket operations. Holds no database client:
 * resolvers talk to domain services only.
 */
export interface GraphQLContext {
  /** The caller when the operation started (the session's principal then); null for anonymous requests. */
  principal: Principal | null;
  /** The caller's session (its connection's, or its request's): a subscription ends with it. */
  session: Session | null;
  /** The graphql-ws connection the operation came over; null over HTTP and SSE. */
  connection: LiveConnection | null;
  services: Services;
  /**
   * Runs a subscription field's plan (src/domain/subscription-plans): the fan-out engine's subscriber for a
   * graphql-ws subscription when the engine is on, else a private stream per subscriber (HTTP, SSE).
   */
  subscriptions: SubscriptionRunner;
  access: {
    /** Async because a station's store is looked up (cached per operation). */
    canWatchStation(principal: Principal, stationId: string): Promise<boolean>;
    /** Tenants whose admins operate the platform (config PLATFORM_TENANTS). */
    platformTenants: readonly string[];
  };
  requestId: string;
}

/** The context of a resolver whose field's scopes passed: every scope but none requires a caller. */
export type AuthenticatedContext = GraphQLContext & { principal: Principal };

/** What an operation may ask of the connection it came over. */
export interface LiveConnection {
  /** Replaces the connection's token (refused with an AuthError or a DomainError, changing nothing). */
  refreshToken(token: string): Promise<Principal>;
}

/**
 * The part of an operation's context resolvers read, without what the transport added (socket, request,
 * connection_init payload): what a context kept beyond its operation (a fan-out group's) should hold.
 */
export function resolverContextOf(context: GraphQLContext): GraphQLContext {
  const { principal, services, access, requestId } = context;
  return {
    principal,
    session: null,
    connection: null,
    services,
    subscriptions: services.subscriptions,
    access,
    requestId,
  };
}
