import type { IncomingMessage } from 'node:http';
import { type ExecutionResult, GraphQLError } from 'graphql';
import {
  CloseCode,
  type ConnectionInitMessage,
  type Context,
  type WebSocket as GraphqlWsSocket,
  handleProtocols,
  MessageType,
  makeServer,
  type ServerOptions,
  stringifyMessage,
} from 'graphql-ws';
import type { WebSocket, WebSocketServer } from 'ws';
import type { Logger } from '../observability/logger';

/** What graphql-ws's hooks see of a connection besides its messages. */
export interface SocketExtra {
  readonly socket: WebSocket;
  /** The upgrade request; set to undefined once nothing needs it (it would be kept for the socket's life). */
  request?: IncomingMessage;
  /** The adapter's: subscriptions it holds instead of graphql-ws (see `silent`); made with the first. */
  held?: readonly Held[];
}

/** A subscription the adapter holds. An array of these per socket: a Map costs some 180 bytes for one entry. */
class Held {
  constructor(
    readonly id: string,
    readonly iterator: Holdable,
  ) {}
}

/** A result the adapter may hold: an iterator that never yields and says when it ends by itself. */
export interface Holdable extends AsyncIterator<never> {
  /** Called once when it ends by itself (with the error it failed with), at once if it has. */
  whenEnded(listener: (error?: unknown) => void): void;
}

export interface AdapterOptions {
  /**
   * Whether an operation's result is an iterator that never yields and only ends (done, or thrown): the
   * fan-out engine's, which writes its frames itself. The adapter holds such a subscription itself instead of
   * leaving graphql-ws's message handler suspended on it for its whole life (that frame keeps the `subscribe`
   * message, its parsed payload, the execution args and three emitters: about 3 KiB per subscription). It
   * answers the protocol for it as graphql-ws would: `complete` from the client returns the iterator, a
   * subscribe with its id closes the socket with 4409, the iterator's end sends `complete` (or `error`), and
   * the socket's close returns it. graphql-ws's `onNext`, `onError` and `onComplete` hooks are not called for it.
   */
  silent?: (result: unknown) => result is Holdable;
  /**
   * Called first when a socket closes, from the adapter's close listener: other modules use it rather than a
   * close listener of their own per socket (a third one makes ws grow the listener array to 19 slots).
   */
  onSocketClose?: (socket: WebSocket, code: number, reason: string) => void;
}

type Extra = SocketExtra & Record<PropertyKey, unknown>;

