import type { IncomingMessage } from 'node:http';
import { type ExecutionArgs, type FieldNode, GraphQLError, getOperationAST, Kind } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { WebSocket, WebSocketServer } from 'ws';
import type { Authenticator } from '../auth/authenticate';
import { AuthError } from '../auth/errors';
import type { Principal } from '../auth/principal';
import type { EventLog } from '../events/event-log';
import type { PubSub } from '../events/pubsub';
import type { EventStreams, StreamEvent, StreamRequest } from '../events/streams';
import type { FeedObserver } from '../events/topic-feeds';
import { topicKind } from '../events/topics';
import { engineSubscriptionOf } from '../fanout/delivered-subscription';
import type { Activity } from '../observability/activity';
import { newId } from '../observability/ids';
import type { Logger } from '../observability/logger';
import type { Metrics } from '../observability/metrics';
import { trustedOperationOf } from '../trusted/plugin';

/**
 * What this module knows about one WebSocket connection; its id is in every log line about it. Kept small (no
 * child logger per socket): it is multiplied by every connection.
 */
export interface ConnectionInfo {
  id: string;
  openedAt: number;
  userId?: string;
  tenantId?: string;
}

/** The fields naming a connection in log lines. */
function connectionFields(info: ConnectionInfo) {
  return { connectionId: info.id, userId: info.userId, tenantId: info.tenantId };
}

/** The drain state the GraphQL plugin consults (src/server/ops.ts implements it). */
export interface OperationGate {
  readonly draining: boolean;
  /** Marks a query or mutation as in flight until the returned function is called. */
  operationStarted(): () => void;
}

export interface Instrumentation {
  metrics: Metrics;
  activity: Activity;
  /** Counts and logs every connection of the server: opened, acknowledged, closed (connectionClosed). */
  trackConnections(wsServer: WebSocketServer): void;
  /** Call from the socket's transport when it closes (one close listener per socket, not one per module). */
  connectionClosed(socket: WebSocket, code: number, reason: string): void;
  connectionOf(socket: WebSocket | undefined): ConnectionInfo | undefined;
  /** Call when graphql-ws acknowledges a connection (connect latency, who it is). */
  connectionAcknowledged(socket: WebSocket, principal: Principal): void;
  /** Call just before the heartbeat terminates a socket that stopped answering pings. */
  connectionStale(socket: WebSocket): void;
  authenticator(authenticator: Authenticator): Authenticator;
  pubsub(pubsub: PubSub): PubSub;
  streams<S extends EventStreams>(streams: S): S;
  /** Counts every statement the event log sends (expediter_event_log_queries_total). */
  eventLog(log: EventLog): EventLog;
  /** Resumes served from memory or from the table (expediter_stream_resumes_total). */
  resumed(source: 'memory' | 'table', topics: readonly string[]): void;
  /** Gaps and lateness of the topic feeds (once per event and instance). */
  feedObserver(): FeedObserver;
  /** Yoga/envelop plugin: operations, in-flight tracking, refusal while draining, subscriptions, logs. */
  yogaPlugin(gate: OperationGate, contextExtension?: Record<string, unknown>): Plugin;
}

export function createInstrumentation(deps: {
  metrics: Metrics;
  activity: Activity;
  logger: Logger;
}): Instrumentation {
  const { metrics, activity, logger } = deps;
  const connections = new WeakMap<WebSocket, ConnectionInfo>();

  function trackConnections(wsServer: WebSocketServer) {
    wsServer.on('connection', (socket: WebSocket, request: IncomingMessage) => {
      const id = newId();
      const info: ConnectionInfo = { id, openedAt: performance.now() };
      connections.set(socket, info);
      metrics.connectionsActive.inc();
      metrics.connectionsTotal.inc();
      activity.connectionOpened();
      logger.info(
        {
          connectionId: id,
          remoteAddress: request.socket.remoteAddress,
          forwardedFor: request.headers['x-forwarded-for'],
        },
        'ws connected',
      );
    });
  }

  function connectionClosed(socket: WebSocket, code: number, reason: string) {
    const info = connections.get(socket);
    if (!info) return;
    connections.delete(socket);
    metrics.connectionsActive.dec();
    metrics.connectionCloses.inc({ code: String(code) });
    activity.connectionClosed();
    const durationMs = Math.round(performance.now() - info.openedAt);
    logger.info({ ...connectionFields(info), code, reason, durationMs }, 'ws disconnected');
  }

  return {
    metrics,
    activity,
    trackConnections,
    connectionClosed,
    connectionOf: (socket) => (socket ? connections.get(socket) : undefined),
    connectionAcknowledged(socket, principal) {
      const info = connections.get(socket);
      if (!info) return;
      info.userId = principal.userId;
      info.tenantId = principal.tenantId;
      metrics.connectDuration.observe((performance.now() - info.openedAt) / 1000);
      logger.info(
        { ...connectionFields(info), roles: principal.roles, storeId: principal.currentStoreId },
        'ws connection acknowledged',
      );
    },
    connectionStale(socket) {
      metrics.staleConnectionsTerminated.inc();
      const info = connections.get(socket);
      logger.warn(info ? connectionFields(info) : {}, 'ws peer did not answer ping; terminating');
    },
    authenticator: (authenticator) => instrumentAuthenticator(authenticator, metrics),
    pubsub: (pubsub) => instrumentPubSub(pubsub, metrics, activity),
    streams: (streams) => instrumentStreams(streams, metrics, activity),
    eventLog: (log) => ({
      latestId: (tenantId) => counted(metrics, 'latest_id', () => log.latestId(tenantId)),
      openTopic: log.openTopic
        ? (topic, tenantId, window) =>
            counted(metrics, 'open_topic', () => log.openTopic!(topic, tenantId, window))
        : undefined,
      readTopics: (positions, options) =>
        counted(metrics, 'read_topics', () => log.readTopics(positions, options)),
      replay: (topics, after, limit) => counted(metrics, 'replay', () => log.replay(topics, after, limit)),
    }),
    resumed: (source, topics) => metrics.streamResumes.inc({ source, kind: topicKind(topics[0] ?? '') }),
    feedObserver: () => ({
      gapDetected: (topic) => metrics.eventGaps.inc({ kind: topicKind(topic) }),
      delivered: (event, path) =>
        metrics.eventLateness.observe({ path }, Math.max(0, Date.now() - Date.parse(event.createdAt)) / 1000),
    }),
    yogaPlugin: (gate, contextExtension) =>
      operationsPlugin({
        metrics,
        activity,
        logger,
        gate,
        contextExtension,
        connectionOf: (s) => connections.get(s),
      }),
  };
}

