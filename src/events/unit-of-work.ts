import type { Tx } from '../db/types';
import type { StatementOutcome, StatementWork } from './one-statement';
import type { EventEnvelope, NewEvent } from './types';

/**
 * The one way domain code changes data and announces it: `run` opens one database transaction;
 * `emit` queues events that are written to the Event table (outbox) inside that same transaction,
 * and published on pub/sub only after the commit. If the process dies between commit and publish,
 * the outbox relay publishes them later; subscribers drop duplicates by event id.
 */
export interface UnitOfWork {
  run<T>(work: (tx: Tx, emit: (event: NewEvent) => void) => Promise<T>): Promise<T>;
  /**
   * The same as ONE statement (src/events/one-statement.ts): the work's CTEs and its events, committed together
   * in one round trip, published after; when the statement's "go" says no, nothing changed (`ok` false).
   */
  runStatement(work: StatementWork): Promise<StatementOutcome>;
  /** A read outside any transaction on the same connection pool: what a hot path reads before its one statement. */
  read(text: string, values: unknown[]): Promise<Record<string, unknown>[]>;
}

/** Called with the committed envelopes of each unit of work (in id order), e.g. by the dashboard. */
export type CommitListener = (events: readonly EventEnvelope[]) => void;
