import SchemaBuilder from '@pothos/core';
import RelayPlugin from '@pothos/plugin-relay';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import { GraphQLError } from 'graphql';
import { DateTimeResolver, JSONResolver, SafeIntResolver } from 'graphql-scalars';
import { type Action, allows } from '../auth/permissions';
import { canAccessStore, isAdmin, isPlatformAdmin } from '../auth/policy';
import type { AuthenticatedContext, GraphQLContext } from './context';

/**
 * The one place that knows every generic and plugin. Authorization is declared per field with
 * `authScopes`; the scope functions below are the only bridge from GraphQL to the policy module.
 */
export const builder = new SchemaBuilder<{
  Context: GraphQLContext;
  AuthScopes: {
    authenticated: boolean;
    admin: boolean;
    /** An admin of a platform tenant (PLATFORM_TENANTS): operator fields that span tenants. */
    platformAdmin: boolean;
    /** Caller has a role the action allows (src/auth/permissions.ts). */
    can: Action;
    /** Caller may act in this store (the `stores` claim, or `*`). */
    store: string;
    /** Caller may watch this KDS station (store access, and a bound device only its stations). */
    station: string;
  };
  /** What a resolver on `t.withAuth(scopes)` may rely on: each of these scopes passes only with a caller. */
  AuthContexts: {
    authenticated: AuthenticatedContext;
    admin: AuthenticatedContext;
    platformAdmin: AuthenticatedContext;
    can: AuthenticatedContext;
    store: AuthenticatedContext;
    station: AuthenticatedContext;
  };
  Scalars: {
    DateTime: { Input: Date; Output: Date | string };
    JSON: { Input: unknown; Output: unknown };
    /** Integers past GraphQL's 32-bit Int, exact up to 2^53 - 1: sums of money. */
    SafeInt: { Input: number; Output: number };
  };
  DefaultFieldNullability: false;
}>({
  plugins: [ScopeAuthPlugin, RelayPlugin],
  defaultFieldNullability: false,
  scopeAuth: {
    authorizeOnSubscribe: true,
    treatErrorsAsUnauthorized: false,
    unauthorizedError: (_parent, context) =>
      context.principal
        ? new GraphQLError('Not allowed', { extensions: { code: 'FORBIDDEN' } })
        : new GraphQLError('Authentication required', { extensions: { code: 'UNAUTHENTICATED' } }),
    authScopes: (context) => {
      const principal = context.principal;
      return {
        authenticated: principal !== null,
        admin: principal !== null && isAdmin(principal),
        platformAdmin: principal !== null && isPlatformAdmin(principal, context.access.platformTenants),
        can: (action) => principal !== null && allows(principal, action),
        store: (storeId) => principal !== null && canAccessStore(principal, storeId),
        station: (stationId) => principal !== null && context.access.canWatchStation(principal, stationId),
      };
    },
  },
  relay: {
    clientMutationId: 'omit',
    cursorType: 'String',
  },
});

builder.addScalarType('DateTime', DateTimeResolver);
builder.addScalarType('JSON', JSONResolver);
builder.addScalarType('SafeInt', SafeIntResolver);

builder.queryType({});
builder.mutationType({});
builder.subscriptionType({});
