import type { IncomingMessage } from 'node:http';
import {
  CloseCode,
  type ConnectionInitMessage,
  handleProtocols,
  MessageType,
  makeServer,
  type ServerOptions,
} from 'graphql-ws';
import type { WebSocket, WebSocketServer } from 'ws';
import type { Logger } from '../observability/logger';

/** What graphql-ws's hooks see of a connection besides its messages. */
export interface SocketExtra {
  readonly socket: WebSocket;
  /** The upgrade request; set to undefined once nothing needs it (it would be kept for the socket's life). */
  request?: IncomingMessage;
}

/**
 * graphql-ws on a `ws` server, like graphql-ws's own `useServer` minus what that keeps per socket: its message
 * listener awaits graphql-ws for the whole life of a subscription, holding a suspended frame and the raw
 * message buffer per subscribed connection (about 1.4 KiB each, measured at 10,000). This one hands each
 * message over and returns. Errors are logged (not printed to the console) and close the socket with 4500;
 * a message only a server may send closes it with 4400, as the protocol says of every message out of place.
 * Keep-alive pings are the heartbeat's (src/observability/heartbeat).
 */
export function serveGraphqlWs<E extends Record<PropertyKey, unknown>>(
  options: ServerOptions<ConnectionInitMessage['payload'], SocketExtra & Partial<E>>,
  wsServer: WebSocketServer,
  logger: Logger,
) {
  const server = makeServer(options);
  wsServer.options.handleProtocols = handleProtocols;
  wsServer.once('error', (error) => {
    logger.error({ err: error }, 'websocket server error');
    for (const socket of wsServer.clients)
      socket.close(CloseCode.InternalServerError, 'Internal server error');
  });

  wsServer.on('connection', (socket: WebSocket, request: IncomingMessage) => {
    const internalError = (error: unknown, what: string) => {
      logger.warn({ err: error }, what);
      socket.close(CloseCode.InternalServerError, 'Internal server error');
    };
    // ws reports protocol violations here (an oversized or malformed frame) and closes the socket itself.
    socket.once('error', (error) => internalError(error, 'websocket error'));
    const closed = server.opened(
      {
        protocol: socket.protocol,
        send: (data) =>
          new Promise<void>((resolve, reject) => {
            if (socket.readyState !== socket.OPEN) return resolve();
            socket.send(data, (error) => (error ? reject(error) : resolve()));
          }),
        close: (code, reason) => socket.close(code, reason),
        onMessage: (handle) =>
          socket.on('message', (data) => {
            const text = String(data);
            handle(text).catch((error: unknown) => {
              const serverOnly = serverOnlyMessageType(text);
              if (serverOnly) socket.close(CloseCode.BadRequest, `Unexpected message of type ${serverOnly}`);
              else internalError(error, 'graphql-ws message failed');
            });
          }),
      },
      { socket, request } as SocketExtra & Partial<E>,
    );
    socket.once('close', (code: number, reason: Buffer) => void closed(code, String(reason)));
  });

  return {
    /** Closes every socket with 1001 and stops the WebSocket server. */
    async dispose() {
      for (const socket of wsServer.clients) socket.close(1001, 'Going away');
      wsServer.removeAllListeners();
      await new Promise<void>((resolve, reject) =>
        wsServer.close((error) => (error ? reject(error) : resolve())),
      );
    },
  };
}

const SERVER_ONLY_MESSAGES: ReadonlySet<string> = new Set([
  MessageType.ConnectionAck,
  MessageType.Next,
  MessageType.Error,
]);

/**
 * The type of a well-formed message that only a server sends (graphql-ws throws on it), else undefined.
 * Only asked after graphql-ws refused a message, so valid traffic is parsed once.
 */
function serverOnlyMessageType(text: string): string | undefined {
  try {
    const type = (JSON.parse(text) as { type?: unknown } | null)?.type;
    return typeof type === 'string' && SERVER_ONLY_MESSAGES.has(type) ? type : undefined;
  } catch {
    return undefined;
  }
}
