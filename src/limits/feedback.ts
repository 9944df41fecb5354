import { GraphQLError } from 'graphql';
import type { RateLimitDecision } from './rate-limiter';

/** What results carry in `extensions.rateLimit`; docs/limits.md documents it. */
export interface RateLimitFeedback {
  /** Which budget: e.g. 'mutation:createOrder', 'subscription'. */
  budget: string;
  limit: number;
  remaining: number;
  /** Seconds until the whole budget is back. */
  resetAfter: number;
  /** Present once at least the warning share of the budget is spent. */
  warning?: string;
}

export const toSeconds = (ms: number) => Math.ceil(ms / 1000);

export function rateLimitFeedback(
  budget: string,
  decision: RateLimitDecision,
  warnRatio: number,
): RateLimitFeedback {
  const feedback: RateLimitFeedback = {
    budget,
    limit: decision.limit,
    remaining: decision.remaining,
    resetAfter: toSeconds(decision.resetAfterMs),
  };
  const spent = decision.limit - decision.remaining;
  if (spent >= decision.limit * warnRatio) {
    feedback.warning = `${spent} of ${decision.limit} ${budget} calls used; ${decision.remaining} left, budget back in ${feedback.resetAfter} s`;
  }
  return feedback;
}

/** A refusal: the operation is not executed; the client may retry after `retryAfter` seconds. */
export function rateLimitedError(budget: string, decision: RateLimitDecision): GraphQLError {
  const retryAfter = toSeconds(decision.retryAfterMs);
  return new GraphQLError(`Rate limit exceeded for ${budget}: retry after ${retryAfter} s`, {
    extensions: { code: 'RATE_LIMITED', retryAfter, budget, limit: decision.limit },
  });
}

/**
 * A refusal of something counted while it is open (subscriptions), not per time window: there is no
 * `retryAfter`, the client has to complete one of its own first.
 */
export function tooManyOpenError(what: string, limit: number): GraphQLError {
  return new GraphQLError(`Too many ${what}: at most ${limit} at a time`, {
    extensions: { code: 'RATE_LIMITED', budget: what, limit },
  });
}
