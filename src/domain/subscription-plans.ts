import type { Principal } from '../auth/principal';
import type { EventStreamIterator, ReadyEventStreams } from '../events/event-streams';
import type { Broadcasts } from '../events/publisher';
import type { StreamEvent, StreamRequest } from '../events/streams';
import { openStatePlanStream, type StatePlan } from './state-stream';

export type { StatePlan } from './state-stream';

import { type CoalescePolicy, coalesce, filterMap, filterStream } from './stream-iterators';

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
 *
 * Two kinds of plan: an event plan (`SubscriptionPlan`) follows durable events, with cursors and replay; a state
 * plan (`StatePlan`) follows state that ephemeral broadcasts change (dashboard metrics, presence): the current
 * state first, then changes, never replayed. State plans, and event plans with a per-subscriber `admit` check,
 * always run as private streams: what they deliver depends on the subscriber's own history or data.
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
  /**
   * A last check of each selected value against the subscriber's own current data (e.g. its notification
   * preferences, which may change while it listens). A plan with one runs as a private stream.
   */
  admit?(value: T): Promise<boolean>;
}

/** A plan of either kind, as a subscription field's resolver hands it to `ctx.subscriptions`. */
export type AnyPlan<K, E, T> = SubscriptionPlan<K, E, T> | StatePlan<E, T>;

export function isStatePlan<K, E, T>(plan: AnyPlan<K, E, T>): plan is StatePlan<E, T> {
  return 'current' in plan;
}

/** Whether a plan can be shared by a fan-out group: an event plan without a per-subscriber check. */
export function isSharable<K, E, T>(plan: AnyPlan<K, E, T>): plan is SubscriptionPlan<K, E, T> {
  return !isStatePlan(plan) && plan.admit === undefined;
}

/** Turns a plan into the stream of values its subscriber receives; what a GraphQL context carries. */
export interface SubscriptionRunner {
  open<K, E, T>(plan: AnyPlan<K, E, T>): Promise<AsyncIterableIterator<T>>;
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
  const coalesced = plan.coalesce ? coalesce(selected, plan.coalesce) : selected;
  const admit = plan.admit?.bind(plan);
  return admit ? filterStream(coalesced, async (value) => ((await admit(value)) ? value : null)) : coalesced;
}

/** What private streams are opened from: the instance's event streams and broadcasts. */
export interface PlanSources {
  streams: ReadyEventStreams;
  broadcasts: Pick<Broadcasts, 'listen'>;
}

/** Every plan as a private stream: HTTP and SSE operations, graphql-ws when the engine is off, and plans no group shares. */
export function privateSubscriptions(sources: PlanSources): SubscriptionRunner {
  return {
    open: (plan) =>
      isStatePlan(plan)
        ? openStatePlanStream(sources.broadcasts, plan)
        : openPlanStream(sources.streams, plan),
  };
}
