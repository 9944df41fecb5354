import { createExpediterClient, type ExpediterError, type TokenProvider } from 'expediter/client';
import { KitchenTicketsDocument, type KitchenTicketsSubscription } from '../gql/graphql';

type TicketEvent = KitchenTicketsSubscription['kdsTicket'];

/** A kitchen display on the helper alone: typed events, every one exactly once across reconnects. */
export function watchStation(options: {
  url: string; // wss://api.example.com/graphql
  getToken: TokenProvider; // on every (re)connect, and { refresh: true } before it expires or after a 4401
  stationId: string;
  onTicket: (event: TicketEvent) => void;
  onError: (error: ExpediterError) => void; // error.code: UNAUTHENTICATED, FORBIDDEN, ...
  webSocketImpl?: unknown;
}) {
  const expediter = createExpediterClient({
    url: options.url,
    getToken: options.getToken,
    webSocketImpl: options.webSocketImpl,
  });
  const stop = expediter.subscribe(
    KitchenTicketsDocument,
    { stationId: options.stationId },
    { next: ({ kdsTicket }) => options.onTicket(kdsTicket), error: options.onError },
  );
  return {
    expediter,
    async stop() {
      stop();
      await expediter.dispose();
    },
  };
}
