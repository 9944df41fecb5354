import {
  INVENTORY_EVENT_KINDS,
  type InventoryAlertEventView,
  type InventoryAlertView,
  type InventoryItemView,
  type InventoryTransferView,
} from '../domain/inventory';
import { badInput } from '../errors';
import { builder } from './builder';
import type { GraphQLContext } from './context';
import { SeverityEnum } from './enums';

const InventoryEventKindEnum = builder.enumType('InventoryEventKind', {
  description:
    'LOW_STOCK / OUT_OF_STOCK: an alert was raised. RESTOCKED: the item recovered above its threshold and its alerts resolved. ' +
    'ADJUSTMENT: a manual change (or a restock that did not recover). TRANSFER_COMPLETE: stock moved between stores. ' +
    'ACKNOWLEDGED: someone took an alert in hand.',
  values: INVENTORY_EVENT_KINDS,
});

const InventoryAlertKindEnum = builder.enumType('InventoryAlertKind', {
  values: ['LOW_STOCK', 'OUT_OF_STOCK'] as const,
});

const InventoryAlertStatusEnum = builder.enumType('InventoryAlertStatus', {
  values: ['OPEN', 'ACKNOWLEDGED', 'RESOLVED'] as const,
});

export const InventoryItemRef = builder.objectRef<InventoryItemView>('InventoryItem').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    storeId: t.exposeID('storeId'),
    productId: t.exposeID('productId'),
    name: t.exposeString('name'),
    quantity: t.exposeInt('quantity'),
    lowStockThreshold: t.exposeInt('lowStockThreshold', {
      description: 'LOW_STOCK is raised at or below this quantity.',
    }),
    available: t.exposeBoolean('available', { description: 'Something is left to sell.' }),
    updatedAt: t.field({ type: 'DateTime', resolve: (item) => item.updatedAt }),
  }),
});

export const InventoryAlertRef = builder.objectRef<InventoryAlertView>('InventoryAlert').implement({
  description:
    'At most one unresolved alert per item and kind. Severity: OUT_OF_STOCK is URGENT; LOW_STOCK is HIGH with at most 25% of the threshold left, NORMAL otherwise.',
  fields: (t) => ({
    id: t.exposeID('id'),
    storeId: t.exposeID('storeId'),
    itemId: t.exposeID('itemId'),
    productId: t.exposeID('productId'),
    kind: t.field({ type: InventoryAlertKindEnum, resolve: (alert) => alert.kind }),
    severity: t.field({ type: SeverityEnum, resolve: (alert) => alert.severity }),
    status: t.field({ type: InventoryAlertStatusEnum, resolve: (alert) => alert.status }),
    quantityAtRaise: t.exposeInt('quantityAtRaise'),
    createdAt: t.field({ type: 'DateTime', resolve: (alert) => alert.createdAt }),
    acknowledgedAt: t.field({ type: 'DateTime', nullable: true, resolve: (alert) => alert.acknowledgedAt }),
    acknowledgedById: t.exposeID('acknowledgedById', { nullable: true }),
    resolvedAt: t.field({ type: 'DateTime', nullable: true, resolve: (alert) => alert.resolvedAt }),
  }),
});

export const InventoryAlertEventRef = builder
  .objectRef<InventoryAlertEventView>('InventoryAlertEvent')
  .implement({
    fields: (t) => ({
      cursor: t.exposeString('cursor', { description: 'Pass as `after` to resume after this event.' }),
      kind: t.field({ type: InventoryEventKindEnum, resolve: (event) => event.kind }),
      severity: t.field({ type: SeverityEnum, resolve: (event) => event.severity }),
      item: t.field({ type: InventoryItemRef, resolve: (event) => event.item }),
      alert: t.field({
        type: InventoryAlertRef,
        nullable: true,
        description: 'The alert raised, resolved or acknowledged; null for ADJUSTMENT and TRANSFER_COMPLETE.',
        resolve: (event) => event.alert,
      }),
      occurredAt: t.field({ type: 'DateTime', resolve: (event) => event.occurredAt }),
    }),
  });

const InventoryTransferRef = builder.objectRef<InventoryTransferView>('InventoryTransfer').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    quantity: t.exposeInt('quantity'),
    fromItem: t.field({ type: InventoryItemRef, resolve: (transfer) => transfer.fromItem }),
    toItem: t.field({ type: InventoryItemRef, resolve: (transfer) => transfer.toItem }),
    createdAt: t.field({ type: 'DateTime', resolve: (transfer) => transfer.createdAt }),
  }),
});

