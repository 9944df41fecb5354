import {
  type ExecutionResult,
  execute,
  type GraphQLField,
  type GraphQLObjectType,
  type GraphQLSchema,
  parse,
  subscribe,
} from 'graphql';
import { describe, expect, it } from 'vitest';
import {
  ACTIONS,
  type Action,
  allows,
  deniedMessage,
  PERMISSIONS,
  requirePermission,
} from '../../src/auth/permissions';
import { type Principal, ROLES, type Role } from '../../src/auth/principal';
import { DomainError } from '../../src/errors';
import type { GraphQLContext } from '../../src/schema/context';
import { buildSchema } from '../../src/schema/index';

// The permission table as a specification: which roles pass each action, and the refusal of the others, at the
// domain's guard and at the executor (the real schema, graphql-js's execute and subscribe, services that only
// say they were reached). Changing who may do what means changing this file on purpose.

const ALLOWED: Record<Action, readonly Role[]> = {
  'account.use': ['ADMIN', 'MANAGER', 'STAFF', 'KITCHEN', 'CUSTOMER'],
  'order.create': ['ADMIN', 'MANAGER', 'STAFF', 'CUSTOMER'],
  'order.read': ['ADMIN', 'MANAGER', 'STAFF', 'KITCHEN', 'CUSTOMER'],
  'menu.read': ['ADMIN', 'MANAGER', 'STAFF', 'KITCHEN', 'CUSTOMER'],
  'menu.readArchived': ['ADMIN', 'MANAGER', 'STAFF', 'KITCHEN'],
  'menu.manage': ['ADMIN', 'MANAGER'],
  'menu.setAvailability': ['ADMIN', 'MANAGER', 'STAFF', 'KITCHEN'],
  'table.work': ['ADMIN', 'MANAGER', 'STAFF'],
  'order.updateStatus': ['ADMIN', 'MANAGER', 'STAFF'],
  'order.cancel': ['ADMIN', 'MANAGER', 'STAFF'],
  'order.recordPayment': ['ADMIN', 'MANAGER', 'STAFF'],
  'kds.use': ['ADMIN', 'MANAGER', 'STAFF', 'KITCHEN'],
  'inventory.read': ['ADMIN', 'MANAGER', 'STAFF', 'KITCHEN'],
  'inventory.watch': ['ADMIN', 'MANAGER', 'STAFF', 'KITCHEN'],
  'inventory.adjust': ['ADMIN', 'MANAGER'],
  'inventory.restock': ['ADMIN', 'MANAGER'],
  'inventory.transfer': ['ADMIN', 'MANAGER'],
  'station.setTargetTime': ['ADMIN', 'MANAGER'],
  'inventory.acknowledge': ['ADMIN', 'MANAGER', 'STAFF'],
  'dashboard.read': ['ADMIN', 'MANAGER', 'STAFF'],
  'dashboard.readTenant': ['ADMIN', 'MANAGER'],
  'notification.send': ['ADMIN', 'MANAGER'],
  'notification.sendSystem': ['ADMIN'],
  'presence.read': ['ADMIN', 'MANAGER', 'STAFF'],
  'presence.stationOnline': ['ADMIN', 'MANAGER', 'STAFF', 'KITCHEN'],
  'presence.appear': ['ADMIN', 'MANAGER', 'STAFF', 'KITCHEN'],
  'session.revoke': ['ADMIN', 'MANAGER', 'STAFF', 'KITCHEN', 'CUSTOMER'],
  'platform.operate': ['ADMIN'],
};

