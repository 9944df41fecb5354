import { createHash } from 'node:crypto';
import { badInput } from '../errors';

/**
 * Cursors are opaque to clients: base64url of `<version>.<stream tag>.<event id>`. The stream tag is
 * a short hash of the stream key, so a cursor minted for one stream (another tenant's topic, another
 * user's notifications) is refused on any other, without the cursor revealing the key it belongs to.
 * A cursor only carries a position: which events a caller may see is decided by the topics alone.
 */
const VERSION = '1';
const MAX_EVENT_ID = 9_223_372_036_854_775_807n; // bigserial upper bound
const CURSOR_PATTERN = /^1\.([0-9a-f]{16})\.([1-9][0-9]{0,18})$/;

export function encodeCursor(streamKey: string, eventId: string): string {
  if (!/^[1-9][0-9]{0,18}$/.test(eventId)) throw new Error(`Not an event id: ${eventId}`);
  return Buffer.from(`${VERSION}.${streamTag(streamKey)}.${eventId}`, 'utf8').toString('base64url');
}

/** The event id a cursor points at; BAD_USER_INPUT 'Invalid cursor' for garbage or another stream's cursor. */
export function decodeCursor(streamKey: string, cursor: string): bigint {
  const match = /^[A-Za-z0-9_-]{1,64}$/.test(cursor)
    ? CURSOR_PATTERN.exec(Buffer.from(cursor, 'base64url').toString('utf8'))
    : null;
  if (!match || match[1] !== streamTag(streamKey)) throw invalidCursor();
  const id = BigInt(match[2] as string);
  if (id > MAX_EVENT_ID) throw invalidCursor();
  return id;
}

/** Stream tags by key: a hash per event and subscriber was a measurable share of fan-out CPU. */
const streamTags = new Map<string, string>();
const STREAM_TAG_MEMORY = 10_000;

function streamTag(streamKey: string): string {
  let tag = streamTags.get(streamKey);
  if (tag === undefined) {
    tag = createHash('sha256').update(streamKey).digest('hex').slice(0, 16);
    if (streamTags.size >= STREAM_TAG_MEMORY) streamTags.clear();
    streamTags.set(streamKey, tag);
  }
  return tag;
}

const invalidCursor = () => badInput('Invalid cursor', { reason: 'INVALID_CURSOR' });
