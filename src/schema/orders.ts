import type { OrderItemView, OrderView } from '../domain/order-records';
import type { OrderStreamEvent } from '../domain/orders';
import { badInput } from '../errors';
import { builder } from './builder';
import { ItemStatusEnum, OrderChannelEnum, OrderEventKindEnum, OrderStatusEnum, SeverityEnum } from './enums';

export const OrderItemRef = builder.objectRef<OrderItemView>('OrderItem').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    productId: t.exposeID('productId'),
    name: t.exposeString('name'),
    quantity: t.exposeInt('quantity'),
    unitPriceCents: t.exposeInt('unitPriceCents'),
    notes: t.exposeString('notes', { nullable: true }),
    status: t.field({ type: ItemStatusEnum, resolve: (item) => item.status }),
    ticketId: t.exposeID('ticketId', { nullable: true }),
  }),
});

export const OrderRef = builder.objectRef<OrderView>('Order').implement({
  description: 'Money is in integer minor units of `currency`.',
  fields: (t) => ({
    id: t.exposeID('id'),
    number: t.exposeInt('number', { description: 'Per-store order number, counting up from 1.' }),
    storeId: t.exposeID('storeId'),
    status: t.field({ type: OrderStatusEnum, resolve: (order) => order.status }),
    channel: t.field({ type: OrderChannelEnum, resolve: (order) => order.channel }),
    priority: t.field({ type: SeverityEnum, resolve: (order) => order.priority }),
    tableNumber: t.exposeInt('tableNumber', { nullable: true }),
    tableId: t.exposeID('tableId', { nullable: true, description: 'The dining table of a TABLE order.' }),
    customerId: t.exposeID('customerId', { nullable: true }),
    items: t.field({ type: [OrderItemRef], resolve: (order) => order.items }),
    totalCents: t.exposeInt('totalCents'),
    paidCents: t.exposeInt('paidCents'),
    balanceCents: t.int({ resolve: (order) => order.totalCents - order.paidCents }),
    currency: t.exposeString('currency'),
    cancelReason: t.exposeString('cancelReason', { nullable: true }),
    createdAt: t.field({ type: 'DateTime', resolve: (order) => order.createdAt }),
    updatedAt: t.field({ type: 'DateTime', resolve: (order) => order.updatedAt }),
    readyAt: t.field({ type: 'DateTime', nullable: true, resolve: (order) => order.readyAt }),
    completedAt: t.field({ type: 'DateTime', nullable: true, resolve: (order) => order.completedAt }),
    cancelledAt: t.field({ type: 'DateTime', nullable: true, resolve: (order) => order.cancelledAt }),
  }),
});

export const OrderEventRef = builder.objectRef<OrderStreamEvent>('OrderEvent').implement({
  fields: (t) => ({
    cursor: t.exposeString('cursor', { description: 'Pass as `after` to resume after this event.' }),
    kind: t.field({ type: OrderEventKindEnum, resolve: (event) => event.kind }),
    order: t.field({ type: OrderRef, resolve: (event) => event.order }),
    previousStatus: t.field({
      type: OrderStatusEnum,
      nullable: true,
      resolve: (event) => event.previousStatus,
    }),
    occurredAt: t.field({ type: 'DateTime', resolve: (event) => event.occurredAt }),
  }),
});

const OrderItemInput = builder.inputType('OrderItemInput', {
  fields: (t) => ({
    productId: t.id({ required: true }),
    quantity: t.int({ required: true, description: '1 to 99.' }),
    notes: t.string({ description: 'At most 200 characters.' }),
  }),
});

const CreateOrderInput = builder.inputType('CreateOrderInput', {
  fields: (t) => ({
    storeId: t.id({ required: true }),
    channel: t.field({ type: OrderChannelEnum, required: true }),
    tableNumber: t.int({ description: '1 to 999; required for TABLE orders.' }),
    customerId: t.id({ description: 'Ignored for customers, who always order for themselves.' }),
    priority: t.field({
      type: SeverityEnum,
      description:
        'Defaults to NORMAL; HIGH and URGENT ring as RUSH. Staff only: customers may send NORMAL at most.',
    }),
    items: t.field({ type: [OrderItemInput], required: true, description: '1 to 100 lines.' }),
  }),
});

