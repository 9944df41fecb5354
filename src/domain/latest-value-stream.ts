/**
 * A push-fed iterator that keeps only the newest unread value, so a subscriber that reads slowly (or not
 * at all) holds one snapshot, never a growing queue. `return()` releases the pub/sub subscription.
 */
export class LatestValueStream<T extends { computedAt: string }> implements AsyncIterableIterator<T> {
  private pending: T | undefined;
  private waiter: ((result: IteratorResult<T>) => void) | undefined;
  private finished = false;
  /** computedAt of the last value handed out: older values arriving late are dropped. */
  private deliveredAt = '';
  private release: (() => void) | undefined;

  onReturn(release: () => void): void {
    this.release = release;
  }

  /** The initial value; a push that raced ahead of it and is newer wins. */
  pushFirst(value: T): void {
    if (this.pending && this.pending.computedAt >= value.computedAt) return;
    this.push(value);
  }

  push(value: T): void {
    if (this.finished || value.computedAt < this.deliveredAt) return;
    const waiter = this.waiter;
    if (waiter) {
      this.waiter = undefined;
      this.deliveredAt = value.computedAt;
      waiter({ done: false, value });
    } else if (!this.pending || this.pending.computedAt <= value.computedAt) {
      this.pending = value;
    }
  }

  next(): Promise<IteratorResult<T>> {
    if (this.finished) return Promise.resolve({ done: true, value: undefined });
    const pending = this.pending;
    if (pending) {
      this.pending = undefined;
      this.deliveredAt = pending.computedAt;
      return Promise.resolve({ done: false, value: pending });
    }
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }

  return(): Promise<IteratorResult<T>> {
    if (!this.finished) {
      this.finished = true;
      this.pending = undefined;
      this.release?.();
      this.waiter?.({ done: true, value: undefined });
      this.waiter = undefined;
    }
    return Promise.resolve({ done: true, value: undefined });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}
