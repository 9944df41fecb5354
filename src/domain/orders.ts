import { requirePermission } from '../auth/permissions';
import { authorizationScope, canSeeOrder, isCustomerOnly, isTableGuest } from '../auth/policy';
import type { Principal } from '../auth/principal';
import type { Db, Tx } from '../db/types';
import { badInput, DomainError, forbidden, notFound } from '../errors';
import type { Prisma } from '../generated/prisma/client';
import type { OrderChannel, OrderStatus } from '../generated/prisma/enums';
import { INT_COLUMN_MAX } from './column-ranges';
import { consumeStockForOrder, releaseStockForOrder } from './inventory-stock';
import { raiseNotification } from './notification-records';
import { PlacementCache, placeOrderInOneStatement } from './order-fast-path';
import {
  type CreateOrderInput,
  draftOrder,
  insertOrder,
  loadOrderableProducts,
  ORDER_LIMITS,
  sumByProduct,
  takeOrderNumber,
  validateOrderInput,
} from './order-placement';
import {
  closeOpenTickets,
  emitKdsEvent,
  emitOrderEvent,
  isRush,
  loadOrderView,
  moveOrderStatus,
  type OrderEventPayload,
  type OrderView,
  orderInclude,
  toOrderView,
} from './order-records';
import { assertTransition } from './order-status';
import { moveOrderInOneStatement, payInOneStatement } from './order-status-fast-path';
import type { ServiceDeps } from './services';
import { requireStore } from './stores';
import { openPlanStream, type Selector, type SubscriptionPlan, type Viewer } from './subscription-plans';
import {
  assertGuestParty,
  guestSeatingOf,
  orderAtGuestTable,
  orderStreamOf,
  requireGuestTable,
} from './table-guests';
import { followOrderAtTable, tableForNewOrder } from './table-records';
import { fitsCharacters } from './text';

export {
  type CreateOrderInput,
  ORDER_LIMITS,
  type OrderItemInput,
  validateOrderInput,
} from './order-placement';

const CUSTOMER_CHANNELS: readonly OrderChannel[] = ['ONLINE', 'KIOSK'];

export interface OrdersQuery {
  storeId: string;
  status?: OrderStatus | null;
  first?: number | null;
  after?: string | null;
}

export interface Connection<T> {
  edges: { cursor: string; node: T }[];
  pageInfo: {
    hasNextPage: boolean;
    hasPreviousPage: boolean;
    startCursor: string | null;
    endCursor: string | null;
  };
}

/** An order event as a subscriber receives it. */
export interface OrderStreamEvent extends OrderEventPayload {
  cursor: string;
}

/** What an order subscription's events depend on: who watches, and for a table guest its party's seating. */
export interface OrdersKey {
  viewer: Viewer;
  /** The seating a table guest follows (null: none, so nothing); null for everyone else too. */
  guestSeating: string | null;
}

export type OrdersPlan = SubscriptionPlan<OrdersKey, OrderEventPayload, OrderStreamEvent>;

const selectOrderEvent: Selector<OrdersKey, OrderEventPayload, OrderStreamEvent> =
  ({ viewer, guestSeating }) =>
  (event) => {
    if (event.tenantId !== viewer.tenantId || !event.kind.startsWith('order.')) return undefined;
    if (!canSeeOrder(viewer, event.payload.order, guestSeating)) return undefined;
    return { ...event.payload, cursor: event.cursor };
  };

/** UPDATED events of one order replace each other within the window; every other kind is delivered as is. */
const updatesOfOneOrder = (event: OrderStreamEvent) => (event.kind === 'UPDATED' ? event.order.id : null);

export interface OrderServiceOptions {
  /** Window in which bursts of UPDATED events of one order collapse into the newest (0 disables). */
  updateCoalesceMs?: number;
}