function instrumentAuthenticator(authenticator: Authenticator, metrics: Metrics): Authenticator {
  return {
    async authenticate(input) {
      const stop = metrics.authDuration.startTimer();
      try {
        return await authenticator.authenticate(input);
      } catch (error) {
        metrics.authFailures.inc({ reason: error instanceof AuthError ? error.reason : 'error' });
        throw error;
      } finally {
        stop();
      }
    },
  };
}

/** Counts publishes by topic kind; everything else (subscribe, status, onResubscribe, ...) is the wrapped PubSub. */
function instrumentPubSub(pubsub: PubSub, metrics: Metrics, activity: Activity): PubSub {
  const publish: PubSub['publish'] = async (topic, message) => {
    try {
      await pubsub.publish(topic, message);
    } catch (error) {
      metrics.eventPublishFailures.inc({ kind: topicKind(topic) });
      throw error;
    }
    metrics.eventsPublished.inc({ kind: topicKind(topic) });
    activity.eventPublished();
  };
  return new Proxy(pubsub, {
    get: (target, property, receiver) =>
      property === 'publish' ? publish : Reflect.get(target, property, receiver),
  });
}

/**
 * Counts every event a subscription receives and, for live ones (committed after the subscription
 * started, so not a catch-up replay), observes the commit-to-delivery latency.
 */
function instrumentStreams<S extends EventStreams>(streams: S, metrics: Metrics, activity: Activity): S {
  const subscribe = <P>(request: StreamRequest): AsyncIterableIterator<StreamEvent<P>> => {
    const source = streams.subscribe<P>(request);
    const startedAt = Date.now();
    const observe = (event: StreamEvent<P>) => {
      const kind = topicKind(event.topic);
      metrics.eventsDelivered.inc({ kind });
      activity.eventDelivered();
      const committedAt = Date.parse(event.createdAt);
      if (committedAt >= startedAt)
        metrics.deliveryLatency.observe({ kind }, Math.max(0, Date.now() - committedAt) / 1000);
    };
    return observeIterator(source, observe);
  };
  return new Proxy(streams, {
    get: (target, property, receiver) =>
      property === 'subscribe' ? subscribe : Reflect.get(target, property, receiver),
  });
}

