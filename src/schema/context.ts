import type { Principal } from '../auth/principal';
import type { Services } from '../domain/index';

/**
 * Per-operation context, the same for HTTP and WebSocket operations. Holds no database client:
 * resolvers talk to domain services only.
 */
export interface GraphQLContext {
  principal: Principal | null;
  services: Services;
  access: {
    /** Async because a station's store is looked up (cached per operation). */
    canWatchStation(principal: Principal, stationId: string): Promise<boolean>;
    /** Tenants whose admins operate the platform (config PLATFORM_TENANTS). */
    platformTenants: readonly string[];
  };
  requestId: string;
}

/**
 * The part of an operation's context resolvers read, without what the transport added (socket, request,
 * connection_init payload): what a context kept beyond its operation (a fan-out group's) should hold.
 */
export function resolverContextOf(context: GraphQLContext): GraphQLContext {
  const { principal, services, access, requestId } = context;
  return { principal, services, access, requestId };
}
