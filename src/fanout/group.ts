import { type ExecutionArgs, type ExecutionResult, execute } from 'graphql';
import { CoalesceWindow } from '../domain/stream-iterators';
import type { StreamEvent } from '../events/streams';
import type { FeedEvent, FeedListener, TopicFeeds } from '../events/topic-feeds';
import type { Logger } from '../observability/logger';

/**
 * A group of the fan-out engine (src/fanout/engine.ts): subscribers who may receive the same bytes for an
 * event. With a shared plan it listens to its topics' feeds, selects each event once (its plan's `select`,
 * made from the group's key), coalesces once, executes and serialises once, and writes the frame to every
 * member. Without one (the engine has no feeds) each member reads its own stream and the group only shares
 * execution and serialisation, by cursor.
 */

/** What a group was formed on: one plan's stream and its selection made from the plan's key (see engine). */
export interface SharedSelection {
  streamKey: string;
  topics: readonly string[];
  /** The plan's `select` applied to the group's key: the same for every member (the key is in the group's). */
  select(event: StreamEvent): unknown;
  coalesce?: { windowMs: number; coalesceKey(value: unknown): string | null };
}

/** What a group needs of a member (src/fanout/subscriber.ts). */
export interface GroupMember {
  /** A group frame for this member; false when it was not sent (duplicate, socket gone). */
  sendLive(body: Buffer, event: FeedEvent): boolean;
  /** Ends the subscription with an error (graphql-ws sends it to the client). */
  fail(error: unknown): Promise<void>;
}

/** What groups share with their engine. */
export interface GroupHost {
  logger: Logger;
  feeds?: Pick<TopicFeeds, 'listen'>;
  /** The group's key is still registered to this group (else it was dropped). */
  isCurrent(group: Group): boolean;
  forget(group: Group): void;
  /** Event errors masked like yoga masks them. */
  masked(result: ExecutionResult): ExecutionResult;
  /** Counts deliveries (metrics, activity); `since`: events committed before it are not observed for latency. */
  delivered(topic: string, createdAt: string, count: number, since: number): void;
}

const PAYLOAD_MEMORY = 64;
/** Frames sent to a group's members before yielding to the event loop (about 5 ms of sends). */
const SEND_SLICE = 512;

/** The end of a `next` frame: the serialised payload and the closing brace. */
export function frameBody(json: string): Buffer {
  return Buffer.from(`${json}}`);
}

const EXTENSIONS_KEY = Buffer.from('"extensions"');
const OPEN_BRACE = '{'.charCodeAt(0);

/**
 * A frame body whose result has `extensions` merged in. A result with no "extensions" anywhere in its text (the
 * usual case) takes them as its last member, spliced in before its closing brace (the body ends with the
 * result's "}" and the frame's): not parsed and serialised again.
 */
export function bodyWithExtensions(body: Buffer, extensions: object): Buffer {
  if (body.length > 3 && body[body.length - 3] !== OPEN_BRACE && !body.includes(EXTENSIONS_KEY)) {
    return Buffer.concat([
      body.subarray(0, body.length - 2),
      Buffer.from(`,"extensions":${JSON.stringify(extensions)}}}`),
    ]);
  }
  const result = JSON.parse(body.toString('utf8', 0, body.length - 1)) as { extensions?: object };
  return frameBody(JSON.stringify({ ...result, extensions: { ...result.extensions, ...extensions } }));
}

export class Group implements FeedListener {
  readonly members = new Set<GroupMember>();
  /** Serialised payloads of the newest events, by cursor (shared by every member). */
  private readonly payloads = new Map<string, string | Promise<string>>();
  /** Set while a payload is being executed asynchronously: later events wait for it (order). */
  private tail?: Promise<void>;
  private readonly held?: CoalesceWindow<{ value: unknown; event: FeedEvent }>;
  private holdTimer?: NodeJS.Timeout;
  private unlisten: Array<() => void> = [];
  private listening?: Promise<void>;
  private readonly createdAt = Date.now();
  /** Subscribers waiting for the shared subscription before they join. */
  pending = 0;

