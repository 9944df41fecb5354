import { Client, type CombinedError, fetchExchange, subscriptionExchange } from '@urql/core';
import {
  BumpTicketDocument,
  CancelOrderDocument,
  CreateOrderDocument,
  type DashboardFieldsFragment,
  DashboardLiveDocument,
  KitchenTicketsDocument,
  type OrderStatus,
  type OrderSummaryFragment,
  OrdersDocument,
  OrderUpdatesDocument,
  StationTicketsDocument,
  StoreCatalogDocument,
  type StoreCatalogQuery,
  type TicketFieldsFragment,
  UpdateOrderStatusDocument,
} from '../client/gql/graphql';
import { createExpediterClient } from '../client/index';
import { tag } from './dom';
import { DEMO_SIGN_IN_PATH, type DemoSignInUser } from './graphiql/page';

/**
 * The live demo (browser code): a point of sale, a kitchen display and a manager view of one store,
 * so the whole loop (order, kitchen, bump, ready, dashboard) runs in one page. urql with the generated
 * documents, subscriptions through the client helper.
 * Open /demo?store=acme-downtown[&station=acme-downtown-grill]#token=<jwt>; without a station, the
 * kitchen display is the store's expo station, which sees every ticket.
 */
const params = new URLSearchParams(location.search);
const storeId = params.get('store') ?? 'acme-downtown';
const element = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const TOKEN_KEY = 'expediter-token';

type Store = StoreCatalogQuery['store'];
type Money = (cents: number) => string;

const token = new URLSearchParams(location.hash.slice(1)).get('token') ?? sessionStorage.getItem(TOKEN_KEY);
if (token) void start(token);
else askForToken();

function askForToken() {
  const pasted = element<HTMLFormElement>('token-form');
  pasted.hidden = false;
  pasted.addEventListener('submit', (event) => {
    event.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, element<HTMLTextAreaElement>('token').value.trim());
    location.reload();
  });
  void offerDemoSignIn();
}

/** Where demo sign-in is on (development with the demo data), no terminal is needed for a token. */
async function offerDemoSignIn() {
  const listed = await fetch(DEMO_SIGN_IN_PATH).catch(() => undefined);
  if (!listed?.ok) return;
  const { users } = (await listed.json()) as { users: DemoSignInUser[] };
  const form = element<HTMLFormElement>('demo-sign-in-form');
  const picker = element<HTMLSelectElement>('demo-user');
  picker.replaceChildren(
    ...users.map((user) => tag('option', { value: user.id }, `${user.id} (${user.roles.join(', ')})`)),
  );
  picker.value = 'acme-manager';
  form.hidden = false;
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const response = await fetch(DEMO_SIGN_IN_PATH, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user: picker.value }),
    });
    const body = (await response.json()) as {
      token?: string;
      user?: DemoSignInUser;
      error?: { message: string };
    };
    if (!body.token || !body.user)
      return showError(body.error?.message ?? `Sign-in failed: HTTP ${response.status}`);
    sessionStorage.setItem(TOKEN_KEY, body.token);
    // The user's own store (and a kitchen device's own station), unless the address names one.
    const next = new URL(location.href);
    if (!params.has('store')) next.searchParams.set('store', body.user.scope.storeId);
    if (!params.has('station') && body.user.roles.includes('KITCHEN'))
      next.searchParams.set('station', body.user.scope.stationId);
    location.assign(next);
  });
}

