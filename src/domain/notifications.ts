import { requirePermission } from '../auth/permissions';
import { authorizationScope, canAccessStore, hasAllStores, isPlatformAdmin } from '../auth/policy';
import type { Principal } from '../auth/principal';
import type { Db } from '../db/types';
import { badInput, forbidden, notFound } from '../errors';
import { topics } from '../events/topics';
import type { Prisma } from '../generated/prisma/client';
import type { Severity } from '../generated/prisma/enums';
import {
  canSeeNotification,
  DEFAULT_NOTIFICATION_KIND,
  isSystemNotificationKind,
  type NotificationConnection,
  type NotificationEventView,
  type NotificationPreferencesView,
  type NotificationView,
  passesPreferences,
  requireKind,
  type SendNotificationInput,
  storeNotification,
  toView,
  visibleWhere,
} from './notification-records';
import type { ServiceDeps } from './services';
import { requireStore } from './stores';
import { openPlanStream, type Selector, type SubscriptionPlan, type Viewer } from './subscription-plans';

export {
  canSeeNotification,
  DEFAULT_NOTIFICATION_KIND,
  type Emit,
  isSystemNotificationKind,
  type NotificationConnection,
  type NotificationEventView,
  type NotificationPreferencesView,
  type NotificationView,
  notificationTopic,
  passesPreferences,
  type RaiseNotificationInput,
  raiseNotification,
  type SendNotificationInput,
  SYSTEM_NOTIFICATION_KINDS,
  type SystemNotificationKind,
} from './notification-records';

/**
 * The notification service: sending, history with read receipts, preferences and the caller's live stream. What a
 * notification is, who it reaches and how one is stored and announced: notification-records.ts.
 */

const MAX_MUTED_KINDS = 50;
const DEFAULT_PAGE = 20;
const MAX_PAGE = 100;
const DEFAULT_PREFERENCES: NotificationPreferencesView = { mutedKinds: [], minSeverity: 'LOW' };

function encodeCursor(row: { createdAt: Date; id: string }): string {
  return Buffer.from(`${row.createdAt.toISOString()}|${row.id}`).toString('base64url');
}

/** Exactly what encodeCursor makes: a UTC instant as toISOString writes it (years 0001-9999) and a row id. */
const NOTIFICATION_CURSOR = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)\|([\w-]{1,64})$/;

function decodeCursor(cursor: string): { createdAt: Date; id: string } {
  const match = NOTIFICATION_CURSOR.exec(Buffer.from(cursor, 'base64url').toString());
  const createdAt = new Date(match?.[1] ?? '');
  // Year 0 parses in JavaScript but not in PostgreSQL.
  if (!match?.[2] || Number.isNaN(createdAt.getTime()) || createdAt.getUTCFullYear() < 1) {
    throw badInput('Invalid cursor', { field: 'after', reason: 'INVALID_CURSOR' });
  }
  return { createdAt, id: match[2] };
}

export class NotificationService {
  constructor(private readonly deps: ServiceDeps) {}

  /**
   * MANAGER and ADMIN send to a user, a role in a store, or a store they can access; TENANT needs every
   * store of the tenant (`stores: '*'`). SYSTEM (every tenant) is allowed to ADMIN only. Note that a tenant
   * ADMIN is not a platform operator: this is a deliberate, documented trust in tenant admins until the
   * platform has its own operator role.
   */
  async sendNotification(principal: Principal, input: SendNotificationInput): Promise<NotificationView> {
    requirePermission(principal, 'notification.send');
    const kind = input.kind ?? DEFAULT_NOTIFICATION_KIND;
    if (isSystemNotificationKind(kind)) {
      throw forbidden(`${kind} notifications are the system's own`, { field: 'kind', kind });
    }
    await this.checkAudience(principal, input);
    const tenantId = input.audience === 'SYSTEM' ? null : principal.tenantId;
    return this.deps.publisher.run((tx, emit) =>
      storeNotification(tx, emit, {
        ...input,
        tenantId,
        kind,
        createdById: principal.userId,
      }),
    );
  }