/** What graphql-ws is handed instead of a held subscription: it sends nothing for it and forgets its id. */
const HELD: ExecutionResult = Object.freeze({});

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
  adapterOptions: AdapterOptions = {},
) {
  const server = makeServer(adapterOptions.silent ? holding(options, adapterOptions.silent) : options);
  wsServer.options.handleProtocols = handleProtocols;
  wsServer.once('error', (error) => {
    logger.error({ err: error }, 'websocket server error');
    for (const socket of wsServer.clients)
      socket.close(CloseCode.InternalServerError, 'Internal server error');
  });

  wsServer.on('connection', (socket: WebSocket, request: IncomingMessage) => {
    const connection = new Connection(socket, { socket, request }, logger, adapterOptions.onSocketClose);
    // ws reports protocol violations here (an oversized or malformed frame) and closes the socket itself.
    socket.on('error', (error) => connection.fail(error, 'websocket error'));
    const closed = server.opened(connection, connection.extra as SocketExtra & Partial<E>);
    socket.on('close', (code: number, reason: Buffer) => connection.closed(code, String(reason), closed));
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

/**
 * One socket as graphql-ws sees it. Methods rather than closures made per socket: besides its own size, under
 * tsx (which keeps function names) a named function made per socket gets a `name` property of its own, about
 * 256 bytes more each, multiplied by every connection.
 */
class Connection implements GraphqlWsSocket {
  constructor(
    private readonly socket: WebSocket,
    readonly extra: SocketExtra,
    private readonly logger: Logger,
    private readonly onClose?: AdapterOptions['onSocketClose'],
  ) {}

  get protocol() {
    return this.socket.protocol;
  }

  send(data: string) {
    return new Promise<void>((resolve, reject) => {
      if (this.socket.readyState !== this.socket.OPEN) return resolve();
      this.socket.send(data, (error) => (error ? reject(error) : resolve()));
    });
  }

  close(code?: number, reason?: string) {
    this.socket.close(code, reason);
  }

  onMessage(handle: (data: string) => Promise<void>) {
    this.socket.on('message', (data) => this.receive(handle, String(data)));
  }

  private receive(handle: (data: string) => Promise<void>, text: string) {
    if (this.extra.held) completeHeld(this.extra, text, this.logger);
    handle(text).catch((error: unknown) => {
      const serverOnly = serverOnlyMessageType(text);
      if (serverOnly) this.socket.close(CloseCode.BadRequest, `Unexpected message of type ${serverOnly}`);
      else this.fail(error, 'graphql-ws message failed');
    });
  }

  fail(error: unknown, what: string) {
    this.logger.warn({ err: error }, what);
    this.socket.close(CloseCode.InternalServerError, 'Internal server error');
  }

  /** As graphql-ws does with its own: held subscriptions end before onDisconnect and onClose run. */
  closed(code: number, reason: string, closed: (code: number, reason: string) => Promise<void>) {
    try {
      this.onClose?.(this.socket, code, reason);
    } catch (error) {
      this.logger.error({ err: error }, 'a socket close hook failed');
    }
    const held = this.extra.held;
    this.extra.held = undefined;
    const ended = held ? held.map((entry) => entry.iterator.return?.()) : [];
    void Promise.allSettled(ended).then(() => closed(code, reason));
  }
}

/** graphql-ws's options with subscriptions whose result is `silent` held by the adapter (see AdapterOptions). */
function holding<P extends ConnectionInitMessage['payload'], E extends Extra>(
  options: ServerOptions<P, E>,
  silent: NonNullable<AdapterOptions['silent']>,
): ServerOptions<P, E> {
  if (options.onNext || options.onError || options.onComplete)
    throw new Error('Held subscriptions do not call onNext, onError or onComplete');
  return {
    ...options,
    onSubscribe: (ctx, id, payload) => {
      // graphql-ws's own check sees only the subscriptions it holds.
      if (ctx.extra.held?.some((entry) => entry.id === id)) {
        ctx.extra.socket.close(CloseCode.SubscriberAlreadyExists, `Subscriber for ${id} already exists`);
        // Sent to a closing socket: nothing goes out.
        return [new GraphQLError(`Subscriber for ${id} already exists`)];
      }
      return options.onSubscribe?.(ctx, id, payload);
    },
    onOperation: async (ctx, id, payload, args, result) => {
      const replaced = await options.onOperation?.(ctx, id, payload, args, result);
      const outcome = replaced ?? result;
      // Not in ctx.subscriptions: completed by the client, or the socket closed, while subscribing; graphql-ws
      // returns the iterator.
      if (!silent(outcome) || !(id in ctx.subscriptions)) return replaced;
      hold(ctx, id, outcome);
      // graphql-ws then neither iterates HELD nor sends `complete` (the id is not its subscription any more).
      delete ctx.subscriptions[id];
      return HELD;
    },
  };
}

/** Keeps a silent subscription by id until it ends, the client completes it, or the socket closes. */
function hold(ctx: Context<ConnectionInitMessage['payload'], Extra>, id: string, iterator: Holdable) {
  const extra = ctx.extra;
  const entry = new Held(id, iterator);
  extra.held = extra.held ? [...extra.held, entry] : [entry];
  iterator.whenEnded((error) => endHeld(extra, entry, error));
}

function forget(extra: SocketExtra, entry: Held): boolean {
  if (!extra.held?.includes(entry)) return false;
  const rest = extra.held.filter((other) => other !== entry);
  extra.held = rest.length > 0 ? rest : undefined;
  return true;
}

/** A held subscription ended by itself: the client is told as graphql-ws would, unless it completed it or closed. */
function endHeld(extra: SocketExtra, entry: Held, error: unknown) {
  if (!forget(extra, entry)) return;
  const socket = extra.socket;
  if (socket.readyState !== socket.OPEN) return;
  const id = entry.id;
  if (error === undefined) {
    socket.send(stringifyMessage({ id, type: MessageType.Complete }));
    return;
  }
  const originalError = error instanceof Error ? error : new Error(String(error));
  const payload = [new GraphQLError(originalError.message, { originalError }).toJSON()];
  socket.send(stringifyMessage({ id, type: MessageType.Error, payload }));
}

/** A client's `complete` for a held subscription returns its iterator (graphql-ws knows nothing of it). */
function completeHeld(extra: SocketExtra, text: string, logger: Logger) {
  // `"complete"` with its quotes only occurs as a JSON token: most messages are not parsed a second time.
  if (!text.includes('"complete"')) return;
  let message: { type?: unknown; id?: unknown } | null;
  try {
    message = JSON.parse(text) as typeof message;
  } catch {
    return; // graphql-ws refuses it
  }
  if (message?.type !== MessageType.Complete) return;
  const entry = extra.held?.find((held) => held.id === message.id);
  if (!entry || !forget(extra, entry)) return;
  void Promise.resolve(entry.iterator.return?.()).catch((error: unknown) =>
    logger.warn({ err: error }, 'ending a held subscription failed'),
  );
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
