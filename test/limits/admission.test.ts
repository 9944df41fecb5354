import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { createAdmission, TRY_AGAIN_LATER } from '../../src/limits/admission';

/** A socket as admission sees it: close events, and the close it sends. */
class FakeSocket extends EventEmitter {
  closedWith: { code: number; reason: string } | undefined;
  close(code: number, reason: string) {
    this.closedWith = { code, reason };
  }
}

function setup(maxHandshakes: number, minRetryAfterMs = 500) {
  let now = 1_000_000;
  let shed = 0;
  const admission = createAdmission({
    maxHandshakes,
    minRetryAfterMs,
    maxRetryAfterMs: 10_000,
    onShed: () => shed++,
    now: () => now,
  });
  const server = new EventEmitter();
  admission.attach(server as never);
  const connect = () => {
    const socket = new FakeSocket();
    server.emit('connection', socket);
    return socket;
  };
  const retryAfter = (socket: FakeSocket) => Number(/retryAfter=(.*)$/.exec(socket.closedWith!.reason)![1]);
  return {
    admission,
    connect,
    retryAfter,
    shed: () => shed,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

describe('admission of handshakes', () => {
  it('admits up to the limit, sheds the rest with 1013 and a retryAfter', () => {
    const { admission, connect, shed } = setup(2);
    const [a, b, c] = [connect(), connect(), connect()];
    expect(a.closedWith).toBeUndefined();
    expect(b.closedWith).toBeUndefined();
    expect(c.closedWith).toMatchObject({ code: TRY_AGAIN_LATER, reason: 'Server busy, retryAfter=0.5' });
    expect(shed()).toBe(1);
    expect(admission.pending()).toBe(2);
  });

  it('frees a slot when a handshake completes or its socket closes, and keeps no listener after', () => {
    const { admission, connect } = setup(2);
    const [a, b] = [connect(), connect()];
    admission.admitted(a as never);
    expect(a.listenerCount('close')).toBe(0);
    b.emit('close');
    expect(admission.pending()).toBe(0);
    expect(connect().closedWith).toBeUndefined();
  });

  it('spreads the clients it sheds over the time it needs to admit them, at the rate it measured', () => {
    const { admission, connect, retryAfter, advance } = setup(10);
    // One second in which 100 handshakes complete: the estimate moves from 10/s towards 100/s.
    for (let i = 0; i < 100; i++) admission.admitted(connect() as never);
    advance(1000);
    for (let i = 0; i < 10; i++) connect(); // slots full again
    const waits = Array.from({ length: 50 }, () => retryAfter(connect()));
    // Every wait distinct and growing: 50 clients scheduled at ~55/s (average of 10/s and 100/s).
    expect(new Set(waits).size).toBe(50);
    expect(waits).toEqual([...waits].sort((x, y) => x - y));
    expect(waits[0]).toBeGreaterThanOrEqual(0.5);
    expect(waits.at(-1)! - waits[0]!).toBeCloseTo(49 / 55, 1);
  });

  it('never tells a wait beyond the maximum', () => {
    const { connect, retryAfter } = setup(1, 9_000);
    connect();
    const waits = Array.from({ length: 100 }, () => retryAfter(connect()));
    expect(Math.max(...waits)).toBe(10);
  });
});
