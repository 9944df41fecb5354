import type { DevicePresenceView, PresenceEventView } from '../domain/presence';
import { builder } from './builder';
import { RoleEnum } from './enums';
import { StationRef } from './stores';

const PresenceEventKindEnum = builder.enumType('PresenceEventKind', {
  description:
    'ONLINE: the device is connected (it came online, or its number of connections changed). OFFLINE: it is gone.',
  values: ['ONLINE', 'OFFLINE'] as const,
});

const DevicePresenceRef = builder.objectRef<DevicePresenceView>('DevicePresence').implement({
  description:
    'A user connected in a store, however many sockets and instances it spans. Customers never appear.',
  fields: (t) => ({
    storeId: t.exposeID('storeId'),
    userId: t.exposeID('userId'),
    name: t.exposeString('name'),
    roles: t.field({ type: [RoleEnum], resolve: (device) => device.roles }),
    stationIds: t.idList({
      description: 'Stations the device is bound to (its token’s `stations`).',
      resolve: (device) => device.stationIds,
    }),
    connections: t.exposeInt('connections', {
      description:
        'Open WebSocket connections on every instance; 0 while a dropped device is within its grace period.',
    }),
    since: t.field({ type: 'DateTime', resolve: (device) => device.since }),
    lastSeenAt: t.field({
      type: 'DateTime',
      description: 'Last connect, close or lease renewal of one of its connections.',
      resolve: (device) => device.lastSeenAt,
    }),
  }),
});

const PresenceEventRef = builder.objectRef<PresenceEventView>('PresenceEvent').implement({
  fields: (t) => ({
    kind: t.field({ type: PresenceEventKindEnum, resolve: (event) => event.kind }),
    storeId: t.exposeID('storeId'),
    device: t.field({ type: DevicePresenceRef, resolve: (event) => event.device }),
    occurredAt: t.field({ type: 'DateTime', resolve: (event) => event.occurredAt }),
  }),
});

builder.queryField('presence', (t) =>
  t.withAuth({ can: 'presence.read' }).field({
    type: [DevicePresenceRef],
    description:
      "Connected devices the caller may see: of storeId, else of the connection's current store, else of every store the caller may access. Managers and admins see every device; staff see staff and kitchen devices.",
    args: { storeId: t.arg.id() },
    resolve: (_root, args, ctx) =>
      ctx.services.presence.presence(ctx.principal, args.storeId == null ? null : String(args.storeId)),
  }),
);

builder.subscriptionField('presenceChanged', (t) =>
  t.withAuth({ can: 'presence.read' }).field({
    type: PresenceEventRef,
    description:
      'First one ONLINE event per device connected now, then every change. Not replayed (presence is state, not history): after a reconnect, the current state comes first again.',
    args: { storeId: t.arg.id({ required: true }) },
    subscribe: async (_root, args, ctx) =>
      ctx.subscriptions.open(await ctx.services.presence.presencePlan(ctx.principal, String(args.storeId))),
    resolve: (event) => event,
  }),
);

builder.objectField(StationRef, 'online', (t) =>
  t.withAuth({ can: 'presence.stationOnline' }).boolean({
    description:
      'A device bound to this station is connected (or within its reconnect grace period). Not for customers.',
    resolve: (station, _args, ctx) => ctx.services.presence.stationOnline(ctx.principal, station),
  }),
);