/** The order if the caller may see it; another tenant's or another customer's order does not exist. */
export async function requireVisibleOrder(db: Db | Tx, principal: Principal, orderId: string) {
  const order = await db.order.findFirst({ where: { id: orderId, tenantId: principal.tenantId } });
  if (!order || !canSeeOrder(principal, order, await guestSeatingOf(db, principal))) {
    throw notFound('Order', orderId);
  }
  return order;
}

const encodeCursor = (orderNumber: number) => Buffer.from(`order:${orderNumber}`).toString('base64url');

/** Order numbers are positive and fit their int column; anything else was not minted here. */
function decodeCursor(cursor: string): number {
  const match = /^order:([1-9][0-9]{0,9})$/.exec(Buffer.from(cursor, 'base64url').toString());
  const number = Number(match?.[1]);
  if (!match || number > INT_COLUMN_MAX)
    throw badInput('Invalid cursor', { field: 'after', reason: 'INVALID_CURSOR' });
  return number;
}

export class OrderService {
  private readonly updateCoalesceMs: number;
  /** What the one-statement createOrder relies on (checked by the statement itself): order-fast-path.ts. */
  private readonly placement = new PlacementCache();

  constructor(
    private readonly deps: ServiceDeps,
    options: OrderServiceOptions = {},
  ) {
    this.updateCoalesceMs = options.updateCoalesceMs ?? 250;
  }

  async createOrder(principal: Principal, input: CreateOrderInput): Promise<OrderView> {
    requirePermission(principal, 'order.create');
    const guest = isTableGuest(principal) ? await requireGuestTable(this.deps.db, principal) : null;
    if (guest) input = orderAtGuestTable(guest, input);
    const lines = validateOrderInput(input);
    const customerOnly = isCustomerOnly(principal);
    if (customerOnly && !guest && !CUSTOMER_CHANNELS.includes(input.channel)) {
      throw badInput(`Customers order through ${CUSTOMER_CHANNELS.join(' or ')}`, { field: 'channel' });
    }
    // A customer's HIGH or URGENT would ring as RUSH in the kitchen: priority is the staff's call.
    if (customerOnly && (input.priority ?? 'NORMAL') !== 'NORMAL') {
      throw forbidden("Customers cannot set an order's priority", { field: 'priority' });
    }
    const tenantId = principal.tenantId;
    if (!guest && (customerOnly || !input.customerId)) {
      const customerId = customerOnly ? principal.userId : null;
      const args = { principal, input, lines, customerId };
      const placed = await placeOrderInOneStatement(this.deps.publisher, this.placement, args);
      if (placed) return placed;
    }
    return this.deps.publisher.run(async (tx, emit) => {
      const { store, number } = await takeOrderNumber(tx, principal, input.storeId);
      this.placement.rememberStore(tenantId, store);
      const table =
        input.channel === 'TABLE'
          ? await tableForNewOrder(tx, {
              tenantId,
              storeId: store.id,
              tableNumber: input.tableNumber as number,
            })
          : null;
      if (guest && table) assertGuestParty(guest, table);
      const products = await loadOrderableProducts(tx, tenantId, store.id, lines);
      this.placement.rememberProducts(tenantId, store.id, products);
      // A guest's order is the table's, not a customer account's.
      const customerId = guest
        ? null
        : customerOnly
          ? principal.userId
          : await this.checkedCustomer(tx, tenantId, input.customerId);
      const { order, tickets } = draftOrder({
        tenantId,
        store,
        number,
        input,
        customerId,
        table,
        lines,
        products,
        now: new Date(),
      });
      await insertOrder(tx, tenantId, order, tickets);
      await consumeStockForOrder(tx, emit, {
        tenantId,
        storeId: store.id,
        orderId: order.id,
        actorId: principal.userId,
        lines: sumByProduct(lines),
      });
      const at = new Date(order.createdAt);
      emitOrderEvent(emit, tenantId, { kind: 'CREATED', order, at });
      for (const ticket of tickets) {
        emitKdsEvent(emit, tenantId, {
          kind: 'ORDER_INCOMING',
          ticket,
          alert: isRush(ticket.priority) ? 'RUSH' : 'NEW_TICKET',
          at,
        });
      }
      await followOrderAtTable(tx, emit, { ...order, tenantId }, 'ORDER_ADDED', at);
      return order;
    });
  }

