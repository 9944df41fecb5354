import { writeConflict } from '../errors';

/**
 * PostgreSQL rolled the transaction back because of another one: a deadlock (40P01, two transactions locking rows
 * in opposite orders) or a serialization failure (40001). Nothing it did was written, so the whole transaction may
 * run again. Prisma says so as P2034 for its own queries; its raw queries keep the driver adapter's error (P2010,
 * kind TransactionWriteConflict); the pg pool's own queries throw pg's error, whose `code` is the SQLSTATE.
 */
export function isWriteConflict(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, meta } = error as {
    code?: unknown;
    meta?: { driverAdapterError?: { cause?: { kind?: unknown; originalCode?: unknown } } };
  };
  if (code === 'P2034' || code === '40P01' || code === '40001') return true;
  const cause = meta?.driverAdapterError?.cause;
  return (
    cause?.kind === 'TransactionWriteConflict' ||
    cause?.originalCode === '40P01' ||
    cause?.originalCode === '40001'
  );
}

/**
 * Runs `attempt` (a whole transaction) again when PostgreSQL rolled it back for a write conflict, up to `attempts`
 * times in all; past that the call is refused with CONFLICT (reason WRITE_CONFLICT), having written nothing.
 */
export async function retryingWriteConflicts<T>(attempt: () => Promise<T>, attempts = 3): Promise<T> {
  for (let tried = 1; ; tried++) {
    try {
      return await attempt();
    } catch (error) {
      if (!isWriteConflict(error)) throw error;
      if (tried >= attempts) throw writeConflict();
    }
  }
}