  private async checkAudience(principal: Principal, input: SendNotificationInput): Promise<void> {
    switch (input.audience) {
      case 'SYSTEM':
        if (!isPlatformAdmin(principal, this.deps.config.platformTenants)) {
          throw forbidden('Only platform admins send SYSTEM notifications');
        }
        return;
      case 'TENANT':
        if (!hasAllStores(principal)) throw forbidden('TENANT notifications need access to every store');
        return;
      case 'ROLE':
      case 'STORE':
        if (input.targetStoreId) await requireStore(this.deps.db, principal, input.targetStoreId);
        return;
      case 'USER':
        if (input.targetUserId) await this.requireReachableUser(principal, input.targetUserId);
        return;
    }
  }

  /** A user of the caller's tenant who shares at least one store with the caller. */
  private async requireReachableUser(principal: Principal, userId: string): Promise<void> {
    const user = await this.deps.db.user.findFirst({
      where: { id: userId, tenantId: principal.tenantId },
      select: { storeIds: true },
    });
    if (!user) throw notFound('User', userId);
    const shares =
      hasAllStores(principal) ||
      user.storeIds.includes('*') ||
      user.storeIds.some((id) => canAccessStore(principal, id));
    if (!shares) throw forbidden(`User ${userId} works in none of your stores`);
  }

  async markNotificationRead(principal: Principal, id: string): Promise<NotificationView> {
    const row = await this.deps.db.notification.findUnique({ where: { id } });
    if (!row || !canSeeNotification(principal, toView(row))) throw notFound('Notification', id);
    const receipt = await this.deps.publisher.run(async (tx) => {
      await tx.notificationReceipt.createMany({
        data: [{ notificationId: id, userId: principal.userId, tenantId: principal.tenantId }],
        skipDuplicates: true,
      });
      return tx.notificationReceipt.findUniqueOrThrow({
        where: { notificationId_userId: { notificationId: id, userId: principal.userId } },
      });
    });
    return toView(row, receipt.readAt);
  }

  /** Marks every notification the caller can see as read (muted ones too); returns how many were unread. */
  async markAllNotificationsRead(principal: Principal): Promise<number> {
    return this.deps.publisher.run(async (tx) => {
      const unread = await tx.notification.findMany({
        where: {
          ...visibleWhere(principal, DEFAULT_PREFERENCES),
          receipts: { none: { userId: principal.userId } },
        },
        select: { id: true },
      });
      const { count } = await tx.notificationReceipt.createMany({
        data: unread.map((n) => ({
          notificationId: n.id,
          userId: principal.userId,
          tenantId: principal.tenantId,
        })),
        skipDuplicates: true,
      });
      return count;
    });
  }