async function start(token: string) {
  element('store').textContent = storeId;
  element('app').hidden = false;
  const expediter = createExpediterClient({
    url: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`,
    getToken: () => token,
    storeId,
    on: {
      connected: () => setStatus('live'),
      closed: () => setStatus('reconnecting'),
    },
  });
  const urql = new Client({
    url: '/graphql',
    preferGetMethod: false,
    fetchOptions: { headers: { authorization: `Bearer ${token}`, 'x-store-id': storeId } },
    exchanges: [fetchExchange, subscriptionExchange({ forwardSubscription: expediter.forwardSubscription })],
  });
  const { data, error } = await urql.query(StoreCatalogDocument, { id: storeId }).toPromise();
  if (error || !data) return showError(error ?? 'The store could not be loaded');
  const store = data.store;
  element('store').textContent = store.name;
  const format = new Intl.NumberFormat(undefined, { style: 'currency', currency: store.currency });
  const money: Money = (cents) => format.format(cents / 100);

  const stationId =
    params.get('station') ??
    store.stations.find((station) => station.kind === 'EXPO')?.id ??
    store.stations[0]!.id;
  const kitchen = kitchenDisplay(urql, store, stationId);
  const pos = pointOfSale(urql, store, money, kitchen.refresh);
  const feed = liveOrders();
  dashboard(urql, money);
  urql.subscription(OrderUpdatesDocument, { storeId }).subscribe(({ data, error }) => {
    if (error) return showError(error);
    if (!data) return;
    pos.update(data.orderUpdated.order);
    feed.add(data.orderUpdated, money);
  });
}

function kitchenDisplay(urql: Client, store: Store, stationId: string) {
  const stationNames = new Map(store.stations.map((station) => [station.id, station.name]));
  element('station').textContent = stationNames.get(stationId) ?? stationId;
  const tickets = new Map<string, TicketFieldsFragment>();
  urql.subscription(KitchenTicketsDocument, { stationId }).subscribe(({ data, error }) => {
    if (error) return showError(error);
    const ticket = data?.kdsTicket.ticket;
    if (!ticket) return;
    if (ticket.status === 'BUMPED') tickets.delete(ticket.id);
    else tickets.set(ticket.id, ticket);
    renderTickets();
  });
  /** Tickets open now; the subscription keeps them current from when it is live. */
  function load() {
    urql
      .query(StationTicketsDocument, { stationId }, { requestPolicy: 'network-only' })
      .toPromise()
      .then(({ data, error }) => {
        if (error) return showError(error);
        for (const ticket of data?.kdsTickets ?? [])
          if (!tickets.has(ticket.id)) tickets.set(ticket.id, ticket);
        renderTickets();
      });
  }
  load();
  setInterval(renderTickets, 1000);

  function renderTickets() {
    const container = element('tickets');
    const open = [...tickets.values()].sort((a, b) => a.firedAt.localeCompare(b.firedAt));
    if (open.length === 0) return container.replaceChildren(tag('p', { class: 'empty' }, 'No open tickets'));
    container.replaceChildren(...open.map(ticketCard));
  }

  function ticketCard(ticket: TicketFieldsFragment) {
    const elapsed = Math.max(0, Math.floor((Date.now() - Date.parse(ticket.firedAt)) / 1000));
    const late = ticket.late || elapsed > ticket.targetSeconds;
    const bump = tag('button', { type: 'button' }, 'Bump');
    bump.addEventListener('click', async () => {
      bump.disabled = true;
      const { error } = await urql.mutation(BumpTicketDocument, { ticketId: ticket.id }).toPromise();
      if (error) {
        bump.disabled = false;
        showError(error);
      }
    });
    const rush = ticket.priority === 'HIGH' || ticket.priority === 'URGENT';
    // Where the food goes comes first: the table, big; else the channel (a counter or online order).
    const destination =
      ticket.tableNumber != null
        ? tag('span', { class: 'table' }, `Table ${ticket.tableNumber}`)
        : tag('span', { class: 'channel' }, ticket.channel);
    return tag(
      'article',
      {
        class: `ticket${late ? ' late' : ''}${rush ? ' rush' : ''}`,
        'data-order-number': String(ticket.orderNumber),
      },
      tag(
        'div',
        { class: 'head' },
        destination,
        tag('span', { class: 'number' }, `#${ticket.orderNumber}`),
        tag('span', { class: 'clock' }, clock(elapsed)),
      ),
      ticket.stationId === stationId
        ? ''
        : tag('div', { class: 'station' }, stationNames.get(ticket.stationId) ?? ''),
      tag(
        'ul',
        {},
        ...ticket.items.map((item) =>
          tag(
            'li',
            {},
            `${item.quantity} × ${item.name}`,
            ...(item.notes ? [tag('br', {}), tag('span', { class: 'notes' }, item.notes)] : []),
          ),
        ),
      ),
      bump,
    );
  }

  // An order placed on this page right after it opened may beat the subscription: read the tickets again.
  return { refresh: load };
}

