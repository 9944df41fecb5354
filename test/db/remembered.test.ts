import { describe, expect, it } from 'vitest';
import { remembered } from '../../src/db/remembered';

/** A lookup that counts its calls and answers `${a}/${b}` (or fails for b = "fail"). */
function counted() {
  const calls: string[] = [];
  const lookup = async (a: string, b: string) => {
    calls.push(`${a}/${b}`);
    if (b === 'fail') throw new Error('lookup failed');
    return `${a}/${b}`;
  };
  return { calls, lookup };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('remembered lookups', () => {
  it('asks once per key while the answer is fresh, concurrent askers included', async () => {
    const { calls, lookup } = counted();
    const ask = remembered(60_000, lookup);
    expect(await Promise.all([ask('t', 'u1'), ask('t', 'u1'), ask('t', 'u2')])).toEqual([
      't/u1',
      't/u1',
      't/u2',
    ]);
    expect(await ask('t', 'u1')).toBe('t/u1');
    expect(calls).toEqual(['t/u1', 't/u2']);
  });

  it('asks again once the answer is older than its time to live', async () => {
    const { calls, lookup } = counted();
    const ask = remembered(30, lookup);
    await ask('t', 'u1');
    await sleep(60);
    await ask('t', 'u1');
    expect(calls).toEqual(['t/u1', 't/u1']);
  });

  it('never remembers a failure, nor an answer `keep` refuses', async () => {
    const { calls, lookup } = counted();
    const ask = remembered(60_000, lookup, (answer) => answer !== 't/new');
    await expect(ask('t', 'fail')).rejects.toThrow('lookup failed');
    await expect(ask('t', 'fail')).rejects.toThrow('lookup failed');
    await ask('t', 'new');
    await ask('t', 'new');
    expect(calls).toEqual(['t/fail', 't/fail', 't/new', 't/new']);
  });

  it('keeps the 10,000 most recently used answers, not all it ever saw', async () => {
    const { calls, lookup } = counted();
    const ask = remembered(60_000, lookup);
    for (let i = 0; i <= 10_000; i++) await ask('t', `u${i}`);
    await ask('t', 'u10000'); // recent: remembered
    await ask('t', 'u0'); // the least recently used: gone
    expect(calls.slice(10_001)).toEqual(['t/u0']);
  });
});
