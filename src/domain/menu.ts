import { randomUUID } from 'node:crypto';
import { deniedMessage, requirePermission } from '../auth/permissions';
import {
  authorizationScope,
  canAccessStore,
  canManageMenu,
  canSeeProduct,
  canSetAvailability,
} from '../auth/policy';
import type { Principal } from '../auth/principal';
import type { Tx } from '../db/types';
import { badInput, DomainError, forbidden, notFound } from '../errors';
import { topics } from '../events/topics';
import {
  emitMenuEvent,
  loadProductView,
  type MenuEventKind,
  type MenuEventPayload,
  type ProductView,
  productInclude,
  SOLD_OUT_REASON,
  toProductView,
} from './menu-records';
import type { ServiceDeps } from './services';
import { requireStore } from './stores';
import { openPlanStream, type Selector, type SubscriptionPlan, type Viewer } from './subscription-plans';
import { fitsCharacters } from './text';

/**
 * The menu of a store: products created and edited by managers, 86'd by the floor and the kitchen (and by
 * their stock running out, see menu-records), announced on the store's menu topic for every screen that
 * shows the menu. Orders copy name and price when placed, so a change never rewrites an order.
 */

export const MENU_LIMITS = {
  maxNameLength: 100,
  maxCategoryLength: 50,
  maxDescriptionLength: 500,
  maxReasonLength: 200,
  /** A price of at most 1,000,000.00 in the store's currency. */
  maxPriceCents: 100_000_000,
  maxStock: 1_000_000,
} as const;

export interface CreateProductInput {
  storeId: string;
  name: string;
  priceCents: number;
  stationId: string;
  category?: string | null;
  description?: string | null;
  /** Tracks stock from this quantity (an inventory item named like the product); untracked without it. */
  initialStock?: number | null;
  lowStockThreshold?: number | null;
}

/** Absent (or null) fields stay as they are; an empty category or description clears it. */
export interface UpdateProductInput {
  productId: string;
  name?: string | null;
  priceCents?: number | null;
  stationId?: string | null;
  category?: string | null;
  description?: string | null;
  active?: boolean | null;
}

/** A menu event as a subscriber receives it. */
export interface MenuStreamEvent extends MenuEventPayload {
  cursor: string;
}

function requiredText(value: string, field: string, max: number): string {
  const text = value.trim();
  if (text.length === 0 || !fitsCharacters(text, max)) {
    throw badInput(`${field} must be 1 to ${max} characters`, { field });
  }
  return text;
}

/** Trimmed text, null for an empty string (clears the field). */
function optionalText(value: string, field: string, max: number): string | null {
  const text = value.trim();
  if (!fitsCharacters(text, max)) throw badInput(`${field} is at most ${max} characters`, { field });
  return text.length === 0 ? null : text;
}

function wholeNumber(value: number, field: string, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw badInput(`${field} must be a whole number from ${min} to ${max}`, { field });
  }
  return value;
}

const price = (value: number) => wholeNumber(value, 'priceCents', 0, MENU_LIMITS.maxPriceCents);

/** One event per change, named after what matters most to a menu screen. */
function kindOfUpdate(before: { active: boolean; priceCents: number }, after: ProductView): MenuEventKind {
  if (before.active && !after.active) return 'PRODUCT_ARCHIVED';
  if (before.priceCents !== after.priceCents) return 'PRICE_CHANGED';
  return 'PRODUCT_UPDATED';
}

export class MenuService {
  constructor(private readonly deps: ServiceDeps) {}

  /** The store's products, ordered by category and name: the active menu, or with archived ones for staff. */
  async products(
    principal: Principal,
    storeId: string,
    options: { includeArchived?: boolean | null } = {},
  ): Promise<ProductView[]> {
    const store = await requireStore(this.deps.db, principal, storeId);
    const includeArchived = options.includeArchived === true;
    if (includeArchived && !canSeeProduct(principal, { storeId: store.id, active: false })) {
      throw forbidden(deniedMessage('menu.readArchived'));
    }
    const rows = await this.deps.db.product.findMany({
      where: {
        tenantId: principal.tenantId,
        storeId: store.id,
        ...(includeArchived ? {} : { active: true }),
      },
      include: productInclude,
      orderBy: [{ category: 'asc' }, { name: 'asc' }, { id: 'asc' }],
    });
    return rows.map(toProductView);
  }

