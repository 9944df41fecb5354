import type { MenuStreamEvent } from '../domain/menu';
import { MENU_EVENT_KINDS, type ProductView } from '../domain/menu-records';
import { builder } from './builder';

const MenuEventKindEnum = builder.enumType('MenuEventKind', {
  description:
    'PRODUCT_CREATED: new on the menu. PRODUCT_UPDATED: name, category, description or station edited, or back on the menu. ' +
    "PRICE_CHANGED: a new price (previousPriceCents says the old one). AVAILABILITY_CHANGED: 86'd or back, by hand or " +
    'because its stock ran out or was restocked. PRODUCT_ARCHIVED: off the menu.',
  values: MENU_EVENT_KINDS,
});

export const ProductRef = builder.objectRef<ProductView>('Product').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    storeId: t.exposeID('storeId'),
    stationId: t.exposeID('stationId', { description: 'The station its tickets are routed to.' }),
    name: t.exposeString('name'),
    priceCents: t.exposeInt('priceCents', {
      description:
        'Unit price in minor units of the store currency. Orders keep the price they were placed at.',
    }),
    category: t.exposeString('category', { nullable: true }),
    description: t.exposeString('description', { nullable: true }),
    active: t.exposeBoolean('active', {
      description: 'False once archived: off the menu, kept for history.',
    }),
    available: t.exposeBoolean('available', {
      description:
        "Orderable now. False when 86'd by hand (setProductAvailability) or when its stock ran out (soldOut).",
    }),
    unavailableReason: t.exposeString('unavailableReason', { nullable: true }),
    soldOut: t.exposeBoolean('soldOut', {
      description: 'Unavailable because its stock ran out; a restock makes it available again.',
    }),
    stockQuantity: t.exposeInt('stockQuantity', {
      nullable: true,
      description: 'Stock left, when its stock is tracked.',
    }),
    updatedAt: t.field({ type: 'DateTime', resolve: (product) => product.updatedAt }),
  }),
});

export const MenuEventRef = builder.objectRef<MenuStreamEvent>('MenuEvent').implement({
  fields: (t) => ({
    cursor: t.exposeString('cursor', { description: 'Pass as `after` to resume after this event.' }),
    kind: t.field({ type: MenuEventKindEnum, resolve: (event) => event.kind }),
    product: t.field({ type: ProductRef, resolve: (event) => event.product }),
    previousPriceCents: t.exposeInt('previousPriceCents', {
      nullable: true,
      description: 'The price before this event, when it changed the price.',
    }),
    occurredAt: t.field({ type: 'DateTime', resolve: (event) => event.occurredAt }),
  }),
});

const CreateProductInput = builder.inputType('CreateProductInput', {
  fields: (t) => ({
    storeId: t.id({ required: true }),
    name: t.string({ required: true, description: '1 to 100 characters.' }),
    priceCents: t.int({ required: true, description: 'Minor units, 0 to 100,000,000.' }),
    stationId: t.id({ required: true, description: "One of the store's stations: where its tickets go." }),
    category: t.string({ description: 'At most 50 characters.' }),
    description: t.string({ description: 'At most 500 characters.' }),
    initialStock: t.int({
      description:
        'Tracks its stock from this quantity (0 to 1,000,000); untracked without it. 0 starts it sold out.',
    }),
    lowStockThreshold: t.int({
      description: 'LOW_STOCK alerts at or below this quantity; needs initialStock.',
    }),
  }),
});

const UpdateProductInput = builder.inputType('UpdateProductInput', {
  description: 'Fields left out (or null) stay as they are; an empty category or description clears it.',
  fields: (t) => ({
    productId: t.id({ required: true }),
    name: t.string(),
    priceCents: t.int(),
    stationId: t.id(),
    category: t.string(),
    description: t.string(),
    active: t.boolean({ description: 'false archives the product (off the menu); true brings it back.' }),
  }),
});

builder.mutationFields((t) => ({
  createProduct: t.withAuth({ can: 'menu.manage' }).field({
    type: ProductRef,
    description: 'Adds a product to the menu of a store. Managers and admins.',
    args: { input: t.arg({ type: CreateProductInput, required: true }) },
    resolve: (_root, { input }, ctx) =>
      ctx.services.menu.createProduct(ctx.principal, {
        storeId: String(input.storeId),
        name: input.name,
        priceCents: input.priceCents,
        stationId: String(input.stationId),
        category: input.category,
        description: input.description,
        initialStock: input.initialStock,
        lowStockThreshold: input.lowStockThreshold,
      }),
  }),
  updateProduct: t.withAuth({ can: 'menu.manage' }).field({
    type: ProductRef,
    description:
      'Edits a product; `active: false` archives it. Orders already placed keep their price. Managers and admins.',
    args: { input: t.arg({ type: UpdateProductInput, required: true }) },
    resolve: (_root, { input }, ctx) =>
      ctx.services.menu.updateProduct(ctx.principal, {
        productId: String(input.productId),
        name: input.name,
        priceCents: input.priceCents,
        stationId: input.stationId == null ? null : String(input.stationId),
        category: input.category,
        description: input.description,
        active: input.active,
      }),
  }),
  setProductAvailability: t.withAuth({ can: 'menu.setAvailability' }).field({
    type: ProductRef,
    description:
      '86s a product (`available: false`, optionally with a reason) or brings it back. A sold-out product comes back by a restock (CONFLICT). Staff, managers, admins; kitchen devices for products routed to their stations.',
    args: {
      productId: t.arg.id({ required: true }),
      available: t.arg.boolean({ required: true }),
      reason: t.arg.string({ description: 'At most 200 characters; shown with an unavailable product.' }),
    },
    resolve: (_root, args, ctx) =>
      ctx.services.menu.setProductAvailability(
        ctx.principal,
        String(args.productId),
        args.available,
        args.reason,
      ),
  }),
}));

builder.subscriptionField('menuUpdated', (t) =>
  t
    .withAuth((_root, args) => ({ store: String(args.storeId) }))
    .field({
      type: MenuEventRef,
      description:
        "Changes to the store's menu: products created, edited, repriced, 86'd or back, archived. Customers see the active menu. Resume with `after`.",
      args: {
        storeId: t.arg.id({ required: true }),
        after: t.arg.string(),
      },
      subscribe: async (_root, args, ctx) =>
        ctx.subscriptions.open(
          await ctx.services.menu.menuPlan(ctx.principal, String(args.storeId), args.after),
        ),
      resolve: (event) => event,
    }),
);
