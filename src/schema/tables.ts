import { TABLE_EVENT_KINDS, type TableView } from '../domain/table-records';
import { TABLE_STATUSES } from '../domain/table-status';
import type { TableStreamEvent, TableToken } from '../domain/tables';
import { badInput } from '../errors';
import { builder } from './builder';
import { OrderRef } from './orders';

export const TableStatusEnum = builder.enumType('TableStatus', {
  description:
    'FREE → (RESERVED →) SEATED by seatTable; a TABLE order makes it ORDERED; every order READY or later SERVED; ' +
    'PAYING when the bill is asked for; paid in full and served NEEDS_CLEANING; staff set FREE again.',
  values: TABLE_STATUSES,
});

const TableEventKindEnum = builder.enumType('TableEventKind', {
  description:
    'STATUS_CHANGED: seated, or a status set by hand. ORDER_ADDED: the party placed an order. ORDER_UPDATED: one of ' +
    'its orders changed status or was paid. previousStatus is set whenever the event moved the table.',
  values: TABLE_EVENT_KINDS,
});

export const DiningTableRef = builder.objectRef<TableView>('DiningTable').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    storeId: t.exposeID('storeId'),
    number: t.exposeInt('number'),
    seats: t.exposeInt('seats'),
    status: t.field({ type: TableStatusEnum, resolve: (table) => table.status }),
    partySize: t.exposeInt('partySize', { nullable: true }),
    seatedAt: t.field({ type: 'DateTime', nullable: true, resolve: (table) => table.seatedAt }),
    openOrders: t.field({
      type: [OrderRef],
      description: 'Orders of the party at the table that are neither completed nor cancelled.',
      resolve: (table) => table.openOrders,
    }),
  }),
});

export const TableEventRef = builder.objectRef<TableStreamEvent>('TableEvent').implement({
  fields: (t) => ({
    cursor: t.exposeString('cursor', { description: 'Pass as `after` to resume after this event.' }),
    kind: t.field({ type: TableEventKindEnum, resolve: (event) => event.kind }),
    table: t.field({ type: DiningTableRef, resolve: (event) => event.table }),
    previousStatus: t.field({
      type: TableStatusEnum,
      nullable: true,
      resolve: (event) => event.previousStatus,
    }),
    occurredAt: t.field({ type: 'DateTime', resolve: (event) => event.occurredAt }),
  }),
});

const TableTokenRef = builder.objectRef<TableToken>('TableToken').implement({
  description:
    'A guest token for the party at a table (put it in a QR code): role CUSTOMER, claim `table`. It places TABLE orders at ' +
    "that table and follows that party's orders through orderUpdated, nothing of other tables. It ends when the next " +
    'party is seated there, or at expiresAt.',
  fields: (t) => ({
    token: t.exposeString('token'),
    tableId: t.exposeID('tableId'),
    expiresAt: t.field({ type: 'DateTime', resolve: (token) => token.expiresAt }),
  }),
});

builder.queryField('tables', (t) =>
  t.withAuth({ can: 'table.work' }).field({
    type: [DiningTableRef],
    description: "A store's tables by number with the open orders at each. Floor staff, managers, admins.",
    args: { storeId: t.arg.id({ description: "Defaults to the connection's current store." }) },
    resolve: (_root, args, ctx) => {
      const storeId = args.storeId != null ? String(args.storeId) : ctx.principal?.currentStoreId;
      if (!storeId) throw badInput('storeId is required without a current store', { field: 'storeId' });
      return ctx.services.tables.tables(ctx.principal, storeId);
    },
  }),
);

builder.mutationFields((t) => ({
  seatTable: t.withAuth({ can: 'table.work' }).field({
    type: DiningTableRef,
    description:
      "Seats a party (1 to the table's seats) at a FREE or RESERVED table; CONFLICT with the current status otherwise. Guest tokens of the table's previous party end.",
    args: { tableId: t.arg.id({ required: true }), partySize: t.arg.int({ required: true }) },
    resolve: (_root, args, ctx) =>
      ctx.services.tables.seatTable(ctx.principal, String(args.tableId), args.partySize),
  }),
  issueTableToken: t.withAuth({ can: 'table.work' }).field({
    type: TableTokenRef,
    description:
      'A guest token for the party seated at the table (CONFLICT when nobody is). Floor staff, managers, admins.',
    args: { tableId: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => ctx.services.tables.issueTableToken(ctx.principal, String(args.tableId)),
  }),
  setTableStatus: t.withAuth({ can: 'table.work' }).field({
    type: DiningTableRef,
    description:
      'By hand: FREE⇄RESERVED, SEATED→FREE (left without ordering), ORDERED|SERVED→PAYING (bill asked for), NEEDS_CLEANING→FREE. Anything else is a CONFLICT with the current status in `extensions.status`.',
    args: {
      tableId: t.arg.id({ required: true }),
      status: t.arg({ type: TableStatusEnum, required: true }),
    },
    resolve: (_root, args, ctx) =>
      ctx.services.tables.setTableStatus(ctx.principal, String(args.tableId), args.status),
  }),
}));

builder.subscriptionField('tableUpdated', (t) =>
  t
    .withAuth((_root, args) => ({ $all: { can: 'table.work', store: String(args.storeId) } }))
    .field({
      type: TableEventRef,
      description:
        "The store's tables as they change: seatings, statuses, orders placed and moving. Floor staff, managers, admins. Resume with `after`.",
      args: {
        storeId: t.arg.id({ required: true }),
        after: t.arg.string(),
      },
      subscribe: async (_root, args, ctx) =>
        ctx.subscriptions.open(
          await ctx.services.tables.tablesPlan(ctx.principal, String(args.storeId), args.after),
        ),
      resolve: (event) => event,
    }),
);
