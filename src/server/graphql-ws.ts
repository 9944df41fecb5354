import { type ExecutionArgs, GraphQLError, getOperationAST } from 'graphql';
import { CloseCode, type ServerOptions } from 'graphql-ws';
import type { YogaServerInstance } from 'graphql-yoga';
import type { WebSocket, WebSocketServer } from 'ws';
import type { Authenticator } from '../auth/authenticate';
import { renewConnectionToken } from '../auth/connection-token';
import { AuthError } from '../auth/errors';
import type { Principal } from '../auth/principal';
import type { Session, Sessions } from '../auth/session';
import { type FanoutEngine, isEngineDelivery, SlowConsumerCloseCode } from '../fanout/engine';
import type { ConnectionGuard } from '../limits/connection-limits';
import type { Logger } from '../observability/logger';
import type { LiveConnection } from '../schema/context';
import { decisionContext } from '../trusted/plugin';
import type { TrustedDocuments } from '../trusted/trusted-documents';
import { serveGraphqlWs } from './graphql-ws-adapter';

/** Close codes Expediter uses on WebSockets; docs/api.md "WebSocket close codes" documents each. */
export const WsCloseCode = {
  /** Missing, invalid, expired or revoked token (also: the session expired or was revoked while connected). */
  Unauthorized: CloseCode.Unauthorized,
  /** Valid token, but the requested store is not one the token allows. */
  Forbidden: CloseCode.Forbidden,
  /** Server is shutting down: reconnect elsewhere and resume from your cursor. */
  GoingAway: 1001,
  /** The client did not read fast enough (send buffer over its cap): reconnect and resume from your cursor. */
  SlowConsumer: SlowConsumerCloseCode,
} as const;

interface ConnectionState {
  session: Session;
  /** Stops listening for the session's end (the socket closed first). */
  unwatch: () => void;
}

export interface GraphqlWsOptions {
  wsServer: WebSocketServer;
  yoga: YogaServerInstance<Record<string, unknown>, Record<string, unknown>>;
  authenticator: Authenticator;
  /** A connection's session: when it expires or is revoked, the socket closes with 4401. */
  sessions: Sessions;
  logger: Logger;
  connectionInitTimeoutMs: number;
  /** Connection limits (src/limits): per-user/per-IP slots taken after authentication, freed on close. */
  connectionLimits?: Pick<ConnectionGuard, 'admit' | 'release'>;
  /** ops: called when a connection is acknowledged (connect latency, who it is in the logs). */
  onAcknowledged?: (socket: WebSocket, principal: Principal) => void;
  /** Called when any socket closes, first, with its close code and reason (ops: connection metrics, logs). */
  onSocketClosed?: (socket: WebSocket, code: number, reason: string) => void;
  /** Called when an acknowledged connection closes, with the close code (presence). */
  onClosed?: (socket: WebSocket, code: number) => void;
  /** Fan-out engine (src/fanout): runs subscription plans, executed once per group of subscribers. */
  fanout?: FanoutEngine;
  /** Trusted documents (src/trusted): which document a subscribe message runs, as yoga's onParams does for HTTP. */
  trustedDocuments: Pick<TrustedDocuments, 'resolve'>;
}

/**
 * graphql-ws on the same path as HTTP, executed through yoga's envelop so plugins, context and error
 * masking are identical for both transports. Authentication happens once, at connection_init; the
 * connection lives as long as the session it opens.
 */