  /** The caller's notifications, newest first, with preferences applied. */
  async notifications(
    principal: Principal,
    args: { first?: number | null; after?: string | null; unreadOnly?: boolean | null } = {},
  ): Promise<NotificationConnection> {
    const first = args.first ?? DEFAULT_PAGE;
    if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE) {
      throw badInput(`first must be between 1 and ${MAX_PAGE}`, { field: 'first' });
    }
    const preferences = await this.notificationPreferences(principal);
    const visible = visibleWhere(principal, preferences);
    const unread: Prisma.NotificationWhereInput = { receipts: { none: { userId: principal.userId } } };
    const page: Prisma.NotificationWhereInput[] = [visible];
    if (args.unreadOnly) page.push(unread);
    if (args.after) {
      const cursor = decodeCursor(args.after);
      page.push({
        OR: [{ createdAt: { lt: cursor.createdAt } }, { createdAt: cursor.createdAt, id: { lt: cursor.id } }],
      });
    }
    const [rows, unreadCount] = await Promise.all([
      this.deps.db.notification.findMany({
        where: { AND: page },
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        take: first + 1,
        include: { receipts: { where: { userId: principal.userId }, select: { readAt: true } } },
      }),
      this.deps.db.notification.count({ where: { AND: [visible, unread] } }),
    ]);
    const edges = rows.slice(0, first).map((row) => ({
      cursor: encodeCursor(row),
      node: toView(row, row.receipts[0]?.readAt ?? null),
    }));
    return {
      edges,
      pageInfo: {
        hasNextPage: rows.length > first,
        hasPreviousPage: Boolean(args.after),
        startCursor: edges[0]?.cursor ?? null,
        endCursor: edges.at(-1)?.cursor ?? null,
      },
      unreadCount,
    };
  }

  async notificationPreferences(principal: Principal): Promise<NotificationPreferencesView> {
    return loadPreferences(this.deps.db, principal);
  }

  async updateNotificationPreferences(
    principal: Principal,
    input: { mutedKinds?: string[] | null; minSeverity?: Severity | null },
  ): Promise<NotificationPreferencesView> {
    const mutedKinds = input.mutedKinds
      ? [...new Set(input.mutedKinds.map((k) => requireKind(k.trim())))]
      : undefined;
    if (mutedKinds && mutedKinds.length > MAX_MUTED_KINDS) {
      throw badInput(`At most ${MAX_MUTED_KINDS} muted kinds`, { field: 'mutedKinds' });
    }
    const changes = {
      ...(mutedKinds ? { mutedKinds } : {}),
      ...(input.minSeverity ? { minSeverity: input.minSeverity } : {}),
    };
    const row = await this.deps.publisher.run((tx) =>
      tx.notificationPreference.upsert({
        where: { userId: principal.userId },
        create: {
          userId: principal.userId,
          tenantId: principal.tenantId,
          ...DEFAULT_PREFERENCES,
          ...changes,
        },
        update: changes,
      }),
    );
    return { mutedKinds: row.mutedKinds, minSeverity: row.minSeverity };
  }

  /**
   * The caller's live notifications, merged from every topic that can reach them (their user topic,
   * each store x role, each store, the tenant, the system) into one resumable stream. Each event is
   * checked again (tenant, audience) and, per subscriber, against its current preferences before delivery.
   */
  async notificationsPlan(principal: Principal, after?: string | null): Promise<NotificationsPlan> {
    return {
      streamKey: `notifications:${principal.tenantId}:${principal.userId}`,
      topics: await this.notificationTopics(principal),
      after: after ?? null,
      // The user's own id besides the scope: notifications addressed to one user are for that user only.
      key: { viewer: { ...authorizationScope(principal), userId: principal.userId } },
      select: selectNotification,
      admit: async ({ notification }) =>
        passesPreferences(await loadPreferences(this.deps.db, principal), notification),
    };
  }

  /** notificationsPlan as a private stream. */
  async subscribeNotifications(
    principal: Principal,
    after?: string | null,
  ): Promise<AsyncIterableIterator<NotificationEventView>> {
    return openPlanStream(this.deps.streams, await this.notificationsPlan(principal, after));
  }

  private async notificationTopics(principal: Principal): Promise<string[]> {
    const { tenantId } = principal;
    const stores = await this.deps.db.store.findMany({ where: { tenantId }, select: { id: true } });
    const storeIds = stores.map((s) => s.id).filter((id) => canAccessStore(principal, id));
    return [
      topics.userNotifications(tenantId, principal.userId),
      ...storeIds.flatMap((storeId) =>
        principal.roles.map((role) => topics.storeRoleNotifications(tenantId, storeId, role)),
      ),
      ...storeIds.map((storeId) => topics.storeNotifications(tenantId, storeId)),
      topics.tenantNotifications(tenantId),
      topics.systemNotifications(),
    ];
  }
}

async function loadPreferences(db: Db, principal: Principal): Promise<NotificationPreferencesView> {
  const row = await db.notificationPreference.findFirst({
    where: { userId: principal.userId, tenantId: principal.tenantId },
  });
  return row ? { mutedKinds: row.mutedKinds, minSeverity: row.minSeverity } : { ...DEFAULT_PREFERENCES };
}

type NotificationsKey = { viewer: Viewer };
type NotificationsPlan = SubscriptionPlan<
  NotificationsKey,
  { notification: NotificationView },
  NotificationEventView
>;

/** A notification event as the viewer receives it: one of its tenant's (or the system's) it may see. */
const selectNotification: Selector<
  NotificationsKey,
  { notification: NotificationView },
  NotificationEventView
> =
  ({ viewer }) =>
  (event) => {
    const notification = event.payload.notification;
    if (event.tenantId !== notification.tenantId) return undefined;
    if (!canSeeNotification(viewer, notification)) return undefined;
    return { cursor: event.cursor, notification };
  };
