import { describe, expect, it } from 'vitest';
import { openStatePlanStream, type StatePlan } from '../../src/domain/state-stream';

/** A state plan's stream, fed by hand: the topic's listener and the current state are the test's to control. */
interface Reading {
  key: string;
  version: number;
  note?: string;
}

function broadcasts() {
  const listeners = new Set<(message: unknown) => void>();
  return {
    listeners,
    send: (message: Reading) => {
      for (const listener of listeners) listener(message);
    },
    listen: async (_topic: string, onMessage: (message: unknown) => void) => {
      listeners.add(onMessage);
      return () => listeners.delete(onMessage);
    },
  };
}

function plan(current: () => Promise<Reading[]>, overrides: Partial<StatePlan<Reading, Reading>> = {}) {
  return {
    topic: 'topic',
    current,
    select: (message: Reading) => (message.key.startsWith('hidden') ? undefined : message),
    keyOf: (reading: Reading) => reading.key,
    isNewer: (reading: Reading, than: Reading) => reading.version > than.version,
    ...overrides,
  } satisfies StatePlan<Reading, Reading>;
}

async function read(stream: AsyncIterator<Reading>, count: number): Promise<Reading[]> {
  const values: Reading[] = [];
  for (let i = 0; i < count; i++) values.push((await stream.next()).value as Reading);
  return values;
}

describe('a state plan as a stream', () => {
  it('starts with the current state, then delivers the changes it may see', async () => {
    const topic = broadcasts();
    const stream = await openStatePlanStream(
      topic,
      plan(async () => [{ key: 'a', version: 1 }]),
    );
    topic.send({ key: 'hidden', version: 9 });
    topic.send({ key: 'b', version: 1 });
    expect(await read(stream, 2)).toEqual([
      { key: 'a', version: 1 },
      { key: 'b', version: 1 },
    ]);
  });

  it('applies changes that arrive while the state is read after it, dropping what the state already supersedes', async () => {
    const topic = broadcasts();
    const stream = await openStatePlanStream(
      topic,
      plan(async () => {
        // Listening already: these arrive while the state is being read.
        topic.send({ key: 'a', version: 1, note: 'older than the state' });
        topic.send({ key: 'b', version: 2, note: 'newer than the state' });
        return [
          { key: 'a', version: 2 },
          { key: 'b', version: 1 },
        ];
      }),
    );
    expect(await read(stream, 2)).toEqual([
      { key: 'a', version: 2 },
      { key: 'b', version: 2, note: 'newer than the state' },
    ]);
  });

  it('keeps the newest unread value per key for a slow reader, in the order of their latest change', async () => {
    const topic = broadcasts();
    const stream = await openStatePlanStream(
      topic,
      plan(async () => []),
    );
    for (const version of [1, 2, 3]) topic.send({ key: 'a', version });
    topic.send({ key: 'b', version: 1 });
    topic.send({ key: 'a', version: 4 });
    expect(await read(stream, 2)).toEqual([
      { key: 'b', version: 1 },
      { key: 'a', version: 4 },
    ]);
  });

  it('skips a value that tells the subscriber nothing new since what it was shown', async () => {
    const topic = broadcasts();
    const stream = await openStatePlanStream(
      topic,
      plan(async () => [{ key: 'a', version: 1, note: 'same' }], {
        changes: (reading, shown) => reading.note !== shown?.note,
      }),
    );
    expect(await read(stream, 1)).toEqual([{ key: 'a', version: 1, note: 'same' }]);
    topic.send({ key: 'a', version: 2, note: 'same' });
    topic.send({ key: 'a', version: 3, note: 'different' });
    expect(await read(stream, 1)).toEqual([{ key: 'a', version: 3, note: 'different' }]);
  });

  it('stops listening when returned, and when reading the state fails', async () => {
    const topic = broadcasts();
    const stream = await openStatePlanStream(
      topic,
      plan(async () => []),
    );
    const pending = stream.next();
    await stream.return?.();
    await expect(pending).resolves.toEqual({ done: true, value: undefined });
    expect(topic.listeners.size).toBe(0);

    const failing = openStatePlanStream(
      topic,
      plan(async () => {
        throw new Error('state unavailable');
      }),
    );
    await expect(failing).rejects.toThrow('state unavailable');
    expect(topic.listeners.size).toBe(0);
  });
});