/** The domain's refusals, word for word (they are public: a FORBIDDEN error's message). */
const DENIED: Partial<Record<Action, string>> = {
  'order.create': 'Your role may not create orders',
  'order.updateStatus': 'Your role may not change order status',
  'order.cancel': 'Your role may not cancel orders',
  'order.recordPayment': 'Your role may not record payments',
  'menu.manage': 'Only managers and admins edit the menu',
  'menu.setAvailability': 'Your role may not change availability',
  'table.work': 'Only floor staff, managers and admins work the tables',
  'kds.use': 'Your role may not use the kitchen display',
  'inventory.read': 'Only STAFF, MANAGER, ADMIN, KITCHEN may read inventory',
  'inventory.watch': 'Only STAFF, MANAGER, ADMIN, KITCHEN may watch inventory',
  'inventory.adjust': 'Only MANAGER, ADMIN may adjust inventory',
  'inventory.restock': 'Only MANAGER, ADMIN may restock inventory',
  'inventory.transfer': 'Only MANAGER, ADMIN may transfer inventory',
  'inventory.acknowledge': 'Only MANAGER, ADMIN, STAFF may acknowledge inventory alerts',
  'station.setTargetTime': 'Only managers set station target times',
  'dashboard.read': 'No access to dashboards',
  'dashboard.readTenant': 'Only managers and admins see tenant-wide metrics',
  'notification.send': 'Only managers and admins send notifications',
  'presence.read': 'Your role may not see presence',
};

function principalWith(role: Role): Principal {
  return { userId: `u-${role}`, tenantId: 'acme', roles: [role], stores: '*', stations: [] };
}

const sorted = (roles: readonly Role[]) => [...roles].sort();

describe('the permission table', () => {
  it('allows each action exactly the roles of the specification', () => {
    expect(Object.keys(ALLOWED).sort()).toEqual([...ACTIONS].sort());
    for (const action of ACTIONS)
      expect([action, sorted(PERMISSIONS[action].roles)]).toEqual([action, sorted(ALLOWED[action])]);
  });

  it('names a description and the operations of every action', () => {
    for (const action of ACTIONS) {
      expect(PERMISSIONS[action].description.length, action).toBeGreaterThan(0);
      expect(PERMISSIONS[action].operations.length, action).toBeGreaterThan(0);
    }
  });
});

