import type { Client } from '@urql/core';
import {
  type DashboardFieldsFragment,
  DashboardLiveDocument,
  type OrderSummaryFragment,
} from '../client/gql/graphql';
import { tag } from './dom';
import { clock, element, type Money, showError } from './view';

/** The live demo's manager view (browser code): the last order events and the store's dashboard, live. */

export function liveOrders() {
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

export function dashboard(urql: Client, storeId: string, money: Money) {
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
