import type {
  NotificationConnection,
  NotificationEventView,
  NotificationPreferencesView,
  NotificationView,
} from '../domain/notifications';
import { SYSTEM_NOTIFICATION_KINDS } from '../domain/notifications';
import { badInput } from '../errors';
import { builder } from './builder';
import { RoleEnum, SeverityEnum } from './enums';

const NotificationAudienceEnum = builder.enumType('NotificationAudience', {
  description:
    'USER: one user. ROLE: a role in a store. STORE: everyone working in a store. TENANT: everyone working in the tenant. SYSTEM: everyone. STORE and TENANT reach customers only with includeCustomers.',
  values: ['USER', 'ROLE', 'STORE', 'TENANT', 'SYSTEM'] as const,
});

export const NotificationRef = builder.objectRef<NotificationView>('Notification').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    audience: t.field({ type: NotificationAudienceEnum, resolve: (n) => n.audience }),
    targetUserId: t.exposeID('targetUserId', { nullable: true }),
    targetRole: t.field({ type: RoleEnum, nullable: true, resolve: (n) => n.targetRole }),
    targetStoreId: t.exposeID('targetStoreId', { nullable: true }),
    includeCustomers: t.exposeBoolean('includeCustomers', {
      description: 'STORE and TENANT: whether customers are addressed too (otherwise staff roles only).',
    }),
    kind: t.exposeString('kind', {
      description: 'e.g. MESSAGE, ORDER_READY, ORDER_CANCELLED, OUT_OF_STOCK, STATION_OFFLINE.',
    }),
    severity: t.field({ type: SeverityEnum, resolve: (n) => n.severity }),
    title: t.exposeString('title'),
    body: t.exposeString('body'),
    data: t.field({ type: 'JSON', nullable: true, resolve: (n) => n.data }),
    createdById: t.exposeID('createdById', { nullable: true }),
    createdAt: t.field({ type: 'DateTime', resolve: (n) => n.createdAt }),
    readAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When you read it; always null in live events.',
      resolve: (n) => n.readAt,
    }),
    read: t.boolean({ resolve: (n) => n.readAt !== null }),
  }),
});

const NotificationEventRef = builder.objectRef<NotificationEventView>('NotificationEvent').implement({
  fields: (t) => ({
    cursor: t.exposeString('cursor', { description: 'Pass as `after` to resume after this event.' }),
    notification: t.field({ type: NotificationRef, resolve: (event) => event.notification }),
  }),
});

const NotificationPreferencesRef = builder
  .objectRef<NotificationPreferencesView>('NotificationPreferences')
  .implement({
    description: 'Applied to history and live delivery alike.',
    fields: (t) => ({
      mutedKinds: t.exposeStringList('mutedKinds'),
      minSeverity: t.field({ type: SeverityEnum, resolve: (p) => p.minSeverity }),
    }),
  });

const SendNotificationInput = builder.inputType('SendNotificationInput', {
  fields: (t) => ({
    audience: t.field({ type: NotificationAudienceEnum, required: true }),
    targetUserId: t.id({ description: 'USER only.' }),
    targetRole: t.field({ type: RoleEnum, description: 'ROLE only (with targetStoreId).' }),
    targetStoreId: t.id({ description: 'ROLE and STORE.' }),
    includeCustomers: t.boolean({
      description:
        "STORE and TENANT only: reach the store's (tenant's) customers too. Default false: staff roles only (ADMIN, MANAGER, STAFF, KITCHEN).",
    }),
    kind: t.string({
      description: `UPPER_SNAKE_CASE; defaults to MESSAGE. ${SYSTEM_NOTIFICATION_KINDS.join(', ')} are the system's own (FORBIDDEN).`,
    }),
    severity: t.field({ type: SeverityEnum, description: 'Defaults to NORMAL.' }),
    title: t.string({ required: true, description: '1 to 200 characters.' }),
    body: t.string({ required: true, description: '1 to 2000 characters.' }),
    data: t.field({ type: 'JSON' }),
  }),
});