describe('requirePermission (the domain guard)', () => {
  for (const action of ACTIONS) {
    it(`${action}: ${ALLOWED[action].join(', ')} pass; the others are FORBIDDEN`, () => {
      for (const role of ROLES) {
        const principal = principalWith(role);
        expect([role, allows(principal, action)]).toEqual([role, ALLOWED[action].includes(role)]);
        if (ALLOWED[action].includes(role)) {
          expect(() => requirePermission(principal, action)).not.toThrow();
        } else {
          const refusal = (() => {
            try {
              requirePermission(principal, action);
            } catch (error) {
              return error;
            }
          })();
          expect(refusal).toBeInstanceOf(DomainError);
          expect({ code: (refusal as DomainError).code, message: (refusal as DomainError).message }).toEqual({
            code: 'FORBIDDEN',
            message: DENIED[action] ?? deniedMessage(action),
          });
        }
      }
    });
  }

  it('refuses with the messages the domain has always used', () => {
    for (const [action, message] of Object.entries(DENIED))
      expect(deniedMessage(action as Action)).toBe(message);
  });

  it('passes a caller with several roles when one of them is allowed', () => {
    expect(allows({ roles: ['CUSTOMER', 'KITCHEN'] }, 'kds.use')).toBe(true);
    expect(allows({ roles: ['CUSTOMER', 'KITCHEN'] }, 'table.work')).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------------------
// At the executor: every field whose scope is an action, for every role.

/** One operation per field that declares `can: action`; literals only, so no variables. */
const OPERATIONS: Array<{ field: string; action: Action; document: string }> = [
  {
    field: 'createOrder',
    action: 'order.create',
    document: 'mutation { createOrder(input: { storeId: "s", channel: ONLINE, items: [] }) { id } }',
  },
  {
    field: 'updateOrderStatus',
    action: 'order.updateStatus',
    document: 'mutation { updateOrderStatus(orderId: "o", status: ACCEPTED) { id } }',
  },
  {
    field: 'cancelOrder',
    action: 'order.cancel',
    document: 'mutation { cancelOrder(orderId: "o", reason: "r") { id } }',
  },
  {
    field: 'recordPayment',
    action: 'order.recordPayment',
    document: 'mutation { recordPayment(orderId: "o", amount: 1) { id } }',
  },
  {
    field: 'createProduct',
    action: 'menu.manage',
    document:
      'mutation { createProduct(input: { storeId: "s", stationId: "st", name: "n", priceCents: 1 }) { id } }',
  },
  {
    field: 'updateProduct',
    action: 'menu.manage',
    document: 'mutation { updateProduct(input: { productId: "p" }) { id } }',
  },
  {
    field: 'setProductAvailability',
    action: 'menu.setAvailability',
    document: 'mutation { setProductAvailability(productId: "p", available: false) { id } }',
  },
  { field: 'tables', action: 'table.work', document: '{ tables(storeId: "s") { id } }' },
  {
    field: 'seatTable',
    action: 'table.work',
    document: 'mutation { seatTable(tableId: "t", partySize: 2) { id } }',
  },
  {
    field: 'setTableStatus',
    action: 'table.work',
    document: 'mutation { setTableStatus(tableId: "t", status: FREE) { id } }',
  },
  {
    field: 'issueTableToken',
    action: 'table.work',
    document: 'mutation { issueTableToken(tableId: "t") { token } }',
  },
  {
    field: 'tableUpdated',
    action: 'table.work',
    document: 'subscription { tableUpdated(storeId: "s") { cursor } }',
  },
  { field: 'kdsTickets', action: 'kds.use', document: '{ kdsTickets(stationId: "st") { id } }' },
  { field: 'startItem', action: 'kds.use', document: 'mutation { startItem(itemId: "i") { id } }' },
  { field: 'markItemReady', action: 'kds.use', document: 'mutation { markItemReady(itemId: "i") { id } }' },
  { field: 'bumpTicket', action: 'kds.use', document: 'mutation { bumpTicket(ticketId: "k") { id } }' },
  { field: 'recallTicket', action: 'kds.use', document: 'mutation { recallTicket(ticketId: "k") { id } }' },
  {
    field: 'kdsTicket',
    action: 'kds.use',
    document: 'subscription { kdsTicket(stationId: "st") { cursor } }',
  },
  { field: 'inventoryItems', action: 'inventory.read', document: '{ inventoryItems(storeId: "s") { id } }' },
  {
    field: 'inventoryAlerts',
    action: 'inventory.read',
    document: '{ inventoryAlerts(storeId: "s") { id } }',
  },
  {
    field: 'inventoryAlert',
    action: 'inventory.watch',
    document: 'subscription { inventoryAlert(storeId: "s") { cursor } }',
  },
  {
    field: 'adjustInventory',
    action: 'inventory.adjust',
    document: 'mutation { adjustInventory(itemId: "i", delta: 1, reason: "r") { id } }',
  },
  {
    field: 'restockInventory',
    action: 'inventory.restock',
    document: 'mutation { restockInventory(itemId: "i", quantity: 1) { id } }',
  },
  {
    field: 'transferInventory',
    action: 'inventory.transfer',
    document: 'mutation { transferInventory(itemId: "i", toStoreId: "s2", quantity: 1) { id } }',
  },
  {
    field: 'acknowledgeInventoryAlert',
    action: 'inventory.acknowledge',
    document: 'mutation { acknowledgeInventoryAlert(alertId: "a") { id } }',
  },
  {
    field: 'setStationTargetTime',
    action: 'station.setTargetTime',
    document: 'mutation { setStationTargetTime(stationId: "st", targetSeconds: 60) { id } }',
  },
  { field: 'dashboard', action: 'dashboard.read', document: '{ dashboard(storeId: "s") { openOrders } }' },
  {
    field: 'dashboardHistory',
    action: 'dashboard.read',
    document:
      '{ dashboardHistory(storeId: "s", from: "2026-01-01T00:00:00Z", to: "2026-01-02T00:00:00Z") { takenAt } }',
  },
  {
    field: 'dashboardMetrics',
    action: 'dashboard.read',
    document: 'subscription { dashboardMetrics(storeId: "s") { openOrders } }',
  },
  {
    field: 'sendNotification',
    action: 'notification.send',
    document:
      'mutation { sendNotification(input: { audience: USER, targetUserId: "u", title: "t", body: "b" }) { id } }',
  },
  { field: 'presence', action: 'presence.read', document: '{ presence(storeId: "s") { userId } }' },
  {
    field: 'presenceChanged',
    action: 'presence.read',
    document: 'subscription { presenceChanged(storeId: "s") { kind } }',
  },
  {
    field: 'online',
    action: 'presence.stationOnline',
    document: '{ store(id: "s") { stations { online } } }',
  },
];

const REACHED = 'reached the service';

/** Services whose every method says it was reached; `store` and `stations` answer, to get to `Station.online`. */
const services = new Proxy(
  {},
  {
    get: (_target, area) =>
      new Proxy(
        {},
        {
          get: (_area, method) => {
            if (area === 'stores' && method === 'store')
              return () => ({ id: 's', name: 'S', currency: 'EUR', timezone: 'UTC' });
            if (area === 'stores' && method === 'stations')
              return () => [{ id: 'st', storeId: 's', name: 'Grill', kind: 'PREP', targetSeconds: 60 }];
            return () => {
              throw new Error(REACHED);
            };
          },
        },
      ),
  },
) as GraphQLContext['services'];

function contextFor(principal: Principal | null): GraphQLContext {
  return {
    principal,
    session: null,
    connection: null,
    services,
    subscriptions: services.subscriptions,
    access: { canWatchStation: async () => true, platformTenants: [] },
    requestId: 'permissions-test',
  };
}

async function run(schema: GraphQLSchema, document: string, principal: Principal | null) {
  const args = { schema, document: parse(document), contextValue: contextFor(principal) };
  const result = document.startsWith('subscription') ? await subscribe(args) : await execute(args);
  if (Symbol.asyncIterator in result)
    throw new Error(`${document} opened a stream: the service stub should throw`);
  return result as ExecutionResult;
}

const outcome = (result: ExecutionResult) => {
  const error = result.errors?.[0];
  if (!error) return 'no error';
  return error.message === REACHED ? 'reached' : `${error.extensions?.code}: ${error.message}`;
};

describe('the schema, at the executor', () => {
  const schema = buildSchema();

  for (const { field, action, document } of OPERATIONS) {
    it(`${field} (${action}): ${ALLOWED[action].join(', ')} reach the service; the others are FORBIDDEN`, async () => {
      for (const role of ROLES) {
        const expected = ALLOWED[action].includes(role) ? 'reached' : 'FORBIDDEN: Not allowed';
        expect([role, outcome(await run(schema, document, principalWith(role)))]).toEqual([role, expected]);
      }
      expect(outcome(await run(schema, document, null))).toBe('UNAUTHENTICATED: Authentication required');
    });
  }

  it('lists every field whose scope is an action, with that action, and api.md names the field', () => {
    const declared: Array<{ field: string; action: unknown }> = [];
    const types = [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()];
    for (const type of Object.values(schema.getTypeMap())) {
      if (!type.name.startsWith('__') && 'getFields' in type && !types.includes(type as GraphQLObjectType))
        types.push(type as GraphQLObjectType);
    }
    for (const type of types) {
      for (const field of Object.values(type?.getFields() ?? {}) as GraphQLField<unknown, unknown>[]) {
        const action = actionOf(field);
        if (action !== undefined) declared.push({ field: field.name, action });
      }
    }
    const tested = OPERATIONS.map(({ field, action }) => ({ field, action }));
    const byField = (a: { field: string }, b: { field: string }) => a.field.localeCompare(b.field);
    expect(declared.sort(byField)).toEqual(tested.sort(byField));
    for (const { field, action } of OPERATIONS) {
      expect(PERMISSIONS[action].operations.join(', '), `${action} lists ${field}`).toMatch(
        new RegExp(`[\`.]${field}[\`(]`),
      );
    }
  });
});

/** The action a field's `authScopes` names (`can`, also inside `$all`), if any. */
function actionOf(field: GraphQLField<unknown, unknown>): unknown {
  const options = field.extensions?.pothosOptions as { authScopes?: unknown } | undefined;
  let scopes = options?.authScopes;
  if (typeof scopes === 'function')
    scopes = scopes({}, { storeId: 's', stationId: 'st' }, contextFor(null), {});
  const map = (scopes ?? {}) as { can?: unknown; $all?: { can?: unknown } };
  return map.can ?? map.$all?.can;
}
