import type { ExecutionArgs } from 'graphql';
import type { WebSocket } from 'ws';
import type { Principal } from '../auth/principal';
import {
  type AnyPlan,
  isSharable,
  isStatePlan,
  openEventStream,
  type SubscriptionRunner,
} from '../domain/subscription-plans';
import { checkStreamRequest, type ReadyEventStreams } from '../events/event-streams';
import type { StreamEvent } from '../events/streams';
import type { FeedEvent } from '../events/topic-feeds';
import type { Logger } from '../observability/logger';
import { DeliveredSubscription } from './delivered-subscription';
import { bodyWithExtensions, frameBody, type Group, type GroupMember, type SharedSelection } from './group';
/** Close code for a subscriber that does not read fast enough: reconnect and resume from the last cursor. */
export const SlowConsumerCloseCode = 4413;

const TEXT_FRAME = { binary: false };

/** One subscription operation over graphql-ws, as the engine is told of it before it runs. */
export interface SubscriberInput {
  id: string;
  socket: WebSocket;
  principal: Principal | null;
  /** The document's text as received (part of the group key). */
  query: string;
}

/** What subscribers share with their engine. */
export interface SubscriberHost {
  logger: Logger;
  streams: ReadyEventStreams;
  /** Plans no group shares, as private streams. */
  privately: SubscriptionRunner;
  /** Whether groups may listen to the instance's topic feeds (a shared stream per group). */
  shared: boolean;
  maxBufferedBytes: number;
  /** What besides the plan decides the bytes a member receives (document, variables, scope). */
  groupKeyOf(query: string, args: ExecutionArgs, principal: Principal | null): string;
  /** The group for this key, made with these args and selection if there is none yet. */
  groupFor(args: ExecutionArgs, key: string, selection?: () => SharedSelection): Group;
  delivered(topic: string, createdAt: string, count: number, since: number): void;
}

/** No event was delivered before the subscriber joined its group (one shared value, not a bigint each). */
const NOTHING_BEFORE = 0n;

/** The frame prefix as one flat string, not bytes (a buffer costs some 220 bytes besides its bytes). */
function flatPrefix(id: string): string {
  return Buffer.from(`{"id":${JSON.stringify(id)},"type":"next","payload":`).toString();
}

/**
 * A subscription operation the engine may deliver: the operation's context carries it as its subscription
 * runner (`subscriptions`), so the field's resolver hands it the domain's plan. It then joins its group and
 * returns what the executor iterates: nothing, until the end. What is kept per subscription is kept small on
 * purpose (it is multiplied by every connection): its socket, its frame prefix and its group.
 */
