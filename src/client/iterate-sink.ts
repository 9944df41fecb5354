import type { Sink } from 'graphql-ws';

/** Adapts a push subscription to an async iterator that buffers what the consumer has not read yet. */
export function iterateSink<T>(start: (sink: Sink<T>) => () => void): AsyncIterableIterator<T> {
  const buffer: T[] = [];
  let failure: unknown;
  let done = false;
  let wake: (() => void) | undefined;
  const notify = () => {
    wake?.();
    wake = undefined;
  };
  const end = start({
    next: (value) => {
      buffer.push(value);
      notify();
    },
    error: (error) => {
      failure = error;
      done = true;
      notify();
    },
    complete: () => {
      done = true;
      notify();
    },
  });
  const iterator: AsyncIterableIterator<T> = {
    async next() {
      while (buffer.length === 0 && !done) await new Promise<void>((resolve) => (wake = resolve));
      if (buffer.length > 0) return { value: buffer.shift() as T, done: false };
      if (failure !== undefined) {
        const error = failure;
        failure = undefined;
        throw error;
      }
      return { value: undefined, done: true };
    },
    async return() {
      done = true;
      end();
      notify();
      return { value: undefined, done: true };
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}
