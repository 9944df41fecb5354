import type { IncomingMessage } from 'node:http';

/**
 * The address limits are counted by. X-Forwarded-For is only believed behind a trusted proxy
 * (TRUST_PROXY): anyone can send that header.
 */
export function clientAddress(request: IncomingMessage | undefined, trustProxy: boolean): string {
  if (trustProxy) {
    const forwarded = request?.headers['x-forwarded-for'];
    const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim();
    if (first) return normalize(first);
  }
  return normalize(request?.socket?.remoteAddress ?? 'unknown');
}

/** IPv4 clients of a dual-stack socket appear as ::ffff:a.b.c.d: count them as a.b.c.d. */
function normalize(address: string): string {
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

/** Exact match against ALLOWED_ORIGINS; empty list = any origin. Requests without Origin are not from browsers. */
export function isOriginAllowed(
  origin: string | undefined | null,
  allowedOrigins: readonly string[],
): boolean {
  if (!origin || allowedOrigins.length === 0) return true;
  return allowedOrigins.includes(origin) || allowedOrigins.includes('*');
}