  async updateOrderStatus(principal: Principal, orderId: string, status: OrderStatus): Promise<OrderView> {
    requirePermission(principal, 'order.updateStatus');
    if (status === 'CANCELLED') return this.cancel(principal, orderId, null);
    const moved = await moveOrderInOneStatement(this.deps.publisher, principal, orderId, status);
    if (moved) return moved;
    return this.deps.publisher.run(async (tx, emit) => {
      const order = await requireVisibleOrder(tx, principal, orderId);
      assertTransition(order.status, status);
      const now = new Date();
      const view = await moveOrderStatus(tx, emit, { order, to: status, at: now });
      if (status === 'COMPLETED')
        await closeOpenTickets(tx, emit, { tenantId: order.tenantId, orderId, at: now });
      await followOrderAtTable(tx, emit, { ...view, tenantId: order.tenantId }, 'ORDER_UPDATED', now);
      return view;
    });
  }

  async cancelOrder(principal: Principal, orderId: string, reason: string): Promise<OrderView> {
    requirePermission(principal, 'order.cancel');
    const trimmed = reason.trim();
    if (trimmed.length === 0 || !fitsCharacters(trimmed, ORDER_LIMITS.maxReasonLength)) {
      throw badInput(`reason must be 1 to ${ORDER_LIMITS.maxReasonLength} characters`, { field: 'reason' });
    }
    return this.cancel(principal, orderId, trimmed);
  }

  async recordPayment(principal: Principal, orderId: string, amountCents: number): Promise<OrderView> {
    requirePermission(principal, 'order.recordPayment');
    if (!Number.isInteger(amountCents) || amountCents <= 0) {
      throw badInput('amount must be a positive integer of minor units', { field: 'amount' });
    }
    const paid = await payInOneStatement(this.deps.publisher, principal, orderId, amountCents);
    if (paid) return paid;
    return this.deps.publisher.run(async (tx, emit) => {
      const order = await requireVisibleOrder(tx, principal, orderId);
      if (order.status === 'CANCELLED')
        throw badInput('A cancelled order takes no payments', { field: 'orderId' });
      const remaining = order.totalCents - order.paidCents;
      if (amountCents > remaining) {
        throw badInput(`amount exceeds the remaining balance of ${remaining}`, {
          field: 'amount',
          remaining,
        });
      }
      const now = new Date();
      const updated = await tx.order.updateMany({
        where: { id: order.id, paidCents: order.paidCents },
        data: { paidCents: { increment: amountCents }, updatedAt: now },
      });
      if (updated.count === 0) throw new DomainError('CONFLICT', 'The order changed meanwhile; try again');
      await tx.payment.create({
        data: { tenantId: order.tenantId, orderId: order.id, amountCents, createdAt: now },
      });
      const view = await loadOrderView(tx, order.tenantId, order.id);
      const kind = view.paidCents === view.totalCents ? 'PAID' : 'UPDATED';
      emitOrderEvent(emit, order.tenantId, { kind, order: view, at: now });
      await followOrderAtTable(tx, emit, { ...view, tenantId: order.tenantId }, 'ORDER_UPDATED', now);
      return view;
    });
  }

  async order(principal: Principal, orderId: string): Promise<OrderView> {
    const order = await requireVisibleOrder(this.deps.db, principal, orderId);
    return loadOrderView(this.deps.db, principal.tenantId, order.id);
  }

