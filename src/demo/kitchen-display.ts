import type { Client } from '@urql/core';
import {
  BumpTicketDocument,
  KitchenTicketsDocument,
  StationTicketsDocument,
  type TicketFieldsFragment,
} from '../client/gql/graphql';
import { tag } from './dom';
import { clock, element, type Store, showError } from './view';

/** The live demo's kitchen display (browser code): a station's open tickets, live, with a bump button each. */
export function kitchenDisplay(urql: Client, store: Store, stationId: string) {
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
