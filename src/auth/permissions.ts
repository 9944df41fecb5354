import { forbidden } from '../errors';
import { type Principal, ROLES, type Role } from './principal';

/**
 * Who may do what, written once. Every role list of the code is read from here: the GraphQL scopes
 * (`can: 'inventory.adjust'`, src/schema/builder.ts), the domain's guards (`requirePermission`), the finer rules
 * of policy.ts (which say *which* rows a role may touch), and the *Who may do what* table of docs/api.md
 * (`npm run docs:permissions` writes it; a test fails when the committed one differs).
 *
 * A rule is the role check only. Tenant and store membership, and the finer rules named in `refinedBy`
 * (policy.ts functions), apply on top of it; `limits` says, for the doc, which roles pass only under them.
 */
export interface PermissionRule {
  /** Roles that pass the role check (in the order the refusal message names them, when it does). */
  roles: readonly Role[];
  /** What the action is, in a few words. */
  description: string;
  /** The GraphQL operations it governs, as docs/api.md lists them. */
  operations: readonly string[];
  /** The refusal of a caller without one of the roles; `{roles}` is replaced by the roles, comma-separated. */
  denied: string;
  /** Roles allowed only within a finer rule, with that rule in words (a cell of the doc's table). */
  limits?: Partial<Record<Role, string>>;
  /** The policy.ts function(s) that narrow the action to rows (stores, stations, own orders...). */
  refinedBy?: readonly string[];
}

/** Everyone but customers and table guests: the people (and devices) who work in a store (policy.ts `isStaff`). */
export const STAFF_ROLES = ['ADMIN', 'MANAGER', 'STAFF', 'KITCHEN'] as const satisfies readonly Role[];
const STAFF = STAFF_ROLES;
/** Staff who serve guests: everyone working in a store but the kitchen. */
const FRONT_OF_HOUSE = ['ADMIN', 'MANAGER', 'STAFF'] as const satisfies readonly Role[];
const MANAGEMENT = ['ADMIN', 'MANAGER'] as const satisfies readonly Role[];

/** Roles whose sessions a manager may end (a lost tablet, a kitchen screen): never an admin's or a manager's. */
export const REVOCABLE_BY_MANAGERS = ['STAFF', 'KITCHEN'] as const satisfies readonly Role[];

const OWN_ORDERS = "own orders only; a table guest: its party's orders only";

