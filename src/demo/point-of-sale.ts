import type { Client, CombinedError } from '@urql/core';
import {
  CancelOrderDocument,
  CreateOrderDocument,
  type OrderStatus,
  type OrderSummaryFragment,
  OrdersDocument,
  UpdateOrderStatusDocument,
} from '../client/gql/graphql';
import { tag } from './dom';
import { element, hideError, type Money, type Store, showError } from './view';

/** The live demo's point of sale (browser code). */

/** The way forward at the counter. The server holds the rule and refuses a move it does not allow. */
const NEXT_STEP: Partial<Record<OrderStatus, { status: OrderStatus; label: string }>> = {
  PENDING: { status: 'ACCEPTED', label: 'Accept' },
  ACCEPTED: { status: 'IN_PROGRESS', label: 'Start' },
  IN_PROGRESS: { status: 'READY', label: 'Ready' },
  READY: { status: 'COMPLETED', label: 'Complete' },
};
const FINISHED: readonly OrderStatus[] = ['COMPLETED', 'CANCELLED'];

/** Places orders from the store's menu and moves them along; the open orders stay live. */
export function pointOfSale(urql: Client, storeId: string, store: Store, money: Money, onPlaced: () => void) {
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
      render(); // also when there is none: "No open orders"
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
