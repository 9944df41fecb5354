import { randomUUID } from 'node:crypto';
import { canAccessStore } from '../auth/policy';
import type { Principal } from '../auth/principal';
import type { Tx } from '../db/types';
import { badInput, forbidden, notFound } from '../errors';
import { Prisma } from '../generated/prisma/client';
import type { OrderChannel, Severity, StationKind } from '../generated/prisma/enums';
import { INT_COLUMN_MAX } from './column-ranges';
import type { KdsTicketView, OrderItemView, OrderView } from './order-records';
import type { StoreView } from './stores';
import { fitsCharacters } from './text';

/**
 * Placing an order, the steps that need no service: the input's shape checks, the store's next number, the
 * orderable products, the total, the order and its kitchen tickets as drafted, and their insert (orders.ts runs
 * them in one transaction).
 */

export const ORDER_LIMITS = {
  maxLines: 100,
  maxQuantity: 99,
  maxNotesLength: 200,
  maxTableNumber: 999,
  maxReasonLength: 200,
  maxPageSize: 100,
  defaultPageSize: 20,
} as const;

export interface OrderItemInput {
  productId: string;
  quantity: number;
  notes?: string | null;
}

export interface CreateOrderInput {
  storeId: string;
  channel: OrderChannel;
  tableNumber?: number | null;
  customerId?: string | null;
  priority?: Severity | null;
  items: readonly OrderItemInput[];
}

export interface ValidLine {
  productId: string;
  quantity: number;
  notes: string | null;
}

/** Shape checks that need no database; throws BAD_USER_INPUT naming the offending field. */
export function validateOrderInput(input: CreateOrderInput): ValidLine[] {
  if (input.items.length === 0) throw badInput('An order needs at least one item', { field: 'items' });
  if (input.items.length > ORDER_LIMITS.maxLines) {
    throw badInput(`An order has at most ${ORDER_LIMITS.maxLines} lines`, { field: 'items' });
  }
  if (input.tableNumber != null) {
    const table = input.tableNumber;
    if (!Number.isInteger(table) || table < 1 || table > ORDER_LIMITS.maxTableNumber) {
      throw badInput(`tableNumber must be an integer from 1 to ${ORDER_LIMITS.maxTableNumber}`, {
        field: 'tableNumber',
      });
    }
  } else if (input.channel === 'TABLE') {
    throw badInput('A TABLE order needs a tableNumber', { field: 'tableNumber' });
  }
  return input.items.map((item, index) => validateLine(item, index));
}

function validateLine(item: OrderItemInput, index: number): ValidLine {
  const field = `items.${index}`;
  if (!Number.isInteger(item.quantity) || item.quantity < 1 || item.quantity > ORDER_LIMITS.maxQuantity) {
    throw badInput(`quantity must be an integer from 1 to ${ORDER_LIMITS.maxQuantity}`, {
      field: `${field}.quantity`,
    });
  }
  const notes = item.notes?.trim() || null;
  if (notes && !fitsCharacters(notes, ORDER_LIMITS.maxNotesLength)) {
    throw badInput(`notes are at most ${ORDER_LIMITS.maxNotesLength} characters`, {
      field: `${field}.notes`,
    });
  }
  return { productId: item.productId, quantity: item.quantity, notes };
}

export function sumByProduct(lines: ValidLine[]): { productId: string; quantity: number }[] {
  const totals = new Map<string, number>();
  for (const line of lines) totals.set(line.productId, (totals.get(line.productId) ?? 0) + line.quantity);
  return [...totals].map(([productId, quantity]) => ({ productId, quantity }));
}

/**
 * Takes the store's next order number, row-locking the store until commit so concurrent orders get
 * consecutive numbers; the store must be the caller's (as requireStore checks). One statement for both.
 */
export async function takeOrderNumber(tx: Tx, principal: Principal, storeId: string) {
  const rows = await tx.$queryRaw<Array<StoreView & { number: number }>>`
    UPDATE "Store" SET "nextOrderNumber" = "nextOrderNumber" + 1
    WHERE "id" = ${storeId} AND "tenantId" = ${principal.tenantId}
    RETURNING "id", "name", "currency", "timezone", "nextOrderNumber" - 1 AS "number"`;
  const row = rows[0];
  if (!row) throw notFound('Store', storeId);
  if (!canAccessStore(principal, row.id)) throw forbidden(`No access to store ${storeId}`);
  const { number, ...store } = row;
  return { store, number };
}

export interface OrderableProduct {
  id: string;
  stationId: string;
  name: string;
  priceCents: number;
  active: boolean;
  available: boolean;
  soldOut: boolean;
  unavailableReason: string | null;
  stationKind: StationKind;
  targetSeconds: number;
}

/**
 * Products of the lines with their stations, each of this store, on the menu and available (BAD_USER_INPUT
 * naming the product otherwise); unknown or foreign ids are NOT_FOUND. Their current price is what the order keeps.
 */
export async function loadOrderableProducts(tx: Tx, tenantId: string, storeId: string, lines: ValidLine[]) {
  const ids = [...new Set(lines.map((line) => line.productId))];
  const rows = await tx.$queryRaw<OrderableProduct[]>`
    SELECT p."id", p."stationId", p."name", p."priceCents", p."active", p."available", p."soldOut",
           p."unavailableReason", s."kind"::text AS "stationKind", s."targetSeconds"
    FROM "Product" p JOIN "Station" s ON s."id" = p."stationId"
    WHERE p."tenantId" = ${tenantId} AND p."storeId" = ${storeId} AND p."id" = ANY(${ids}::text[])`;
  const products = new Map(rows.map((product) => [product.id, product]));
  for (const id of ids) {
    const product = products.get(id);
    if (!product) throw notFound('Product', id);
    const details = {
      productId: id,
      field: `items.${lines.findIndex((line) => line.productId === id)}.productId`,
    };
    if (!product.active) throw badInput(`${product.name} is no longer on the menu`, details);
    if (product.soldOut) throw badInput(`${product.name} is out of stock`, { ...details, available: 0 });
    if (!product.available) {
      const reason = product.unavailableReason ? `: ${product.unavailableReason}` : '';
      throw badInput(`${product.name} is not available${reason}`, {
        ...details,
        reason: product.unavailableReason,
      });
    }
  }
  return products;
}

