import type { StationView, StoreView, UserView } from '../domain/stores';
import { builder } from './builder';
import { RoleEnum, StationKindEnum } from './enums';
import { ProductRef } from './menu';

export const StationRef = builder.objectRef<StationView>('Station').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    storeId: t.exposeID('storeId'),
    name: t.exposeString('name'),
    kind: t.field({ type: StationKindEnum, resolve: (station) => station.kind }),
    targetSeconds: t.exposeInt('targetSeconds', { description: 'A ticket open longer than this is late.' }),
  }),
});

export const StoreRef = builder.objectRef<StoreView>('Store').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    currency: t.exposeString('currency'),
    timezone: t.exposeString('timezone'),
    stations: t.withAuth({ authenticated: true }).field({
      type: [StationRef],
      resolve: (store, _args, ctx) => ctx.services.stores.stations(ctx.principal, store.id),
    }),
    products: t.withAuth({ authenticated: true }).field({
      type: [ProductRef],
      description:
        'The active menu with current availability, by category and name; `includeArchived` (staff) adds archived products.',
      args: { includeArchived: t.arg.boolean({ defaultValue: false }) },
      resolve: (store, args, ctx) =>
        ctx.services.menu.products(ctx.principal, store.id, { includeArchived: args.includeArchived }),
    }),
  }),
});

const TenantRef = builder.objectRef<UserView['tenant']>('Tenant').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
  }),
});

export const UserRef = builder.objectRef<UserView>('User').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    email: t.exposeString('email'),
    roles: t.field({ type: [RoleEnum], resolve: (user) => user.roles }),
    tenant: t.field({ type: TenantRef, resolve: (user) => user.tenant }),
    stores: t.field({ type: [StoreRef], resolve: (user) => user.stores }),
    currentStore: t.field({ type: StoreRef, nullable: true, resolve: (user) => user.currentStore }),
    stationIds: t.idList({
      description: 'Stations a kitchen device is bound to.',
      resolve: (user) => user.stationIds,
    }),
  }),
});

builder.mutationField('setStationTargetTime', (t) =>
  t.withAuth({ can: 'station.setTargetTime' }).field({
    type: StationRef,
    description:
      'Sets how long a ticket may stay open at a station before the KDS marks it late (30 s to 4 h). Managers and admins.',
    args: { stationId: t.arg.id({ required: true }), targetSeconds: t.arg.int({ required: true }) },
    resolve: (_root, args, ctx) =>
      ctx.services.stores.setStationTargetTime(ctx.principal, String(args.stationId), args.targetSeconds),
  }),
);

builder.queryFields((t) => ({
  me: t.withAuth({ authenticated: true }).field({
    type: UserRef,
    description: 'The caller: roles, tenant, the stores it may see and the current store.',
    resolve: (_root, _args, ctx) => ctx.services.stores.me(ctx.principal),
  }),
  stores: t.withAuth({ authenticated: true }).field({
    type: [StoreRef],
    description: "The caller's stores in its tenant.",
    resolve: (_root, _args, ctx) => ctx.services.stores.stores(ctx.principal),
  }),
  store: t.withAuth({ authenticated: true }).field({
    type: StoreRef,
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => ctx.services.stores.store(ctx.principal, String(args.id)),
  }),
}));
