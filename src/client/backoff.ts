/**
 * Reconnect delays: exponential growth, a cap, and "full jitter" so a fleet of clients that lost their
 * connection at the same moment (a deploy, a crashed instance) does not come back in step.
 */
export interface BackoffOptions {
  /** Ceiling of the first retry's delay, in ms (default 250). */
  initialMs?: number;
  /** Largest ceiling, in ms (default 15 000): no delay is ever longer. */
  maxMs?: number;
  /** Growth of the ceiling per attempt (default 2). */
  factor?: number;
}

export const DEFAULT_BACKOFF: Required<BackoffOptions> = { initialMs: 250, maxMs: 15_000, factor: 2 };

/**
 * The delay before retry number `attempt` (0-based): "full jitter" (AWS Architecture Blog, "Exponential
 * Backoff And Jitter"), a uniformly random value between 0 and min(maxMs, initialMs * factor^attempt). Of the
 * usual schemes it spreads a synchronised fleet the most for the least total wait: N clients that lost their
 * connection together arrive at about N / ceiling per ms instead of all at once. A first retry may fire at
 * once, which is what a client of an instance that went away wants (any other instance can take it); a
 * server over its admission limit says how long to wait instead (`retryAfterOf`).
 */
export function backoffDelay(
  attempt: number,
  options: BackoffOptions = {},
  random: () => number = Math.random,
) {
  const { initialMs, maxMs, factor } = { ...DEFAULT_BACKOFF, ...options };
  const ceiling = Math.min(maxMs, initialMs * factor ** Math.max(0, attempt));
  return Math.round(random() * ceiling);
}

/** Close code of a server that sheds connections over its admission limit ("Try Again Later", RFC 6455 registry). */
export const TRY_AGAIN_LATER_CLOSE_CODE = 1013;

/**
 * The wait a shedding server asked for, in ms: its close reason carries `retryAfter=<seconds>` (docs/api.md
 * "WebSocket close codes"). Undefined for any other close.
 */
export function retryAfterOf(close: { code: number; reason?: string }): number | undefined {
  if (close.code !== TRY_AGAIN_LATER_CLOSE_CODE) return undefined;
  const match = /retryAfter=(\d+(?:\.\d+)?)/.exec(close.reason ?? '');
  return match?.[1] ? Math.round(Number(match[1]) * 1000) : undefined;
}

/**
 * The delay after a close that asked to wait `retryAfterMs`: that long, plus a random part of up to a quarter
 * of it, so clients told the same time do not return in the same millisecond. Not capped by `maxMs`: coming
 * back sooner than the server said would only be shed again (the server caps what it asks,
 * `WS_SHED_MAX_RETRY_AFTER_MS`).
 */
export function delayAfterShed(retryAfterMs: number, random: () => number = Math.random) {
  return Math.round(retryAfterMs * (1 + random() / 4));
}
