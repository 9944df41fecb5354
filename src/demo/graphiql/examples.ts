/**
 * GraphiQL's examples: a query, mutations that make the subscriptions fire, and every subscription,
 * each runnable as is by a demo user the operation allows (acme-manager may run them all). Their
 * variables point at the signed-in user's store, station and products. Shared by the page (browser
 * code) and the tests that run every example against a real server.
 */

/** Where the examples point: one store of the user, one of its stations and two of its products. */
export interface ExampleScope {
  storeId: string;
  stationId: string;
  productIds: readonly [string, string];
}

export const DEFAULT_SCOPE: ExampleScope = {
  storeId: 'acme-downtown',
  stationId: 'acme-downtown-grill',
  productIds: ['acme-downtown-burger', 'acme-downtown-fries'],
};

export interface Example {
  /** Its operation's name. */
  name: string;
  title: string;
  kind: 'query' | 'mutation' | 'subscription';
  /** The subscription field it demonstrates, for the test that every subscription has an example. */
  field?: string;
  document: string;
  variables(scope: ExampleScope): Record<string, unknown>;
}

export const LIVE_ORDERS: Example = {
  name: 'LiveOrders',
  title: 'Live orders',
  kind: 'subscription',
  field: 'orderUpdated',
  document: `# Expediter: live orders of a store, over WebSocket.
# 1. Sign in at the top (development only), or put {"Authorization": "Bearer <token>"} in the
#    Headers tab (\`npm run -s token -- acme-manager\` prints one).
# 2. Run this subscription, then place an order (Examples > Place an order) in another tab.
# The address bar always holds a link to this document and its variables.
subscription LiveOrders($storeId: ID!, $after: String) {
  orderUpdated(storeId: $storeId, after: $after) {
    cursor
    kind
    previousStatus
    order {
      id
      number
      status
      channel
      tableNumber
      totalCents
      currency
      items { name quantity notes }
    }
  }
}
`,
  variables: (scope) => ({ storeId: scope.storeId }),
};

