import { describe, expect, it } from 'vitest';
import { CursorTracker, cursorOf } from '../../src/client/cursor-tracker';

describe('CursorTracker', () => {
  it('accepts a cursor once and remembers the last one', () => {
    const tracker = new CursorTracker();
    expect(tracker.accept('c1')).toBe(true);
    expect(tracker.accept('c2')).toBe(true);
    expect(tracker.accept('c1')).toBe(false);
    expect(tracker.lastCursor).toBe('c2');
  });

  it('starts after the cursor the subscription was opened with', () => {
    const tracker = new CursorTracker('c7');
    expect(tracker.lastCursor).toBe('c7');
    expect(tracker.accept('c7')).toBe(false);
  });

  it('keeps a bounded window of recent cursors', () => {
    const tracker = new CursorTracker(undefined, 2);
    for (const cursor of ['a', 'b', 'c']) tracker.accept(cursor);
    expect(tracker.accept('a')).toBe(true);
    expect(tracker.accept('c')).toBe(false);
  });
});

describe('cursorOf', () => {
  it('reads the root field cursor of a subscription result', () => {
    expect(cursorOf({ orderUpdated: { cursor: 'x', kind: 'CREATED' } })).toBe('x');
  });

  it('is undefined for events without a cursor', () => {
    expect(cursorOf({ dashboardMetrics: { ordersToday: 3 } })).toBeUndefined();
    expect(cursorOf(null)).toBeUndefined();
  });
});
