/**
 * Remembers the cursors a subscription delivered: the last one is where a resume starts, the recent
 * ones catch an event that arrives twice (a replay overlapping live delivery, a retried frame).
 * Cursors are opaque, so duplicates are found by identity, within a bounded window.
 */
export class CursorTracker {
  private readonly recent = new Set<string>();
  private last: string | undefined;

  constructor(
    initial?: string | null,
    private readonly window = 1000,
  ) {
    if (initial) this.record(initial);
  }

  /** The cursor of the last event delivered (or the one the subscription started after). */
  get lastCursor(): string | undefined {
    return this.last;
  }

  /** True the first time a cursor is seen: the event should be delivered. */
  accept(cursor: string): boolean {
    if (this.recent.has(cursor)) return false;
    this.record(cursor);
    return true;
  }

  private record(cursor: string) {
    this.recent.add(cursor);
    this.last = cursor;
    if (this.recent.size > this.window) {
      const oldest = this.recent.values().next().value as string;
      this.recent.delete(oldest);
    }
  }
}

/** The cursor of a subscription result: `data.<rootField>.cursor`, when the event has one. */
export function cursorOf(data: unknown): string | undefined {
  if (typeof data !== 'object' || data === null) return undefined;
  const [root] = Object.values(data);
  const cursor =
    typeof root === 'object' && root !== null ? (root as { cursor?: unknown }).cursor : undefined;
  return typeof cursor === 'string' ? cursor : undefined;
}
