import type { Tx } from '../db/types';
import { DomainError, notFound } from '../errors';
import { topics } from '../events/topics';
import type { NewEvent } from '../events/types';
import { Prisma } from '../generated/prisma/client';
import type {
  ItemStatus,
  OrderChannel,
  OrderStatus,
  Severity,
  StationKind,
  TicketStatus,
} from '../generated/prisma/enums';

/**
 * The shapes orders and kitchen tickets take in query results and event payloads (the same JSON in
 * both), plus the helpers that load them and announce changes. Shared by OrderService and KdsService.
 */

export type Emit = (event: NewEvent) => void;

export const ORDER_EVENT_KINDS = [
  'CREATED',
  'UPDATED',
  'STATUS_CHANGED',
  'ITEM_READY',
  'PAID',
  'COMPLETED',
  'CANCELLED',
] as const;
export type OrderEventKind = (typeof ORDER_EVENT_KINDS)[number];

export const KDS_EVENT_KINDS = [
  'ORDER_INCOMING',
  'ITEM_STARTED',
  'ITEM_READY',
  'ORDER_COMPLETE',
  'BUMPED',
  'RECALLED',
  'LATE',
] as const;
export type KdsEventKind = (typeof KDS_EVENT_KINDS)[number];

/** What a kitchen display should do with an event: sound, flash, badge. */
export const KDS_ALERTS = ['NEW_TICKET', 'RUSH', 'LATE', 'RECALLED'] as const;
export type KdsAlert = (typeof KDS_ALERTS)[number];

export interface OrderItemView {
  id: string;
  productId: string;
  ticketId: string | null;
  name: string;
  quantity: number;
  unitPriceCents: number;
  notes: string | null;
  status: ItemStatus;
}

export interface OrderView {
  id: string;
  number: number;
  storeId: string;
  status: OrderStatus;
  channel: OrderChannel;
  tableNumber: number | null;
  /** The dining table of a TABLE order, and the party (seating) it was placed by. */
  tableId: string | null;
  seatingId: string | null;
  customerId: string | null;
  priority: Severity;
  items: OrderItemView[];
  totalCents: number;
  paidCents: number;
  currency: string;
  cancelReason: string | null;
  createdAt: string;
  updatedAt: string;
  readyAt: string | null;
  completedAt: string | null;
  cancelledAt: string | null;
}

export interface KdsTicketItemView {
  id: string;
  productId: string;
  name: string;
  quantity: number;
  notes: string | null;
  status: ItemStatus;
}

export interface KdsTicketView {
  id: string;
  orderId: string;
  orderNumber: number;
  storeId: string;
  stationId: string;
  stationKind: StationKind;
  status: TicketStatus;
  priority: Severity;
  channel: OrderChannel;
  tableNumber: number | null;
  customerId: string | null;
  items: KdsTicketItemView[];
  firedAt: string;
  startedAt: string | null;
  readyAt: string | null;
  bumpedAt: string | null;
  recalledAt: string | null;
  lateAt: string | null;
  targetSeconds: number;
}

export interface OrderEventPayload {
  kind: OrderEventKind;
  order: OrderView;
  previousStatus: OrderStatus | null;
  occurredAt: string;
}

export interface KdsEventPayload {
  kind: KdsEventKind;
  ticket: KdsTicketView;
  alert: KdsAlert | null;
  occurredAt: string;
}

const iso = (date: Date | null): string | null => (date ? date.toISOString() : null);

export const orderInclude = {
  items: { orderBy: { id: 'asc' } },
} satisfies Prisma.OrderInclude;
type OrderRow = Prisma.OrderGetPayload<{ include: typeof orderInclude }>;

export function toOrderView(row: OrderRow): OrderView {
  return {
    id: row.id,
    number: row.number,
    storeId: row.storeId,
    status: row.status,
    channel: row.channel,
    tableNumber: row.tableNumber,
    tableId: row.tableId,
    seatingId: row.seatingId,
    customerId: row.customerId,
    priority: row.priority,
    items: row.items.map((item) => ({
      id: item.id,
      productId: item.productId,
      ticketId: item.ticketId,
      name: item.name,
      quantity: item.quantity,
      unitPriceCents: item.unitPriceCents,
      notes: item.notes,
      status: item.status,
    })),
    totalCents: row.totalCents,
    paidCents: row.paidCents,
    currency: row.currency,
    cancelReason: row.cancelReason,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
    readyAt: iso(row.readyAt),
    completedAt: iso(row.completedAt),
    cancelledAt: iso(row.cancelledAt),
  };
}