export function attachGraphqlWs(options: GraphqlWsOptions) {
  const { wsServer, yoga, authenticator, sessions, logger } = options;

  const disposable = serveGraphqlWs<{ state: ConnectionState }>(
    {
      connectionInitWaitTimeout: options.connectionInitTimeoutMs,
      execute: (args) => (args.rootValue as EnvelopedRoot).execute(args),
      subscribe: (args) => (args.rootValue as EnvelopedRoot).subscribe(args),
      onConnect: async (ctx) => {
        const params = ctx.connectionParams ?? {};
        try {
          const principal = await authenticator.authenticate({
            authorization: params.authorization ?? params.Authorization,
            storeId: params.storeId,
          });
          // limits: refuse (4429) over the per-user or per-IP connection budget
          const refusal = await options.connectionLimits?.admit(
            ctx.extra.socket,
            ctx.extra.request,
            principal,
          );
          if (refusal) {
            ctx.extra.socket.close(refusal.code, refusal.reason);
            return false;
          }
          const session = sessions.open(principal);
          const socket = ctx.extra.socket;
          const unwatch = session.onEnd((reason) => socket.close(WsCloseCode.Unauthorized, reason.message));
          ctx.extra.state = { session, unwatch };
          forgetHandshake(ctx);
          options.onAcknowledged?.(ctx.extra.socket, principal); // ops
          return true;
        } catch (error) {
          const code = error instanceof AuthError ? error.closeCode : WsCloseCode.Unauthorized;
          const reason = error instanceof AuthError ? error.message : 'Unauthorized';
          ctx.extra.socket.close(code, reason);
          return false;
        }
      },
      onClose: (ctx, code) => {
        void options.connectionLimits?.release(ctx.extra.socket);
        ctx.extra.state?.unwatch();
        options.onClosed?.(ctx.extra.socket, code ?? 1005);
      },
      onSubscribe: async (ctx, id, payload) => {
        // trusted documents: a hash becomes its registered document, or the operation is refused
        const resolution = options.trustedDocuments.resolve(payload);
        if (resolution.error) return [resolution.error];
        const params = resolution.params;
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          ...ctx,
          operationId: id, // ops: the graphql-ws message id, in this operation's log lines
          socket: ctx.extra.socket,
          params,
          session: ctx.extra.state?.session ?? null,
          ...decisionContext(resolution),
          connection: ctx.extra.state && liveConnection(ctx.extra.state.session),
        });
        // limits: a document refused while parsing (tokens, size) is an error on that operation, not a 4500 close
        let document: ReturnType<typeof parse>;
        try {
          document = parse(params.query);
        } catch (error) {
          if (error instanceof GraphQLError) return [error];
          throw error;
        }
        const errors = validate(schema, document);
        if (errors.length > 0) return errors;
        // graphql-ws would throw (and the socket close with 4500) on a document without this operation.
        const operation = getOperationAST(document, params.operationName);
        if (!operation) return [operationNotFound()];
        // fanout: a subscription's plan runs in the engine (executed once per group of subscribers): the
        // engine's subscriber is the operation's subscription runner (ctx.subscriptions).
        const subscriber =
          options.fanout && operation.operation === 'subscription'
            ? options.fanout.subscriber({
                id,
                socket: ctx.extra.socket,
                principal: ctx.extra.state?.session.principal ?? null,
                query: params.query,
              })
            : undefined;
        const args = {
          schema,
          document,
          operationName: params.operationName,
          variableValues: params.variables,
          contextValue: await contextFactory(subscriber && { subscriptions: subscriber }),
          rootValue: { execute, subscribe } satisfies EnvelopedRoot,
        };
        if (!subscriber) return args;
        // Subscribed here, so that graphql-ws keeps only light args and, when the engine took the stream, its
        // iterable: not the operation's context and the executor's and plugins' wrappers (memory per idle
        // subscription).
        subscriber.bind(args);
        const outcome = subscriber.delivery(await subscribe(args));
        return {
          schema,
          document,
          operationName: params.operationName,
          contextValue: undefined,
          rootValue: { execute, subscribe: () => outcome } satisfies EnvelopedRoot,
        };
      },
    },
    wsServer,
    logger,
    // fanout: the engine's subscriptions are held by the adapter, not by a suspended graphql-ws frame each
    { silent: isEngineDelivery, onSocketClose: options.onSocketClosed },
  );

  /** What an operation may ask of its connection: made per operation, so an idle connection keeps nothing. */
  function liveConnection(session: Session): LiveConnection {
    return { refreshToken: (token) => renewConnectionToken(session, authenticator, token) };
  }

  return {
    closeAll(code: number, reason: string) {
      for (const socket of wsServer.clients) socket.close(code, reason);
    },
    dispose: () => disposable.dispose(),
  };
}

/**
 * After connection_init, graphql-ws would keep the upgrade request and the connection_init payload (the
 * token) for the socket's lifetime; nothing reads them again: the principal and the limits' slots are taken.
 */
function forgetHandshake(ctx: { extra: { request?: unknown }; connectionParams?: unknown }) {
  ctx.extra.request = undefined;
  ctx.connectionParams = undefined;
}

/** As yoga answers it over HTTP. */
function operationNotFound() {
  return new GraphQLError('Could not determine what operation to execute.', {
    extensions: { code: 'OPERATION_RESOLUTION_FAILURE' },
  });
}

/**
 * The root value graphql-ws gets (graphql-yoga's recipe for graphql-ws): how to run the operation through the
 * operation's envelop (plugins, context). A subscription already subscribed in onSubscribe returns its outcome.
 */
type EnvelopedRoot = {
  execute: (args: ExecutionArgs) => OperationResult;
  subscribe: (args: ExecutionArgs) => OperationResult;
};
type OperationResult = ReturnType<NonNullable<ServerOptions['execute']>>;
