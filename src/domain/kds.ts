import { requirePermission } from '../auth/permissions';
import { authorizationScope, canAccessStore, canWatchStation } from '../auth/policy';
import type { Principal } from '../auth/principal';
import type { Db, Tx } from '../db/types';
import { badInput, DomainError, forbidden, notFound } from '../errors';
import { topics } from '../events/topics';
import type { KdsTicket, OrderItem, Prisma } from '../generated/prisma/client';
import type { OrderStatus } from '../generated/prisma/enums';
import { bumpInOneStatement, markItemReadyInOneStatement, orderReadyNotification } from './kds-fast-path';
import { raiseNotification } from './notification-records';
import {
  compareTickets,
  type Emit,
  emitKdsEvent,
  emitOrderEvent,
  type KdsEventPayload,
  type KdsTicketView,
  loadOrderView,
  loadTicketView,
  loadTicketViews,
  moveOrderStatus,
} from './order-records';
import { isTerminal, kitchenBumpMovesOrder, kitchenStartMovesOrder } from './order-status';
import type { ServiceDeps } from './services';
import { openPlanStream, type Selector, type SubscriptionPlan, type Viewer } from './subscription-plans';
import { followOrderAtTable } from './table-records';

export type { KdsAlert, KdsEventKind, KdsTicketView } from './order-records';

/** A kitchen event as a subscriber receives it. */
export interface KdsStreamEvent extends KdsEventPayload {
  cursor: string;
}

/** What a ticket subscription's events depend on: who watches which station (an expo: its whole store). */
export interface TicketsKey {
  viewer: Viewer;
  stationId: string;
  storeId: string;
  expo: boolean;
}

export type TicketsPlan = SubscriptionPlan<TicketsKey, KdsEventPayload, KdsStreamEvent>;

const selectKdsEvent: Selector<TicketsKey, KdsEventPayload, KdsStreamEvent> =
  ({ viewer, stationId, storeId, expo }) =>
  (event) => {
    if (event.tenantId !== viewer.tenantId || !event.kind.startsWith('kds.')) return undefined;
    const ticket = event.payload.ticket;
    if (!canAccessStore(viewer, ticket.storeId)) return undefined;
    if (expo ? ticket.storeId !== storeId : ticket.stationId !== stationId) return undefined;
    return { ...event.payload, cursor: event.cursor };
  };

export interface KdsServiceOptions {
  /** How often open tickets are checked against their station's target time. */
  lateSweepIntervalMs?: number;
}

interface StationRow {
  id: string;
  storeId: string;
  kind: 'PREP' | 'EXPO';
}

interface TicketContext {
  ticket: KdsTicket;
  order: { id: string; tenantId: string; storeId: string; number: number; status: OrderStatus };
}

/** The station of the caller's tenant (else NOT_FOUND) that the caller may watch (else FORBIDDEN). */
async function requireWatchableStation(
  db: Db | Tx,
  principal: Principal,
  stationId: string,
): Promise<StationRow> {
  const station = await db.station.findFirst({
    where: { id: stationId, tenantId: principal.tenantId },
    select: { id: true, storeId: true, kind: true },
  });
  if (!station) throw notFound('Station', stationId);
  if (!canWatchStation(principal, station)) throw forbidden(`No access to station ${stationId}`);
  return station;
}

export class KdsService {
  private readonly sweepIntervalMs: number;
  private sweeper: NodeJS.Timeout | undefined;
  private sweeping: Promise<unknown> | undefined;

  constructor(
    private readonly deps: ServiceDeps,
    options: KdsServiceOptions = {},
  ) {
    this.sweepIntervalMs = options.lateSweepIntervalMs ?? 5000;
  }

  /** Open tickets of the station (an expo station: of its whole store), most urgent first, then oldest. */
  async kdsTickets(principal: Principal, stationId: string): Promise<KdsTicketView[]> {
    requirePermission(principal, 'kds.use');
    const station = await requireWatchableStation(this.deps.db, principal, stationId);
    const tickets = await loadTicketViews(this.deps.db, {
      tenantId: principal.tenantId,
      status: { not: 'BUMPED' },
      ...(station.kind === 'EXPO' ? { storeId: station.storeId } : { stationId: station.id }),
    });
    return tickets.sort(compareTickets);
  }

