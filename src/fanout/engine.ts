import { type ExecutionArgs, type ExecutionResult, GraphQLError } from 'graphql';
import { authorizationScope } from '../auth/policy';
import type { Principal } from '../auth/principal';
import { privateSubscriptions, type SubscriptionRunner } from '../domain/subscription-plans';
import type { ReadyEventStreams } from '../events/event-streams';
import type { TopicFeeds } from '../events/topic-feeds';
import { topicKind } from '../events/topics';
import type { Activity } from '../observability/activity';
import type { Logger } from '../observability/logger';
import type { Metrics } from '../observability/metrics';
import { Group, type GroupHost, type SharedSelection } from './group';
import { Subscriber, type SubscriberHost, type SubscriberInput } from './subscriber';

export {
  isEngineDelivery,
  SlowConsumerCloseCode,
  type Subscriber,
  type SubscriberInput,
} from './subscriber';

/**
 * Fan-out engine: removes per-subscriber work from event delivery (docs/architecture.md, "Subscriptions as
 * plans").
 *
 * A subscription field's resolver asks the operation's subscription runner (`ctx.subscriptions`) to run the
 * domain's plan. Over graphql-ws with the engine on, that runner is a `Subscriber` of this engine (made by
 * `subscriber()` before the operation runs). Subscribers are grouped by what they asked for and what they may
 * see: document, operation, variables without `after`, scope (`groupKeyOf`), and the plan's stream, topics and
 * key. `select` is made from the plan's key only, so every member of a group selects the same. With the
 * instance's topic feeds, each group listens to the feeds of its topics (one pub/sub subscription per topic and
 * instance, which deliver each event once, in order, gaps filled: src/events/topic-feeds), selects each event
 * once, coalesces once, executes the selection set and serialises the result once (graphql-js `execute` with the
 * selected value as root, as mapSourceToResponse does), and sends each member `{"id":<id>,"type":"next",
 * "payload":<shared JSON>}` built by string concatenation, straight to its socket (src/fanout/group.ts).
 *
 * A subscriber without a cursor becomes a member once its group listens. One resuming from a cursor joins with its
 * own event stream, which has replayed the events after it, and hands that over to its group without a gap or a
 * duplicate (src/fanout/subscriber.ts). Without feeds, each
 * subscriber keeps its own stream and only execution and serialisation are shared per group (by cursor).
 *
 * graphql-ws gets the subscriber's own iterable (`delivery()`), without the executor's and plugins' per-event
 * wrappers (nothing passes through them): graphql-ws still tracks the id, and `complete` or a socket close call
 * its return(), which releases the subscriber. Plugins learn of the end through `onEnd`
 * (src/fanout/delivered-subscription). A group executes with a context of its own, made by `executionContext`
 * from its first member's operation context.
 */

export interface FanoutOptions {
  logger: Logger;
  /** The instance's event streams: a resuming subscriber's own stream (its replay) before it joins its group. */
  streams: ReadyEventStreams;
  /**
   * Runs the plans no group shares (state plans, plans with a per-subscriber check) as private streams: the
   * services' runner. Default: event plans only, on `streams`.
   */
  privately?: SubscriptionRunner;
  /** The instance's topic feeds (shared subscriptions); without them every subscriber reads its own stream. */
  feeds?: Pick<TopicFeeds, 'listen' | 'stats'>;
  /** ops: delivery counters and latency, as the instrumented streams count them for unshared subscribers. */
  metrics?: Pick<Metrics, 'eventsDelivered' | 'deliveryLatency'>;
  activity?: Pick<Activity, 'eventDelivered'>;
  /** A socket with more unsent bytes than this is closed with SlowConsumerCloseCode (default 1 MiB). */
  maxBufferedBytes?: number;
  /**
   * The context a group executes its events with, made from its first member's operation context: what the
   * resolvers need (caller, services), without what ties it to one socket or request. Default: the context.
   */
  executionContext?: (context: unknown) => unknown;
}

export type FanoutEngine = ReturnType<typeof createFanoutEngine>;