export async function loadOrderView(tx: Tx, tenantId: string, orderId: string): Promise<OrderView> {
  const row = await tx.order.findFirst({ where: { id: orderId, tenantId }, include: orderInclude });
  if (!row) throw notFound('Order', orderId);
  return toOrderView(row);
}

export const ticketInclude = {
  items: { orderBy: { id: 'asc' } },
  station: { select: { kind: true, targetSeconds: true } },
  order: { select: { number: true, channel: true, tableNumber: true, customerId: true } },
} satisfies Prisma.KdsTicketInclude;
type TicketRow = Prisma.KdsTicketGetPayload<{ include: typeof ticketInclude }>;

export function toTicketView(row: TicketRow): KdsTicketView {
  return {
    id: row.id,
    orderId: row.orderId,
    orderNumber: row.order.number,
    storeId: row.storeId,
    stationId: row.stationId,
    stationKind: row.station.kind,
    status: row.status,
    priority: row.priority,
    channel: row.order.channel,
    tableNumber: row.order.tableNumber,
    customerId: row.order.customerId,
    items: row.items.map((item) => ({
      id: item.id,
      productId: item.productId,
      name: item.name,
      quantity: item.quantity,
      notes: item.notes,
      status: item.status,
    })),
    firedAt: row.firedAt.toISOString(),
    startedAt: iso(row.startedAt),
    readyAt: iso(row.readyAt),
    bumpedAt: iso(row.bumpedAt),
    recalledAt: iso(row.recalledAt),
    lateAt: iso(row.lateAt),
    targetSeconds: row.station.targetSeconds,
  };
}

export async function loadTicketViews(tx: Tx, where: Prisma.KdsTicketWhereInput): Promise<KdsTicketView[]> {
  const rows = await tx.kdsTicket.findMany({ where, include: ticketInclude, orderBy: { id: 'asc' } });
  return rows.map(toTicketView);
}

export async function loadTicketView(tx: Tx, tenantId: string, ticketId: string): Promise<KdsTicketView> {
  const row = await tx.kdsTicket.findFirst({ where: { id: ticketId, tenantId }, include: ticketInclude });
  if (!row) throw notFound('Ticket', ticketId);
  return toTicketView(row);
}

export function emitOrderEvent(
  emit: Emit,
  tenantId: string,
  event: { kind: OrderEventKind; order: OrderView; previousStatus?: OrderStatus | null; at: Date },
): void {
  const payload: OrderEventPayload = {
    kind: event.kind,
    order: event.order,
    previousStatus: event.previousStatus ?? null,
    occurredAt: event.at.toISOString(),
  };
  const kind = `order.${event.kind}`;
  emit({ tenantId, topic: topics.storeOrders(tenantId, event.order.storeId), kind, payload });
  // Again on the table's topic, which is all a guest at that table follows.
  if (event.order.tableId)
    emit({ tenantId, topic: topics.tableOrders(tenantId, event.order.tableId), kind, payload });
}

/** Published twice: on the ticket's station topic and on the store topic that expo stations watch. */
export function emitKdsEvent(
  emit: Emit,
  tenantId: string,
  event: { kind: KdsEventKind; ticket: KdsTicketView; alert?: KdsAlert | null; at: Date },
): void {
  const payload: KdsEventPayload = {
    kind: event.kind,
    ticket: event.ticket,
    alert: event.alert ?? null,
    occurredAt: event.at.toISOString(),
  };
  const kind = `kds.${event.kind}`;
  emit({ tenantId, topic: topics.stationKds(tenantId, event.ticket.stationId), kind, payload });
  emit({ tenantId, topic: topics.storeKds(tenantId, event.ticket.storeId), kind, payload });
}

const SEVERITY_RANK: Record<Severity, number> = { URGENT: 0, HIGH: 1, NORMAL: 2, LOW: 3 };

/** Kitchen order: most urgent first, then the ticket fired earliest (ties: by order, then station). */
export function compareTickets(a: KdsTicketView, b: KdsTicketView): number {
  return (
    SEVERITY_RANK[a.priority] - SEVERITY_RANK[b.priority] ||
    a.firedAt.localeCompare(b.firedAt) ||
    a.orderNumber - b.orderNumber ||
    a.stationId.localeCompare(b.stationId)
  );
}

export function isRush(priority: Severity): boolean {
  return priority === 'HIGH' || priority === 'URGENT';
}

