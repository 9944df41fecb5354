import { describe, expect, it } from 'vitest';
import { rateLimitedError, rateLimitFeedback, tooManyOpenError } from '../../src/limits/feedback';
import type { RateLimitDecision } from '../../src/limits/rate-limiter';

const decision = (remaining: number, overrides: Partial<RateLimitDecision> = {}): RateLimitDecision => ({
  allowed: true,
  limit: 10,
  remaining,
  resetAfterMs: 42_100,
  retryAfterMs: 0,
  ...overrides,
});

describe('rate-limit feedback', () => {
  it('reports the remaining budget and when it is whole again, in whole seconds', () => {
    expect(rateLimitFeedback('mutation:createOrder', decision(7), 0.8)).toEqual({
      budget: 'mutation:createOrder',
      limit: 10,
      remaining: 7,
      resetAfter: 43,
    });
  });

  it('warns from the warning share of the budget on, not before', () => {
    expect(rateLimitFeedback('b', decision(3), 0.8).warning).toBeUndefined();
    expect(rateLimitFeedback('b', decision(2), 0.8).warning).toBe(
      '8 of 10 b calls used; 2 left, budget back in 43 s',
    );
    expect(rateLimitFeedback('b', decision(0), 0.8).warning).toContain('0 left');
  });

  it('refuses with RATE_LIMITED and retryAfter rounded up to seconds', () => {
    const error = rateLimitedError(
      'subscription starts',
      decision(0, { allowed: false, retryAfterMs: 1001 }),
    );
    expect(error.extensions).toEqual({
      code: 'RATE_LIMITED',
      retryAfter: 2,
      budget: 'subscription starts',
      limit: 10,
    });
  });

  it('refuses too many open things without a retryAfter: one has to end first', () => {
    expect(tooManyOpenError('subscriptions on this connection', 20).extensions).toEqual({
      code: 'RATE_LIMITED',
      budget: 'subscriptions on this connection',
      limit: 20,
    });
  });
});