builder.queryFields((t) => ({
  order: t.withAuth({ authenticated: true }).field({
    type: OrderRef,
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => ctx.services.orders.order(ctx.principal, String(args.id)),
  }),
  orders: t.withAuth({ authenticated: true }).connection(
    {
      type: OrderRef,
      description:
        "A store's orders, newest first (customers: their own). Only forward paging (first/after).",
      args: {
        storeId: t.arg.id({ description: "Defaults to the connection's current store." }),
        status: t.arg({ type: OrderStatusEnum }),
      },
      resolve: (_root, args, ctx) => {
        const storeId = args.storeId ? String(args.storeId) : ctx.principal.currentStoreId;
        if (!storeId) throw badInput('storeId is required without a current store', { field: 'storeId' });
        if (args.last != null || args.before != null)
          throw badInput('orders pages forward only (first/after)');
        return ctx.services.orders.orders(ctx.principal, {
          storeId,
          status: args.status,
          first: args.first,
          after: args.after,
        });
      },
    },
    { name: 'OrderConnection' },
    { name: 'OrderEdge' },
  ),
}));

builder.mutationFields((t) => ({
  createOrder: t.withAuth({ can: 'order.create' }).field({
    type: OrderRef,
    description: 'Places an order: takes stock, numbers it and fires one kitchen ticket per station.',
    args: { input: t.arg({ type: CreateOrderInput, required: true }) },
    resolve: (_root, { input }, ctx) =>
      ctx.services.orders.createOrder(ctx.principal, {
        storeId: String(input.storeId),
        channel: input.channel,
        tableNumber: input.tableNumber,
        customerId: input.customerId == null ? null : String(input.customerId),
        priority: input.priority,
        items: input.items.map((item) => ({
          productId: String(item.productId),
          quantity: item.quantity,
          notes: item.notes,
        })),
      }),
  }),
  updateOrderStatus: t.withAuth({ can: 'order.updateStatus' }).field({
    type: OrderRef,
    description:
      'PENDING→ACCEPTED|CANCELLED, ACCEPTED→IN_PROGRESS|CANCELLED, IN_PROGRESS→READY|CANCELLED, READY→COMPLETED|IN_PROGRESS.',
    args: {
      orderId: t.arg.id({ required: true }),
      status: t.arg({ type: OrderStatusEnum, required: true }),
    },
    resolve: (_root, args, ctx) =>
      ctx.services.orders.updateOrderStatus(ctx.principal, String(args.orderId), args.status),
  }),
  cancelOrder: t.withAuth({ can: 'order.cancel' }).field({
    type: OrderRef,
    description: 'Cancels an open order: returns its stock, clears its tickets and tells the kitchen.',
    args: {
      orderId: t.arg.id({ required: true }),
      reason: t.arg.string({ required: true, description: '1 to 200 characters.' }),
    },
    resolve: (_root, args, ctx) =>
      ctx.services.orders.cancelOrder(ctx.principal, String(args.orderId), args.reason),
  }),
  recordPayment: t.withAuth({ can: 'order.recordPayment' }).field({
    type: OrderRef,
    args: {
      orderId: t.arg.id({ required: true }),
      amount: t.arg.int({ required: true, description: 'Minor units; at most the remaining balance.' }),
    },
    resolve: (_root, args, ctx) =>
      ctx.services.orders.recordPayment(ctx.principal, String(args.orderId), args.amount),
  }),
}));

builder.subscriptionField('orderUpdated', (t) =>
  t
    .withAuth((_root, args) => ({ store: String(args.storeId) }))
    .field({
      type: OrderEventRef,
      description:
        "Changes to the store's orders (customers: their own). Bursts of UPDATED events of one order are coalesced; status changes arrive one by one, in order. Resume with `after`.",
      args: {
        storeId: t.arg.id({ required: true }),
        after: t.arg.string(),
      },
      subscribe: async (_root, args, ctx) =>
        ctx.subscriptions.open(
          await ctx.services.orders.ordersPlan(ctx.principal, String(args.storeId), args.after),
        ),
      resolve: (event) => event,
    }),
);
