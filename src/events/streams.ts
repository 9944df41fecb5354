import type { EventEnvelope } from './types';

/** An event as a subscriber receives it: the envelope plus the cursor to resume after it. */
export interface StreamEvent<P = unknown> extends EventEnvelope<P> {
  cursor: string;
}

export interface StreamRequest {
  /**
   * Identifies the logical stream a cursor belongs to (e.g. the topic, or `notifications:<userId>` for
   * a stream merged from several topics). A cursor minted for another stream key is refused with
   * BAD_USER_INPUT, which is how a foreign tenant's or topic's cursor is rejected.
   */
  streamKey: string;
  /** Pub/sub topics to merge; all must belong to the caller's tenant or be `sys:` topics. */
  topics: readonly string[];
  /** Resume after this cursor: replays committed events after it (bounded), then goes live. */
  after?: string | null;
}

/**
 * Subscription source used by every subscription resolver. Replay, live delivery, ordering by
 * event id and duplicate suppression happen here; resolvers only filter and shape.
 */
export interface EventStreams {
  subscribe<P = unknown>(request: StreamRequest): AsyncIterableIterator<StreamEvent<P>>;
}
