import type { FeedEvent, FeedListener, FeedPath, Topic, TopicReceiver } from './feed-types';

/**
 * Several topics in id order: events wait in `pending` until every topic is known through their id; quiet
 * topics are read from the table through it.
 */
export class MergedStream implements TopicReceiver {
  readonly startedAfter: bigint;
  private delivered: bigint;
  private readonly pending: FeedEvent[] = [];
  private ended = false;

  constructor(
    private readonly merged: Topic[],
    private readonly listener: FeedListener,
    /** Asks for a quiet topic to be read from the table through an id (batched by the feeds). */
    private readonly requestRead: (topic: Topic, through: bigint, path: FeedPath) => void,
  ) {
    let newest = 0n;
    for (const topic of merged) if (topic.position > newest) newest = topic.position;
    this.startedAfter = newest;
    this.delivered = newest;
  }

  deliver(event: FeedEvent) {
    if (this.ended || event.id <= this.delivered) return;
    const pending = this.pending;
    let at = pending.length;
    while (at > 0 && (pending[at - 1] as FeedEvent).id > event.id) at--;
    pending.splice(at, 0, event);
    this.release();
  }

  advanced() {
    if (!this.ended) this.release();
  }

  broken(error: unknown) {
    if (this.ended) return;
    this.ended = true;
    this.pending.length = 0;
    this.listener.onBroken(error);
  }

  private release() {
    while (this.pending.length > 0) {
      const next = this.pending[0] as FeedEvent;
      const behind = this.merged.filter((topic) => topic.position < next.id);
      if (behind.length > 0) {
        for (const topic of behind) this.requestRead(topic, next.id, 'gap_fill');
        return;
      }
      this.pending.shift();
      this.delivered = next.id;
      this.listener.onEvent(next);
      if (this.ended) return;
    }
  }
}
