import {
  type ExecutionArgs,
  type ExecutionResult,
  execute,
  GraphQLError,
  type GraphQLFieldResolver,
  type GraphQLSchema,
} from 'graphql';
import type { WebSocket } from 'ws';
import type { Principal } from '../auth/principal';
import { type SharedStreamPlan, sharedStreamPlan } from '../domain/stream-iterators';
import type { StreamHandoff } from '../events/event-streams';
import type { StreamEvent } from '../events/streams';
import type { FeedEvent, FeedListener, TopicFeeds } from '../events/topic-feeds';
import type { Activity } from '../observability/activity';
import type { Logger } from '../observability/logger';
import { type Metrics, topicKind } from '../observability/metrics';
import { DELIVERED_SUBSCRIPTION, type DeliveredSubscription } from './delivered-subscription';

/**
 * Fan-out engine: removes per-subscriber work from event delivery.
 *
 * Subscribers are grouped by what they asked for and what they may see (document, operation, variables
 * without `after`, scope, stream). When the domain's subscription iterator carries a shared stream plan
 * (src/domain/stream-iterators `shareable`) and the engine has the instance's topic feeds, each group listens
 * to the feeds of its topics (one pub/sub subscription per topic and instance, which deliver each event once,
 * in order, gaps filled: src/events/topic-feeds), evaluates the domain's per-event check (`select`) once per group and event, executes the selection
 * set and serialises the result once (graphql-js `execute` with the selected value as root, as
 * mapSourceToResponse does), and sends each member `{"id":<id>,"type":"next","payload":<shared JSON>}` built
 * by string concatenation, straight to its socket.
 *
 * A subscriber joins with its own domain stream, which has already replayed the events after its `after`
 * cursor. Once the group listens, in one synchronous step the engine takes that stream's backlog (replay and
 * live events received so far) and adds the subscriber to its group: every event is either in the backlog or
 * reaches the group afterwards (both listen to the same feeds, which deliver in order), and what the group
 * sends at or below the backlog's watermark is dropped for this member. The stream itself is then released.
 *
 * Without a plan (or without feeds), each subscriber keeps its domain stream and only execution and
 * serialisation are shared per group (by cursor).
 *
 * Integration with graphql-ws: the subscription field's `subscribe` resolver is wrapped once per schema.
 * When the context carries an engine subscriber, the domain stream is handed to the engine and the executor
 * gets an iterable that never yields. `delivery()` gives graphql-ws that iterable itself, without the
 * executor's and plugins' per-event wrappers (nothing passes through them): graphql-ws still tracks the id,
 * and `complete` or a socket close call its return(), which releases the subscriber. Plugins learn of the
 * end through `onEnd` (src/fanout/delivered-subscription). What a subscriber keeps is small on purpose:
 * its socket, its frame prefix and its group; the operation's context is not kept (a group executes with a
 * context of its own, made by `executionContext` from its first member's).
 */

export interface FanoutOptions {
  logger: Logger;
  /** The instance's topic feeds (shared subscriptions); without them every subscriber reads its own stream. */
  feeds?: Pick<TopicFeeds, 'listen' | 'stats'>;
  /** ops: delivery counters and latency, as the instrumented streams count them for unshared subscribers. */
  metrics?: Pick<Metrics, 'eventsDelivered' | 'deliveryLatency'>;
  activity?: Pick<Activity, 'eventDelivered'>;
  /** Root subscription fields the engine serves. */
  fields?: readonly string[];
  /** A socket with more unsent bytes than this is closed with SlowConsumerCloseCode (default 1 MiB). */
  maxBufferedBytes?: number;
  /**
   * The context a group executes its events with, made from its first member's operation context: what the
   * resolvers need (caller, services), without what ties it to one socket or request. Default: the context.
   */
  executionContext?: (context: unknown) => unknown;
}

/** Close code for a subscriber that does not read fast enough: reconnect and resume from the last cursor. */
export const SlowConsumerCloseCode = 4413;

export interface SubscriberInput {
  id: string;
  socket: WebSocket;
  principal: Principal | null;
  args: ExecutionArgs;
  /** The document's text as received (part of the group key). */
  query: string;
}

const PAYLOAD_MEMORY = 64;
const TEXT_FRAME = { binary: false };

/** The end of a `next` frame: the serialised payload and the closing brace. */
function frameBody(json: string): Buffer {
  return Buffer.from(`${json}}`);
}

/**
 * Bytes in a buffer of their own. Buffer.from() carves small buffers out of shared 8 KiB slabs, and a slab
 * stays alive while any of its buffers does: prefixes kept for a subscription's lifetime, each next to
 * short-lived frames, would keep about 3 KiB of slab apiece.
 */