const STATUS_TIMESTAMPS: Partial<Record<OrderStatus, 'readyAt' | 'completedAt' | 'cancelledAt'>> = {
  READY: 'readyAt',
  COMPLETED: 'completedAt',
  CANCELLED: 'cancelledAt',
};

/**
 * Moves an order from the status it was read with (a concurrent change is a CONFLICT) and announces it:
 * STATUS_CHANGED always, then COMPLETED or CANCELLED when the order reaches that end. Callers check the rule.
 */
export async function moveOrderStatus(
  tx: Tx,
  emit: Emit,
  move: {
    order: { id: string; tenantId: string; status: OrderStatus };
    to: OrderStatus;
    at: Date;
    data?: { cancelReason?: string | null };
  },
): Promise<OrderView> {
  const { order, to, at } = move;
  const view = await updateOrderStatusRow(tx, move);
  if (!view) throw new DomainError('CONFLICT', 'The order changed meanwhile; try again');
  emitOrderEvent(emit, order.tenantId, {
    kind: 'STATUS_CHANGED',
    order: view,
    previousStatus: order.status,
    at,
  });
  if (to === 'COMPLETED' || to === 'CANCELLED') {
    emitOrderEvent(emit, order.tenantId, { kind: to, order: view, previousStatus: order.status, at });
  }
  return view;
}

/**
 * The update and the read of the order with its items in one statement (was three: update, order, items).
 * Undefined when the order no longer has the status it was read with.
 */
async function updateOrderStatusRow(
  tx: Tx,
  move: {
    order: { id: string; status: OrderStatus };
    to: OrderStatus;
    at: Date;
    data?: { cancelReason?: string | null };
  },
): Promise<OrderView | undefined> {
  const { order, to } = move;
  const at = Prisma.sql`(${move.at.toISOString()}::timestamptz AT TIME ZONE 'UTC')`;
  const sets = [Prisma.sql`"status" = ${to}::"OrderStatus"`, Prisma.sql`"updatedAt" = ${at}`];
  const stamp = STATUS_TIMESTAMPS[to];
  if (stamp) sets.push(Prisma.sql`${Prisma.raw(`"${stamp}"`)} = ${at}`);
  if (order.status === 'READY' && to === 'IN_PROGRESS') sets.push(Prisma.sql`"readyAt" = NULL`);
  if (move.data && 'cancelReason' in move.data) {
    sets.push(Prisma.sql`"cancelReason" = ${move.data.cancelReason ?? null}`);
  }
  const rows = await tx.$queryRaw<OrderRow[]>`
    WITH "moved" AS (
      UPDATE "Order" SET ${Prisma.join(sets)}
      WHERE "id" = ${order.id} AND "status" = ${order.status}::"OrderStatus"
      RETURNING *
    )
    SELECT m."id", m."number", m."storeId", m."status"::text AS "status", m."channel"::text AS "channel",
      m."tableNumber", m."tableId", m."seatingId", m."customerId", m."priority"::text AS "priority",
      m."totalCents", m."paidCents",
      m."currency", m."cancelReason", m."createdAt", m."updatedAt", m."readyAt", m."completedAt",
      m."cancelledAt",
      COALESCE((
        SELECT json_agg(json_build_object('id', i."id", 'productId', i."productId", 'ticketId', i."ticketId",
          'name', i."name", 'quantity', i."quantity", 'unitPriceCents', i."unitPriceCents", 'notes', i."notes",
          'status', i."status") ORDER BY i."id")
        FROM "OrderItem" i WHERE i."orderId" = m."id"
      ), '[]'::json) AS "items"
    FROM "moved" m`;
  return rows[0] && toOrderView(rows[0]);
}

/** Takes every ticket of the order off the kitchen displays (order completed or cancelled). */
export async function closeOpenTickets(
  tx: Tx,
  emit: Emit,
  args: { tenantId: string; orderId: string; at: Date },
): Promise<void> {
  const open = { tenantId: args.tenantId, orderId: args.orderId, status: { not: 'BUMPED' as const } };
  const ids = (await tx.kdsTicket.findMany({ where: open, select: { id: true } })).map((ticket) => ticket.id);
  if (ids.length === 0) return;
  await tx.kdsTicket.updateMany({
    where: { id: { in: ids } },
    data: { status: 'BUMPED', bumpedAt: args.at },
  });
  for (const ticket of await loadTicketViews(tx, { id: { in: ids } })) {
    emitKdsEvent(emit, args.tenantId, { kind: 'BUMPED', ticket, at: args.at });
  }
}