export class Subscriber
  extends DeliveredSubscription
  implements SubscriptionRunner, GroupMember, AsyncIterableIterator<never>
{
  /** Until the subscriber has a group (which takes its execution args from its first member). */
  private args?: ExecutionArgs;
  private readonly socket: WebSocket;
  /** Whether the engine has the stream: the executor then iterates this subscriber (silent()). */
  private opened = false;
  private endListeners?: Array<() => void>;
  /** `{"id":<id>,"type":"next","payload":`: each frame is this plus the group's shared body. */
  private readonly framePrefix: string;
  private readonly framePrefixBytes: number;
  /** Until the subscriber joins its group. */
  private input?: Pick<SubscriberInput, 'query' | 'principal'>;
  private source?: AsyncIterator<unknown>;
  private group?: Group;
  private ended = false;
  /** Settles the executor's pending next() (a rejected promise passed in rejects it): one closure kept. */
  private endWaiter?: (outcome: IteratorResult<never> | Promise<never>) => void;
  /** Told when the subscriber ends by itself, instead of a pending next() (see whenEnded). */
  private endedListener?: (error?: unknown) => void;
  private failure?: unknown;
  /** Group events at or below this were delivered by the member's own stream before it joined. */
  private joinedAfter = NOTHING_BEFORE;
  /** While the backlog is still being executed asynchronously: live frames wait here, in order. */
  private waiting?: Array<{ body: Buffer; event: FeedEvent }>;
  /** Extensions of this subscriber's own for its first frame (see addToFirstEvent). */
  private firstExtensions?: Record<string, unknown>;

  constructor(
    private readonly host: SubscriberHost,
    input: SubscriberInput,
  ) {
    super();
    this.socket = input.socket;
    this.input = { query: input.query, principal: input.principal };
    this.framePrefix = flatPrefix(input.id);
    this.framePrefixBytes = Buffer.byteLength(this.framePrefix);
  }

  /** The operation's execution args (its group executes events with its first member's). */
  bind(args: ExecutionArgs): void {
    this.args = args;
  }

  get attached(): boolean {
    return this.opened;
  }

  addToFirstEvent(extensions: Record<string, unknown>): void {
    this.firstExtensions = { ...this.firstExtensions, ...extensions };
  }

  onEnd(listener: () => void): void {
    if (this.ended) {
      listener();
      return;
    }
    // Arrays of their exact length: push() would grow one to 17 slots (152 bytes) for its second listener.
    this.endListeners = this.endListeners ? [...this.endListeners, listener] : [listener];
  }

  /**
   * What graphql-ws gets for the executor's result: this subscriber when the engine took the stream (the
   * executor's and plugins' wrappers around it never see an event), else the result.
   */
  delivery<R>(result: R): R | AsyncIterableIterator<never> {
    return this.opened && isAsyncIterable(result) ? this : result;
  }

  /**
   * Runs the plan in a group: with the instance's feeds, a group shared by every subscriber of equal plan key
   * and scope (at once, or after a gap-free handoff of the replay after its cursor); without, its own stream,
   * execution shared by cursor.
   */
  async open<K, E, T>(plan: AnyPlan<K, E, T>): Promise<AsyncIterableIterator<T>> {
    if (this.opened || !this.args || !this.input) throw new Error('A subscription runs one plan');
    const keyOfPlan = isStatePlan(plan)
      ? JSON.stringify(['state', plan.topic])
      : JSON.stringify([plan.streamKey, plan.topics, plan.key, plan.coalesce?.windowMs ?? 0]);
    const key = `${this.host.groupKeyOf(this.input.query, this.args, this.input.principal)}|${keyOfPlan}`;
    if (!this.host.shared || !isSharable(plan)) {
      // A private stream; execution is shared with the group by cursor (values without one: per member).
      this.source = await this.host.privately.open(plan);
      this.joinGroup(key);
      void this.pump();
      return this.silent();
    }
    // The selection is made from the plan's key once, by the group's first member: equal keys select equally.
    const selection = () => ({
      streamKey: plan.streamKey,
      topics: plan.topics,
      select: plan.select(plan.key),
      coalesce: plan.coalesce,
    });
    if (plan.after == null) {
      // Nothing to replay: the group's own stream is this subscriber's from the moment it is a member.
      checkStreamRequest(plan);
      await this.joinLive(this.joinGroup(key, selection));
      return this.silent();
    }
    const stream = await openEventStream<E>(this.host.streams, plan);
    this.source = stream;
    void this.share(this.joinGroup(key, selection), () => stream.handoff());
    return this.silent();
  }

  /** Becomes a member once the group listens to its topics: live from then on, like a stream once ready. */
  private async joinLive(group: Group) {
    group.pending++;
    try {
      await group.listen();
    } finally {
      group.pending--;
    }
    if (this.ended) group.dropIfEmpty();
    else group.members.add(this);
  }

  /** The group this subscriber belongs in; what it needed to find it is not kept. */
  private joinGroup(key: string, selection?: () => SharedSelection): Group {
    const group = this.host.groupFor(this.args!, key, selection);
    this.args = undefined;
    this.input = undefined;
    this.group = group;
    if (!selection) group.members.add(this);
    return group;
  }

  /** What the executor iterates: itself (nothing until the end; return() releases it). */
  private silent(): AsyncIterableIterator<never> {
    this.opened = true;
    return this;
  }

  next(): Promise<IteratorResult<never>> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.ended) return Promise.resolve({ done: true, value: undefined });
    return new Promise((resolve) => {
      this.endWaiter = resolve;
    });
  }

  async return(): Promise<IteratorResult<never>> {
    await this.release();
    return { done: true, value: undefined };
  }

  async throw(error: unknown): Promise<never> {
    await this.release();
    throw error;
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<never> {
    return this;
  }

  /**
   * Instead of a pending next() (a promise, its resolver, reactions) for a transport that holds it: `listener`
   * is called once when it ends by itself (with the error it failed with), at once if it has.
   */
  whenEnded(listener: (error?: unknown) => void): void {
    if (!this.ended) {
      this.endedListener = listener;
      return;
    }
    const failure = this.failure;
    this.failure = undefined;
    listener(failure);
  }

  /**
   * Joins the group's shared stream. Once the group listens, in one synchronous step the subscriber's own
   * stream hands over its backlog (replay and live events received so far) and the subscriber becomes a
   * member: every event is in the backlog or reaches the group afterwards (both listen to the same feeds,
   * which deliver in order), and what the group sends at or below the backlog's watermark is dropped.
   */
  private async share(group: Group, handoff: () => { events: StreamEvent[]; watermark: bigint }) {
    group.pending++;
    try {
      await group.listen().finally(() => group.pending--);
      if (this.ended) {
        group.dropIfEmpty();
        return;
      }
      const taken = handoff();
      group.members.add(this);
      this.source = undefined;
      this.joinedAfter = taken.watermark;
      // listen() resolved, so the group has a shared selection.
      await this.sendBacklog(group, group.selection!, taken.events);
    } catch (error) {
      await this.finish(error);
    }
  }

  private async sendBacklog(group: Group, selection: SharedSelection, events: StreamEvent[]) {
    const since = Date.now();
    for (const event of events) {
      const value = selection.select(event);
      if (value === undefined) continue;
      const payload = group.payloadOf(value);
      let json: string;
      if (typeof payload === 'string') json = payload;
      else {
        this.waiting ??= [];
        json = await payload;
      }
      if (this.ended) return;
      if (this.send(frameBody(json))) this.host.delivered(event.topic, event.createdAt, 1, since);
    }
    const waiting = this.waiting;
    this.waiting = undefined;
    for (const frame of waiting ?? []) this.sendLive(frame.body, frame.event);
  }

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
    if (socket.bufferedAmount > this.host.maxBufferedBytes) {
      this.host.logger.warn(
        { bufferedAmount: socket.bufferedAmount },
        'closing a slow subscriber connection',
      );
      socket.close(SlowConsumerCloseCode, 'Slow consumer: resume from your last cursor');
      void this.release();
      return false;
    }
    const own = this.firstExtensions ? this.withFirstExtensions(body) : body;
    // Bytes, not a string: the shared body copied per socket instead of a UTF-8 encoding per socket.
    const frame = Buffer.allocUnsafe(this.framePrefixBytes + own.length);
    // latin1 when the prefix is ASCII (the usual ids): as fast as copying bytes; utf8 costs ~40% more per frame.
    frame.write(this.framePrefix, 0, this.framePrefixBytes === this.framePrefix.length ? 'latin1' : 'utf8');
    own.copy(frame, this.framePrefixBytes);
    socket.send(frame, TEXT_FRAME);
    return true;
  }

  /** The shared frame body with this subscriber's first-event extensions merged into the result (once). */
  private withFirstExtensions(body: Buffer): Buffer {
    const extensions = this.firstExtensions;
    this.firstExtensions = undefined;
    return bodyWithExtensions(body, extensions ?? {});
  }

  fail(error: unknown) {
    return this.finish(error);
  }

  /** The stream ended (or failed): tell the executor, which tells graphql-ws. */
  private async finish(error?: unknown) {
    if (error !== undefined && !this.ended) this.failure = error;
    await this.release();
    const waiter = this.endWaiter;
    this.endWaiter = undefined;
    const listener = this.endedListener;
    this.endedListener = undefined;
    if (!waiter && !listener) return;
    const failure = this.failure;
    this.failure = undefined;
    if (failure !== undefined) waiter?.(Promise.reject(failure));
    else waiter?.({ done: true, value: undefined });
    listener?.(failure);
  }

  /** Leaves the group and returns the domain stream (unsubscribing it from pub/sub); idempotent. */
  async release() {
    if (this.ended) return;
    this.ended = true;
    this.waiting = undefined;
    this.args = undefined;
    this.input = undefined;
    this.group?.leave(this);
    const listeners = this.endListeners ?? [];
    this.endListeners = undefined;
    for (const listener of listeners) {
      try {
        listener();
      } catch (error) {
        this.host.logger.error({ err: error }, 'a subscription end listener failed');
      }
    }
    const waiter = this.endWaiter;
    this.endWaiter = undefined;
    if (this.failure === undefined) {
      waiter?.({ done: true, value: undefined });
      const listener = this.endedListener;
      this.endedListener = undefined;
      listener?.();
    } else this.endWaiter = waiter; // finish() rejects it (and tells endedListener)
    try {
      await this.source?.return?.();
    } catch (error) {
      this.host.logger.warn({ err: error }, 'releasing a fan-out subscriber failed');
    }
  }
}

/**
 * Whether an operation's result is a subscriber the engine delivers: an iterator that never yields and only
 * ends (its transport may hold it without iterating it, see src/server/graphql-ws-adapter.ts).
 */
export function isEngineDelivery(value: unknown): value is Subscriber {
  return value instanceof Subscriber;
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}