/** Wraps next(); return(), throw() and any extra property of the source (e.g. `ready`) are the source's. */
function observeIterator<T>(
  source: AsyncIterableIterator<T>,
  observe: (value: T) => void,
): AsyncIterableIterator<T> {
  return {
    ...source,
    async next() {
      const result = await source.next();
      if (!result.done) observe(result.value);
      return result;
    },
    return: (value?: unknown) =>
      source.return ? source.return(value) : Promise.resolve({ done: true as const, value: undefined }),
    throw: (error?: unknown) => (source.throw ? source.throw(error) : Promise.reject(error)),
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

interface PluginDeps {
  metrics: Metrics;
  activity: Activity;
  logger: Logger;
  gate: OperationGate;
  contextExtension?: Record<string, unknown>;
  connectionOf(socket: WebSocket): ConnectionInfo | undefined;
}

type OpsContext = {
  requestId?: string;
  operationId?: string;
  socket?: WebSocket;
  principal?: Principal | null;
};

function operationsPlugin(deps: PluginDeps): Plugin {
  const { metrics, activity, gate } = deps;

  /** The fields naming an operation (and its connection) in log lines. */
  function operationFields(args: ExecutionArgs, type: string) {
    const context = (args.contextValue ?? {}) as OpsContext;
    const connection = context.socket ? deps.connectionOf(context.socket) : undefined;
    return {
      ...(connection && connectionFields(connection)),
      requestId: context.requestId,
      operationId: context.operationId ?? newId(),
      operationName: args.operationName ?? getOperationAST(args.document, args.operationName)?.name?.value,
      operationType: type,
      documentId: trustedOperationOf(context)?.id, // trusted documents: the hash the client sent
    };
  }

  /**
   * Counts a subscription as active; the returned function ends it. Made here, not in the hooks: the engine
   * keeps it for the subscription's lifetime, and a closure there would keep the whole operation.
   */
  function subscriptionStarted(
    fields: Record<string, unknown>,
    field: string,
    principal: Principal | undefined,
    storeId: string | undefined,
  ): () => void {
    const endActivity = activity.subscriptionStarted(field, principal?.tenantId, storeId);
    metrics.subscriptionsActive.inc({ field });
    metrics.subscriptionsStarted.inc({ field });
    if (!deps.logger.isLevelEnabled('debug')) {
      // What is kept for the subscription's lifetime is multiplied by every socket: no log fields.
      return () => {
        endActivity();
        metrics.subscriptionsActive.dec({ field });
      };
    }
    deps.logger.debug({ ...fields, field, storeId }, 'subscription started');
    return () => {
      endActivity();
      metrics.subscriptionsActive.dec({ field });
      deps.logger.debug({ ...fields, field }, 'subscription ended');
    };
  }

  return {
    onContextBuilding({ extendContext }) {
      if (deps.contextExtension) extendContext(deps.contextExtension);
    },
    onExecute({ args, setResultAndStopExecution }) {
      const type = getOperationAST(args.document, args.operationName)?.operation ?? 'unknown';
      if (gate.draining) {
        setResultAndStopExecution({ errors: [shuttingDownError()] });
        return;
      }
      const fields = operationFields(args, type);
      const finish = gate.operationStarted();
      metrics.operationsInFlight.inc();
      const startedAt = performance.now();
      return {
        onExecuteDone({ result }) {
          finish();
          metrics.operationsInFlight.dec();
          activity.operationExecuted();
          const errors = 'errors' in result ? result.errors : undefined;
          metrics.operations.inc({ type, outcome: errors?.length ? 'error' : 'ok' });
          const durationMs = Math.round(performance.now() - startedAt);
          if (errors?.length)
            deps.logger.info({ ...fields, durationMs, errors: errorCodes(errors) }, 'operation failed');
          else deps.logger.debug({ ...fields, durationMs }, 'operation completed');
        },
      };
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      if (gate.draining) {
        setResultAndStopExecution({ errors: [shuttingDownError()] });
        return;
      }
      const { field, storeId } = subscriptionTarget(args);
      const principal = (args.contextValue as OpsContext).principal ?? undefined;
      return {
        onSubscribeResult({ result }) {
          if (!isAsyncIterable(result)) return;
          const store = storeId ?? principal?.currentStoreId;
          const ended = subscriptionStarted(
            deps.logger.isLevelEnabled('debug') ? operationFields(args, 'subscription') : {},
            field,
            principal,
            store,
          );
          // Delivered by the fan-out engine: no per-event iterator wraps it, the engine reports its end.
          const delivered = engineSubscriptionOf(args.contextValue);
          if (delivered) {
            delivered.onEnd(ended);
            return;
          }
          return { onEnd: ended };
        },
      };
    },
  };
}

/** The root field a subscription listens to and the store it names (argument or connection's store). */
export function subscriptionTarget(
  args: Pick<ExecutionArgs, 'document' | 'operationName' | 'variableValues'>,
): {
  field: string;
  storeId?: string;
} {
  const operation = getOperationAST(args.document, args.operationName);
  const selection = operation?.selectionSet.selections.find((s): s is FieldNode => s.kind === Kind.FIELD);
  const field = selection?.name.value ?? 'unknown';
  const argument = selection?.arguments?.find((a) => a.name.value === 'storeId')?.value;
  let storeId: unknown;
  if (argument?.kind === Kind.STRING) storeId = argument.value;
  if (argument?.kind === Kind.VARIABLE) storeId = args.variableValues?.[argument.name.value];
  return typeof storeId === 'string' ? { field, storeId } : { field };
}

function errorCodes(errors: readonly { message: string; extensions?: Record<string, unknown> }[]) {
  return errors.map((error) => ({ code: error.extensions?.code ?? 'UNKNOWN', message: error.message }));
}

function shuttingDownError(): GraphQLError {
  return new GraphQLError('Server is shutting down; retry on another instance', {
    extensions: { code: 'UNAVAILABLE' },
  });
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}

function counted<T>(metrics: Metrics, query: string, run: () => Promise<T>): Promise<T> {
  metrics.eventLogQueries.inc({ query });
  return run();
}
