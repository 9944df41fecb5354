import type { Role, StationKind } from '../generated/prisma/enums';

/**
 * Deterministic demo data (README "Demo data"). The ids are binding: tests, the token command and
 * the docs refer to them.
 */

export interface DemoTenant {
  id: string;
  name: string;
}

export interface DemoStore {
  id: string;
  tenantId: string;
  name: string;
  currency: string;
  timezone: string;
}

export interface DemoStation {
  id: string;
  tenantId: string;
  storeId: string;
  name: string;
  kind: StationKind;
  targetSeconds: number;
}

export interface DemoProduct {
  id: string;
  tenantId: string;
  storeId: string;
  stationId: string;
  name: string;
  priceCents: number;
  category: string;
}

export interface DemoTable {
  /** `<storeId>-<number>`, e.g. acme-downtown-12. */
  id: string;
  tenantId: string;
  storeId: string;
  number: number;
  seats: number;
}

export interface DemoInventoryItem {
  id: string;
  tenantId: string;
  storeId: string;
  productId: string;
  name: string;
  quantity: number;
  lowStockThreshold: number;
}

export interface DemoUser {
  id: string;
  tenantId: string;
  name: string;
  email: string;
  roles: Role[];
  /** ['*'] means every store of the tenant. */
  storeIds: string[];
  stationIds: string[];
}

export interface DemoData {
  tenants: DemoTenant[];
  stores: DemoStore[];
  stations: DemoStation[];
  products: DemoProduct[];
  inventoryItems: DemoInventoryItem[];
  tables: DemoTable[];
  users: DemoUser[];
}

const TENANTS = [
  {
    id: 'acme',
    name: 'Acme Burgers',
    stores: [
      ['acme-downtown', 'Acme Downtown'],
      ['acme-uptown', 'Acme Uptown'],
    ],
  },
  { id: 'globex', name: 'Globex Diner', stores: [['globex-central', 'Globex Central']] },
] as const;

const STATIONS = [
  { suffix: 'grill', name: 'Grill', kind: 'PREP', targetSeconds: 600 },
  { suffix: 'bar', name: 'Bar', kind: 'PREP', targetSeconds: 300 },
  { suffix: 'expo', name: 'Expo', kind: 'EXPO', targetSeconds: 900 },
] as const;

const PRODUCTS = [
  {
    suffix: 'burger',
    name: 'Burger',
    category: 'Mains',
    priceCents: 1099,
    station: 'grill',
    quantity: 50,
    lowStockThreshold: 10,
  },
  {
    suffix: 'fries',
    name: 'Fries',
    category: 'Sides',
    priceCents: 399,
    station: 'grill',
    quantity: 100,
    lowStockThreshold: 20,
  },
  {
    suffix: 'lemonade',
    name: 'Lemonade',
    category: 'Drinks',
    priceCents: 299,
    station: 'bar',
    quantity: 40,
    lowStockThreshold: 8,
  },
] as const;

/** Tables 1 to 12 in every store, seating 2, 4 and 6 in turn. */
const TABLE_COUNT = 12;
const tableSeats = (number: number) => 2 + 2 * ((number - 1) % 3);

function buildDemoData(): DemoData {
  const data: DemoData = {
    tenants: [],
    stores: [],
    stations: [],
    products: [],
    inventoryItems: [],
    tables: [],
    users: [],
  };
  for (const tenant of TENANTS) {
    data.tenants.push({ id: tenant.id, name: tenant.name });
    for (const [storeId, storeName] of tenant.stores) {
      addStore(data, tenant.id, storeId, storeName);
    }
    data.users.push(...tenantUsers(tenant.id, tenant.name, tenant.stores[0][0]));
  }
  return data;
}

function addStore(data: DemoData, tenantId: string, storeId: string, name: string): void {
  data.stores.push({ id: storeId, tenantId, name, currency: 'USD', timezone: 'UTC' });
  for (const station of STATIONS) {
    const { suffix, ...fields } = station;
    data.stations.push({ id: `${storeId}-${suffix}`, tenantId, storeId, ...fields });
  }
  for (const product of PRODUCTS) {
    const productId = `${storeId}-${product.suffix}`;
    data.products.push({
      id: productId,
      tenantId,
      storeId,
      stationId: `${storeId}-${product.station}`,
      name: product.name,
      priceCents: product.priceCents,
      category: product.category,
    });
    data.inventoryItems.push({
      id: `${productId}-stock`,
      tenantId,
      storeId,
      productId,
      name: product.name,
      quantity: product.quantity,
      lowStockThreshold: product.lowStockThreshold,
    });
  }
  for (let number = 1; number <= TABLE_COUNT; number++) {
    data.tables.push({ id: `${storeId}-${number}`, tenantId, storeId, number, seats: tableSeats(number) });
  }
}

function tenantUsers(tenantId: string, tenantName: string, firstStoreId: string): DemoUser[] {
  const user = (suffix: string, role: Role, storeIds: string[], stationIds: string[] = []): DemoUser => ({
    id: `${tenantId}-${suffix}`,
    tenantId,
    name: `${tenantName} ${suffix[0]?.toUpperCase()}${suffix.slice(1)}`,
    email: `${tenantId}-${suffix}@example.com`,
    roles: [role],
    storeIds,
    stationIds,
  });
  return [
    user('admin', 'ADMIN', ['*']),
    user('manager', 'MANAGER', ['*']),
    user('staff', 'STAFF', [firstStoreId]),
    user('kitchen', 'KITCHEN', [firstStoreId], [`${firstStoreId}-grill`]),
    user('customer', 'CUSTOMER', [firstStoreId]),
  ];
}

export const demoData: Readonly<DemoData> = buildDemoData();

export const demoUsers: readonly DemoUser[] = demoData.users;

export function findDemoUser(id: string): DemoUser | undefined {
  return demoUsers.find((user) => user.id === id);
}

export function findDemoTable(id: string): DemoTable | undefined {
  return demoData.tables.find((table) => table.id === id);
}
