/**
 * One committed event as it travels: written to the Event table (outbox and replay log) inside the
 * transaction that made the change, published on pub/sub after commit, replayed from the table for
 * resuming subscribers. `payload` is plain JSON (dates as ISO strings) so the three paths are identical.
 */
export interface EventEnvelope<P = unknown> {
  /** Event.id (bigserial) as a decimal string: the position used to build cursors. */
  id: string;
  tenantId: string | null;
  topic: string;
  /** e.g. `order.STATUS_CHANGED`, `kds.BUMPED`, `inventory.LOW_STOCK`, `notification.CREATED`. */
  kind: string;
  payload: P;
  /** ISO timestamp of the commit-side write. */
  createdAt: string;
  /**
   * The id of the previous event on the same topic, null for a topic's first (and for events written before
   * topics were chained). A receiver that has delivered the topic through this id can deliver the event at
   * once; one that has not has a gap to fill first (src/events/topic-feeds).
   */
  prevId: string | null;
}

/** What domain code emits inside a transaction; the outbox assigns id and createdAt. */
export interface NewEvent<P = unknown> {
  tenantId: string | null;
  topic: string;
  kind: string;
  payload: P;
}