export const PERMISSIONS = {
  'account.use': {
    roles: ROLES,
    description: 'the caller itself: its user, stores, notifications and preferences',
    operations: [
      '`me`',
      '`stores`',
      '`store`',
      '`notifications`',
      '`notificationPreferences`',
      '`markNotification*Read`',
      '`updateNotificationPreferences`',
      'subscription `notifications`',
    ],
    denied: 'Not allowed',
  },
  'order.create': {
    roles: ['ADMIN', 'MANAGER', 'STAFF', 'CUSTOMER'],
    description: 'place an order',
    operations: ['`createOrder`'],
    denied: 'Your role may not create orders',
    limits: {
      CUSTOMER: 'own orders, `ONLINE`/`KIOSK`, priority `NORMAL`; a table guest: `TABLE` at its table',
    },
    refinedBy: ['isStaff', 'isTableGuest'],
  },
  'order.read': {
    roles: ROLES,
    description: "read and watch a store's orders",
    operations: ['`order`', '`orders`', 'subscription `orderUpdated`'],
    denied: 'Not allowed',
    limits: { CUSTOMER: OWN_ORDERS },
    refinedBy: ['canSeeOrder'],
  },
  'menu.read': {
    roles: ROLES,
    description: "read and watch a store's menu",
    operations: ['`Store.products`', 'subscription `menuUpdated`'],
    denied: 'Not allowed',
    limits: { CUSTOMER: 'the active menu' },
    refinedBy: ['canSeeProduct'],
  },
  'menu.readArchived': {
    roles: STAFF,
    description: 'see archived products',
    operations: ['`Store.products(includeArchived: true)`'],
    denied: 'Only staff see archived products',
    refinedBy: ['canSeeProduct'],
  },
  'menu.manage': {
    roles: MANAGEMENT,
    description: 'create and edit products (prices, stations, archiving)',
    operations: ['`createProduct`', '`updateProduct`'],
    denied: 'Only managers and admins edit the menu',
    refinedBy: ['canManageMenu'],
  },
  'menu.setAvailability': {
    roles: STAFF,
    description: '86 a product or bring it back',
    operations: ['`setProductAvailability`'],
    denied: 'Your role may not change availability',
    limits: { KITCHEN: 'products routed to its bound stations' },
    refinedBy: ['canSetAvailability'],
  },
  'table.work': {
    roles: FRONT_OF_HOUSE,
    description: 'seat parties, set table status, issue guest tokens, watch the floor',
    operations: [
      '`tables`',
      '`seatTable`',
      '`setTableStatus`',
      '`issueTableToken`',
      'subscription `tableUpdated`',
    ],
    denied: 'Only floor staff, managers and admins work the tables',
    refinedBy: ['canWorkTables'],
  },
  'order.updateStatus': {
    roles: FRONT_OF_HOUSE,
    description: 'move an order through its statuses',
    operations: ['`updateOrderStatus`'],
    denied: 'Your role may not change order status',
  },
  'order.cancel': {
    roles: FRONT_OF_HOUSE,
    description: 'cancel an open order',
    operations: ['`cancelOrder`'],
    denied: 'Your role may not cancel orders',
  },
  'order.recordPayment': {
    roles: FRONT_OF_HOUSE,
    description: 'record a payment',
    operations: ['`recordPayment`'],
    denied: 'Your role may not record payments',
  },
  'kds.use': {
    roles: STAFF,
    description: "work a station's kitchen display",
    operations: [
      '`kdsTickets`',
      '`startItem`',
      '`markItemReady`',
      '`bumpTicket`',
      '`recallTicket`',
      'subscription `kdsTicket`',
    ],
    denied: 'Your role may not use the kitchen display',
    limits: { KITCHEN: 'bound stations' },
    refinedBy: ['canWatchStation'],
  },
  'inventory.read': {
    roles: ['STAFF', 'MANAGER', 'ADMIN', 'KITCHEN'],
    description: "read a store's stock and alerts",
    operations: ['`inventoryItems`', '`inventoryAlerts`'],
    denied: 'Only {roles} may read inventory',
  },
  'inventory.watch': {
    roles: ['STAFF', 'MANAGER', 'ADMIN', 'KITCHEN'],
    description: "watch a store's stock events",
    operations: ['subscription `inventoryAlert`'],
    denied: 'Only {roles} may watch inventory',
  },
  'inventory.adjust': {
    roles: ['MANAGER', 'ADMIN'],
    description: 'correct stock',
    operations: ['`adjustInventory`'],
    denied: 'Only {roles} may adjust inventory',
  },
  'inventory.restock': {
    roles: ['MANAGER', 'ADMIN'],
    description: 'add delivered stock',
    operations: ['`restockInventory`'],
    denied: 'Only {roles} may restock inventory',
  },
  'inventory.transfer': {
    roles: ['MANAGER', 'ADMIN'],
    description: 'move stock to another store of the tenant',
    operations: ["`transferInventory` (both stores must be the caller's)"],
    denied: 'Only {roles} may transfer inventory',
  },
  'station.setTargetTime': {
    roles: ['MANAGER', 'ADMIN'],
    description: "set a station's target time",
    operations: ['`setStationTargetTime`'],
    denied: 'Only managers set station target times',
  },
  'inventory.acknowledge': {
    roles: ['MANAGER', 'ADMIN', 'STAFF'],
    description: 'take an inventory alert in hand',
    operations: ['`acknowledgeInventoryAlert`'],
    denied: 'Only {roles} may acknowledge inventory alerts',
  },
  'dashboard.read': {
    roles: ['MANAGER', 'ADMIN', 'STAFF'],
    description: "read and watch a store's live metrics",
    operations: ['`dashboard`', '`dashboardHistory`', 'subscription `dashboardMetrics`'],
    denied: 'No access to dashboards',
    limits: { STAFF: 'own store' },
  },
  'dashboard.readTenant': {
    roles: ['MANAGER', 'ADMIN'],
    description: "the tenant's metrics, all stores together",
    operations: [
      '`dashboard` and subscription `dashboardMetrics` for the whole tenant (needs `stores: ["*"]`)',
    ],
    denied: 'Only managers and admins see tenant-wide metrics',
    refinedBy: ['hasAllStores'],
  },
  'notification.send': {
    roles: ['MANAGER', 'ADMIN'],
    description: 'send a notification',
    operations: ['`sendNotification` to a user, role, store or tenant (not a system kind)'],
    denied: 'Only managers and admins send notifications',
  },
  'notification.sendSystem': {
    roles: ['ADMIN'],
    description: 'send a notification to every tenant',
    operations: ['`sendNotification` to `SYSTEM` (every tenant)'],
    denied: 'Only platform admins send SYSTEM notifications',
    limits: { ADMIN: 'only admins of a tenant in `PLATFORM_TENANTS`' },
    refinedBy: ['isPlatformAdmin'],
  },
  'presence.read': {
    roles: FRONT_OF_HOUSE,
    description: 'see who is connected in a store',
    operations: ['`presence`', 'subscription `presenceChanged` ([who sees whom](presence.md#who-sees-whom))'],
    denied: 'Your role may not see presence',
    limits: { STAFF: 'staff and kitchen devices' },
    refinedBy: ['canSeeDevice'],
  },
  'presence.stationOnline': {
    roles: STAFF,
    description: 'whether a station has a device connected',
    operations: ['`Station.online`'],
    denied: 'Not allowed',
  },
  'presence.appear': {
    roles: STAFF,
    description: 'be listed in presence as a connected device',
    operations: ['appearing in `presence` (a connected device)'],
    denied: 'Not allowed',
  },
  'session.revoke': {
    roles: ROLES,
    description: "end a user's sessions",
    operations: ['`revokeSessions`'],
    denied: 'Not allowed',
    limits: {
      ADMIN: 'anyone in tenant',
      MANAGER: 'self; STAFF and KITCHEN users whose every store is theirs',
      STAFF: 'self',
      KITCHEN: 'self',
      CUSTOMER: 'self',
    },
    refinedBy: ['canRevokeSessionsOf'],
  },
  'platform.operate': {
    roles: ['ADMIN'],
    description: "read the whole cluster's operations figures",
    operations: ['`serverStats`'],
    denied: 'Not allowed',
    limits: { ADMIN: 'only admins of a tenant in `PLATFORM_TENANTS`' },
    refinedBy: ['isPlatformAdmin'],
  },
} as const satisfies Record<string, PermissionRule>;

