import { Client, fetchExchange, subscriptionExchange } from '@urql/core';
import {
  BumpTicketDocument,
  type DashboardFieldsFragment,
  DashboardLiveDocument,
  KitchenTicketsDocument,
  OrderUpdatesDocument,
  type OrderUpdatesSubscription,
  StationTicketsDocument,
  type TicketFieldsFragment,
} from '../client/gql/graphql';
import { createExpediterClient } from '../client/index';

/**
 * The live demo (browser code): a kitchen display for one station and a manager view of the store,
 * on urql with the generated documents, subscriptions through the client helper.
 * Open /demo?store=acme-downtown&station=acme-downtown-grill#token=<jwt>.
 */
const params = new URLSearchParams(location.search);
const storeId = params.get('store') ?? 'acme-downtown';
const stationId = params.get('station') ?? `${storeId}-grill`;
const element = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

const token =
  new URLSearchParams(location.hash.slice(1)).get('token') ?? sessionStorage.getItem('expediter-token');
if (token) start(token);
else askForToken();

function askForToken() {
  const form = element<HTMLFormElement>('token-form');
  form.hidden = false;
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    sessionStorage.setItem('expediter-token', element<HTMLTextAreaElement>('token').value.trim());
    location.reload();
  });
}

function start(token: string) {
  element('store').textContent = storeId;
  element('station').textContent = stationId;
  element('app').hidden = false;
  const expediter = createExpediterClient({
    url: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`,
    token: () => token,
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
  kitchenDisplay(urql);
  managerView(urql);
}

function kitchenDisplay(urql: Client) {
  const tickets = new Map<string, TicketFieldsFragment>();
  urql.subscription(KitchenTicketsDocument, { stationId }).subscribe(({ data, error }) => {
    if (error) return showError(error.message);
    const ticket = data?.kdsTicket.ticket;
    if (!ticket) return;
    if (ticket.status === 'BUMPED') tickets.delete(ticket.id);
    else tickets.set(ticket.id, ticket);
    renderTickets();
  });
  urql
    .query(StationTicketsDocument, { stationId })
    .toPromise()
    .then(({ data, error }) => {
      if (error) return showError(error.message);
      for (const ticket of data?.kdsTickets ?? [])
        if (!tickets.has(ticket.id)) tickets.set(ticket.id, ticket);
      renderTickets();
    });
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
        showError(error.message);
      }
    });
    const rush = ticket.priority === 'HIGH' || ticket.priority === 'URGENT';
    return tag(
      'article',
      {
        class: `ticket${late ? ' late' : ''}${rush ? ' rush' : ''}`,
        'data-order-number': String(ticket.orderNumber),
      },
      tag('h3', {}, `#${ticket.orderNumber} · ${ticket.channel}`, tag('span', {}, clock(elapsed))),
      tag(
        'ul',
        {},
        ...ticket.items.map((item) =>
          tag('li', {}, `${item.quantity} × ${item.name}${item.notes ? ` (${item.notes})` : ''}`),
        ),
      ),
      bump,
    );
  }
}

function managerView(urql: Client) {
  urql.subscription(DashboardLiveDocument, { storeId }).subscribe(({ data, error }) => {
    if (error) return showError(error.message);
    if (data) renderMetrics(data.dashboardMetrics);
  });
  const feed: Array<OrderUpdatesSubscription['orderUpdated']> = [];
  urql.subscription(OrderUpdatesDocument, { storeId }).subscribe(({ data, error }) => {
    if (error) return showError(error.message);
    if (!data) return;
    feed.unshift(data.orderUpdated);
    feed.length = Math.min(feed.length, 10);
    element('feed').replaceChildren(
      ...feed.map((event) =>
        tag(
          'li',
          {},
          `#${event.order.number} ${event.kind.toLowerCase().replace('_', ' ')} · ${event.order.status}`,
        ),
      ),
    );
  });
}

function renderMetrics(metrics: DashboardFieldsFragment) {
  const money = (cents: number) => (cents / 100).toFixed(2);
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

function showError(message: string) {
  setStatus('error');
  const error = element('error');
  error.hidden = false;
  error.textContent = message;
}

function clock(seconds: number) {
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
}

function tag<K extends keyof HTMLElementTagNameMap>(
  name: K,
  attributes: Record<string, string>,
  ...children: Array<Node | string>
): HTMLElementTagNameMap[K] {
  const node = document.createElement(name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  node.append(...children);
  return node;
}
