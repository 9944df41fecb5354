import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { clientAddress, isOriginAllowed } from '../../src/limits/client-address';

const request = (remoteAddress: string, headers: Record<string, string> = {}) =>
  ({ socket: { remoteAddress }, headers }) as unknown as IncomingMessage;

describe('client address', () => {
  it('uses the socket address, IPv4-mapped addresses as plain IPv4', () => {
    expect(clientAddress(request('::ffff:10.0.0.7'), false)).toBe('10.0.0.7');
    expect(clientAddress(request('2001:db8::1'), false)).toBe('2001:db8::1');
  });

  it('ignores X-Forwarded-For unless the proxy is trusted', () => {
    const forwarded = request('10.0.0.1', { 'x-forwarded-for': '203.0.113.9, 10.0.0.1' });
    expect(clientAddress(forwarded, false)).toBe('10.0.0.1');
    expect(clientAddress(forwarded, true)).toBe('203.0.113.9');
  });
});

describe('origin allow-list', () => {
  it('allows any origin when the list is empty, and requests without Origin (not browsers)', () => {
    expect(isOriginAllowed('https://evil.example', [])).toBe(true);
    expect(isOriginAllowed(undefined, ['https://pos.example'])).toBe(true);
  });

  it('matches origins exactly', () => {
    expect(isOriginAllowed('https://pos.example', ['https://pos.example'])).toBe(true);
    expect(isOriginAllowed('https://pos.example.evil', ['https://pos.example'])).toBe(false);
    expect(isOriginAllowed('http://pos.example', ['https://pos.example'])).toBe(false);
  });
});