  async createProduct(principal: Principal, input: CreateProductInput): Promise<ProductView> {
    requireMenuManager(principal);
    const name = requiredText(input.name, 'name', MENU_LIMITS.maxNameLength);
    const priceCents = price(input.priceCents);
    const category =
      input.category == null ? null : optionalText(input.category, 'category', MENU_LIMITS.maxCategoryLength);
    const description =
      input.description == null
        ? null
        : optionalText(input.description, 'description', MENU_LIMITS.maxDescriptionLength);
    const stock = stockOf(input);
    const store = await requireStore(this.deps.db, principal, input.storeId);
    if (!canManageMenu(principal, store.id)) throw forbidden(`No access to store ${input.storeId}`);
    return this.deps.publisher.run(async (tx, emit) => {
      await requireStationOfStore(tx, principal.tenantId, store.id, input.stationId);
      const productId = randomUUID();
      const soldOut = stock !== null && stock.quantity === 0;
      await tx.product.create({
        data: {
          id: productId,
          tenantId: principal.tenantId,
          storeId: store.id,
          stationId: input.stationId,
          name,
          priceCents,
          category,
          description,
          ...(soldOut && { available: false, soldOut: true, unavailableReason: SOLD_OUT_REASON }),
          ...(stock && {
            inventoryItem: {
              create: {
                id: `${productId}-stock`,
                tenantId: principal.tenantId,
                storeId: store.id,
                name,
                quantity: stock.quantity,
                lowStockThreshold: stock.lowStockThreshold,
              },
            },
          }),
        },
      });
      const product = await loadProductView(tx, principal.tenantId, productId);
      emitMenuEvent(emit, principal.tenantId, { kind: 'PRODUCT_CREATED', product, at: new Date() });
      return product;
    });
  }

  /**
   * Edits a product (managers). Archiving (`active: false`) takes it off the menu; orders that name it keep
   * it. A change that changes nothing announces nothing.
   */
  async updateProduct(principal: Principal, input: UpdateProductInput): Promise<ProductView> {
    requireMenuManager(principal);
    const changes = {
      ...(input.name != null && { name: requiredText(input.name, 'name', MENU_LIMITS.maxNameLength) }),
      ...(input.priceCents != null && { priceCents: price(input.priceCents) }),
      ...(input.category != null && {
        category: optionalText(input.category, 'category', MENU_LIMITS.maxCategoryLength),
      }),
      ...(input.description != null && {
        description: optionalText(input.description, 'description', MENU_LIMITS.maxDescriptionLength),
      }),
      ...(input.active != null && { active: input.active }),
      ...(input.stationId != null && { stationId: input.stationId }),
    };
    return this.deps.publisher.run(async (tx, emit) => {
      const before = await lockProduct(tx, principal, input.productId);
      if (!canManageMenu(principal, before.storeId))
        throw forbidden(`No access to product ${input.productId}`);
      if (changes.stationId !== undefined && changes.stationId !== before.stationId) {
        await requireStationOfStore(tx, principal.tenantId, before.storeId, changes.stationId);
      }
      const changed = Object.entries(changes).some(
        ([field, value]) => before[field as keyof typeof before] !== value,
      );
      if (!changed) return toProductView(before);
      const at = new Date();
      await tx.product.update({ where: { id: before.id }, data: { ...changes, updatedAt: at } });
      const product = await loadProductView(tx, principal.tenantId, before.id);
      const kind = kindOfUpdate(before, product);
      const previousPriceCents = product.priceCents === before.priceCents ? null : before.priceCents;
      emitMenuEvent(emit, principal.tenantId, { kind, product, previousPriceCents, at });
      return product;
    });
  }