  async startItem(principal: Principal, itemId: string): Promise<KdsTicketView> {
    requirePermission(principal, 'kds.use');
    return this.deps.publisher.run(async (tx, emit) => {
      const { item, ticket, order } = await this.loadItemForKitchen(tx, principal, itemId);
      if (item.status !== 'PENDING') throw badInput(`The item is already ${item.status}`, { itemId });
      const now = new Date();
      await this.updateItem(tx, item, { status: 'IN_PROGRESS', startedAt: now });
      await this.startWork(tx, emit, { ticket, order }, now);
      const view = await loadTicketView(tx, ticket.tenantId, ticket.id);
      emitKdsEvent(emit, ticket.tenantId, { kind: 'ITEM_STARTED', ticket: view, at: now });
      return view;
    });
  }

  async markItemReady(principal: Principal, itemId: string): Promise<KdsTicketView> {
    requirePermission(principal, 'kds.use');
    const fast = await markItemReadyInOneStatement(this.deps.publisher, principal, itemId);
    if (fast) return fast;
    return this.deps.publisher.run(async (tx, emit) => {
      const { item, ticket, order } = await this.loadItemForKitchen(tx, principal, itemId);
      if (item.status === 'READY') throw badInput('The item is already READY', { itemId });
      const now = new Date();
      await this.updateItem(tx, item, { status: 'READY', readyAt: now, startedAt: item.startedAt ?? now });
      // The ticket locked before its items are counted (item, then ticket: the fast path's order), so marks of
      // one ticket serialise here and the last one counts every other as READY (read committed: each statement
      // sees what committed before it, and the lock waits for the other mark's commit).
      await tx.$queryRaw`SELECT 1 FROM "KdsTicket" WHERE "id" = ${ticket.id} FOR UPDATE`;
      await this.startWork(tx, emit, { ticket, order }, now);
      const unfinished = await tx.orderItem.count({
        where: { ticketId: ticket.id, status: { not: 'READY' } },
      });
      if (unfinished === 0) {
        await tx.kdsTicket.update({ where: { id: ticket.id }, data: { status: 'READY', readyAt: now } });
      }
      const view = await loadTicketView(tx, ticket.tenantId, ticket.id);
      emitKdsEvent(emit, ticket.tenantId, { kind: 'ITEM_READY', ticket: view, at: now });
      const orderView = await loadOrderView(tx, order.tenantId, order.id);
      emitOrderEvent(emit, order.tenantId, { kind: 'ITEM_READY', order: orderView, at: now });
      if (unfinished === 0)
        emitKdsEvent(emit, ticket.tenantId, { kind: 'ORDER_COMPLETE', ticket: view, at: now });
      return view;
    });
  }

  /** Takes the ticket off the display; the order's last bump makes the order READY and tells the floor staff. */
  async bumpTicket(principal: Principal, ticketId: string): Promise<KdsTicketView> {
    requirePermission(principal, 'kds.use');
    const fast = await bumpInOneStatement(this.deps.publisher, principal, ticketId);
    if (fast) return fast;
    return this.deps.publisher.run(async (tx, emit) => {
      const { ticket, order } = await this.loadTicketForKitchen(tx, principal, ticketId);
      if (ticket.status === 'BUMPED') throw badInput('The ticket is already bumped', { ticketId });
      const now = new Date();
      await this.updateTicket(tx, ticket, {
        status: 'BUMPED',
        bumpedAt: now,
        readyAt: ticket.readyAt ?? now,
      });
      await tx.orderItem.updateMany({
        where: { ticketId: ticket.id, status: { not: 'READY' } },
        data: { status: 'READY', readyAt: now },
      });
      const view = await loadTicketView(tx, ticket.tenantId, ticket.id);
      emitKdsEvent(emit, ticket.tenantId, { kind: 'BUMPED', ticket: view, at: now });
      // The order locked before its tickets are counted (ticket, its items, then order: the fast path's order), so
      // bumps of one order serialise here and the last one counts every other as BUMPED.
      await tx.$queryRaw`SELECT 1 FROM "Order" WHERE "id" = ${order.id} FOR UPDATE`;
      const stillOpen = await tx.kdsTicket.count({ where: { orderId: order.id, status: { not: 'BUMPED' } } });
      if (stillOpen === 0 && kitchenBumpMovesOrder(order.status)) {
        const ready = await moveOrderStatus(tx, emit, { order, to: 'READY', at: now });
        await followOrderAtTable(tx, emit, { ...ready, tenantId: order.tenantId }, 'ORDER_UPDATED', now);
        await raiseNotification(tx, emit, orderReadyNotification(order, principal.userId));
      }
      return view;
    });
  }