  constructor(
    private readonly host: GroupHost,
    readonly key: string,
    /** Any member's would do: members share what decides the bytes (group key). */
    private readonly args: ExecutionArgs,
    readonly selection?: SharedSelection,
  ) {
    const coalescing = selection?.coalesce;
    if (coalescing && coalescing.windowMs > 0)
      this.held = new CoalesceWindow(coalescing.windowMs, (item) => coalescing.coalesceKey(item.value));
  }

  /** Resolves once every topic of the selection reaches this group through its feeds. */
  listen(): Promise<void> {
    const feeds = this.host.feeds;
    if (!feeds || !this.selection) return Promise.reject(new Error('This group has no shared stream'));
    this.listening ??= feeds.listen(this.selection.topics, this).then(
      (subscription) => {
        if (this.host.isCurrent(this)) this.unlisten.push(() => subscription.stop());
        else subscription.stop();
      },
      (error: unknown) => {
        this.dropIfEmpty(true);
        throw error;
      },
    );
    return this.listening;
  }

  leave(member: GroupMember) {
    if (!this.members.delete(member)) return;
    this.dropIfEmpty();
  }

  /** Forgets the group (and its shared subscriptions) once nobody is in it or about to join. */
  dropIfEmpty(failed = false) {
    if (!failed && (this.members.size > 0 || this.pending > 0)) return;
    this.host.forget(this);
    clearTimeout(this.holdTimer);
    this.held?.release();
    for (const stop of this.unlisten.splice(0)) stop();
  }

  /** The selection set executed and serialised once for this group (memoised by cursor). */
  payloadOf(value: unknown): string | Promise<string> {
    const cursor =
      typeof value === 'object' && value !== null && 'cursor' in value ? value.cursor : undefined;
    const memoKey = typeof cursor === 'string' ? cursor : undefined;
    const known = memoKey === undefined ? undefined : this.payloads.get(memoKey);
    if (known !== undefined) return known;
    const result = execute({ ...this.args, rootValue: value });
    const payload =
      result instanceof Promise
        ? result.then((r) => JSON.stringify(this.host.masked(r)))
        : JSON.stringify(this.host.masked(result));
    if (memoKey !== undefined) {
      this.payloads.set(memoKey, payload);
      if (this.payloads.size > PAYLOAD_MEMORY)
        this.payloads.delete(this.payloads.keys().next().value as string);
    }
    return payload;
  }

  onEvent(event: FeedEvent) {
    const selection = this.selection;
    if (!selection || this.members.size === 0) return;
    const value = selection.select({ ...event.envelope, cursor: event.cursor(selection.streamKey) });
    if (value === undefined) return;
    if (!this.held) {
      this.deliver(value, event);
      return;
    }
    const wasHolding = this.held.holding;
    const due = this.held.accept({ value, event });
    if (!this.held.holding) clearTimeout(this.holdTimer);
    else if (!wasHolding)
      this.holdTimer = setTimeout(() => this.releaseHeld(), selection.coalesce!.windowMs).unref();
    for (const item of due) this.deliver(item.value, item.event);
  }

  onBroken(error: unknown) {
    for (const member of [...this.members]) void member.fail(error);
  }

  private releaseHeld() {
    for (const item of this.held?.release() ?? []) this.deliver(item.value, item.event);
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
          (error: unknown) => this.host.logger.error({ err: error }, 'subscription event failed to execute'),
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
      this.host.delivered(topic, createdAt, count, this.createdAt);
      return undefined;
    }
    const members = [...this.members];
    let count = 0;
    let at = 0;
    const slice = (): Promise<void> | undefined => {
      const end = Math.min(at + SEND_SLICE, members.length);
      for (; at < end; at++) if (members[at]!.sendLive(body, event)) count++;
      if (at < members.length) return new Promise<void>((resolve) => setImmediate(resolve)).then(slice);
      this.host.delivered(topic, createdAt, count, this.createdAt);
      return undefined;
    };
    return slice();
  }
}