export const EXAMPLES: readonly Example[] = [
  LIVE_ORDERS,
  {
    name: 'KitchenTickets',
    title: 'Kitchen tickets',
    kind: 'subscription',
    field: 'kdsTicket',
    document: `# A kitchen display: ticket events of one station (an expo station sees its whole store).
subscription KitchenTickets($stationId: ID!, $after: String) {
  kdsTicket(stationId: $stationId, after: $after) {
    cursor
    kind
    alert
    ticket {
      id
      orderNumber
      status
      channel
      tableNumber
      late
      elapsedSeconds
      targetSeconds
      items { name quantity notes status }
    }
  }
}
`,
    variables: (scope) => ({ stationId: scope.stationId }),
  },
  {
    name: 'InventoryAlerts',
    title: 'Inventory alerts',
    kind: 'subscription',
    field: 'inventoryAlert',
    document: `# Stock events of a store: adjustments, low stock, out of stock, restocks. "Adjust stock" makes one.
subscription InventoryAlerts($storeId: ID, $after: String) {
  inventoryAlert(storeId: $storeId, after: $after) {
    cursor
    kind
    severity
    item { id name quantity available lowStockThreshold }
    alert { id kind status }
  }
}
`,
    variables: (scope) => ({ storeId: scope.storeId }),
  },
  {
    name: 'DashboardLive',
    title: 'Dashboard',
    kind: 'subscription',
    field: 'dashboardMetrics',
    document: `# The store's numbers at once, then after every change (at most once per second).
subscription DashboardLive($storeId: ID) {
  dashboardMetrics(storeId: $storeId) {
    storeId
    ordersToday
    openOrders
    salesTodayCents
    averageTicketSeconds
    kitchenLoad { stationName openItems }
    topProducts { name quantity }
    computedAt
  }
}
`,
    variables: (scope) => ({ storeId: scope.storeId }),
  },
  {
    name: 'MyNotifications',
    title: 'Notifications',
    kind: 'subscription',
    field: 'notifications',
    document: `# Your notifications as they are sent. "Send a notification" sends one to your store.
subscription MyNotifications($after: String) {
  notifications(after: $after) {
    cursor
    notification { id kind title body severity audience createdAt }
  }
}
`,
    variables: () => ({}),
  },
  {
    name: 'MenuUpdates',
    title: 'Menu changes',
    kind: 'subscription',
    field: 'menuUpdated',
    document: `# The store's menu as it changes: new products, prices, 86'd and back, archived.
# "Change a price" makes one.
subscription MenuUpdates($storeId: ID!, $after: String) {
  menuUpdated(storeId: $storeId, after: $after) {
    cursor
    kind
    previousPriceCents
    product { id name category priceCents available active }
  }
}
`,
    variables: (scope) => ({ storeId: scope.storeId }),
  },
  {
    name: 'FloorPlan',
    title: 'Tables',
    kind: 'subscription',
    field: 'tableUpdated',
    document: `# The store's tables as they change (floor staff, managers, admins): seatings, statuses, and the
# orders of the party at each table. A TABLE order makes a seated table ORDERED, the kitchen's last bump
# SERVED, full payment NEEDS_CLEANING. "Reserve a table" makes one; seatTable seats a party.
subscription FloorPlan($storeId: ID!, $after: String) {
  tableUpdated(storeId: $storeId, after: $after) {
    cursor
    kind
    previousStatus
    table {
      id
      number
      seats
      status
      partySize
      seatedAt
      openOrders { number status totalCents paidCents }
    }
  }
}
`,
    variables: (scope) => ({ storeId: scope.storeId }),
  },
  {
    name: 'DevicesOnline',
    title: 'Devices online',
    kind: 'subscription',
    field: 'presenceChanged',
    document: `# Which screens are connected in the store: one ONLINE per device now, then every change.
# Open the live demo (/demo) as the store's kitchen or staff in another window to see one come and go.
subscription DevicesOnline($storeId: ID!) {
  presenceChanged(storeId: $storeId) {
    kind
    occurredAt
    device { userId name roles stationIds connections since lastSeenAt }
  }
}
`,
    variables: (scope) => ({ storeId: scope.storeId }),
  },
  {
    name: 'StoreOverview',
    title: 'Store, menu and orders',
    kind: 'query',
    document: `# Who you are, the store's menu and its latest orders.
query StoreOverview($storeId: ID!) {
  me { id name roles stores { id name } }
  store(id: $storeId) {
    id
    name
    currency
    stations { id name kind }
    products { id name priceCents available }
  }
  orders(storeId: $storeId, first: 10) {
    edges { node { id number status channel tableNumber totalCents currency } }
  }
}
`,
    variables: (scope) => ({ storeId: scope.storeId }),
  },
  {
    name: 'PlaceOrder',
    title: 'Place an order',
    kind: 'mutation',
    document: `# Places an order: live orders, the kitchen's tickets and the dashboard all hear of it.
mutation PlaceOrder($input: CreateOrderInput!) {
  createOrder(input: $input) {
    id
    number
    status
    tableNumber
    totalCents
    currency
    items { name quantity notes }
  }
}
`,
    variables: (scope) => ({
      input: {
        storeId: scope.storeId,
        // Rung up at the till for table 12. A TABLE order needs a party seated at the table (seatTable).
        channel: 'POS',
        tableNumber: 12,
        items: [
          { productId: scope.productIds[0], quantity: 2, notes: 'no onions' },
          { productId: scope.productIds[1], quantity: 1 },
        ],
      },
    }),
  },
  {
    name: 'AdjustStock',
    title: 'Adjust stock',
    kind: 'mutation',
    document: `# Corrects stock (a count found one less). Every adjustment is an inventory event; at the
# item's threshold LOW_STOCK fires, at zero OUT_OF_STOCK.
mutation AdjustStock($itemId: ID!, $delta: Int!, $reason: String!) {
  adjustInventory(itemId: $itemId, delta: $delta, reason: $reason) {
    id
    name
    quantity
    available
    lowStockThreshold
  }
}
`,
    variables: (scope) => ({ itemId: `${scope.productIds[0]}-stock`, delta: -1, reason: 'Stock count' }),
  },
  {
    name: 'ChangePrice',
    title: 'Change a price',
    kind: 'mutation',
    document: `# Reprices a product (managers and admins): menu subscribers hear PRICE_CHANGED with the old price.
# The same price again changes nothing: edit priceCents to fire again.
mutation ChangePrice($input: UpdateProductInput!) {
  updateProduct(input: $input) { id name priceCents }
}
`,
    variables: (scope) => ({ input: { productId: scope.productIds[1], priceCents: 449 } }),
  },
  {
    name: 'ReserveTable',
    title: 'Reserve a table',
    kind: 'mutation',
    document: `# Reserves a free table by hand (setTableStatus); FREE puts it back. A move the table's status does
# not allow (a table with a party at it) is a CONFLICT naming the current status.
mutation ReserveTable($tableId: ID!) {
  setTableStatus(tableId: $tableId, status: RESERVED) { id number status }
}
`,
    variables: (scope) => ({ tableId: `${scope.storeId}-12` }),
  },
  {
    name: 'SendNotification',
    title: 'Send a notification',
    kind: 'mutation',
    document: `# Sends a notification to everyone in the store (managers and admins may).
mutation SendNotification($input: SendNotificationInput!) {
  sendNotification(input: $input) { id title body audience createdAt }
}
`,
    variables: (scope) => ({
      input: { audience: 'STORE', targetStoreId: scope.storeId, title: 'Hello', body: 'From GraphiQL' },
    }),
  },
];

/**
 * A link that opens GraphiQL on a document and its variables (yoga's GraphiQL reads `query`; this
 * page adds `variables`). Headers never go into links: a shared link carries no token.
 */
export function shareableUrl(base: string, document: string, variables: string): string {
  const url = new URL(base);
  url.search = '';
  url.hash = '';
  url.searchParams.set('query', document);
  if (variables.trim()) url.searchParams.set('variables', variables);
  return url.toString();
}

export function exampleUrl(base: string, example: Example, scope: ExampleScope): string {
  return shareableUrl(base, example.document, JSON.stringify(example.variables(scope), null, 2));
}
