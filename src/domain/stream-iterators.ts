import type { StreamEvent } from '../events/streams';

/**
 * Subscription stream building blocks. They are hand-written iterators rather than async generators
 * on purpose: a generator suspended on `await source.next()` queues `return()` until the next event
 * arrives, so a client that unsubscribes from a quiet stream would leak the source. These forward
 * `return()` to the source at once.
 */

/** Yields `map(value)` for each source value, skipping those mapped to undefined. */
export function filterMap<T, U>(
  source: AsyncIterator<T>,
  map: (value: T) => U | undefined,
): AsyncIterableIterator<U> {
  let finished = false;
  const iterator: AsyncIterableIterator<U> = {
    async next() {
      while (!finished) {
        const result = await source.next();
        if (result.done) break;
        const mapped = map(result.value);
        if (mapped !== undefined) return { value: mapped, done: false };
      }
      finished = true;
      return { value: undefined, done: true };
    },
    async return() {
      finished = true;
      await source.return?.();
      return { value: undefined, done: true };
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}

export interface CoalesceOptions<T> {
  /** How long a coalescible value is held waiting for a newer one with the same key. */
  windowMs: number;
  /** The key under which a value may be replaced by a newer one, or null when it must be delivered as is. */
  coalesceKey(value: T): string | null;
}

/**
 * Holds coalescible values for up to `windowMs` (from the first one held), keeping only the newest per
 * key. Any other value first releases everything held, so relative order (and cursor order) is kept:
 * what is delivered is always a subsequence of the source in its original order.
 * Pull-based: the source is read only while the consumer waits, so a slow reader never buffers here.
 */
export function coalesce<T>(source: AsyncIterator<T>, options: CoalesceOptions<T>): AsyncIterableIterator<T> {
  if (options.windowMs <= 0) return filterMap(source, (value) => value);
  const ready: T[] = [];
  const held = new Map<string, T>();
  let holdUntil = 0;
  let pending: Promise<IteratorResult<T>> | undefined;
  let finished = false;

  const release = () => {
    ready.push(...held.values());
    held.clear();
  };

  const accept = (value: T) => {
    const key = options.coalesceKey(value);
    if (key === null) {
      release();
      ready.push(value);
      return;
    }
    if (held.size === 0) holdUntil = Date.now() + options.windowMs;
    // Re-inserting moves the key to the end, so the map stays in source order of the values it holds.
    held.delete(key);
    held.set(key, value);
  };

  /** The next source result, or 'deadline' when the held values are due first. */
  const pull = async (): Promise<IteratorResult<T> | 'deadline'> => {
    pending ??= source.next();
    const next = pending;
    if (held.size === 0) {
      pending = undefined;
      return next;
    }
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'deadline'>((resolve) => {
      timer = setTimeout(() => resolve('deadline'), Math.max(0, holdUntil - Date.now()));
    });
    const winner = await Promise.race([next, deadline]).finally(() => clearTimeout(timer));
    if (winner !== 'deadline') pending = undefined;
    return winner;
  };

  const iterator: AsyncIterableIterator<T> = {
    async next() {
      for (;;) {
        const value = ready.shift();
        if (value !== undefined) return { value, done: false };
        if (finished) return { value: undefined, done: true };
        const result = await pull();
        if (result === 'deadline') release();
        else if (result.done) {
          release();
          finished = true;
        } else accept(result.value);
      }
    },
    async return() {
      finished = true;
      ready.length = 0;
      held.clear();
      await source.return?.();
      return { value: undefined, done: true };
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}

/**
 * Waits until a stream from EventStreams is live (subscribed and replay loaded) when it says so through a
 * `ready` promise, so start-up errors (an invalid cursor) reach the subscriber and no event committed
 * after the subscription returned can be missed. The source is released if it fails to start.
 */
export async function whenReady<T extends AsyncIterator<unknown>>(source: T): Promise<T> {
  const ready = (source as { ready?: Promise<void> }).ready;
  if (!ready) return source;
  try {
    await ready;
    return source;
  } catch (error) {
    await source.return?.();
    throw error;
  }
}

/**
 * What a subscription stream tells a fan-out engine so it can serve many subscribers from one shared
 * subscription: the stream it read from (to take over its replay), and the per-event check and shape.
 * `select` must depend only on the event and on what identifies the subscriber's scope and arguments: the
 * engine evaluates it once for every group of subscribers with the same scope and arguments.
 */
export interface SharedStreamPlan<E = unknown, T = unknown> {
  streamKey: string;
  topics: readonly string[];
  /** The stream the subscriber's iterator reads from (an EventStreams iterator, `ready` already awaited). */
  source: AsyncIterator<StreamEvent<E>>;
  /** The value delivered for the event, or undefined when this subscriber may not see it. */
  select(event: StreamEvent<E>): T | undefined;
  /** Values with the same non-null key held up to `windowMs` may be replaced by the newest (see coalesce). */
  coalesce?: CoalesceOptions<T>;
}

export const SHARED_STREAM = Symbol('shared stream plan');

/** Marks a subscription iterator as servable from a shared stream (the iterator itself stays usable). */
export function shareable<T, E>(
  iterator: AsyncIterableIterator<T>,
  plan: SharedStreamPlan<E, T>,
): AsyncIterableIterator<T> {
  return Object.assign(iterator, { [SHARED_STREAM]: plan });
}

/** The shared stream plan of a subscription iterator, if it has one. */
export function sharedStreamPlan(iterator: unknown): SharedStreamPlan | undefined {
  if (typeof iterator !== 'object' || iterator === null) return undefined;
  return (iterator as { [SHARED_STREAM]?: SharedStreamPlan })[SHARED_STREAM];
}
