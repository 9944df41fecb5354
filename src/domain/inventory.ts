import { requirePermission } from '../auth/permissions';
import { authorizationScope, canAccessStore, hasAllStores } from '../auth/policy';
import type { Principal } from '../auth/principal';
import type { Tx } from '../db/types';
import { badInput, DomainError, forbidden, notFound } from '../errors';
import { topics } from '../events/topics';
import { type InventoryAlert, type InventoryItem, Prisma } from '../generated/prisma/client';
import type { AlertKind, AlertStatus, MovementReason, Severity } from '../generated/prisma/enums';
import { INT_COLUMN_MAX } from './column-ranges';
import { atLeast, evaluateStock, highestSeverity, openAlertKey, severityRank } from './inventory-alerts';
import { syncAvailabilityWithStock } from './menu-records';
import { type Emit, raiseNotification } from './notifications';
import type { ServiceDeps } from './services';
import { requireStore } from './stores';
import { openPlanStream, type Selector, type SubscriptionPlan, type Viewer } from './subscription-plans';
import { fitsCharacters } from './text';

/**
 * Stock per store: every change is a StockMovement written in the same transaction as the new quantity,
 * alert transitions (inventory-alerts.ts) and the events on the store's inventory topic.
 *
 * Concurrency: each change is one atomic `UPDATE ... SET quantity = quantity + delta`, which locks the item
 * row until commit. Concurrent changes of one item therefore run one after another, and each sees the
 * alerts the previous one committed; the unique openKey is the last line of defence against duplicates.
 */

export const INVENTORY_EVENT_KINDS = [
  'LOW_STOCK',
  'OUT_OF_STOCK',
  'RESTOCKED',
  'ADJUSTMENT',
  'TRANSFER_COMPLETE',
  'ACKNOWLEDGED',
] as const;
export type InventoryEventKind = (typeof INVENTORY_EVENT_KINDS)[number];

export interface InventoryItemView {
  id: string;
  storeId: string;
  productId: string;
  name: string;
  quantity: number;
  lowStockThreshold: number;
  /** Something left to sell. */
  available: boolean;
  updatedAt: string;
}

export interface InventoryAlertView {
  id: string;
  storeId: string;
  itemId: string;
  productId: string;
  kind: AlertKind;
  severity: Severity;
  status: AlertStatus;
  quantityAtRaise: number;
  createdAt: string;
  acknowledgedAt: string | null;
  acknowledgedById: string | null;
  resolvedAt: string | null;
}

/** Payload of every `inventory.<kind>` event on topics.storeInventory. */
export interface InventoryEventPayload {
  kind: InventoryEventKind;
  severity: Severity;
  item: InventoryItemView;
  alert: InventoryAlertView | null;
  occurredAt: string;
}

export interface InventoryAlertEventView extends InventoryEventPayload {
  cursor: string;
}

export interface InventoryTransferView {
  id: string;
  quantity: number;
  fromItem: InventoryItemView;
  toItem: InventoryItemView;
  createdAt: string;
}

export interface TransferInput {
  itemId: string;
  toStoreId: string;
  quantity: number;
  /** The destination item; by default the target store's item with the same name. */
  toItemId?: string | null;
}

export interface AlertSubscriptionArgs {
  storeId?: string | null;
  minSeverity?: Severity | null;
  productIds?: readonly string[] | null;
  after?: string | null;
}

/** What an inventory subscription's events depend on: who watches which stores, through which filters. */
export interface InventoryAlertsKey {
  viewer: Viewer;
  storeIds: string[];
  minSeverity: Severity | null;
  /** Sorted, without duplicates; null: every product. */
  productIds: string[] | null;
}

export type InventoryAlertsPlan = SubscriptionPlan<
  InventoryAlertsKey,
  InventoryEventPayload,
  InventoryAlertEventView
>;