  /** Brings a bumped ticket back; a READY order goes back IN_PROGRESS. */
  async recallTicket(principal: Principal, ticketId: string): Promise<KdsTicketView> {
    requirePermission(principal, 'kds.use');
    return this.deps.publisher.run(async (tx, emit) => {
      const { ticket, order } = await this.loadTicketForKitchen(tx, principal, ticketId);
      if (ticket.status !== 'BUMPED') throw badInput('Only a bumped ticket can be recalled', { ticketId });
      const now = new Date();
      await this.updateTicket(tx, ticket, { status: 'IN_PROGRESS', bumpedAt: null, recalledAt: now });
      const view = await loadTicketView(tx, ticket.tenantId, ticket.id);
      emitKdsEvent(emit, ticket.tenantId, { kind: 'RECALLED', ticket: view, alert: 'RECALLED', at: now });
      if (order.status === 'READY') {
        const reopened = await moveOrderStatus(tx, emit, { order, to: 'IN_PROGRESS', at: now });
        await followOrderAtTable(tx, emit, { ...reopened, tenantId: order.tenantId }, 'ORDER_UPDATED', now);
      }
      return view;
    });
  }

  /**
   * Marks open tickets that passed their station's target time and announces each with a LATE alert.
   * `lateAt` is set by a conditional update, so a ticket is announced once even with several instances
   * sweeping. Returns how many tickets became late.
   */
  async sweepLate(now: Date = new Date()): Promise<number> {
    const candidates = await this.deps.db.kdsTicket.findMany({
      where: { status: { not: 'BUMPED' }, lateAt: null },
      select: { id: true, firedAt: true, station: { select: { targetSeconds: true } } },
      orderBy: { firedAt: 'asc' },
    });
    const due = candidates
      .filter((ticket) => now.getTime() - ticket.firedAt.getTime() > ticket.station.targetSeconds * 1000)
      .map((ticket) => ticket.id);
    if (due.length === 0) return 0;
    return this.deps.publisher.run(async (tx, emit) => {
      let marked = 0;
      for (const id of due) {
        const updated = await tx.kdsTicket.updateMany({
          where: { id, lateAt: null, status: { not: 'BUMPED' } },
          data: { lateAt: now },
        });
        if (updated.count === 0) continue;
        marked += 1;
        const row = await tx.kdsTicket.findUniqueOrThrow({ where: { id }, select: { tenantId: true } });
        const ticket = await loadTicketView(tx, row.tenantId, id);
        emitKdsEvent(emit, row.tenantId, { kind: 'LATE', ticket, alert: 'LATE', at: now });
      }
      return marked;
    });
  }

  /**
   * Events of the station's tickets (an expo station: of every ticket in its store) from `after` on,
   * each checked again before delivery.
   */
  async ticketsPlan(principal: Principal, stationId: string, after?: string | null): Promise<TicketsPlan> {
    requirePermission(principal, 'kds.use');
    const station = await requireWatchableStation(this.deps.db, principal, stationId);
    const expo = station.kind === 'EXPO';
    const topic = expo
      ? topics.storeKds(principal.tenantId, station.storeId)
      : topics.stationKds(principal.tenantId, station.id);
    return {
      streamKey: topic,
      topics: [topic],
      after: after ?? null,
      key: { viewer: authorizationScope(principal), stationId: station.id, storeId: station.storeId, expo },
      select: selectKdsEvent,
    };
  }