/**
 * The new order and its kitchen tickets (one per station, in the order stations first appear in the
 * lines) as they will read back once inserted: built here rather than re-read, which saved six queries.
 */
/** The sum of the lines, refused when the order's total column could not hold it (prices reach 1,000,000.00). */
function orderTotal(items: readonly OrderItemView[]): number {
  const total = items.reduce((sum, item) => sum + item.unitPriceCents * item.quantity, 0);
  if (total > INT_COLUMN_MAX) {
    throw badInput(`The order comes to ${total} minor units; an order totals at most ${INT_COLUMN_MAX}`, {
      field: 'items',
      totalCents: total,
      max: INT_COLUMN_MAX,
    });
  }
  return total;
}

export function draftOrder(args: {
  tenantId: string;
  store: StoreView;
  number: number;
  input: CreateOrderInput;
  customerId: string | null;
  table: { id: string; seatingId: string } | null;
  lines: ValidLine[];
  products: Map<string, OrderableProduct>;
  now: Date;
}): { order: OrderView; tickets: KdsTicketView[] } {
  const { store, number, input, customerId, table, lines, products, now } = args;
  const orderId = randomUUID();
  const priority = input.priority ?? 'NORMAL';
  const at = now.toISOString();
  const tickets = new Map<string, KdsTicketView>();
  const items: OrderItemView[] = lines.map((line, index) => {
    const product = products.get(line.productId)!;
    let ticket = tickets.get(product.stationId);
    if (!ticket) {
      ticket = {
        id: randomUUID(),
        orderId,
        orderNumber: number,
        storeId: store.id,
        stationId: product.stationId,
        stationKind: product.stationKind,
        status: 'OPEN',
        priority,
        channel: input.channel,
        tableNumber: input.tableNumber ?? null,
        customerId,
        items: [],
        firedAt: at,
        startedAt: null,
        readyAt: null,
        bumpedAt: null,
        recalledAt: null,
        lateAt: null,
        targetSeconds: product.targetSeconds,
      };
      tickets.set(product.stationId, ticket);
    }
    // Ids sort in line order, so items read back in the order they were entered.
    const id = `${orderId}-${String(index).padStart(3, '0')}`;
    const { quantity, notes } = line;
    ticket.items.push({ id, productId: product.id, name: product.name, quantity, notes, status: 'PENDING' });
    return {
      id,
      productId: product.id,
      ticketId: ticket.id,
      name: product.name,
      quantity,
      unitPriceCents: product.priceCents,
      notes,
      status: 'PENDING',
    };
  });
  const order: OrderView = {
    id: orderId,
    number,
    storeId: store.id,
    status: 'PENDING',
    channel: input.channel,
    tableNumber: input.tableNumber ?? null,
    tableId: table?.id ?? null,
    seatingId: table?.seatingId ?? null,
    customerId,
    priority,
    items,
    totalCents: orderTotal(items),
    paidCents: 0,
    currency: store.currency,
    cancelReason: null,
    createdAt: at,
    updatedAt: at,
    readyAt: null,
    completedAt: null,
    cancelledAt: null,
  };
  return { order, tickets: [...tickets.values()] };
}

/** The order, its tickets and its items in one statement (three inserts; foreign keys are checked at its end). */
export async function insertOrder(tx: Tx, tenantId: string, order: OrderView, tickets: KdsTicketView[]) {
  const at = Prisma.sql`(${order.createdAt}::timestamptz AT TIME ZONE 'UTC')`;
  const ticketRows = tickets.map(
    (ticket) =>
      Prisma.sql`(${ticket.id}, ${tenantId}, ${order.storeId}, ${ticket.stationId}, ${order.id}, 'OPEN'::"TicketStatus", ${order.priority}::"Severity", ${at})`,
  );
  const itemRows = order.items.map(
    (item) =>
      Prisma.sql`(${item.id}, ${tenantId}, ${order.id}, ${item.productId}, ${item.ticketId}, ${item.name}, ${item.quantity}::int, ${item.unitPriceCents}::int, ${item.notes}, 'PENDING'::"ItemStatus")`,
  );
  await tx.$executeRaw`
    WITH "order" AS (
      INSERT INTO "Order" ("id", "tenantId", "storeId", "number", "status", "channel", "tableNumber", "tableId",
        "seatingId", "customerId", "priority", "totalCents", "paidCents", "currency", "createdAt", "updatedAt")
      VALUES (${order.id}, ${tenantId}, ${order.storeId}, ${order.number}::int, 'PENDING'::"OrderStatus",
        ${order.channel}::"OrderChannel", ${order.tableNumber}::int, ${order.tableId}, ${order.seatingId},
        ${order.customerId}, ${order.priority}::"Severity", ${order.totalCents}::int, 0, ${order.currency}, ${at}, ${at})
    ), "tickets" AS (
      INSERT INTO "KdsTicket" ("id", "tenantId", "storeId", "stationId", "orderId", "status", "priority", "firedAt")
      VALUES ${Prisma.join(ticketRows)}
    )
    INSERT INTO "OrderItem" ("id", "tenantId", "orderId", "productId", "ticketId", "name", "quantity",
      "unitPriceCents", "notes", "status")
    VALUES ${Prisma.join(itemRows)}`;
}
