import { requirePermission } from '../auth/permissions';
import { canAccessStore, hasAllStores, isPlatformAdmin, isStaff } from '../auth/policy';
import type { Principal, Role } from '../auth/principal';
import type { Db, Tx } from '../db/types';
import { badInput, forbidden, notFound } from '../errors';
import { topics } from '../events/topics';
import type { NewEvent } from '../events/types';
import type { Prisma } from '../generated/prisma/client';
import type { NotificationAudience, Severity } from '../generated/prisma/enums';
import { atLeast, SEVERITY_ORDER, severityRank } from './inventory-alerts';
import type { ServiceDeps } from './services';
import { requireStore } from './stores';
import { filterStream } from './stream-iterators';
import { openEventStream } from './subscription-plans';
import { fitsCharacters } from './text';

/**
 * Notifications: who may send what to whom, who sees what, per-user read receipts and preferences,
 * and the caller's live stream merged from every topic that can reach them.
 *
 * A user sees a notification addressed to them (USER), to a role they have in a store they can access
 * (ROLE), to a store they can access (STORE), to their tenant (TENANT), or to everyone (SYSTEM).
 * Preferences (muted kinds, minimum severity) hide notifications from history and live delivery alike.
 */

export type Emit = (event: NewEvent) => void;

export interface NotificationView {
  id: string;
  /** null for SYSTEM broadcasts. */
  tenantId: string | null;
  audience: NotificationAudience;
  targetUserId: string | null;
  targetRole: Role | null;
  targetStoreId: string | null;
  /** STORE and TENANT: customers are addressed too (else staff roles only). */
  includeCustomers: boolean;
  kind: string;
  severity: Severity;
  title: string;
  body: string;
  data: Record<string, unknown> | null;
  createdById: string | null;
  createdAt: string;
  /** When the viewing user read it; always null in live events (a new notification is unread). */
  readAt: string | null;
}

export interface NotificationEventView {
  cursor: string;
  notification: NotificationView;
}

export interface NotificationPreferencesView {
  mutedKinds: string[];
  minSeverity: Severity;
}

export interface NotificationConnection {
  edges: { cursor: string; node: NotificationView }[];
  pageInfo: {
    hasNextPage: boolean;
    hasPreviousPage: boolean;
    startCursor: string | null;
    endCursor: string | null;
  };
  /** Unread notifications the caller sees (preferences applied), over the whole history, not just this page. */
  unreadCount: number;
}

/**
 * Kinds only the system raises (raiseNotification): a person's notification never has one, so a client can
 * trust that an ORDER_READY came from the kitchen's bump, not from someone typing it.
 */
export const SYSTEM_NOTIFICATION_KINDS = [
  'ORDER_READY',
  'ORDER_CANCELLED',
  'OUT_OF_STOCK',
  'STATION_OFFLINE',
] as const;
export type SystemNotificationKind = (typeof SYSTEM_NOTIFICATION_KINDS)[number];

export function isSystemNotificationKind(kind: string): kind is SystemNotificationKind {
  return (SYSTEM_NOTIFICATION_KINDS as readonly string[]).includes(kind);
}

interface NotificationInput {
  tenantId: string | null;
  audience: NotificationAudience;
  targetUserId?: string;
  targetRole?: Role;
  targetStoreId?: string;
  /** STORE and TENANT only: address the customers of the store (tenant) too. */
  includeCustomers?: boolean;
  kind: string;
  severity?: Severity;
  title: string;
  body: string;
  data?: Record<string, unknown>;
  createdById?: string;
}

/** What other domains raise: one of the system's kinds. */
export interface RaiseNotificationInput extends NotificationInput {
  kind: SystemNotificationKind;
}

export type SendNotificationInput = Omit<NotificationInput, 'tenantId' | 'createdById' | 'kind'> & {
  kind?: string | null;
};

export const DEFAULT_NOTIFICATION_KIND = 'MESSAGE';
const KIND_PATTERN = /^[A-Z][A-Z0-9_]{0,63}$/;
const MAX_TITLE = 200;
const MAX_BODY = 2000;
const MAX_MUTED_KINDS = 50;
const DEFAULT_PAGE = 20;
const MAX_PAGE = 100;
const DEFAULT_PREFERENCES: NotificationPreferencesView = { mutedKinds: [], minSeverity: 'LOW' };

