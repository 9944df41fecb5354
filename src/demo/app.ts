import { Client, fetchExchange, subscriptionExchange } from '@urql/core';
import { persistedExchange } from '@urql/exchange-persisted';
import { OrderUpdatesDocument, StoreCatalogDocument } from '../client/gql/graphql';
import { createExpediterClient } from '../client/index';
import { documentHash } from '../client/persisted';
import { tag } from './dom';
import { DEMO_SIGN_IN_PATH, type DemoSignInUser } from './graphiql/page';
import { kitchenDisplay } from './kitchen-display';
import { dashboard, liveOrders } from './manager-view';
import { pointOfSale } from './point-of-sale';
import { element, type Money, setStatus, showError, TOKEN_KEY } from './view';

/**
 * The live demo (browser code): a point of sale, a kitchen display and a manager view of one store,
 * so the whole loop (order, kitchen, bump, ready, dashboard) runs in one page. urql with the generated
 * documents, subscriptions through the client helper.
 * Open /demo?store=acme-downtown[&station=acme-downtown-grill]#token=<jwt>; without a station, the
 * kitchen display is the store's expo station, which sees every ticket.
 */
const params = new URLSearchParams(location.search);
const storeId = params.get('store') ?? 'acme-downtown';
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
    exchanges: [
      // Every document goes by the hash codegen gave it (docs/clients.md "Trusted documents"), so the page also
      // runs where only registered documents do (TRUSTED_DOCUMENTS=require, production's default); a server
      // that takes no hashes (off) is sent the text.
      persistedExchange({
        enableForMutation: true,
        enableForSubscriptions: true,
        generateHash: async (_text, document) => documentHash(document) ?? '',
      }),
      fetchExchange,
      subscriptionExchange({ forwardSubscription: expediter.forwardSubscription }),
    ],
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
  const pos = pointOfSale(urql, storeId, store, money, kitchen.refresh);
  const feed = liveOrders();
  dashboard(urql, storeId, money);
  urql.subscription(OrderUpdatesDocument, { storeId }).subscribe(({ data, error }) => {
    if (error) return showError(error);
    if (!data) return;
    pos.update(data.orderUpdated.order);
    feed.add(data.orderUpdated, money);
  });
}
