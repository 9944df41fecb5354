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

/** How a subscription coalesces bursts: what a plan says, what both the engine and `coalesce` follow. */
export interface CoalescePolicy<T> {
  /** How long a coalescible value is held waiting for a newer one with the same key. */
  windowMs: number;
  /** The key under which a value may be replaced by a newer one, or null when it must be delivered as is. */
  coalesceKey(value: T): string | null;
}

/**
 * The coalescing rule, once for every consumer (a private stream's `coalesce`, a fan-out group): a value with a
 * coalesce key is held up to `windowMs` from the first one held, the newest per key replacing older ones; any
 * other value first releases everything held, so what is delivered is always a subsequence of the source in
 * its original order (and so in cursor order). Push-based: the caller releases when `dueAt` has passed.
 */
export class CoalesceWindow<I> {
  private readonly held = new Map<string, I>();
  /** When what is held is due (epoch ms); meaningful while something is held. */
  dueAt = 0;

  constructor(
    private readonly windowMs: number,
    /** The item's coalesce key (see CoalescePolicy.coalesceKey). */
    private readonly keyOf: (item: I) => string | null,
  ) {}

  get holding(): boolean {
    return this.held.size > 0;
  }

  /** What to deliver now, in order: nothing while the item is held, else what was held and then the item. */
  accept(item: I): I[] {
    const key = this.windowMs > 0 ? this.keyOf(item) : null;
    if (key === null) {
      const due = this.release();
      due.push(item);
      return due;
    }
    if (this.held.size === 0) this.dueAt = Date.now() + this.windowMs;
    // Re-inserting moves the key to the end, so the map stays in source order of the values it holds.
    this.held.delete(key);
    this.held.set(key, item);
    return [];
  }

  /** Everything held, in order; holds nothing afterwards. */
  release(): I[] {
    const due = [...this.held.values()];
    this.held.clear();
    return due;
  }
}

/**
 * A pull-based stream through a CoalesceWindow: the source is read only while the consumer waits, so a slow
 * reader never buffers here.
 */
export function coalesce<T>(source: AsyncIterator<T>, policy: CoalescePolicy<T>): AsyncIterableIterator<T> {
  if (policy.windowMs <= 0) return filterMap(source, (value) => value);
  const window = new CoalesceWindow<T>(policy.windowMs, (value) => policy.coalesceKey(value));
  const ready: T[] = [];
  let pending: Promise<IteratorResult<T>> | undefined;
  let finished = false;

  /** The next source result, or 'deadline' when the held values are due first. */
  const pull = async (): Promise<IteratorResult<T> | 'deadline'> => {
    pending ??= source.next();
    const next = pending;
    if (!window.holding) {
      pending = undefined;
      return next;
    }
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'deadline'>((resolve) => {
      timer = setTimeout(() => resolve('deadline'), Math.max(0, window.dueAt - Date.now()));
    });
    const winner = await Promise.race([next, deadline]).finally(() => clearTimeout(timer));
    if (winner !== 'deadline') pending = undefined;
    return winner;
  };

  const iterator: AsyncIterableIterator<T> = {
    async next() {
      for (;;) {
        if (ready.length > 0) return { value: ready.shift() as T, done: false };
        if (finished) return { value: undefined, done: true };
        const result = await pull();
        if (result === 'deadline') ready.push(...window.release());
        else if (result.done) {
          ready.push(...window.release());
          finished = true;
        } else ready.push(...window.accept(result.value));
      }
    },
    async return() {
      finished = true;
      ready.length = 0;
      window.release();
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
 * Wraps a stream so that each value is transformed (possibly asynchronously) or dropped (null), keeping
 * `return()` direct (see above).
 */
export function filterStream<T, U>(
  source: AsyncIterator<T>,
  transform: (value: T) => Promise<U | null> | U | null,
): AsyncIterableIterator<U> {
  const iterator: AsyncIterableIterator<U> = {
    async next() {
      for (;;) {
        const result = await source.next();
        if (result.done) return { done: true, value: undefined };
        const value = await transform(result.value);
        if (value !== null) return { done: false, value };
      }
    },
    async return() {
      await source.return?.();
      return { done: true, value: undefined };
    },
    async throw(error?: unknown) {
      await source.return?.();
      throw error;
    },
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}