type NotificationRow = Prisma.NotificationGetPayload<object>;

function toView(row: NotificationRow, readAt: Date | null = null): NotificationView {
  return {
    id: row.id,
    tenantId: row.tenantId,
    audience: row.audience,
    targetUserId: row.targetUserId,
    targetRole: row.targetRole,
    targetStoreId: row.targetStoreId,
    includeCustomers: row.includeCustomers,
    kind: row.kind,
    severity: row.severity,
    title: row.title,
    body: row.body,
    data: (row.data as Record<string, unknown> | null) ?? null,
    createdById: row.createdById,
    createdAt: row.createdAt.toISOString(),
    readAt: readAt ? readAt.toISOString() : null,
  };
}

/** The topic a notification is published on, from its audience. */
export function notificationTopic(n: {
  tenantId: string | null;
  audience: NotificationAudience;
  targetUserId: string | null;
  targetRole: Role | null;
  targetStoreId: string | null;
}): string {
  if (n.audience === 'SYSTEM') return topics.systemNotifications();
  const tenantId = n.tenantId as string;
  switch (n.audience) {
    case 'USER':
      return topics.userNotifications(tenantId, n.targetUserId as string);
    case 'ROLE':
      return topics.storeRoleNotifications(tenantId, n.targetStoreId as string, n.targetRole as Role);
    case 'STORE':
      return topics.storeNotifications(tenantId, n.targetStoreId as string);
    default:
      return topics.tenantNotifications(tenantId);
  }
}

/** Whether the principal is in the notification's audience. */
export function canSeeNotification(
  principal: Principal,
  n: Pick<
    NotificationView,
    'tenantId' | 'audience' | 'targetUserId' | 'targetRole' | 'targetStoreId' | 'includeCustomers'
  >,
): boolean {
  if (n.audience === 'SYSTEM') return n.tenantId === null;
  if (n.tenantId !== principal.tenantId) return false;
  // "Everyone working in the store" is its staff: customers only when the sender addressed them.
  if ((n.audience === 'STORE' || n.audience === 'TENANT') && !n.includeCustomers && !isStaff(principal)) {
    return false;
  }
  switch (n.audience) {
    case 'USER':
      return n.targetUserId === principal.userId;
    case 'ROLE':
      return (
        n.targetStoreId !== null &&
        n.targetRole !== null &&
        canAccessStore(principal, n.targetStoreId) &&
        principal.roles.includes(n.targetRole)
      );
    case 'STORE':
      return n.targetStoreId !== null && canAccessStore(principal, n.targetStoreId);
    default:
      return true;
  }
}

export function passesPreferences(
  preferences: NotificationPreferencesView,
  n: Pick<NotificationView, 'kind' | 'severity'>,
): boolean {
  return !preferences.mutedKinds.includes(n.kind) && atLeast(n.severity, preferences.minSeverity);
}

/** The same rules as canSeeNotification and passesPreferences, as a database filter. */
function visibleWhere(
  principal: Principal,
  preferences: NotificationPreferencesView,
): Prisma.NotificationWhereInput {
  const tenantId = principal.tenantId;
  const inMyStores: Prisma.NotificationWhereInput = hasAllStores(principal)
    ? { targetStoreId: { not: null } }
    : { targetStoreId: { in: [...principal.stores] } };
  const addressed: Prisma.NotificationWhereInput = isStaff(principal) ? {} : { includeCustomers: true };
  return {
    OR: [
      { audience: 'SYSTEM', tenantId: null },
      { audience: 'TENANT', tenantId, ...addressed },
      { audience: 'USER', tenantId, targetUserId: principal.userId },
      { audience: 'STORE', tenantId, ...inMyStores, ...addressed },
      { audience: 'ROLE', tenantId, targetRole: { in: [...principal.roles] }, ...inMyStores },
    ],
    kind: { notIn: preferences.mutedKinds },
    severity: { in: SEVERITY_ORDER.filter((s) => severityRank(s) >= severityRank(preferences.minSeverity)) },
  };
}

