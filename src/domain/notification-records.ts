import { randomUUID } from 'node:crypto';
import { canAccessStore, hasAllStores, isStaff } from '../auth/policy';
import type { Principal, Role } from '../auth/principal';
import type { Tx } from '../db/types';
import { badInput } from '../errors';
import { topics } from '../events/topics';
import type { NewEvent } from '../events/types';
import type { Prisma } from '../generated/prisma/client';
import type { NotificationAudience, Severity } from '../generated/prisma/enums';
import { atLeast, SEVERITY_ORDER, severityRank } from './inventory-alerts';
import { fitsCharacters } from './text';

/**
 * What a notification is and whom it reaches: the views, the system's own kinds, the audience rules (who sees
 * what, as a function and as a database filter, with preferences), and storing and announcing one inside the
 * caller's transaction (`raiseNotification`, what other domains call). The service is notifications.ts.
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

type NotificationRow = Prisma.NotificationGetPayload<object>;

export function toView(row: NotificationRow, readAt: Date | null = null): NotificationView {
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
export function visibleWhere(
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

export function requireKind(kind: string): string {
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
export async function storeNotification(
  tx: Tx,
  emit: Emit,
  input: NotificationInput,
): Promise<NotificationView> {
  const draft = draftNotification(input);
  const row = await tx.notification.create({
    data: { ...draft, data: (draft.data ?? undefined) as Prisma.InputJsonValue | undefined },
  });
  return announceNotification(emit, row);
}

/** The row a notification is stored as (its input checked), for storeNotification or a statement of its own. */
export function draftNotification(input: NotificationInput, at = new Date()): NotificationRow {
  return {
    id: randomUUID(),
    tenantId: input.tenantId,
    audience: input.audience,
    ...audienceTargets(input),
    kind: requireKind(input.kind),
    severity: input.severity ?? 'NORMAL',
    title: requireText(input.title, 'title', MAX_TITLE),
    body: requireText(input.body, 'body', MAX_BODY),
    data: (input.data ?? null) as NotificationRow['data'],
    createdById: input.createdById ?? null,
    createdAt: at,
  };
}

/** The notification.CREATED event of a stored row, on its audience's topic. */
export function announceNotification(emit: Emit, row: NotificationRow): NotificationView {
  const notification = toView(row);
  emit({
    tenantId: row.tenantId,
    topic: notificationTopic(row),
    kind: 'notification.CREATED',
    payload: { notification },
  });
  return notification;
}
