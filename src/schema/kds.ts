import type { KdsStreamEvent, KdsTicketView } from '../domain/kds';
import { builder } from './builder';
import {
  ItemStatusEnum,
  KdsAlertEnum,
  KdsEventKindEnum,
  OrderChannelEnum,
  SeverityEnum,
  StationKindEnum,
  TicketStatusEnum,
} from './enums';

/** Seconds the ticket has been on the board: until it was bumped, or until now. */
function elapsedSeconds(ticket: KdsTicketView, now = Date.now()): number {
  const end = ticket.bumpedAt ? Date.parse(ticket.bumpedAt) : now;
  return Math.max(0, Math.floor((end - Date.parse(ticket.firedAt)) / 1000));
}

const KdsTicketItemRef = builder.objectRef<KdsTicketView['items'][number]>('KdsTicketItem').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    productId: t.exposeID('productId'),
    name: t.exposeString('name'),
    quantity: t.exposeInt('quantity'),
    notes: t.exposeString('notes', { nullable: true }),
    status: t.field({ type: ItemStatusEnum, resolve: (item) => item.status }),
  }),
});

export const KdsTicketRef = builder.objectRef<KdsTicketView>('KdsTicket').implement({
  description: "One order's items for one station.",
  fields: (t) => ({
    id: t.exposeID('id'),
    orderId: t.exposeID('orderId'),
    orderNumber: t.exposeInt('orderNumber'),
    storeId: t.exposeID('storeId'),
    stationId: t.exposeID('stationId'),
    stationKind: t.field({ type: StationKindEnum, resolve: (ticket) => ticket.stationKind }),
    status: t.field({ type: TicketStatusEnum, resolve: (ticket) => ticket.status }),
    priority: t.field({ type: SeverityEnum, resolve: (ticket) => ticket.priority }),
    channel: t.field({ type: OrderChannelEnum, resolve: (ticket) => ticket.channel }),
    tableNumber: t.exposeInt('tableNumber', { nullable: true }),
    items: t.field({ type: [KdsTicketItemRef], resolve: (ticket) => ticket.items }),
    firedAt: t.field({ type: 'DateTime', resolve: (ticket) => ticket.firedAt }),
    startedAt: t.field({ type: 'DateTime', nullable: true, resolve: (ticket) => ticket.startedAt }),
    readyAt: t.field({ type: 'DateTime', nullable: true, resolve: (ticket) => ticket.readyAt }),
    bumpedAt: t.field({ type: 'DateTime', nullable: true, resolve: (ticket) => ticket.bumpedAt }),
    recalledAt: t.field({ type: 'DateTime', nullable: true, resolve: (ticket) => ticket.recalledAt }),
    targetSeconds: t.exposeInt('targetSeconds', { description: "The station's target time for a ticket." }),
    elapsedSeconds: t.int({
      description: 'Seconds since the ticket fired (until bumped), computed when resolved.',
      resolve: (ticket) => elapsedSeconds(ticket),
    }),
    late: t.boolean({
      description: 'elapsedSeconds exceeds targetSeconds.',
      resolve: (ticket) => elapsedSeconds(ticket) > ticket.targetSeconds,
    }),
  }),
});

export const KdsTicketEventRef = builder.objectRef<KdsStreamEvent>('KdsTicketEvent').implement({
  fields: (t) => ({
    cursor: t.exposeString('cursor', { description: 'Pass as `after` to resume after this event.' }),
    kind: t.field({ type: KdsEventKindEnum, resolve: (event) => event.kind }),
    ticket: t.field({ type: KdsTicketRef, resolve: (event) => event.ticket }),
    alert: t.field({ type: KdsAlertEnum, nullable: true, resolve: (event) => event.alert }),
    occurredAt: t.field({ type: 'DateTime', resolve: (event) => event.occurredAt }),
  }),
});

builder.queryField('kdsTickets', (t) =>
  t
    .withAuth((_root, args) => ({ $all: { can: 'kds.use', station: String(args.stationId) } }))
    .field({
      type: [KdsTicketRef],
      description: 'Open tickets of the station (expo: of the whole store), most urgent first, then oldest.',
      args: { stationId: t.arg.id({ required: true }) },
      resolve: (_root, args, ctx) => ctx.services.kds.kdsTickets(ctx.principal, String(args.stationId)),
    }),
);

builder.mutationFields((t) => ({
  startItem: t.withAuth({ can: 'kds.use' }).field({
    type: KdsTicketRef,
    args: { itemId: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => ctx.services.kds.startItem(ctx.principal, String(args.itemId)),
  }),
  markItemReady: t.withAuth({ can: 'kds.use' }).field({
    type: KdsTicketRef,
    args: { itemId: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => ctx.services.kds.markItemReady(ctx.principal, String(args.itemId)),
  }),
  bumpTicket: t.withAuth({ can: 'kds.use' }).field({
    type: KdsTicketRef,
    description: "Clears the ticket from the board; the order's last bump makes the order READY.",
    args: { ticketId: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => ctx.services.kds.bumpTicket(ctx.principal, String(args.ticketId)),
  }),
  recallTicket: t.withAuth({ can: 'kds.use' }).field({
    type: KdsTicketRef,
    description: 'Brings a bumped ticket back to the board.',
    args: { ticketId: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => ctx.services.kds.recallTicket(ctx.principal, String(args.ticketId)),
  }),
}));

builder.subscriptionField('kdsTicket', (t) =>
  t
    .withAuth((_root, args) => ({ $all: { can: 'kds.use', station: String(args.stationId) } }))
    .field({
      type: KdsTicketEventRef,
      description:
        "The station's ticket events (an expo station: every ticket of its store). Resume with `after`.",
      args: {
        stationId: t.arg.id({ required: true }),
        after: t.arg.string(),
      },
      subscribe: async (_root, args, ctx) =>
        ctx.subscriptions.open(
          await ctx.services.kds.ticketsPlan(ctx.principal, String(args.stationId), args.after),
        ),
      resolve: (event) => event,
    }),
);