function requireText(value: string, field: string, max: number): string {
  const text = value.trim();
  if (text.length === 0 || !fitsCharacters(text, max))
    throw badInput(`${field} must be 1 to ${max} characters`, { field });
  return text;
}

function requireKind(kind: string): string {
  if (!KIND_PATTERN.test(kind)) {
    throw badInput('kind must be UPPER_SNAKE_CASE, at most 64 characters', { field: 'kind', kind });
  }
  return kind;
}

/** Only the target fields the audience uses; the others must be absent. */
function audienceTargets(input: Omit<NotificationInput, 'kind' | 'title' | 'body'>) {
  const { audience, targetUserId, targetRole, targetStoreId } = input;
  const needs = {
    USER: { user: true, role: false, store: false },
    ROLE: { user: false, role: true, store: true },
    STORE: { user: false, role: false, store: true },
    TENANT: { user: false, role: false, store: false },
    SYSTEM: { user: false, role: false, store: false },
  }[audience];
  const check = (needed: boolean, value: unknown, field: string) => {
    if (needed && !value) throw badInput(`${audience} notifications need ${field}`, { field });
    if (!needed && value) throw badInput(`${audience} notifications take no ${field}`, { field });
  };
  check(needs.user, targetUserId, 'targetUserId');
  check(needs.role, targetRole, 'targetRole');
  check(needs.store, targetStoreId, 'targetStoreId');
  if (input.includeCustomers && audience !== 'STORE' && audience !== 'TENANT') {
    throw badInput(`${audience} notifications take no includeCustomers`, { field: 'includeCustomers' });
  }
  if ((audience === 'SYSTEM') !== (input.tenantId === null)) {
    throw badInput('SYSTEM notifications, and only they, have no tenant', { field: 'audience' });
  }
  return {
    targetUserId: targetUserId ?? null,
    targetRole: targetRole ?? null,
    targetStoreId: targetStoreId ?? null,
    includeCustomers: input.includeCustomers ?? false,
  };
}

/**
 * A system notification (ORDER_READY, ORDER_CANCELLED, OUT_OF_STOCK, ...), stored and announced inside the
 * caller's transaction.
 */
export function raiseNotification(
  tx: Tx,
  emit: Emit,
  input: RaiseNotificationInput,
): Promise<NotificationView> {
  return storeNotification(tx, emit, input);
}

/** Stores a notification and announces it on its audience's topic, inside the caller's transaction. */
async function storeNotification(tx: Tx, emit: Emit, input: NotificationInput): Promise<NotificationView> {
  const targets = audienceTargets(input);
  const row = await tx.notification.create({
    data: {
      tenantId: input.tenantId,
      audience: input.audience,
      ...targets,
      kind: requireKind(input.kind),
      severity: input.severity ?? 'NORMAL',
      title: requireText(input.title, 'title', MAX_TITLE),
      body: requireText(input.body, 'body', MAX_BODY),
      data: (input.data ?? undefined) as Prisma.InputJsonValue | undefined,
      createdById: input.createdById ?? null,
    },
  });
  const notification = toView(row);
  emit({
    tenantId: row.tenantId,
    topic: notificationTopic(row),
    kind: 'notification.CREATED',
    payload: { notification },
  });
  return notification;
}

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
   * checked again (tenant, audience, current preferences) before delivery.
   */
  async subscribeNotifications(
    principal: Principal,
    after?: string | null,
  ): Promise<AsyncIterableIterator<NotificationEventView>> {
    const source = await openEventStream<{ notification: NotificationView }>(this.deps.streams, {
      streamKey: `notifications:${principal.tenantId}:${principal.userId}`,
      topics: await this.notificationTopics(principal),
      after: after ?? null,
    });
    return filterStream(source, async (event) => {
      const notification = event.payload.notification;
      if (event.tenantId !== notification.tenantId) return null;
      if (!canSeeNotification(principal, notification)) return null;
      const preferences = await loadPreferences(this.deps.db, principal);
      if (!passesPreferences(preferences, notification)) return null;
      return { cursor: event.cursor, notification };
    });
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
