import type { Broadcasts } from '../events/publisher';

/** State, not history: the current state first, then changes broadcast on one topic, never replayed. */
export interface StatePlan<M = unknown, T = unknown> {
  /** The ephemeral topic whose broadcasts change the state. */
  topic: string;
  /** The state now, as the values a subscriber receives first (read once listening: nothing falls between). */
  current(): Promise<readonly T[]>;
  /** A broadcast as the value this caller receives, or undefined when it may not see it. */
  select(message: M): T | undefined;
  /** Values of one key replace one another until read: a slow reader holds the newest per key, not a queue. */
  keyOf(value: T): string;
  /** Whether `value` is newer than `than` (same key): an older value arriving late is dropped. */
  isNewer(value: T, than: T): boolean;
  /** Whether `value` tells the subscriber more than `shown`, the last value of its key it received (default yes). */
  changes?(value: T, shown: T | undefined): boolean;
}

/**
 * A state plan's private stream (see StatePlan): it listens to the plan's topic first, then reads the current
 * state, so no change falls between the two; changes that arrive meanwhile are applied after the state. Values
 * of one key replace one another until read, so a subscriber that reads slowly (or not at all) holds the newest
 * unread value per key, never a growing queue. `return()` stops listening.
 */
export async function openStatePlanStream<M, T>(
  broadcasts: Pick<Broadcasts, 'listen'>,
  plan: StatePlan<M, T>,
): Promise<AsyncIterableIterator<T>> {
  const stream = new StateStream(plan);
  stream.onReturn(await broadcasts.listen(plan.topic, (message) => stream.receive(message as M)));
  try {
    stream.start(await plan.current());
  } catch (error) {
    await stream.return();
    throw error;
  }
  return stream;
}

class StateStream<M, T> implements AsyncIterableIterator<T> {
  private loaded = false;
  /** Changes received before the current state was read: applied after it. */
  private readonly early: T[] = [];
  /** The newest value accepted per key (an older one arriving late is dropped). */
  private readonly latest = new Map<string, T>();
  /** Accepted and not yet read, per key, in the order of their latest change. */
  private readonly unread = new Map<string, T>();
  /** The last value the subscriber received per key. */
  private readonly shown = new Map<string, T>();
  private waiter: ((result: IteratorResult<T>) => void) | undefined;
  private finished = false;
  private release: (() => void) | undefined;

  constructor(private readonly plan: StatePlan<M, T>) {}

  onReturn(release: () => void): void {
    if (this.finished) release();
    else this.release = release;
  }

  start(current: readonly T[]): void {
    for (const value of current) this.accept(value);
    this.loaded = true;
    for (const value of this.early.splice(0)) this.accept(value);
  }

  receive(message: M): void {
    if (this.finished) return;
    const value = this.plan.select(message);
    if (value === undefined) return;
    if (this.loaded) this.accept(value);
    else this.early.push(value);
  }

  private accept(value: T): void {
    const key = this.plan.keyOf(value);
    const latest = this.latest.get(key);
    if (latest !== undefined && !this.plan.isNewer(value, latest)) return;
    this.latest.set(key, value);
    this.unread.delete(key); // re-inserted last: keys keep the order of their latest change
    this.unread.set(key, value);
    this.wake();
  }

  private takeUnread(): T | undefined {
    for (const [key, value] of this.unread) {
      this.unread.delete(key);
      if (this.plan.changes && !this.plan.changes(value, this.shown.get(key))) continue;
      this.shown.set(key, value);
      return value;
    }
    return undefined;
  }

  private wake(): void {
    if (!this.waiter) return;
    const value = this.takeUnread();
    if (value === undefined) return;
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter({ done: false, value });
  }

  next(): Promise<IteratorResult<T>> {
    if (this.finished) return Promise.resolve({ done: true, value: undefined });
    const value = this.takeUnread();
    if (value !== undefined) return Promise.resolve({ done: false, value });
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }

  return(): Promise<IteratorResult<T>> {
    if (!this.finished) {
      this.finished = true;
      this.unread.clear();
      this.early.length = 0;
      this.release?.();
      this.waiter?.({ done: true, value: undefined });
      this.waiter = undefined;
    }
    return Promise.resolve({ done: true, value: undefined });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}