  /**
   * 86s a product by hand (`available: false`, with an optional reason) or brings it back. A product whose
   * stock ran out comes back by a restock, not by hand (CONFLICT); an archived one is off the menu (CONFLICT).
   */
  async setProductAvailability(
    principal: Principal,
    productId: string,
    available: boolean,
    reason?: string | null,
  ): Promise<ProductView> {
    requirePermission(principal, 'menu.setAvailability');
    const note =
      available || reason == null ? null : optionalText(reason, 'reason', MENU_LIMITS.maxReasonLength);
    return this.deps.publisher.run(async (tx, emit) => {
      const row = await lockProduct(tx, principal, productId);
      if (!canSetAvailability(principal, row))
        throw forbidden(`You may not change the availability of ${row.name}`);
      if (!row.active) {
        throw new DomainError('CONFLICT', `${row.name} is archived: it is not on the menu`, { productId });
      }
      const current = toProductView(row);
      const outOfStock = current.stockQuantity !== null && current.stockQuantity <= 0;
      if (available && (current.soldOut || outOfStock)) {
        throw new DomainError('CONFLICT', `${row.name} is out of stock: restock it to bring it back`, {
          productId,
          stockQuantity: current.stockQuantity,
        });
      }
      const unchanged = available
        ? current.available
        : !row.available && !row.soldOut && row.unavailableReason === note;
      if (unchanged) return current;
      const at = new Date();
      await tx.product.update({
        where: { id: row.id },
        data: { available, soldOut: false, unavailableReason: available ? null : note, updatedAt: at },
      });
      const product = await loadProductView(tx, principal.tenantId, row.id);
      emitMenuEvent(emit, principal.tenantId, { kind: 'AVAILABILITY_CHANGED', product, at });
      return product;
    });
  }

  /**
   * Menu changes of a store from `after` on. Customers see the active menu (and a product leaving it);
   * every event is checked again before delivery.
   */
  async menuPlan(principal: Principal, storeId: string, after?: string | null): Promise<MenuPlan> {
    const store = await requireStore(this.deps.db, principal, storeId, { cached: true });
    const topic = topics.storeMenu(principal.tenantId, store.id);
    return {
      streamKey: topic,
      topics: [topic],
      after: after ?? null,
      key: { viewer: authorizationScope(principal), storeId: store.id },
      select: selectMenuEvent,
    };
  }

  /** menuPlan as a private stream. */
  async subscribeMenu(
    principal: Principal,
    storeId: string,
    after?: string | null,
  ): Promise<AsyncIterableIterator<MenuStreamEvent>> {
    return openPlanStream(this.deps.streams, await this.menuPlan(principal, storeId, after));
  }
}

/** What a menu subscription's events depend on: who watches which store. */
export interface MenuKey {
  viewer: Viewer;
  storeId: string;
}

export type MenuPlan = SubscriptionPlan<MenuKey, MenuEventPayload, MenuStreamEvent>;

const selectMenuEvent: Selector<MenuKey, MenuEventPayload, MenuStreamEvent> =
  ({ viewer, storeId }) =>
  (event) => {
    const { kind, product } = event.payload;
    if (event.tenantId !== viewer.tenantId || product.storeId !== storeId) return undefined;
    if (!canAccessStore(viewer, product.storeId)) return undefined;
    if (kind !== 'PRODUCT_ARCHIVED' && !canSeeProduct(viewer, product)) return undefined;
    return { ...event.payload, cursor: event.cursor };
  };

function requireMenuManager(principal: Principal): void {
  requirePermission(principal, 'menu.manage');
}

function stockOf(input: CreateProductInput): { quantity: number; lowStockThreshold: number } | null {
  if (input.initialStock == null) {
    if (input.lowStockThreshold != null) {
      throw badInput('lowStockThreshold needs initialStock (stock tracking)', { field: 'lowStockThreshold' });
    }
    return null;
  }
  return {
    quantity: wholeNumber(input.initialStock, 'initialStock', 0, MENU_LIMITS.maxStock),
    lowStockThreshold: wholeNumber(
      input.lowStockThreshold ?? 0,
      'lowStockThreshold',
      0,
      MENU_LIMITS.maxStock,
    ),
  };
}

/**
 * The product row locked until commit (changes of one product apply one after another, each seeing the last),
 * or NOT_FOUND outside the caller's tenant and FORBIDDEN outside its stores.
 */
async function lockProduct(tx: Tx, principal: Principal, productId: string) {
  const locked = await tx.$queryRaw<{ id: string }[]>`
    SELECT "id" FROM "Product" WHERE "id" = ${productId} AND "tenantId" = ${principal.tenantId} FOR UPDATE`;
  if (locked.length === 0) throw notFound('Product', productId);
  const row = await tx.product.findUniqueOrThrow({ where: { id: productId }, include: productInclude });
  if (!canAccessStore(principal, row.storeId)) throw forbidden(`No access to product ${productId}`);
  return row;
}

async function requireStationOfStore(tx: Tx, tenantId: string, storeId: string, stationId: string) {
  const station = await tx.station.findFirst({
    where: { id: stationId, tenantId, storeId },
    select: { id: true },
  });
  if (!station) throw notFound('Station', stationId);
}
