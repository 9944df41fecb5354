/**
 * Errors raised on purpose, by the domain and by the event streams under it (a bad or expired cursor, a
 * foreign topic). The GraphQL layer maps `code` to `extensions.code`; anything that is not a DomainError is
 * unexpected and gets masked for clients.
 */
export type DomainErrorCode =
  | 'BAD_USER_INPUT'
  | 'NOT_FOUND'
  | 'FORBIDDEN'
  | 'UNAUTHENTICATED'
  | 'CONFLICT'
  | 'RATE_LIMITED'
  /** A subscriber fell too far behind its live events; it should resume with its last cursor. */
  | 'SLOW_CONSUMER';

export class DomainError extends Error {
  constructor(
    readonly code: DomainErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

export const badInput = (message: string, details?: Record<string, unknown>) =>
  new DomainError('BAD_USER_INPUT', message, details);

/** Also used for rows of another tenant or store: their existence is never revealed. */
export const notFound = (what: string, id: string) =>
  new DomainError('NOT_FOUND', `${what} ${id} not found`, { id });

/**
 * The database could not take the call in time (no connection for a transaction within its wait): overload, not a
 * fault. Nothing was written; the client may retry after `retryAfter` seconds, as after a spent budget.
 */
export const overloaded = (retryAfter: number) =>
  new DomainError('RATE_LIMITED', `The server is busy: retry after ${retryAfter} s`, {
    reason: 'OVERLOADED',
    retryAfter,
  });

/**
 * The database rolled the change back because another, made at the same time, locked the same rows in the other
 * order (a deadlock) or conflicted with it, and it did so again when retried. Nothing was written; retry.
 */
export const writeConflict = () =>
  new DomainError(
    'CONFLICT',
    'The change collided with another made at the same time; nothing was written, try again',
    {
      reason: 'WRITE_CONFLICT',
    },
  );

export const forbidden = (message = 'Not allowed', details?: Record<string, unknown>) =>
  new DomainError('FORBIDDEN', message, details);