const NotificationPreferencesInput = builder.inputType('NotificationPreferencesInput', {
  fields: (t) => ({
    mutedKinds: t.stringList({ description: 'Replaces the muted kinds (at most 50).' }),
    minSeverity: t.field({ type: SeverityEnum }),
  }),
});

builder.queryFields((t) => ({
  notifications: t.withAuth({ authenticated: true }).connection(
    {
      type: NotificationRef,
      description: 'Your notifications, newest first, with your preferences applied. Forward paging only.',
      args: { unreadOnly: t.arg.boolean() },
      resolve: (_root, args, ctx) => {
        if (args.last != null || args.before != null)
          throw badInput('notifications pages forward only (first/after)');
        return ctx.services.notifications.notifications(ctx.principal, {
          first: args.first,
          after: args.after,
          unreadOnly: args.unreadOnly,
        });
      },
    },
    {
      name: 'NotificationConnection',
      fields: (c) => ({
        unreadCount: c.int({
          description: 'Unread notifications in your whole history (not just this page).',
          resolve: (connection) => (connection as unknown as NotificationConnection).unreadCount,
        }),
      }),
    },
    { name: 'NotificationEdge' },
  ),
  notificationPreferences: t.withAuth({ authenticated: true }).field({
    type: NotificationPreferencesRef,
    resolve: (_root, _args, ctx) => ctx.services.notifications.notificationPreferences(ctx.principal),
  }),
}));

builder.mutationFields((t) => ({
  sendNotification: t.withAuth({ can: 'notification.send' }).field({
    type: NotificationRef,
    description:
      'Managers and admins send to a user, a role in a store or a store they can access; TENANT needs access to every store; SYSTEM (every tenant) is for admins only.',
    args: { input: t.arg({ type: SendNotificationInput, required: true }) },
    resolve: (_root, { input }, ctx) =>
      ctx.services.notifications.sendNotification(ctx.principal, {
        audience: input.audience,
        targetUserId: input.targetUserId == null ? undefined : String(input.targetUserId),
        targetRole: input.targetRole ?? undefined,
        targetStoreId: input.targetStoreId == null ? undefined : String(input.targetStoreId),
        includeCustomers: input.includeCustomers ?? undefined,
        kind: input.kind,
        severity: input.severity ?? undefined,
        title: input.title,
        body: input.body,
        data: asObject(input.data),
      }),
  }),
  markNotificationRead: t.withAuth({ authenticated: true }).field({
    type: NotificationRef,
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) =>
      ctx.services.notifications.markNotificationRead(ctx.principal, String(args.id)),
  }),
  markAllNotificationsRead: t.withAuth({ authenticated: true }).int({
    description: 'Marks everything you can see as read; returns how many were unread.',
    resolve: (_root, _args, ctx) => ctx.services.notifications.markAllNotificationsRead(ctx.principal),
  }),
  updateNotificationPreferences: t.withAuth({ authenticated: true }).field({
    type: NotificationPreferencesRef,
    args: { input: t.arg({ type: NotificationPreferencesInput, required: true }) },
    resolve: (_root, { input }, ctx) =>
      ctx.services.notifications.updateNotificationPreferences(ctx.principal, {
        mutedKinds: input.mutedKinds,
        minSeverity: input.minSeverity,
      }),
  }),
}));

builder.subscriptionField('notifications', (t) =>
  t.withAuth({ authenticated: true }).field({
    type: NotificationEventRef,
    description:
      'Your notifications as they are sent (to you, your roles in your stores, your stores, your tenant, everyone), with your preferences applied. Resume with `after`.',
    args: { after: t.arg.string() },
    subscribe: async (_root, args, ctx) =>
      ctx.subscriptions.open(await ctx.services.notifications.notificationsPlan(ctx.principal, args.after)),
    resolve: (event) => event,
  }),
);

function asObject(value: unknown): Record<string, unknown> | undefined {
  if (value == null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value))
    throw badInput('data must be a JSON object', { field: 'data' });
  return value as Record<string, unknown>;
}