function storeOrCurrent(ctx: GraphQLContext, storeId: string | number | null | undefined): string {
  const id = storeId != null ? String(storeId) : ctx.principal?.currentStoreId;
  if (!id) throw badInput('storeId is required without a current store', { field: 'storeId' });
  return id;
}

builder.queryFields((t) => ({
  inventoryItems: t.withAuth({ can: 'inventory.read' }).field({
    type: [InventoryItemRef],
    description: "The store's stock, by name.",
    args: { storeId: t.arg.id({ description: "Defaults to the connection's current store." }) },
    resolve: (_root, args, ctx) =>
      ctx.services.inventory.inventoryItems(ctx.principal, storeOrCurrent(ctx, args.storeId)),
  }),
  inventoryAlerts: t.withAuth({ can: 'inventory.read' }).field({
    type: [InventoryAlertRef],
    description:
      'Newest first, at most 200. open: true for unresolved alerts, false for resolved ones, omitted for all.',
    args: {
      storeId: t.arg.id({ description: "Defaults to the connection's current store." }),
      open: t.arg.boolean(),
    },
    resolve: (_root, args, ctx) =>
      ctx.services.inventory.inventoryAlerts(ctx.principal, storeOrCurrent(ctx, args.storeId), args.open),
  }),
}));

builder.mutationFields((t) => ({
  adjustInventory: t.withAuth({ can: 'inventory.adjust' }).field({
    type: InventoryItemRef,
    description:
      'Corrects stock by delta (non-zero; the result may not go below 0). reason: 1 to 200 characters.',
    args: {
      itemId: t.arg.id({ required: true }),
      delta: t.arg.int({ required: true }),
      reason: t.arg.string({ required: true }),
    },
    resolve: (_root, args, ctx) =>
      ctx.services.inventory.adjustInventory(ctx.principal, String(args.itemId), args.delta, args.reason),
  }),
  restockInventory: t.withAuth({ can: 'inventory.restock' }).field({
    type: InventoryItemRef,
    description:
      'Adds delivered stock (quantity ≥ 1). Resolves open alerts when the item recovers above its threshold.',
    args: { itemId: t.arg.id({ required: true }), quantity: t.arg.int({ required: true }) },
    resolve: (_root, args, ctx) =>
      ctx.services.inventory.restockInventory(ctx.principal, String(args.itemId), args.quantity),
  }),
  transferInventory: t.withAuth({ can: 'inventory.transfer' }).field({
    type: InventoryTransferRef,
    description:
      'Moves stock to another store of the tenant, into its item with the same name (or toItemId). All or nothing.',
    args: {
      itemId: t.arg.id({ required: true }),
      toStoreId: t.arg.id({ required: true }),
      quantity: t.arg.int({ required: true }),
      toItemId: t.arg.id(),
    },
    resolve: (_root, args, ctx) =>
      ctx.services.inventory.transferInventory(ctx.principal, {
        itemId: String(args.itemId),
        toStoreId: String(args.toStoreId),
        quantity: args.quantity,
        toItemId: args.toItemId == null ? null : String(args.toItemId),
      }),
  }),
  acknowledgeInventoryAlert: t.withAuth({ can: 'inventory.acknowledge' }).field({
    type: InventoryAlertRef,
    description: 'Records who took the alert in hand and when; it stays unresolved until the item recovers.',
    args: { alertId: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) =>
      ctx.services.inventory.acknowledgeInventoryAlert(ctx.principal, String(args.alertId)),
  }),
}));

builder.subscriptionField('inventoryAlert', (t) =>
  t.withAuth({ can: 'inventory.watch' }).field({
    type: InventoryAlertEventRef,
    description:
      "Inventory events of a store (storeId, else the connection's current store); with neither, every store of the tenant for callers with access to all stores. Resume with `after`.",
    args: {
      storeId: t.arg.id(),
      minSeverity: t.arg({ type: SeverityEnum }),
      productIds: t.arg.idList({ description: 'Only events of these products.' }),
      after: t.arg.string(),
    },
    subscribe: async (_root, args, ctx) =>
      ctx.subscriptions.open(
        await ctx.services.inventory.inventoryAlertsPlan(ctx.principal, {
          storeId: args.storeId == null ? null : String(args.storeId),
          minSeverity: args.minSeverity,
          productIds: args.productIds?.map(String),
          after: args.after,
        }),
      ),
    resolve: (event) => event,
  }),
);
