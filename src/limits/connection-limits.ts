import type { IncomingMessage } from 'node:http';
import type { ServerOptions, WebSocket, WebSocketServer } from 'ws';
import type { Principal } from '../auth/principal';
import { newId } from '../observability/ids';
import type { Logger } from '../observability/logger';
import { clientAddress, isOriginAllowed } from './client-address';
import type { ConcurrencyLimiter } from './concurrency-limiter';
import type { LimitsConfig } from './config';
import { createMemoryWindows, type RateLimiter } from './rate-limiter';

/** Close code for every connection flood; docs/api.md "WebSocket close codes" documents the reasons. */
export const TOO_MANY_CONNECTIONS = 4429;
export const CloseReason = {
  attempts: 'Too many connection attempts',
  perIp: 'Too many connections from this address',
  perUser: 'Too many connections for this user',
  messages: 'Too many messages',
} as const;

export interface Refusal {
  code: number;
  reason: string;
}

export interface ConnectionGuard {
  /** Spread into `new WebSocketServer({...})`: message size, origin check and connection-attempt rate. */
  serverOptions: Pick<ServerOptions, 'maxPayload' | 'allowSynchronousEvents' | 'verifyClient'>;
  /** Closes refused attempts and floods; call once on the server (before or after graphql-ws). */
  attach(wsServer: WebSocketServer): void;
  /** After authentication: takes the connection's slots per IP and per user, or says why not. */
  admit(
    socket: WebSocket,
    request: IncomingMessage | undefined,
    principal: Principal,
  ): Promise<Refusal | undefined>;
  /** On close: frees what `admit` took (safe to call for sockets never admitted). */
  release(socket: WebSocket): Promise<void>;
}

export interface ConnectionGuardOptions {
  limits: LimitsConfig;
  allowedOrigins: readonly string[];
  rateLimiter: RateLimiter;
  concurrency: ConcurrencyLimiter;
  logger: Logger;
}

interface Admitted {
  holder: string;
  ip: string;
  user: string;
}

export function createConnectionGuard(options: ConnectionGuardOptions): ConnectionGuard {
  const { limits, rateLimiter, concurrency, logger } = options;
  const { ws } = limits;
  /** Upgrades over the attempt budget: accepted only to be closed with a code the client can read. */
  const refusedAttempts = new WeakSet<IncomingMessage>();
  const admitted = new WeakMap<WebSocket, Admitted>();
  const messageWindows = createMemoryWindows();
  const messageRule = { name: 'ws-messages', limit: ws.messagesPerConnection, windowMs: ws.messagesWindowMs };

  const verifyClient: ServerOptions['verifyClient'] = (info, callback) => {
    if (!isOriginAllowed(info.req.headers.origin, options.allowedOrigins)) {
      callback(false, 403, 'Origin not allowed');
      return;
    }
    const rule = {
      name: 'ws-connect',
      limit: ws.connectionAttemptsPerIp,
      windowMs: ws.connectionAttemptsWindowMs,
    };
    rateLimiter.consume(rule, clientAddress(info.req, limits.trustProxy)).then(
      (decision) => {
        if (!decision.allowed) refusedAttempts.add(info.req);
        callback(true);
      },
      (error) => {
        logger.error({ err: error }, 'connection attempt check failed');
        callback(true);
      },
    );
  };

  function guardMessages(socket: WebSocket) {
    const id = newId();
    let flooded = false;
    // No close listener per socket to forget the window: the windows' sweeper drops idle ones. Anonymous: under
    // tsx a named function made per socket gets a `name` property of its own (about 256 bytes per socket).
    socket.on('message', () => {
      if (flooded || messageWindows.consume(id, messageRule).allowed) return;
      flooded = true;
      // Stop reading: nothing more from this socket reaches graphql-ws, other clients keep the loop.
      socket.pause();
      logger.warn({ limit: ws.messagesPerConnection }, 'closing a connection that floods messages');
      socket.close(TOO_MANY_CONNECTIONS, CloseReason.messages);
      setTimeout(() => socket.terminate(), 1000).unref();
    });
  }

  return {
    serverOptions: { maxPayload: ws.maxMessageBytes, allowSynchronousEvents: false, verifyClient },
    attach(wsServer) {
      wsServer.prependListener('connection', (socket: WebSocket, request: IncomingMessage) => {
        if (refusedAttempts.has(request)) {
          socket.close(TOO_MANY_CONNECTIONS, CloseReason.attempts);
          return;
        }
        guardMessages(socket);
      });
    },
    async admit(socket, request, principal) {
      const state: Admitted = {
        holder: newId(),
        ip: clientAddress(request, limits.trustProxy),
        user: `${principal.tenantId}:${principal.userId}`,
      };
      admitted.set(socket, state);
      // Both slots in one round trip, both or neither (the address's first: its refusal is the one reported).
      const outcome = await concurrency.acquireAll([
        { kind: 'ws-ip', subject: state.ip, holder: state.holder, limit: ws.maxConnectionsPerIp },
        { kind: 'ws-user', subject: state.user, holder: state.holder, limit: ws.maxConnectionsPerUser },
      ]);
      if (!outcome.allowed) {
        admitted.delete(socket);
        return {
          code: TOO_MANY_CONNECTIONS,
          reason: outcome.slots[0]?.allowed ? CloseReason.perUser : CloseReason.perIp,
        };
      }
      // The client may have left while we counted, after its close released nothing: give the slots back.
      if (socket.readyState !== socket.OPEN) return refuse(state, 'Connection closed');
      return undefined;
    },
    async release(socket) {
      const state = admitted.get(socket);
      if (!state) return;
      admitted.delete(socket);
      await releaseSlots(state);
    },
  };

  async function refuse(state: Admitted, reason: string): Promise<Refusal> {
    await releaseSlots(state);
    return { code: TOO_MANY_CONNECTIONS, reason };
  }

  /** Idempotent: releasing a slot this instance does not hold does nothing. */
  async function releaseSlots(state: Admitted) {
    await Promise.all([
      concurrency.release('ws-ip', state.ip, state.holder),
      concurrency.release('ws-user', state.user, state.holder),
    ]);
  }
}
