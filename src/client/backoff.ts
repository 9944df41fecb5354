/** Reconnect delays: exponential growth, a cap, and jitter so a fleet of clients does not reconnect in step. */
export interface BackoffOptions {
  /** Delay before the first retry, in ms (default 250). */
  initialMs?: number;
  /** Longest delay, in ms (default 15 000). */
  maxMs?: number;
  /** Growth per attempt (default 2). */
  factor?: number;
}

export const DEFAULT_BACKOFF: Required<BackoffOptions> = { initialMs: 250, maxMs: 15_000, factor: 2 };

/**
 * The delay before retry number `attempt` (0-based): "equal jitter", a random value between half and
 * all of min(maxMs, initialMs * factor^attempt). Half is kept so a retry never fires immediately.
 */
export function backoffDelay(
  attempt: number,
  options: BackoffOptions = {},
  random: () => number = Math.random,
) {
  const { initialMs, maxMs, factor } = { ...DEFAULT_BACKOFF, ...options };
  const ceiling = Math.min(maxMs, initialMs * factor ** Math.max(0, attempt));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
