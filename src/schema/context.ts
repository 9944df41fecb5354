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
