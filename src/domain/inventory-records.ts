import { topics } from '../events/topics';
import type { InventoryAlert, InventoryItem } from '../generated/prisma/client';
import type { AlertKind, AlertStatus, Severity } from '../generated/prisma/enums';
import type { Emit } from './notification-records';

/** Inventory as clients see it: the views of items, alerts and transfers, and the events of a store's stock. */

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

export function emitInventoryEvent(
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