function ownBuffer(text: string): Buffer {
  const bytes = Buffer.allocUnsafeSlow(Buffer.byteLength(text));
  bytes.write(text);
  return bytes;
}

/** Frames sent to a group's members before yielding to the event loop (about 5 ms of sends). */
const SEND_SLICE = 512;

export type FanoutEngine = ReturnType<typeof createFanoutEngine>;

export function createFanoutEngine(options: FanoutOptions) {
  const { logger, metrics, activity } = options;
  const fields = new Set(
    options.fields ?? ['orderUpdated', 'kdsTicket', 'inventoryAlert', 'menuUpdated', 'tableUpdated'],
  );
  const maxBufferedBytes = options.maxBufferedBytes ?? 1024 * 1024;
  const groups = new Map<string, Group>();
  const feeds = options.feeds;

  /** Whether the operation is served by the engine: a subscription selecting only engine fields. */
  function serves(args: ExecutionArgs): boolean {
    const operation = args.document.definitions.find(
      (d) =>
        d.kind === 'OperationDefinition' &&
        (args.operationName == null || d.name?.value === args.operationName),
    );
    if (operation?.kind !== 'OperationDefinition' || operation.operation !== 'subscription') return false;
    return operation.selectionSet.selections.every(
      (selection) => selection.kind === 'Field' && fields.has(selection.name.value),
    );
  }

  /**
   * Marks the operation's context so its subscription is delivered by the engine; subscribe with these
   * args, then hand graphql-ws `delivery(result)`.
   */
  function prepare(input: SubscriberInput): Pick<Subscriber, 'delivery'> {
    instrument(input.args.schema, fields);
    const subscriber = new Subscriber(input);
    (input.args.contextValue as Record<PropertyKey, unknown>)[DELIVERED_SUBSCRIPTION] = subscriber;
    return subscriber;
  }

  function groupFor(args: ExecutionArgs, baseKey: string, plan?: SharedStreamPlan): Group {
    const key = plan ? `${baseKey}|${plan.streamKey}|${plan.topics.join(',')}` : baseKey;
    let group = groups.get(key);
    if (!group) {
      const { schema, document, operationName, variableValues, contextValue } = args;
      const contextOfGroup = options.executionContext?.(contextValue) ?? contextValue;
      group = new Group(
        key,
        { schema, document, operationName, variableValues, contextValue: contextOfGroup },
        plan,
      );
      groups.set(key, group);
    }
    return group;
  }

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

  /** Subscribers who may receive the same bytes for an event, and (with a plan) their shared stream. */
  class Group implements FeedListener {
    readonly members = new Set<Subscriber>();
    /** Serialised payloads of the newest events, by cursor (shared by every member). */
    private readonly payloads = new Map<string, string | Promise<string>>();
    /** Set while a payload is being executed asynchronously: later events wait for it (order). */
    private tail?: Promise<void>;
    private readonly held = new Map<string, { value: unknown; event: FeedEvent }>();
    private holdTimer?: NodeJS.Timeout;
    private unlisten: Array<() => void> = [];
    private listening?: Promise<void>;
    private readonly createdAt = Date.now();
    /** Subscribers waiting for the shared subscription before they join. */
    pending = 0;

    constructor(
      readonly key: string,
      /** Any member's would do: members share what decides the bytes (group key). */
      private readonly args: ExecutionArgs,
      readonly plan?: SharedStreamPlan,
    ) {}

    /** Resolves once every topic of the plan reaches this group through its feeds. */
    listen(): Promise<void> {
      this.listening ??= feeds!.listen(this.plan?.topics ?? [], this).then(
        (subscription) => {
          if (groups.get(this.key) === this) this.unlisten.push(() => subscription.stop());
          else subscription.stop();
        },
        (error: unknown) => {
          this.dropIfEmpty(true);
          throw error;
        },
      );
      return this.listening;
    }

    leave(subscriber: Subscriber) {
      if (!this.members.delete(subscriber)) return;
      this.dropIfEmpty();
    }

    /** Forgets the group (and its shared subscriptions) once nobody is in it or about to join. */
    dropIfEmpty(failed = false) {
      if (!failed && (this.members.size > 0 || this.pending > 0)) return;
      if (groups.get(this.key) === this) groups.delete(this.key);
      clearTimeout(this.holdTimer);
      this.held.clear();
      for (const stop of this.unlisten.splice(0)) stop();
    }

    /** The selection set executed and serialised once for this group (memoised by cursor). */
    payloadOf(value: unknown): string | Promise<string> {
      const cursor = (value as { cursor?: unknown }).cursor;
      const memoKey = typeof cursor === 'string' ? cursor : undefined;
      const known = memoKey === undefined ? undefined : this.payloads.get(memoKey);
      if (known !== undefined) return known;
      const result = execute({ ...this.args, rootValue: value });
      const payload =
        result instanceof Promise
          ? result.then((r) => JSON.stringify(masked(r)))
          : JSON.stringify(masked(result));
      if (memoKey !== undefined) {
        this.payloads.set(memoKey, payload);
        if (this.payloads.size > PAYLOAD_MEMORY)
          this.payloads.delete(this.payloads.keys().next().value as string);
      }
      return payload;
    }

    onEvent(event: FeedEvent) {
      const plan = this.plan!;
      if (this.members.size === 0) return;
      const envelope = event.envelope;
      const streamEvent: StreamEvent = { ...envelope, cursor: event.cursor(plan.streamKey) };
      const value = plan.select(streamEvent);
      if (value === undefined) return;
      const coalesceKey =
        plan.coalesce && plan.coalesce.windowMs > 0 ? plan.coalesce.coalesceKey(value) : null;
      if (coalesceKey === null) {
        this.releaseHeld();
        this.deliver(value, event);
        return;
      }
      // Like coalesce(): the newest value per key, held up to windowMs from the first one held.
      if (this.held.size === 0)
        this.holdTimer = setTimeout(() => this.releaseHeld(), plan.coalesce!.windowMs).unref();
      this.held.delete(coalesceKey);
      this.held.set(coalesceKey, { value, event });
    }

    onBroken(error: unknown) {
      for (const member of [...this.members]) void member.fail(error);
    }

    private releaseHeld() {
      if (this.held.size === 0) return;
      clearTimeout(this.holdTimer);
      const held = [...this.held.values()];
      this.held.clear();
      for (const { value, event } of held) this.deliver(value, event);
    }

    private deliver(value: unknown, event: FeedEvent) {
      const payload = this.payloadOf(value);
      if (typeof payload === 'string' && !this.tail) {
        const sending = this.sendAll(payload, event);
        if (sending) this.queue(sending);
        return;
      }
      this.queue(
        (this.tail ?? Promise.resolve())
          .then(() => payload)
          .then(
            (json) => this.sendAll(json, event),
            (error: unknown) => logger.error({ err: error }, 'subscription event failed to execute'),
          ),
      );
    }

    /** Later events of the group wait for this one: every member receives them in order. */
    private queue(work: Promise<void>) {
      const tail: Promise<void> = work.finally(() => {
        if (this.tail === tail) this.tail = undefined;
      });
      this.tail = tail;
    }

    /**
     * Sends to every member; a large group in slices, yielding to the event loop between them, so requests
     * (a mutation's transaction) are not starved while thousands of frames go out. Returns a promise then.
     */
    private sendAll(json: string, event: FeedEvent): Promise<void> | undefined {
      const { topic, createdAt } = event.envelope;
      const body = frameBody(json);
      if (this.members.size <= SEND_SLICE) {
        let count = 0;
        for (const member of this.members) if (member.sendLive(body, event)) count++;
        delivered(topic, createdAt, count, this.createdAt);
        return undefined;
      }
      const members = [...this.members];
      let count = 0;
      let at = 0;
      const slice = (): Promise<void> | undefined => {
        const end = Math.min(at + SEND_SLICE, members.length);
        for (; at < end; at++) if (members[at]!.sendLive(body, event)) count++;
        if (at < members.length) return new Promise<void>((resolve) => setImmediate(resolve)).then(slice);
        delivered(topic, createdAt, count, this.createdAt);
        return undefined;
      };
      return slice();
    }
  }

  /** What is kept per subscription is kept small: it is multiplied by every connection. */
  class Subscriber implements DeliveredSubscription {
    /** Until the subscriber has a group (which takes its execution args from its first member). */
    private args?: ExecutionArgs;
    private readonly socket: WebSocket;
    /** What the executor iterates once the engine has the stream (set by attach). */
    private iterator?: AsyncIterableIterator<never>;
    private endListeners?: Array<() => void>;
    /** `{"id":<id>,"type":"next","payload":` as bytes: each frame is this plus the group's shared body. */
    private readonly framePrefix: Buffer;
    /** Until the subscriber joins its group. */
    private baseKey?: string;
    private source?: AsyncIterator<unknown>;
    private group?: Group;
    private ended = false;
    /** Settles the executor's pending next() (a rejected promise passed in rejects it): one closure kept. */
    private endWaiter?: (outcome: IteratorResult<never> | Promise<never>) => void;
    private failure?: unknown;
    /** Group events at or below this were delivered by the member's own stream before it joined. */
    private joinedAfter = 0n;
    /** While the backlog is still being executed asynchronously: live frames wait here, in order. */
    private waiting?: Array<{ body: Buffer; event: FeedEvent }>;

    constructor(input: SubscriberInput) {
      this.args = input.args;
      this.socket = input.socket;
      this.baseKey = groupKeyOf(input.query, input.args, input.principal);
      this.framePrefix = ownBuffer(`{"id":${JSON.stringify(input.id)},"type":"next","payload":`);
    }

    /** The group this subscriber belongs in; what it needed to find it is not kept. */
    private takeGroup(plan?: SharedStreamPlan): Group {
      const group = groupFor(this.args as ExecutionArgs, this.baseKey as string, plan);
      this.args = undefined;
      this.baseKey = undefined;
      return group;
    }

    get attached(): boolean {
      return this.iterator !== undefined;
    }

    onEnd(listener: () => void): void {
      if (this.ended) {
        listener();
        return;
      }
      this.endListeners ??= [];
      this.endListeners.push(listener);
    }

    /**
     * What graphql-ws should iterate for the executor's result: the engine's own iterable when the engine
     * took the stream (the executor's and plugins' wrappers around it never see an event), else the result.
     */
    delivery<R>(result: R): R | AsyncIterableIterator<never> {
      return this.iterator && isAsyncIterable(result) ? this.iterator : result;
    }

    /** Takes over the domain stream; returns what the executor iterates: nothing until the end. */
    attach(source: AsyncIterable<unknown>): AsyncIterableIterator<never> {
      const plan = feeds ? sharedStreamPlan(source) : undefined;
      const handoff = plan && (plan.source as { handoff?: () => StreamHandoff }).handoff;
      if (plan && handoff) void this.share(plan, source);
      else {
        this.source = source[Symbol.asyncIterator]();
        this.group = this.takeGroup();
        this.group.members.add(this);
        void this.pump();
      }
      const silent: AsyncIterableIterator<never> = {
        next: () => {
          if (this.failure !== undefined) return Promise.reject(this.failure);
          if (this.ended) return Promise.resolve({ done: true, value: undefined });
          return new Promise((resolve) => {
            this.endWaiter = resolve;
          });
        },
        return: async () => {
          await this.release();
          return { done: true, value: undefined };
        },
        throw: async (error) => {
          await this.release();
          throw error;
        },
        [Symbol.asyncIterator]: () => silent,
      };
      this.iterator = silent;
      return silent;
    }

    /** Joins the group's shared stream, with the gap-free handoff of the subscriber's own stream. */
    private async share(plan: SharedStreamPlan, iterator: AsyncIterable<unknown>) {
      this.source = iterator[Symbol.asyncIterator]();
      const group = this.takeGroup(plan);
      this.group = group;
      group.pending++;
      try {
        await group.listen().finally(() => group.pending--);
        if (this.ended) {
          group.dropIfEmpty();
          return;
        }
        // One synchronous step: what the stream saw is in `taken`, anything later reaches the group.
        const taken = (plan.source as unknown as { handoff(): StreamHandoff }).handoff();
        group.members.add(this);
        this.source = undefined;
        this.joinedAfter = taken.watermark;
        await this.sendBacklog(plan, group, taken.events);
      } catch (error) {
        await this.finish(error);
      }
    }

    private async sendBacklog(plan: SharedStreamPlan, group: Group, events: StreamEvent[]) {
      const since = Date.now();
      for (const event of events) {
        const value = plan.select(event);
        if (value === undefined) continue;
        const payload = group.payloadOf(value);
        let json: string;
        if (typeof payload === 'string') json = payload;
        else {
          this.waiting ??= [];
          json = await payload;
        }
        if (this.ended) return;
        if (this.send(frameBody(json))) delivered(event.topic, event.createdAt, 1, since);
      }
      const waiting = this.waiting;
      this.waiting = undefined;
      for (const frame of waiting ?? []) this.sendLive(frame.body, frame.event);
    }

    /** A group frame for this member; false when it was not sent (duplicate, socket gone). */
    sendLive(body: Buffer, event: FeedEvent): boolean {
      if (this.ended) return false; // left while a large group was being sent to
      if (event.id <= this.joinedAfter) return false; // the member's own stream delivered it
      if (this.waiting) {
        this.waiting.push({ body, event });
        return false;
      }
      return this.send(body);
    }

    /** Per-subscriber path: reads its own stream, shares execution with the group by cursor. */
    private async pump() {
      try {
        for (;;) {
          const result = await this.source!.next();
          if (result.done || this.ended) break;
          const json = await this.group!.payloadOf(result.value);
          if (this.ended) break;
          this.send(frameBody(json));
        }
        await this.finish();
      } catch (error) {
        await this.finish(error);
      }
    }

    private send(body: Buffer): boolean {
      const socket = this.socket;
      if (socket.readyState !== socket.OPEN) return false;
      if (socket.bufferedAmount > maxBufferedBytes) {
        logger.warn({ bufferedAmount: socket.bufferedAmount }, 'closing a slow subscriber connection');
        socket.close(SlowConsumerCloseCode, 'Slow consumer: resume from your last cursor');
        void this.release();
        return false;
      }
      // Bytes, not a string: one copy per socket instead of a UTF-8 encoding per socket.
      socket.send(Buffer.concat([this.framePrefix, body], this.framePrefix.length + body.length), TEXT_FRAME);
      return true;
    }

    /** Ends the subscription with an error (graphql-ws sends it to the client). */
    fail(error: unknown) {
      return this.finish(error);
    }

    /** The stream ended (or failed): tell the executor, which tells graphql-ws. */
    private async finish(error?: unknown) {
      if (error !== undefined && !this.ended) this.failure = error;
      await this.release();
      const waiter = this.endWaiter;
      this.endWaiter = undefined;
      if (!waiter) return;
      if (this.failure !== undefined) {
        const failure = this.failure;
        this.failure = undefined;
        waiter(Promise.reject(failure));
      } else waiter({ done: true, value: undefined });
    }

    /** Leaves the group and returns the domain stream (unsubscribing it from pub/sub); idempotent. */
    async release() {
      if (this.ended) return;
      this.ended = true;
      this.waiting = undefined;
      this.args = undefined;
      this.group?.leave(this);
      for (const listener of this.endListeners?.splice(0) ?? []) {
        try {
          listener();
        } catch (error) {
          logger.error({ err: error }, 'a subscription end listener failed');
        }
      }
      const waiter = this.endWaiter;
      this.endWaiter = undefined;
      if (this.failure === undefined) waiter?.({ done: true, value: undefined });
      else this.endWaiter = waiter;
      try {
        await this.source?.return?.();
      } catch (error) {
        logger.warn({ err: error }, 'releasing a fan-out subscriber failed');
      }
    }
  }

  return {
    serves,
    prepare,
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

/** Subscription fields already wrapped: once per field object, whichever engine (schemas may be shared). */
const wrappedFields = new WeakSet<object>();

/** Wraps the subscription fields once, so a subscriber's domain stream is handed to its engine. */
function instrument(schema: GraphQLSchema, fields: ReadonlySet<string>) {
  const subscriptionFields = schema.getSubscriptionType()?.getFields() ?? {};
  for (const name of fields) {
    const field = subscriptionFields[name];
    if (!field?.subscribe || wrappedFields.has(field)) continue;
    wrappedFields.add(field);
    const original = field.subscribe as GraphQLFieldResolver<unknown, Record<PropertyKey, unknown>>;
    field.subscribe = async (root, args, context, info) => {
      const source = await original(root, args, context, info);
      const subscriber = context?.[DELIVERED_SUBSCRIPTION] as
        | { attach(source: AsyncIterable<unknown>): unknown }
        | undefined;
      if (!subscriber || !isAsyncIterable(source)) return source;
      return subscriber.attach(source);
    };
  }
}

/**
 * What decides the bytes a subscriber receives besides the event: the document, the operation, the
 * variables except `after` (a resume position only), and the caller's scope. Scope is the tenant, the
 * roles and stores, and for customers (who see their own orders only) the user: subscribers whose
 * executions could differ never share a group.
 */
export function groupKeyOf(query: string, args: ExecutionArgs, principal: Principal | null): string {
  const { after: _after, ...variables } = (args.variableValues ?? {}) as Record<string, unknown>;
  return JSON.stringify([query, args.operationName ?? null, sortedEntries(variables), scopeOf(principal)]);
}

function scopeOf(principal: Principal | null): unknown[] {
  if (!principal) return ['anonymous'];
  const customer = principal.roles.includes('CUSTOMER');
  return [
    principal.tenantId,
    [...principal.roles].sort(),
    principal.stores,
    principal.currentStoreId ?? null,
    principal.stations,
    customer ? principal.userId : null,
  ];
}

function sortedEntries(value: Record<string, unknown>): unknown[] {
  return Object.keys(value)
    .sort()
    .map((key) => [key, value[key]]);
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}