export type Action = keyof typeof PERMISSIONS;

export const ACTIONS = Object.keys(PERMISSIONS) as Action[];

export function ruleOf(action: Action): PermissionRule {
  return PERMISSIONS[action];
}

/** The roles that pass the action's role check. */
export function rolesFor(action: Action): readonly Role[] {
  return PERMISSIONS[action].roles;
}

/** The caller has a role the action allows (finer rules aside). */
export function allows(principal: Pick<Principal, 'roles'>, action: Action): boolean {
  const roles: readonly Role[] = PERMISSIONS[action].roles;
  return principal.roles.some((role) => roles.includes(role));
}

/** The caller has a role the action allows without a limit (`limits`): the finer rule need not be asked. */
export function allowsWithoutLimits(principal: Pick<Principal, 'roles'>, action: Action): boolean {
  const rule: PermissionRule = PERMISSIONS[action];
  return principal.roles.some((role) => rule.roles.includes(role) && rule.limits?.[role] === undefined);
}

/** The refusal of a caller the action's roles do not allow. */
export function deniedMessage(action: Action): string {
  const rule: PermissionRule = PERMISSIONS[action];
  return rule.denied.replace('{roles}', rule.roles.join(', '));
}

/** The domain's guard: FORBIDDEN, with the action's message, unless the caller has a role the action allows. */
export function requirePermission(principal: Pick<Principal, 'roles'>, action: Action): void {
  if (!allows(principal, action)) throw forbidden(deniedMessage(action));
}
