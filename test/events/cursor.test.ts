import { describe, expect, it } from 'vitest';
import { DomainError } from '../../src/errors';
import { decodeCursor, encodeCursor } from '../../src/events/cursor';

const streamKey = 't:acme:store:acme-downtown:orders';

/** A cursor of this stream whose id part is replaced, as a client tampering with it would. */
function withId(id: string): string {
  const [version, tag] = Buffer.from(encodeCursor(streamKey, '1'), 'base64url').toString().split('.');
  return Buffer.from(`${version}.${tag}.${id}`).toString('base64url');
}

function decodeError(key: string, cursor: string): DomainError {
  try {
    decodeCursor(key, cursor);
  } catch (error) {
    return error as DomainError;
  }
  throw new Error('cursor was accepted');
}

describe('cursors', () => {
  it('round-trip the event id of their stream', () => {
    expect(decodeCursor(streamKey, encodeCursor(streamKey, '42'))).toBe(42n);
    expect(decodeCursor(streamKey, encodeCursor(streamKey, '9223372036854775807'))).toBe(
      9223372036854775807n,
    );
  });

  it('are opaque url-safe strings that do not spell out the stream key', () => {
    const cursor = encodeCursor(streamKey, '42');
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(Buffer.from(cursor, 'base64url').toString()).not.toContain('acme');
  });

  it.each([
    ['empty', ''],
    ['not base64', '!!!'],
    ['base64 of something else', Buffer.from('hello').toString('base64url')],
    ['unknown version', Buffer.from('2.0123456789abcdef.42').toString('base64url')],
    ['id zero', withId('0')],
    ['id with leading zero', withId('042')],
    ['id beyond bigserial', withId('9223372036854775808')],
    ['very long', 'A'.repeat(500)],
  ])('refuse garbage (%s) with BAD_USER_INPUT', (_name, cursor) => {
    const error = decodeError(streamKey, cursor);
    expect(error).toBeInstanceOf(DomainError);
    expect(error.code).toBe('BAD_USER_INPUT');
    expect(error.message).toBe('Invalid cursor');
  });

  it('refuse a cursor of another stream without naming it', () => {
    const foreign = encodeCursor('t:globex:store:globex-central:orders', '42');
    const error = decodeError(streamKey, foreign);
    expect(error.code).toBe('BAD_USER_INPUT');
    expect(error.message).toBe('Invalid cursor');
    expect(JSON.stringify({ message: error.message, details: error.details })).not.toContain('globex');
  });

  it('refuse to encode something that is not an event id', () => {
    expect(() => encodeCursor(streamKey, 'abc')).toThrow();
    expect(() => encodeCursor(streamKey, '0')).toThrow();
  });
});