const selectInventoryEvent: Selector<InventoryAlertsKey, InventoryEventPayload, InventoryAlertEventView> = (
  key,
) => {
  const { viewer, storeIds, minSeverity } = key;
  const productIds = key.productIds && new Set(key.productIds);
  return (event) => {
    const { item } = event.payload;
    if (event.tenantId !== viewer.tenantId || !storeIds.includes(item.storeId)) return undefined;
    if (!canAccessStore(viewer, item.storeId)) return undefined;
    if (!atLeast(event.payload.severity, minSeverity)) return undefined;
    if (productIds && !productIds.has(item.productId)) return undefined;
    return { ...event.payload, cursor: event.cursor };
  };
};

const MAX_REASON = 200;
/** Well below PostgreSQL's int range, so no single change can overflow a quantity by itself. */
const MAX_CHANGE = 1_000_000;
/** What the quantity column holds: restocks past it are refused, however many there are. */
const MAX_STOCK = INT_COLUMN_MAX;
const ALERT_LIST_LIMIT = 200;

export function itemView(item: InventoryItem): InventoryItemView {
  return {
    id: item.id,
    storeId: item.storeId,
    productId: item.productId,
    name: item.name,
    quantity: item.quantity,
    lowStockThreshold: item.lowStockThreshold,
    available: item.quantity > 0,
    updatedAt: item.updatedAt.toISOString(),
  };
}

export function alertView(alert: InventoryAlert, productId: string): InventoryAlertView {
  return {
    id: alert.id,
    storeId: alert.storeId,
    itemId: alert.inventoryItemId,
    productId,
    kind: alert.kind,
    severity: alert.severity,
    status: alert.status,
    quantityAtRaise: alert.quantityAtRaise,
    createdAt: alert.createdAt.toISOString(),
    acknowledgedAt: alert.acknowledgedAt?.toISOString() ?? null,
    acknowledgedById: alert.acknowledgedById,
    resolvedAt: alert.resolvedAt?.toISOString() ?? null,
  };
}

function emitInventoryEvent(
  emit: Emit,
  item: InventoryItem,
  kind: InventoryEventKind,
  severity: Severity,
  alert: InventoryAlertView | null = null,
): void {
  const payload: InventoryEventPayload = {
    kind,
    severity,
    item: itemView(item),
    alert,
    occurredAt: new Date().toISOString(),
  };
  emit({
    tenantId: item.tenantId,
    topic: topics.storeInventory(item.tenantId, item.storeId),
    kind: `inventory.${kind}`,
    payload,
  });
}

interface StockChange {
  itemId: string;
  delta: number;
  /** The argument a refusal names. */
  field?: string;
  reason: MovementReason;
  actorId: string | null;
  orderId?: string;
  transferId?: string;
  note?: string;
}

/**
 * Applies delta to the item (locking its row) and records the movement. A change that would take the
 * quantity below zero throws `refuse(quantityBefore)`, one that would take it past what the column holds a
 * BAD_USER_INPUT naming `change.field`; either rolls back the whole transaction.
 */
