import type { Principal } from '../auth/principal';
import type { EventStreamIterator, ReadyEventStreams } from '../events/event-streams';
import type { StreamEvent, StreamRequest } from '../events/streams';
import { type CoalescePolicy, coalesce, filterMap } from './stream-iterators';

/**
 * Subscriptions as plans (docs/architecture.md, "Subscriptions as plans").
 *
 * A domain service does not open a stream for a subscription: it authorizes the caller and returns a PLAN, a
 * plain value saying which events (stream, topics, `after`) and which of them the caller receives, shaped how
 * (`select`), coalesced how. Whoever runs the operation turns the plan into a stream: the fan-out engine into a
 * member of a group of subscribers sharing one execution per event (src/fanout), everything else (SSE, HTTP,
 * graphql-ws without the engine, domain tests) into a private stream (`openPlanStream`, below).
 *
 * What lets the engine share: `select` is built from the plan's `key` and nothing else (`Selector`), so two
 * subscribers whose plans have equal keys (compared by their JSON) select exactly the same events and values.
 * Selectors are module-level constants; anything the filter needs goes into the key.
 */

/** The per-event check and shape of a plan, made from its key only: `(key) => (event) => value | undefined`. */
export type Selector<Key, E, T> = (key: Key) => (event: StreamEvent<E>) => T | undefined;

export interface SubscriptionPlan<Key = unknown, E = unknown, T = unknown> {
  /** The logical stream cursors belong to (a cursor of another stream key is refused). */
  streamKey: string;
  /** The pub/sub topics the stream merges (one tenant's, or `sys:`). */
  topics: readonly string[];
  /** Resume after this cursor (replay, then live), or null to start live. */
  after: string | null;
  /** Everything `select` depends on besides the event: a plain JSON value. Equal keys select equally. */
  key: Key;
  /** The value delivered for an event, or undefined when a caller with this key may not see it. */
  select: Selector<Key, E, T>;
  /** Bursts of replaceable values (same non-null coalesce key) delivered as their newest only. */
  coalesce?: CoalescePolicy<T>;
}

/** Turns a plan into the stream of values its subscriber receives; what a GraphQL context carries. */
export interface SubscriptionRunner {
  open<K, E, T>(plan: SubscriptionPlan<K, E, T>): Promise<AsyncIterableIterator<T>>;
}

/**
 * What a subscriber may see, as part of a plan's key: `authorizationScope(principal)` (src/auth/policy.ts), the
 * caller as the rules read it; callers with equal scopes are allowed exactly the same events.
 */
export type Viewer = Principal;

/**
 * Opens an event stream and waits until it is live (topics subscribed, replay loaded), so that errors such
 * as an expired cursor surface when subscribing rather than on the first event. Released if it fails.
 */
export async function openEventStream<P>(
  streams: ReadyEventStreams,
  request: StreamRequest,
): Promise<EventStreamIterator<P>> {
  const source = streams.subscribe<P>(request);
  try {
    await source.ready;
  } catch (error) {
    await source.return?.();
    throw error;
  }
  return source;
}

/** A plan's private stream: its own event stream, selected, coalesced (no group, nothing shared). */
export async function openPlanStream<K, E, T>(
  streams: ReadyEventStreams,
  plan: SubscriptionPlan<K, E, T>,
): Promise<AsyncIterableIterator<T>> {
  const source = await openEventStream<E>(streams, plan);
  const selected = filterMap(source, plan.select(plan.key));
  return plan.coalesce ? coalesce(selected, plan.coalesce) : selected;
}

/** Every plan as a private stream: HTTP and SSE operations, and graphql-ws when the engine is off. */
export function privateSubscriptions(streams: ReadyEventStreams): SubscriptionRunner {
  return { open: (plan) => openPlanStream(streams, plan) };
}