  /** Orders of a store, newest first; customers get only their own. */
  async orders(principal: Principal, query: OrdersQuery): Promise<Connection<OrderView>> {
    const store = await requireStore(this.deps.db, principal, query.storeId);
    const first = query.first ?? ORDER_LIMITS.defaultPageSize;
    if (!Number.isInteger(first) || first < 1 || first > ORDER_LIMITS.maxPageSize) {
      throw badInput(`first must be from 1 to ${ORDER_LIMITS.maxPageSize}`, { field: 'first' });
    }
    const where: Prisma.OrderWhereInput = { tenantId: principal.tenantId, storeId: store.id };
    if (query.status) where.status = query.status;
    const guestSeating = await guestSeatingOf(this.deps.db, principal);
    if (isTableGuest(principal)) {
      where.tableId = principal.table;
      where.seatingId = guestSeating ?? { in: [] };
    } else if (isCustomerOnly(principal)) where.customerId = principal.userId;
    if (query.after) where.number = { lt: decodeCursor(query.after) };
    const rows = await this.deps.db.order.findMany({
      where,
      include: orderInclude,
      orderBy: { number: 'desc' },
      take: first + 1,
    });
    const page = rows.slice(0, first);
    const edges = page.map((row) => ({ cursor: encodeCursor(row.number), node: toOrderView(row) }));
    return {
      edges,
      pageInfo: {
        hasNextPage: rows.length > first,
        hasPreviousPage: Boolean(query.after),
        startCursor: edges[0]?.cursor ?? null,
        endCursor: edges.at(-1)?.cursor ?? null,
      },
    };
  }

  /**
   * The store's order events the caller may see (customers: their own orders; a table guest its party's), from
   * `after` on. Every event is checked again before delivery; bursts of UPDATED events of one order are coalesced.
   */
  async ordersPlan(principal: Principal, storeId: string, after?: string | null): Promise<OrdersPlan> {
    const store = await requireStore(this.deps.db, principal, storeId, { cached: true });
    const { topic, streamKey, guestSeating } = await orderStreamOf(this.deps.db, principal, store.id);
    return {
      streamKey,
      topics: [topic],
      after: after ?? null,
      key: { viewer: authorizationScope(principal), guestSeating: guestSeating ?? null },
      select: selectOrderEvent,
      coalesce: { windowMs: this.updateCoalesceMs, coalesceKey: updatesOfOneOrder },
    };
  }

  /** ordersPlan as a private stream. */
  async subscribeOrders(
    principal: Principal,
    storeId: string,
    after?: string | null,
  ): Promise<AsyncIterableIterator<OrderStreamEvent>> {
    return openPlanStream(this.deps.streams, await this.ordersPlan(principal, storeId, after));
  }

  private cancel(principal: Principal, orderId: string, reason: string | null): Promise<OrderView> {
    return this.deps.publisher.run(async (tx, emit) => {
      const order = await requireVisibleOrder(tx, principal, orderId);
      assertTransition(order.status, 'CANCELLED');
      const now = new Date();
      const view = await moveOrderStatus(tx, emit, {
        order,
        to: 'CANCELLED',
        at: now,
        data: { cancelReason: reason },
      });
      await closeOpenTickets(tx, emit, { tenantId: order.tenantId, orderId, at: now });
      await releaseStockForOrder(tx, emit, {
        tenantId: order.tenantId,
        storeId: order.storeId,
        orderId,
        actorId: principal.userId,
      });
      await raiseNotification(tx, emit, {
        tenantId: order.tenantId,
        audience: 'ROLE',
        targetRole: 'KITCHEN',
        targetStoreId: order.storeId,
        kind: 'ORDER_CANCELLED',
        severity: 'HIGH',
        title: `Order #${order.number} cancelled`,
        body: reason ?? 'The order was cancelled.',
        data: { orderId, orderNumber: order.number },
        createdById: principal.userId,
      });
      await followOrderAtTable(tx, emit, { ...view, tenantId: order.tenantId }, 'ORDER_UPDATED', now);
      return view;
    });
  }

  private async checkedCustomer(
    tx: Tx,
    tenantId: string,
    customerId?: string | null,
  ): Promise<string | null> {
    if (!customerId) return null;
    const customer = await tx.user.findFirst({ where: { id: customerId, tenantId }, select: { id: true } });
    if (!customer) throw notFound('Customer', customerId);
    return customer.id;
  }
}