async function changeStock(
  tx: Tx,
  change: StockChange,
  refuse: (item: InventoryItem, quantityBefore: number) => Error,
): Promise<InventoryItem> {
  // Adding only where the result fits: the UPDATE matches no row instead of overflowing in PostgreSQL.
  const ceiling = change.delta > 0 ? { quantity: { lte: MAX_STOCK - change.delta } } : {};
  const item = await tx.inventoryItem
    .update({ where: { id: change.itemId, ...ceiling }, data: { quantity: { increment: change.delta } } })
    .catch(async (error: unknown) => {
      if (!(error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2025')) throw error;
      const full = await tx.inventoryItem.findUnique({ where: { id: change.itemId } });
      if (!full) throw error;
      throw badInput(
        `${full.name} holds ${full.quantity}: adding ${change.delta} would pass the most an item holds, ${MAX_STOCK}`,
        { field: change.field, quantity: full.quantity, max: MAX_STOCK },
      );
    });
  if (item.quantity < 0) throw refuse(item, item.quantity - change.delta);
  await tx.stockMovement.create({
    data: {
      tenantId: item.tenantId,
      storeId: item.storeId,
      inventoryItemId: item.id,
      delta: change.delta,
      quantityAfter: item.quantity,
      reason: change.reason,
      note: change.note ?? null,
      orderId: change.orderId ?? null,
      transferId: change.transferId ?? null,
      actorId: change.actorId,
    },
  });
  return item;
}

/**
 * Raises, dedups and resolves the item's alerts for its new quantity and announces each transition.
 * Returns true when the change resolved open alerts (a RESTOCKED event was emitted).
 */
async function applyAlertRules(
  tx: Tx,
  emit: Emit,
  item: InventoryItem,
  actorId: string | null,
  preloaded?: InventoryAlert[],
): Promise<boolean> {
  const unresolved =
    preloaded ??
    (await tx.inventoryAlert.findMany({ where: { inventoryItemId: item.id, openKey: { not: null } } }));
  const transition = evaluateStock(
    { quantity: item.quantity, threshold: item.lowStockThreshold },
    new Set(unresolved.map((alert) => alert.kind)),
  );
  if (transition.restocked) await resolveAlerts(tx, emit, item, unresolved);
  for (const { kind, severity } of transition.raise) {
    const openKey = openAlertKey(item.id, kind);
    const { count } = await tx.inventoryAlert.createMany({
      data: [
        {
          tenantId: item.tenantId,
          storeId: item.storeId,
          inventoryItemId: item.id,
          kind,
          severity,
          quantityAtRaise: item.quantity,
          openKey,
        },
      ],
      skipDuplicates: true,
    });
    if (count === 0) continue;
    const alert = alertView(
      await tx.inventoryAlert.findUniqueOrThrow({ where: { openKey } }),
      item.productId,
    );
    emitInventoryEvent(emit, item, kind, severity, alert);
    if (kind === 'OUT_OF_STOCK') await notifyManagersOutOfStock(tx, emit, item, actorId);
  }
  return transition.restocked;
}

async function resolveAlerts(
  tx: Tx,
  emit: Emit,
  item: InventoryItem,
  unresolved: InventoryAlert[],
): Promise<void> {
  const resolvedAt = new Date();
  await tx.inventoryAlert.updateMany({
    where: { id: { in: unresolved.map((alert) => alert.id) } },
    data: { status: 'RESOLVED', openKey: null, resolvedAt },
  });
  const mostSevere = unresolved.reduce((a, b) =>
    severityRank(b.severity) > severityRank(a.severity) ? b : a,
  );
  const closed = alertView({ ...mostSevere, status: 'RESOLVED', openKey: null, resolvedAt }, item.productId);
  emitInventoryEvent(emit, item, 'RESTOCKED', highestSeverity(unresolved.map((a) => a.severity)), closed);
}

async function notifyManagersOutOfStock(tx: Tx, emit: Emit, item: InventoryItem, actorId: string | null) {
  await raiseNotification(tx, emit, {
    tenantId: item.tenantId,
    audience: 'ROLE',
    targetRole: 'MANAGER',
    targetStoreId: item.storeId,
    kind: 'OUT_OF_STOCK',
    severity: 'URGENT',
    title: `${item.name} is out of stock`,
    body: `${item.name} ran out. Restock it or take it off the menu.`,
    data: { inventoryItemId: item.id, productId: item.productId, storeId: item.storeId },
    createdById: actorId ?? undefined,
  });
}

function requirePositiveInt(value: number, field: string): number {
  if (!Number.isInteger(value) || value < 1 || value > MAX_CHANGE) {
    throw badInput(`${field} must be a whole number from 1 to ${MAX_CHANGE}`, { field });
  }
  return value;
}

function insufficientStock(item: InventoryItem, left: number, requested: number): DomainError {
  const message = left <= 0 ? `${item.name} is out of stock` : `Only ${left} ${item.name} left`;
  return badInput(message, {
    productId: item.productId,
    itemId: item.id,
    available: Math.max(left, 0),
    requested,
  });
}

/**
 * Takes the stock an order needs (one SALE movement per product), inside the order's transaction.
 * Products without an inventory item are not stock-tracked and are skipped. Insufficient stock throws
 * BAD_USER_INPUT, so the whole order fails and nothing is taken.
 */
export async function consumeStockForOrder(
  tx: Tx,
  emit: Emit,
  args: {
    tenantId: string;
    storeId: string;
    orderId: string;
    actorId: string;
    lines: { productId: string; quantity: number }[];
  },
): Promise<void> {
  const wanted = new Map<string, number>();
  for (const line of args.lines) {
    requirePositiveInt(line.quantity, 'quantity');
    wanted.set(line.productId, (wanted.get(line.productId) ?? 0) + line.quantity);
  }
  if (wanted.size === 0) return;
  const items = await takeStockForSale(tx, { ...args, wanted });
  // The first item (in id order) that went below zero refuses the order, as one change at a time would.
  for (const { item, taken } of items) {
    if (item.quantity < 0) throw insufficientStock(item, item.quantity + taken, taken);
  }
  const open = await tx.inventoryAlert.findMany({
    where: { inventoryItemId: { in: items.map(({ item }) => item.id) }, openKey: { not: null } },
  });
  for (const { item, taken } of items) {
    const unresolved = open.filter((alert) => alert.inventoryItemId === item.id);
    await applyAlertRules(tx, emit, item, args.actorId, unresolved);
    await syncAvailabilityWithStock(tx, emit, item, item.quantity + taken);
  }
}

/**
 * One statement for what changeStock does per item (lock, decrement, SALE movement): an order's stock
 * used to cost three round trips per product. Rows are locked in id order, as consecutive changes did.
 */
async function takeStockForSale(
  tx: Tx,
  args: { tenantId: string; storeId: string; orderId: string; actorId: string; wanted: Map<string, number> },
): Promise<{ item: InventoryItem; taken: number }[]> {
  const wanted = [...args.wanted].map(
    ([productId, quantity]) => Prisma.sql`(${productId}, ${quantity}::int)`,
  );
  const at = Prisma.sql`(${new Date().toISOString()}::timestamptz AT TIME ZONE 'UTC')`;
  const rows = await tx.$queryRaw<Array<InventoryItem & { taken: number }>>`
    WITH "wanted" ("productId", "taken") AS (VALUES ${Prisma.join(wanted)}),
    "locked" AS MATERIALIZED (
      SELECT i."id", w."taken" FROM "InventoryItem" i JOIN "wanted" w ON w."productId" = i."productId"
      WHERE i."tenantId" = ${args.tenantId} AND i."storeId" = ${args.storeId}
      ORDER BY i."id" FOR UPDATE OF i
    ),
    "updated" AS (
      UPDATE "InventoryItem" i SET "quantity" = i."quantity" - l."taken", "updatedAt" = ${at}
      FROM "locked" l WHERE i."id" = l."id"
      RETURNING i."id", i."tenantId", i."storeId", i."productId", i."name", i."quantity",
        i."lowStockThreshold", i."updatedAt", l."taken"
    ),
    "movements" AS (
      INSERT INTO "StockMovement" ("id", "tenantId", "storeId", "inventoryItemId", "delta", "quantityAfter",
        "reason", "orderId", "actorId", "createdAt")
      SELECT gen_random_uuid()::text, u."tenantId", u."storeId", u."id", -u."taken", u."quantity",
        'SALE'::"MovementReason", ${args.orderId}, ${args.actorId}, ${at}
      FROM "updated" u
    )
    SELECT * FROM "updated" ORDER BY "id"`;
  return rows.map(({ taken, ...item }) => ({ item, taken }));
}

/** Gives back what a cancelled order's SALE movements took (SALE_REVERSAL); a second call changes nothing. */
export async function releaseStockForOrder(
  tx: Tx,
  emit: Emit,
  args: { tenantId: string; storeId: string; orderId: string; actorId: string },
): Promise<void> {
  const net = await tx.stockMovement.groupBy({
    by: ['inventoryItemId'],
    where: {
      tenantId: args.tenantId,
      storeId: args.storeId,
      orderId: args.orderId,
      reason: { in: ['SALE', 'SALE_REVERSAL'] },
    },
    _sum: { delta: true },
    orderBy: { inventoryItemId: 'asc' },
  });
  for (const row of net) {
    const taken = -(row._sum.delta ?? 0);
    if (taken <= 0) continue;
    const item = await changeStock(
      tx,
      {
        itemId: row.inventoryItemId,
        delta: taken,
        reason: 'SALE_REVERSAL',
        orderId: args.orderId,
        actorId: args.actorId,
      },
      () => new Error('unreachable: a reversal adds stock'),
    );
    await applyAlertRules(tx, emit, item, args.actorId);
    await syncAvailabilityWithStock(tx, emit, item, item.quantity - taken);
  }
}

export class InventoryService {
  constructor(private readonly deps: ServiceDeps) {}

  async inventoryItems(principal: Principal, storeId: string): Promise<InventoryItemView[]> {
    requirePermission(principal, 'inventory.read');
    await requireStore(this.deps.db, principal, storeId);
    const items = await this.deps.db.inventoryItem.findMany({
      where: { tenantId: principal.tenantId, storeId },
      orderBy: { name: 'asc' },
    });
    return items.map(itemView);
  }

  /** open: true for unresolved (OPEN or ACKNOWLEDGED), false for RESOLVED, null for all; newest first. */
  async inventoryAlerts(
    principal: Principal,
    storeId: string,
    open?: boolean | null,
  ): Promise<InventoryAlertView[]> {
    requirePermission(principal, 'inventory.read');
    await requireStore(this.deps.db, principal, storeId);
    const status = open == null ? undefined : open ? { not: 'RESOLVED' as const } : ('RESOLVED' as const);
    const alerts = await this.deps.db.inventoryAlert.findMany({
      where: { tenantId: principal.tenantId, storeId, status },
      include: { inventoryItem: { select: { productId: true } } },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: ALERT_LIST_LIMIT,
    });
    return alerts.map((alert) => alertView(alert, alert.inventoryItem.productId));
  }

  async adjustInventory(
    principal: Principal,
    itemId: string,
    delta: number,
    reason: string,
  ): Promise<InventoryItemView> {
    requirePermission(principal, 'inventory.adjust');
    if (!Number.isInteger(delta) || delta === 0 || Math.abs(delta) > MAX_CHANGE) {
      throw badInput(`delta must be a non-zero whole number within ±${MAX_CHANGE}`, { field: 'delta' });
    }
    const note = reason.trim();
    if (note.length === 0 || !fitsCharacters(note, MAX_REASON)) {
      throw badInput(`reason must be 1 to ${MAX_REASON} characters`, { field: 'reason' });
    }
    await this.requireItem(principal, itemId);
    return this.deps.publisher.run(async (tx, emit) => {
      const item = await changeStock(
        tx,
        { itemId, delta, field: 'delta', reason: 'ADJUSTMENT', note, actorId: principal.userId },
        (row, before) =>
          badInput(`Cannot take ${-delta} from ${row.name}: only ${before} in stock`, {
            field: 'delta',
            quantity: before,
          }),
      );
      emitInventoryEvent(emit, item, 'ADJUSTMENT', 'LOW');
      await applyAlertRules(tx, emit, item, principal.userId);
      await syncAvailabilityWithStock(tx, emit, item, item.quantity - delta);
      return itemView(item);
    });
  }

  /** Adds delivered stock: RESTOCKED when it recovers above the threshold, ADJUSTMENT otherwise. */
  async restockInventory(principal: Principal, itemId: string, quantity: number): Promise<InventoryItemView> {
    requirePermission(principal, 'inventory.restock');
    requirePositiveInt(quantity, 'quantity');
    await this.requireItem(principal, itemId);
    return this.deps.publisher.run(async (tx, emit) => {
      const item = await changeStock(
        tx,
        { itemId, delta: quantity, field: 'quantity', reason: 'RESTOCK', actorId: principal.userId },
        () => new Error('unreachable: a restock adds stock'),
      );
      const restocked = await applyAlertRules(tx, emit, item, principal.userId);
      if (!restocked) emitInventoryEvent(emit, item, 'ADJUSTMENT', 'LOW');
      await syncAvailabilityWithStock(tx, emit, item, item.quantity - quantity);
      return itemView(item);
    });
  }

  /**
   * Moves stock to another store of the tenant: both movements, the InventoryTransfer row and the events
   * of both stores commit together or not at all. The caller needs access to both stores; the destination
   * is the target store's item with the same name (or toItemId, which must match it).
   */
  async transferInventory(principal: Principal, input: TransferInput): Promise<InventoryTransferView> {
    requirePermission(principal, 'inventory.transfer');
    const quantity = requirePositiveInt(input.quantity, 'quantity');
    const source = await this.requireItem(principal, input.itemId);
    if (input.toStoreId === source.storeId)
      throw badInput('Pick another store to transfer to', { field: 'toStoreId' });
    const destination = await this.destinationItem(principal, source, input);
    return this.deps.publisher.run(async (tx, emit) => {
      const transfer = await tx.inventoryTransfer.create({
        data: {
          tenantId: principal.tenantId,
          fromStoreId: source.storeId,
          toStoreId: destination.storeId,
          fromItemId: source.id,
          toItemId: destination.id,
          quantity,
          actorId: principal.userId,
        },
      });
      const common = { transferId: transfer.id, actorId: principal.userId };
      const takeOut = () =>
        changeStock(
          tx,
          { ...common, itemId: source.id, delta: -quantity, reason: 'TRANSFER_OUT' },
          (row, before) => insufficientStock(row, before, quantity),
        );
      const putIn = () =>
        changeStock(
          tx,
          { ...common, itemId: destination.id, delta: quantity, field: 'quantity', reason: 'TRANSFER_IN' },
          () => new Error('unreachable: a transfer in adds stock'),
        );
      // Rows are locked in id order (as orders do), so opposite transfers cannot deadlock.
      const [from, to] =
        source.id < destination.id
          ? await takeOut().then(async (out) => [out, await putIn()] as const)
          : await putIn().then(async (into) => [await takeOut(), into] as const);
      emitInventoryEvent(emit, from, 'TRANSFER_COMPLETE', 'LOW');
      emitInventoryEvent(emit, to, 'TRANSFER_COMPLETE', 'LOW');
      await applyAlertRules(tx, emit, from, principal.userId);
      await applyAlertRules(tx, emit, to, principal.userId);
      await syncAvailabilityWithStock(tx, emit, from, from.quantity + quantity);
      await syncAvailabilityWithStock(tx, emit, to, to.quantity - quantity);
      return {
        id: transfer.id,
        quantity,
        fromItem: itemView(from),
        toItem: itemView(to),
        createdAt: transfer.createdAt.toISOString(),
      };
    });
  }

  /** Records who acknowledged an open alert and when; acknowledging it again returns it unchanged. */
  async acknowledgeInventoryAlert(principal: Principal, alertId: string): Promise<InventoryAlertView> {
    requirePermission(principal, 'inventory.acknowledge');
    const found = await this.deps.db.inventoryAlert.findFirst({
      where: { id: alertId, tenantId: principal.tenantId },
      include: { inventoryItem: true },
    });
    if (!found) throw notFound('InventoryAlert', alertId);
    if (!canAccessStore(principal, found.storeId)) throw forbidden(`No access to inventory alert ${alertId}`);
    if (found.status === 'RESOLVED')
      throw new DomainError('CONFLICT', 'The alert is already resolved', { alertId });
    if (found.status === 'ACKNOWLEDGED') return alertView(found, found.inventoryItem.productId);
    return this.deps.publisher.run(async (tx, emit) => {
      const { count } = await tx.inventoryAlert.updateMany({
        where: { id: alertId, status: 'OPEN' },
        data: { status: 'ACKNOWLEDGED', acknowledgedAt: new Date(), acknowledgedById: principal.userId },
      });
      const alert = await tx.inventoryAlert.findUniqueOrThrow({
        where: { id: alertId },
        include: { inventoryItem: true },
      });
      const view = alertView(alert, alert.inventoryItem.productId);
      if (count === 1) emitInventoryEvent(emit, alert.inventoryItem, 'ACKNOWLEDGED', alert.severity, view);
      return view;
    });
  }

  /**
   * Live inventory events of one store (storeId, else the connection's current store) or, for callers with
   * every store, of the whole tenant. Each event is checked again (tenant, store access, filters).
   */
  async inventoryAlertsPlan(
    principal: Principal,
    args: AlertSubscriptionArgs = {},
  ): Promise<InventoryAlertsPlan> {
    requirePermission(principal, 'inventory.watch');
    const { streamKey, storeIds } = await this.alertStreamScope(
      principal,
      args.storeId ?? principal.currentStoreId,
    );
    return {
      streamKey,
      topics: storeIds.map((storeId) => topics.storeInventory(principal.tenantId, storeId)),
      after: args.after ?? null,
      key: {
        viewer: authorizationScope(principal),
        storeIds,
        minSeverity: args.minSeverity ?? null,
        productIds: args.productIds?.length ? [...new Set(args.productIds)].sort() : null,
      },
      select: selectInventoryEvent,
    };
  }

  /** inventoryAlertsPlan as a private stream. */
  async subscribeInventoryAlerts(
    principal: Principal,
    args: AlertSubscriptionArgs = {},
  ): Promise<AsyncIterableIterator<InventoryAlertEventView>> {
    return openPlanStream(this.deps.streams, await this.inventoryAlertsPlan(principal, args));
  }

  private async alertStreamScope(
    principal: Principal,
    storeId: string | undefined | null,
  ): Promise<{ streamKey: string; storeIds: string[] }> {
    if (storeId) {
      await requireStore(this.deps.db, principal, storeId, { cached: true });
      return { streamKey: topics.storeInventory(principal.tenantId, storeId), storeIds: [storeId] };
    }
    if (!hasAllStores(principal)) {
      throw badInput('storeId is required: pass it, or connect with a current store', { field: 'storeId' });
    }
    const stores = await this.deps.db.store.findMany({
      where: { tenantId: principal.tenantId },
      select: { id: true },
    });
    return { streamKey: `inventory:${principal.tenantId}`, storeIds: stores.map((s) => s.id) };
  }

  /** The item in the caller's tenant (NOT_FOUND otherwise) and in a store the caller may access (FORBIDDEN). */
  private async requireItem(principal: Principal, itemId: string): Promise<InventoryItem> {
    const item = await this.deps.db.inventoryItem.findFirst({
      where: { id: itemId, tenantId: principal.tenantId },
    });
    if (!item) throw notFound('InventoryItem', itemId);
    if (!canAccessStore(principal, item.storeId)) throw forbidden(`No access to inventory item ${itemId}`);
    return item;
  }

  private async destinationItem(
    principal: Principal,
    source: InventoryItem,
    input: TransferInput,
  ): Promise<InventoryItem> {
    const store = await this.deps.db.store.findFirst({
      where: { id: input.toStoreId, tenantId: principal.tenantId },
    });
    if (!store) throw notFound('Store', input.toStoreId);
    // The result and its events show the destination's stock: a caller bound to other stores may not see it.
    if (!canAccessStore(principal, store.id)) throw forbidden(`No access to store ${input.toStoreId}`);
    const sameName = { equals: source.name, mode: 'insensitive' as const };
    const destination = await this.deps.db.inventoryItem.findFirst({
      where: {
        tenantId: principal.tenantId,
        storeId: store.id,
        ...(input.toItemId ? { id: input.toItemId } : { name: sameName }),
      },
      orderBy: { id: 'asc' },
    });
    if (!destination) {
      if (input.toItemId) throw notFound('InventoryItem', input.toItemId);
      throw badInput(`${store.name} has no inventory item named ${source.name}`, { field: 'toStoreId' });
    }
    if (destination.name.toLowerCase() !== source.name.toLowerCase()) {
      throw badInput(`Cannot transfer ${source.name} into ${destination.name}`, { field: 'toItemId' });
    }
    return destination;
  }
}
