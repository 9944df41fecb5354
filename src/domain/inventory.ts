import { requirePermission } from '../auth/permissions';
import { authorizationScope, canAccessStore, hasAllStores } from '../auth/policy';
import type { Principal } from '../auth/principal';
import { badInput, DomainError, forbidden, notFound } from '../errors';
import { topics } from '../events/topics';
import type { InventoryItem } from '../generated/prisma/client';
import type { Severity } from '../generated/prisma/enums';
import { atLeast } from './inventory-alerts';
import { adjustInOneStatement } from './inventory-fast-path';
import {
  alertView,
  emitInventoryEvent,
  type InventoryAlertEventView,
  type InventoryAlertView,
  type InventoryEventPayload,
  type InventoryItemView,
  type InventoryTransferView,
  itemView,
} from './inventory-records';
import {
  applyAlertRules,
  changeStock,
  insufficientStock,
  MAX_CHANGE,
  requirePositiveInt,
} from './inventory-stock';
import { syncAvailabilityWithStock } from './menu-records';
import type { ServiceDeps } from './services';
import { requireStore } from './stores';
import { openPlanStream, type Selector, type SubscriptionPlan, type Viewer } from './subscription-plans';
import { fitsCharacters } from './text';

export {
  INVENTORY_EVENT_KINDS,
  type InventoryAlertEventView,
  type InventoryAlertView,
  type InventoryEventKind,
  type InventoryEventPayload,
  type InventoryItemView,
  type InventoryTransferView,
} from './inventory-records';

/**
 * The inventory service: reading a store's stock and alerts, adjusting, restocking and transferring stock, taking
 * alerts in hand, and watching a store's stock events. How stock changes (movements, alerts, the menu's
 * availability) is inventory-stock.ts; the views and events, inventory-records.ts.
 */

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
const ALERT_LIST_LIMIT = 200;

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
    const adjusted = await adjustInOneStatement(this.deps.publisher, principal, { itemId, delta, note });
    if (adjusted) return adjusted;
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
