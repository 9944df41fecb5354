import { describe, expect, it } from 'vitest';
import { bodyWithExtensions, frameBody } from '../../src/fanout/group';

/** The result a frame body carries (a body is the result's JSON and the frame's closing brace). */
const resultOf = (body: Buffer) => JSON.parse(body.toString('utf8', 0, body.length - 1)) as unknown;
const rateLimit = { rateLimit: { budget: 'subscription starts', limit: 30, remaining: 29, resetAfter: 60 } };

describe("a subscriber's first frame with its own extensions", () => {
  it('appends them to a result that has none, as the last member', () => {
    const body = frameBody(JSON.stringify({ data: { orderUpdated: { kind: 'CREATED', n: 1 } } }));
    const merged = bodyWithExtensions(body, rateLimit);
    expect(resultOf(merged)).toEqual({
      data: { orderUpdated: { kind: 'CREATED', n: 1 } },
      extensions: rateLimit,
    });
    expect(merged.toString().endsWith('}}')).toBe(true);
  });

  it('merges them into extensions the result already has, or whose text mentions "extensions"', () => {
    const own = frameBody(JSON.stringify({ data: { a: 1 }, extensions: { trace: 'x' } }));
    expect(resultOf(bodyWithExtensions(own, rateLimit))).toEqual({
      data: { a: 1 },
      extensions: { trace: 'x', ...rateLimit },
    });
    const mentions = frameBody(JSON.stringify({ data: { note: '"extensions"' } }));
    expect(resultOf(bodyWithExtensions(mentions, rateLimit))).toEqual({
      data: { note: '"extensions"' },
      extensions: rateLimit,
    });
    expect(resultOf(bodyWithExtensions(frameBody('{}'), rateLimit))).toEqual({ extensions: rateLimit });
  });
});
