import { randomUUID } from 'node:crypto';

/**
 * A random UUID as a flat string. Node assembles randomUUID() from byte pairs, and V8 keeps such a string as
 * a tree of about twenty pieces (some 600 bytes) until something hashes it; ids kept for a socket's
 * lifetime are multiplied by every connection, so they are copied into one flat string (about 56 bytes).
 */
export function newId(): string {
  return Buffer.from(randomUUID(), 'latin1').toString('latin1');
}
