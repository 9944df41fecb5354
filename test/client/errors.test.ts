import { describe, expect, it } from 'vitest';
import { ExpediterError, toExpediterError } from '../../src/client/errors';
import { isRetryable } from '../../src/client/reconnection';

describe('toExpediterError', () => {
  it('names GraphQL errors by the first extensions.code and keeps them all', () => {
    const error = toExpediterError([
      { message: 'Slow down', extensions: { code: 'RATE_LIMITED', retryAfter: 3 } },
      { message: 'Also this' },
    ]);
    expect(error).toBeInstanceOf(ExpediterError);
    expect(error).toMatchObject({ code: 'RATE_LIMITED', retryAfter: 3, message: 'Slow down; Also this' });
    expect(error.graphQLErrors).toHaveLength(2);
  });

  it('maps the close codes Expediter uses', () => {
    expect(toExpediterError({ code: 4401, reason: 'Token expired' })).toMatchObject({
      code: 'UNAUTHENTICATED',
      closeCode: 4401,
      message: 'Connection closed with 4401: Token expired',
    });
    expect(toExpediterError({ code: 4403, reason: 'Store not allowed' }).code).toBe('FORBIDDEN');
    expect(toExpediterError({ code: 4429, reason: 'Too many connections for this user' }).code).toBe(
      'RATE_LIMITED',
    );
    expect(toExpediterError({ code: 1001, reason: '' }).code).toBe('CONNECTION_CLOSED');
  });

  it('reports anything else as a network error', () => {
    const cause = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });
    expect(toExpediterError(cause)).toMatchObject({ code: 'NETWORK_ERROR', cause });
    expect(toExpediterError({ type: 'error', message: 'socket hang up' }).message).toBe('socket hang up');
  });
});

describe('isRetryable', () => {
  it('retries lost connections and refused tokens, not answers', () => {
    expect(isRetryable({ code: 1001 })).toBe(true);
    expect(isRetryable({ code: 1006 })).toBe(true);
    expect(isRetryable({ code: 4401 })).toBe(true);
    expect(isRetryable({ code: 4429 })).toBe(true);
    expect(isRetryable(new Error('ECONNREFUSED'))).toBe(true);
    expect(isRetryable({ code: 4403 })).toBe(false);
    expect(isRetryable({ code: 4400 })).toBe(false);
    expect(isRetryable({ code: 1009 })).toBe(false);
    expect(isRetryable([{ message: 'Not allowed', extensions: { code: 'FORBIDDEN' } }])).toBe(false);
    expect(isRetryable(new ExpediterError('no session', { code: 'UNAUTHENTICATED' }))).toBe(false);
  });
});
