import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Prometheus metrics of one server instance. Each instance owns its Registry (tests start several
 * servers in one process, and prom-client's global registry would refuse the second registration).
 * docs/operations.md lists every metric and the alerts worth setting on them.
 */
export interface Metrics {
  registry: Registry;
  connectionsActive: Gauge;
  connectionsTotal: Counter;
  /** WebSocket closes by close code (1000, 1001, 1006, 4401, 4403, 4408, ...). */
  connectionCloses: Counter<'code'>;
  /** Sockets the heartbeat terminated because they did not answer a ping in time. */
  staleConnectionsTerminated: Counter;
  connectionsShed: Counter;
  /** From socket open to connection_ack. */
  connectDuration: Histogram;
  authDuration: Histogram;
  authFailures: Counter<'reason'>;
  /** Incremented by the limits module: `metrics.rateLimitRefusals.inc({ scope })`. */
  rateLimitRefusals: Counter<'scope'>;
  /** 1 while rate and connection limits are shared through Redis, 0 while each instance counts alone. */
  limitsShared: Gauge;
  subscriptionsActive: Gauge<'field'>;
  /** Subscriptions that went live (subscribed to pub/sub, replay loaded): churn, and what tests wait on. */
  subscriptionsStarted: Counter<'field'>;
  operations: Counter<'type' | 'outcome'>;
  /** Requests naming a registered document by its hash, by manifest (`codegen`, a file name, `apq`) and operation. */
  persistedOperations: Counter<'manifest' | 'operation'>;
  /** Requests naming a hash that no manifest registers (nor, in `allow`, an earlier request). */
  unregisteredHashes: Counter;
  /** Operations sent as document text: `ran`, `refused` (TRUSTED_DOCUMENTS=require) or `introspection`. */
  textOperations: Counter<'outcome'>;
  /** Documents registered, by manifest. */
  persistedDocuments: Gauge<'manifest'>;
  operationsInFlight: Gauge;
  eventsPublished: Counter<'kind'>;
  eventPublishFailures: Counter<'kind'>;
  eventsDelivered: Counter<'kind'>;
  /** From the event's commit (envelope createdAt) to its hand-over to a live subscriber. */
  deliveryLatency: Histogram<'kind'>;
  /** Events that reached a topic feed ahead of their predecessor: a gap, filled before anything after it. */
  eventGaps: Counter<'kind'>;
  /**
   * From an event's commit to the moment this instance could deliver it in order, once per event and
   * instance, by how it came: live (pub/sub), gap_fill or catch_up (read from the Event table).
   */
  eventLateness: Histogram<'path'>;
  /** Resumes from a cursor, by where their missed events came from: memory (a feed's recent events) or table. */
  streamResumes: Counter<'source' | 'kind'>;
  /** Statements this instance sent to read the Event table as a history (src/events/event-log), by query. */
  eventLogQueries: Counter<'query'>;
  /** Events the topic feeds keep in memory for resumes, read at each scrape from the source given here. */
  countRecentEvents(source: () => number): void;
  /** Events the outbox relay published because the instance that committed them did not. */
  relayPublished: Counter;
  /** Events this instance published from its own backlog once pub/sub took messages again. */
  outboxCaughtUp: Counter;
  outboxBacklog: Gauge;
  outboxOldestAge: Gauge;
  redisUp: Gauge;
  databaseUp: Gauge;
  degraded: Gauge;
  draining: Gauge;
  /** 0 closed, 1 half-open, 2 open. */
  circuitState: Gauge<'dependency'>;
}

export const CIRCUIT_STATE_VALUE = { closed: 0, half_open: 1, open: 2 } as const;

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const HANDSHAKE_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export function createMetrics(options: { processMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const name = (suffix: string) => `expediter_${suffix}`;
  let recentEvents: () => number = () => 0;
  new Gauge({
    name: name('recent_events'),
    help: 'Events the topic feeds keep in memory (recent events per topic) to answer resumes without PostgreSQL',
    registers,
    collect() {
      this.set(recentEvents());
    },
  });

  return {
    registry,
    connectionsActive: new Gauge({
      name: name('ws_connections_active'),
      help: 'Open WebSocket connections',
      registers,
    }),
    connectionsTotal: new Counter({
      name: name('ws_connections_total'),
      help: 'WebSocket connections accepted since start',
      registers,
    }),
    connectionCloses: new Counter({
      name: name('ws_closes_total'),
      help: 'WebSocket closes by close code',
      labelNames: ['code'] as const,
      registers,
    }),
    connectionsShed: new Counter({
      name: name('ws_connections_shed_total'),
      help: 'WebSocket connections closed with 1013 (retryAfter) because the instance was at WS_MAX_HANDSHAKES',
      registers,
    }),
    staleConnectionsTerminated: new Counter({
      name: name('ws_stale_terminated_total'),
      help: 'WebSocket connections terminated because the peer did not answer a ping in time',
      registers,
    }),
    connectDuration: new Histogram({
      name: name('ws_connect_duration_seconds'),
      help: 'Time from WebSocket open to connection_ack (includes authentication)',
      buckets: HANDSHAKE_BUCKETS,
      registers,
    }),
    authDuration: new Histogram({
      name: name('auth_duration_seconds'),
      help: 'Token verification and revocation check (WebSocket connection_init and HTTP)',
      buckets: HANDSHAKE_BUCKETS,
      registers,
    }),
    authFailures: new Counter({
      name: name('auth_failures_total'),
      help: 'Refused authentications by reason',
      labelNames: ['reason'] as const,
      registers,
    }),
    rateLimitRefusals: new Counter({
      name: name('rate_limit_refusals_total'),
      help: 'Operations or connections refused by a rate or operation limit, by scope',
      labelNames: ['scope'] as const,
      registers,
    }),
    subscriptionsActive: new Gauge({
      name: name('subscriptions_active'),
      help: 'Active GraphQL subscriptions by root field',
      labelNames: ['field'] as const,
      registers,
    }),
    subscriptionsStarted: new Counter({
      name: name('subscriptions_started_total'),
      help: 'GraphQL subscriptions that went live (events committed from then on reach them), by root field',
      labelNames: ['field'] as const,
      registers,
    }),
    operations: new Counter({
      name: name('operations_total'),
      help: 'Executed GraphQL queries and mutations (HTTP and WebSocket) by outcome',
      labelNames: ['type', 'outcome'] as const,
      registers,
    }),
    persistedOperations: new Counter({
      name: name('persisted_operations_total'),
      help: 'Operations requested by the hash of a registered document, by manifest and operation name',
      labelNames: ['manifest', 'operation'] as const,
      registers,
    }),
    unregisteredHashes: new Counter({
      name: name('unregistered_hashes_total'),
      help: 'Requests naming a document hash that no manifest registers',
      registers,
    }),
    textOperations: new Counter({
      name: name('text_operations_total'),
      help: 'Operations sent as document text: ran, refused (TRUSTED_DOCUMENTS=require) or introspection',
      labelNames: ['outcome'] as const,
      registers,
    }),
    persistedDocuments: new Gauge({
      name: name('persisted_documents'),
      help: 'Trusted documents registered, by manifest',
      labelNames: ['manifest'] as const,
      registers,
    }),
    operationsInFlight: new Gauge({
      name: name('operations_in_flight'),
      help: 'Queries and mutations executing now (what a graceful shutdown waits for)',
      registers,
    }),
    eventsPublished: new Counter({
      name: name('events_published_total'),
      help: 'Events handed to pub/sub, by topic kind',
      labelNames: ['kind'] as const,
      registers,
    }),
    eventPublishFailures: new Counter({
      name: name('event_publish_failures_total'),
      help: 'Publishes that failed (the event stays in the outbox for the relay), by topic kind',
      labelNames: ['kind'] as const,
      registers,
    }),
    eventsDelivered: new Counter({
      name: name('events_delivered_total'),
      help: 'Events handed to subscriptions (replayed and live), by topic kind',
      labelNames: ['kind'] as const,
      registers,
    }),
    deliveryLatency: new Histogram({
      name: name('event_delivery_latency_seconds'),
      help: 'Live events: from commit (event createdAt) to hand-over to the subscriber, by topic kind',
      labelNames: ['kind'] as const,
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    eventGaps: new Counter({
      name: name('event_gaps_total'),
      help: 'Events that reached this instance ahead of their predecessor on their topic (each gap is filled first)',
      labelNames: ['kind'] as const,
      registers,
    }),
    eventLateness: new Histogram({
      name: name('event_lateness_seconds'),
      help: 'From commit to in-order delivery on this instance, once per event, by path (live, gap_fill, catch_up)',
      labelNames: ['path'] as const,
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    streamResumes: new Counter({
      name: name('stream_resumes_total'),
      help: 'Resumes from a cursor, by source of the missed events: memory (recent events of the topic feed) or table',
      labelNames: ['source', 'kind'] as const,
      registers,
    }),
    countRecentEvents(source) {
      recentEvents = source;
    },
    eventLogQueries: new Counter({
      name: name('event_log_queries_total'),
      help: 'Reads of the Event table as a history, by query: open_topic, latest_id, read_topics (gap fills, catch-ups), replay (resumes)',
      labelNames: ['query'] as const,
      registers,
    }),
    relayPublished: new Counter({
      name: name('outbox_relay_published_total'),
      help: 'Events the outbox relay published because the instance that committed them did not',
      registers,
    }),
    outboxCaughtUp: new Counter({
      name: name('outbox_caught_up_total'),
      help: 'Events this instance published from its backlog after pub/sub came back (without waiting for the relay)',
      registers,
    }),
    outboxBacklog: new Gauge({
      name: name('outbox_backlog'),
      help: 'Committed events not yet published to pub/sub',
      registers,
    }),
    outboxOldestAge: new Gauge({
      name: name('outbox_oldest_age_seconds'),
      help: 'Age of the oldest unpublished event (0 when the outbox is empty)',
      registers,
    }),
    limitsShared: new Gauge({
      name: name('limits_shared'),
      help: '1 while rate and connection limits are shared through Redis; 0 while this instance counts alone',
      registers,
    }),
    redisUp: new Gauge({
      name: name('redis_up'),
      help: '1 when Redis pub/sub is connected (also 1 in single-instance mode without Redis)',
      registers,
    }),
    databaseUp: new Gauge({
      name: name('database_up'),
      help: '1 when the last database health check succeeded',
      registers,
    }),
    degraded: new Gauge({
      name: name('degraded'),
      help: '1 while Redis is unreachable: local subscribers are served, remote delivery waits in the outbox',
      registers,
    }),
    draining: new Gauge({
      name: name('draining'),
      help: '1 while the instance shuts down gracefully',
      registers,
    }),
    circuitState: new Gauge({
      name: name('circuit_breaker_state'),
      help: 'Circuit breaker state by dependency: 0 closed, 1 half-open, 2 open',
      labelNames: ['dependency'] as const,
      registers,
    }),
  };
}