/** The way forward at the counter. The server holds the rule and refuses a move it does not allow. */
const NEXT_STEP: Partial<Record<OrderStatus, { status: OrderStatus; label: string }>> = {
  PENDING: { status: 'ACCEPTED', label: 'Accept' },
  ACCEPTED: { status: 'IN_PROGRESS', label: 'Start' },
  IN_PROGRESS: { status: 'READY', label: 'Ready' },
  READY: { status: 'COMPLETED', label: 'Complete' },
};
const FINISHED: readonly OrderStatus[] = ['COMPLETED', 'CANCELLED'];

/** Places orders from the store's menu and moves them along; the open orders stay live. */
function pointOfSale(urql: Client, store: Store, money: Money, onPlaced: () => void) {
  const lines = store.products.map((product) => {
    const quantity = tag('input', {
      type: 'number',
      min: '0',
      max: '99',
      value: '0',
      'aria-label': `${product.name} quantity`,
      'data-product-id': product.id,
    });
    const notes = tag('input', { type: 'text', placeholder: 'Notes', 'aria-label': `${product.name} notes` });
    quantity.disabled = notes.disabled = !product.available;
    const label = tag('label', {}, product.name, tag('small', {}, money(product.priceCents)));
    return { product, quantity, notes, element: tag('div', { class: 'pos-line' }, label, quantity, notes) };
  });
  element('pos-products').replaceChildren(...lines.map((line) => line.element));

  const form = element<HTMLFormElement>('pos-form');
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const items = lines
      .filter((line) => line.quantity.valueAsNumber > 0)
      .map((line) => ({
        productId: line.product.id,
        quantity: line.quantity.valueAsNumber,
        ...(line.notes.value.trim() && { notes: line.notes.value.trim() }),
      }));
    if (items.length === 0) return showError('Pick at least one product');
    const table = element<HTMLInputElement>('pos-table').valueAsNumber;
    const submit = form.querySelector('button[type="submit"]') as HTMLButtonElement;
    submit.disabled = true;
    const { data, error } = await urql
      .mutation(CreateOrderDocument, {
        input: {
          storeId,
          items,
          // Rung up at the till: a TABLE order (a guest's own) needs a party seated at the table first.
          channel: 'POS',
          ...(Number.isFinite(table) && { tableNumber: table }),
        },
      })
      .toPromise();
    submit.disabled = false;
    if (error || !data) return showError(error ?? 'The order was not placed');
    hideError();
    form.reset();
    update(data.createOrder);
    onPlaced();
  });

  const orders = new Map<string, OrderSummaryFragment>();
  urql
    .query(OrdersDocument, { storeId, first: 30 })
    .toPromise()
    .then(({ data, error }) => {
      if (error) return showError(error);
      for (const { node } of data?.orders.edges ?? []) if (!orders.has(node.id)) update(node);
    });

  function update(order: OrderSummaryFragment) {
    if (FINISHED.includes(order.status)) orders.delete(order.id);
    else orders.set(order.id, order);
    render();
  }

  function render() {
    const open = [...orders.values()].sort((a, b) => a.number - b.number);
    element('pos-orders').replaceChildren(
      ...(open.length === 0 ? [tag('li', { class: 'empty' }, 'No open orders')] : open.map(orderLine)),
    );
  }

  function orderLine(order: OrderSummaryFragment) {
    const where = order.tableNumber != null ? `Table ${order.tableNumber}` : order.channel;
    const step = NEXT_STEP[order.status];
    const advance = step && tag('button', { type: 'button', class: 'advance' }, step.label);
    advance?.addEventListener('click', () =>
      act(advance, () =>
        urql.mutation(UpdateOrderStatusDocument, { orderId: order.id, status: step!.status }),
      ),
    );
    const cancel = tag('button', { type: 'button', class: 'cancel' }, 'Cancel');
    cancel.addEventListener('click', () =>
      act(cancel, () =>
        urql.mutation(CancelOrderDocument, { orderId: order.id, reason: 'Cancelled at the counter' }),
      ),
    );
    return tag(
      'li',
      { 'data-order-number': String(order.number), 'data-status': order.status },
      tag('span', {}, `#${order.number} · ${where} · ${order.status} · ${money(order.totalCents)}`),
      ...(advance ? [advance] : []),
      cancel,
    );
  }

  return { update };
}

