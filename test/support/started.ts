import { afterAll, beforeAll } from 'vitest';

/**
 * Something a test file starts before its tests and closes after them (a server, a database, a fixture),
 * handed out at once: the returned object stands for it, so use it inside tests and hooks only.
 */
export function started<T extends object>(start: () => Promise<T>, close: (value: T) => Promise<unknown>): T {
  let value: T | undefined;
  beforeAll(async () => {
    value = await start();
  }, 60_000);
  afterAll(async () => {
    if (value) await close(value);
  });
  return standIn(() => value);
}

/** An object that stands for `current()` (once a beforeAll has made it): its members are the current one's. */
export function standIn<T extends object>(current: () => T | undefined): T {
  return new Proxy({} as T, {
    get(_target, key) {
      const value = current();
      if (!value) throw new Error('started in beforeAll: use it inside tests and hooks');
      const member = Reflect.get(value, key);
      return typeof member === 'function' ? member.bind(value) : member;
    },
  });
}