export function createFanoutEngine(options: FanoutOptions) {
  const { logger, metrics, activity, feeds } = options;
  const groups = new Map<string, Group>();

  /**
   * Event errors the resolvers raise on purpose carry an extensions.code and pass; anything else is logged
   * and masked like yoga masks it, so no internal detail reaches a client.
   */
  function masked(result: ExecutionResult): ExecutionResult {
    if (!result.errors) return result;
    return {
      ...result,
      errors: result.errors.map((error) => {
        if (typeof error.extensions?.code === 'string') return error;
        logger.error({ err: error.originalError ?? error }, 'subscription event failed to resolve');
        return new GraphQLError('Unexpected error.', {
          path: error.path,
          extensions: { code: 'INTERNAL_SERVER_ERROR' },
        });
      }),
    };
  }

  /** Counts deliveries like the instrumented streams do; latency once per group and event. */
  function delivered(topic: string, createdAt: string, count: number, since: number) {
    if (count === 0) return;
    const kind = topicKind(topic);
    metrics?.eventsDelivered.inc({ kind }, count);
    if (activity) for (let i = 0; i < count; i++) activity.eventDelivered();
    const committedAt = Date.parse(createdAt);
    if (committedAt >= since)
      metrics?.deliveryLatency.observe({ kind }, Math.max(0, Date.now() - committedAt) / 1000);
  }

  const groupHost: GroupHost = {
    logger,
    feeds,
    masked,
    delivered,
    isCurrent: (group) => groups.get(group.key) === group,
    forget: (group) => {
      if (groups.get(group.key) === group) groups.delete(group.key);
    },
  };

  const subscriberHost: SubscriberHost = {
    logger,
    streams: options.streams,
    privately:
      options.privately ??
      privateSubscriptions({
        streams: options.streams,
        broadcasts: { listen: () => Promise.reject(new Error('This engine has no broadcasts')) },
      }),
    shared: feeds !== undefined,
    maxBufferedBytes: options.maxBufferedBytes ?? 1024 * 1024,
    groupKeyOf,
    delivered,
    groupFor(args: ExecutionArgs, key: string, selection?: () => SharedSelection): Group {
      let group = groups.get(key);
      if (!group) {
        const { schema, document, operationName, variableValues, contextValue } = args;
        const contextOfGroup = options.executionContext?.(contextValue) ?? contextValue;
        group = new Group(
          groupHost,
          key,
          { schema, document, operationName, variableValues, contextValue: contextOfGroup },
          selection?.(),
        );
        groups.set(key, group);
      }
      return group;
    },
  };

  return {
    /**
     * The subscription runner of one graphql-ws subscription operation: put it on the operation's context
     * (`subscriptions`), `bind` the operation's execution args, subscribe, and hand graphql-ws
     * `delivery(result)`. Every subscription field runs a plan (a test runs each one); an operation whose
     * resolver did not would be executed as usual, per subscriber.
     */
    subscriber: (input: SubscriberInput): Subscriber => new Subscriber(subscriberHost, input),
    /** Groups and subscribers currently registered, and the hub's shared topics (metrics, leak tests). */
    stats() {
      let subscribers = 0;
      for (const group of groups.values()) subscribers += group.members.size;
      return { groups: groups.size, subscribers };
    },
    /** The feeds' shared subscriptions: topics and their listeners (groups and private streams). */
    hubStats: () => feeds?.stats() ?? { topics: 0, listeners: 0 },
  };
}

/**
 * What decides the bytes a subscriber receives besides the event: the document, the operation, the
 * variables except `after` (a resume position only), and the caller as the rules see it. That is
 * `authorizationScope` (src/auth/policy.ts), the one definition of what every rule (scopes, the domain's checks,
 * a plan's selection) reads of a caller, so the members of a group are allowed exactly the same fields and
 * events; and the current store, which arguments default to. Subscribers whose executions could differ never
 * share a group.
 */
export function groupKeyOf(query: string, args: ExecutionArgs, principal: Principal | null): string {
  const { after: _after, ...variables } = (args.variableValues ?? {}) as Record<string, unknown>;
  return JSON.stringify([query, args.operationName ?? null, sortedEntries(variables), scopeOf(principal)]);
}

function scopeOf(principal: Principal | null): unknown[] {
  if (!principal) return ['anonymous'];
  return [authorizationScope(principal), principal.currentStoreId ?? null];
}

function sortedEntries(value: Record<string, unknown>): unknown[] {
  return Object.keys(value)
    .sort()
    .map((key) => [key, value[key]]);
}