/** Runs a mutation from a button; the order's event updates the list. */
async function act(
  button: HTMLButtonElement,
  mutate: () => { toPromise(): Promise<{ error?: CombinedError }> },
) {
  button.disabled = true;
  const { error } = await mutate().toPromise();
  if (error) {
    button.disabled = false;
    showError(error);
  }
}

function liveOrders() {
  const feed: OrderEventView[] = [];
  return {
    add(event: OrderEventView, money: Money) {
      feed.unshift(event);
      feed.length = Math.min(feed.length, 10);
      element('feed').replaceChildren(
        ...feed.map(({ kind, order }) =>
          tag(
            'li',
            {},
            `#${order.number} ${kind.toLowerCase().replace('_', ' ')} · ${order.status} · ${money(order.totalCents)}`,
          ),
        ),
      );
    },
  };
}

interface OrderEventView {
  kind: string;
  order: OrderSummaryFragment;
}

function dashboard(urql: Client, money: Money) {
  urql.subscription(DashboardLiveDocument, { storeId }).subscribe(({ data, error }) => {
    // a kitchen device may not see the store's numbers: say so where they would be
    if (error?.graphQLErrors.some((e) => e.extensions?.code === 'FORBIDDEN'))
      return element('metrics').replaceChildren(
        tag('p', { class: 'empty' }, 'The dashboard is for managers and staff'),
      );
    if (error) return showError(error);
    if (data) renderMetrics(data.dashboardMetrics, money);
  });
}

function renderMetrics(metrics: DashboardFieldsFragment, money: Money) {
  const tiles: Array<[string, string, string]> = [
    ['ordersToday', 'Orders today', String(metrics.ordersToday)],
    ['openOrders', 'Open orders', String(metrics.openOrders)],
    ['salesTodayCents', 'Sales today', money(metrics.salesTodayCents)],
    [
      'averageTicketSeconds',
      'Average ticket',
      metrics.averageTicketSeconds == null ? '–' : clock(metrics.averageTicketSeconds),
    ],
  ];
  element('metrics').replaceChildren(
    ...tiles.map(([key, label, value]) =>
      tag('div', { class: 'metric', 'data-metric': key }, tag('span', {}, label), tag('strong', {}, value)),
    ),
  );
}

function setStatus(state: 'live' | 'reconnecting' | 'error') {
  const status = element('status');
  status.dataset.state = state;
  status.textContent = state;
}

/** A refused token ends the session: the next visit signs in again. */
function showError(error: CombinedError | string) {
  const unauthenticated =
    typeof error !== 'string' &&
    (error.graphQLErrors.some((e) => e.extensions?.code === 'UNAUTHENTICATED') ||
      (error.networkError as { code?: string } | undefined)?.code === 'UNAUTHENTICATED');
  if (unauthenticated) {
    sessionStorage.removeItem(TOKEN_KEY);
    setStatus('error');
  }
  const shown = element('error');
  shown.hidden = false;
  const message = typeof error === 'string' ? error : error.message.replace(/^\[(GraphQL|Network)\] /, '');
  shown.textContent = unauthenticated ? `${message}. Reload the page to sign in again.` : message;
}

function hideError() {
  element('error').hidden = true;
}

function clock(seconds: number) {
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
}