  /** ticketsPlan as a private stream. */
  async subscribeTickets(
    principal: Principal,
    stationId: string,
    after?: string | null,
  ): Promise<AsyncIterableIterator<KdsStreamEvent>> {
    return openPlanStream(this.deps.streams, await this.ticketsPlan(principal, stationId, after));
  }

  start(): void {
    if (this.sweeper) return;
    this.sweeper = setInterval(() => this.sweepInBackground(), this.sweepIntervalMs);
    this.sweeper.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.sweeper);
    this.sweeper = undefined;
    await this.sweeping;
  }

  private sweepInBackground(): void {
    if (this.sweeping) return;
    this.sweeping = this.sweepLate()
      .catch((error: unknown) => this.deps.logger.warn({ err: error }, 'late ticket sweep failed'))
      .finally(() => {
        this.sweeping = undefined;
      });
  }

  private async loadItemForKitchen(tx: Tx, principal: Principal, itemId: string) {
    const item = await tx.orderItem.findFirst({ where: { id: itemId, tenantId: principal.tenantId } });
    if (!item?.ticketId) throw notFound('Item', itemId);
    const context = await this.loadTicketForKitchen(tx, principal, item.ticketId);
    return { item, ...context };
  }

  /** The ticket and its order, if the caller may work on it and the order is still open. */
  private async loadTicketForKitchen(tx: Tx, principal: Principal, ticketId: string): Promise<TicketContext> {
    const ticket = await tx.kdsTicket.findFirst({
      where: { id: ticketId, tenantId: principal.tenantId },
      include: { order: { select: { id: true, tenantId: true, storeId: true, number: true, status: true } } },
    });
    if (!ticket) throw notFound('Ticket', ticketId);
    // No id in the message: reached through an item, the ticket id is not one the caller named.
    if (!(await this.mayWorkOn(tx, principal, ticket))) throw forbidden('No access to this kitchen ticket');
    const { order, ...rest } = ticket;
    if (isTerminal(order.status)) throw badInput(`Order #${order.number} is ${order.status}`, { ticketId });
    return { ticket: rest, order };
  }

  /** Its own station's device, anyone with the store who is not bound to stations, or the store's expo device. */
  private async mayWorkOn(tx: Tx, principal: Principal, ticket: { stationId: string; storeId: string }) {
    if (canWatchStation(principal, { id: ticket.stationId, storeId: ticket.storeId })) return true;
    if (!canAccessStore(principal, ticket.storeId) || principal.stations.length === 0) return false;
    const expo = await tx.station.count({
      where: {
        id: { in: [...principal.stations] },
        tenantId: principal.tenantId,
        storeId: ticket.storeId,
        kind: 'EXPO',
      },
    });
    return expo > 0;
  }

  /** Conditional on the status the item was read with, so concurrent taps cannot both win. */
  private async updateItem(
    tx: Tx,
    item: OrderItem,
    data: Prisma.OrderItemUpdateManyMutationInput,
  ): Promise<void> {
    const updated = await tx.orderItem.updateMany({ where: { id: item.id, status: item.status }, data });
    if (updated.count === 0) throw new DomainError('CONFLICT', 'The item changed meanwhile; try again');
  }

  private async updateTicket(
    tx: Tx,
    ticket: KdsTicket,
    data: Prisma.KdsTicketUpdateManyMutationInput,
  ): Promise<void> {
    const updated = await tx.kdsTicket.updateMany({ where: { id: ticket.id, status: ticket.status }, data });
    if (updated.count === 0) throw new DomainError('CONFLICT', 'The ticket changed meanwhile; try again');
  }

  /** First work on a ticket starts it, and starts a not-yet-started order. */
  private async startWork(tx: Tx, emit: Emit, context: TicketContext, now: Date): Promise<void> {
    const { ticket, order } = context;
    if (ticket.status === 'OPEN') {
      await tx.kdsTicket.update({
        where: { id: ticket.id },
        data: { status: 'IN_PROGRESS', startedAt: now },
      });
    }
    if (kitchenStartMovesOrder(order.status)) {
      const started = await moveOrderStatus(tx, emit, { order, to: 'IN_PROGRESS', at: now });
      await followOrderAtTable(tx, emit, { ...started, tenantId: order.tenantId }, 'ORDER_UPDATED', now);
    }
  }
}
