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
  let cpuMicros = 5_000_000;
  let shed = 0;
  const admission = createAdmission({
    maxHandshakes,
    minRetryAfterMs,
    maxRetryAfterMs: 10_000,
    onShed: () => shed++,
    now: () => now,
    cpuMicros: () => cpuMicros,
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
    /** Time passes with the process busy `cpuShare` of a core (a saturated core unless told). */
    advance: (ms: number, cpuShare = 1) => {
      now += ms;
      cpuMicros += ms * 1000 * cpuShare;
    },
  };
}

/** A storm at an instance whose CPU use the test sets, seen through the waits it tells the clients it sheds. */
function storm(maxHandshakes: number) {
  const s = setup(maxHandshakes);
  return {
    ...s,
    /** A one-second window in which `admitted` handshakes complete, the process using `cpuShare` of a core. */
    window(admitted: number, cpuShare: number) {
      for (let i = 0; i < admitted; i++) s.admission.admitted(s.connect() as never);
      s.advance(1000, cpuShare);
    },
    /** The rate the schedule spaces shed clients at, from the waits of 101 of them (then their slots are freed). */
    scheduledRate(): number {
      const holders = Array.from({ length: maxHandshakes }, () => s.connect());
      const waits = Array.from({ length: 101 }, () => s.retryAfter(s.connect()));
      for (const holder of holders) holder.emit('close');
      return 100 / (waits.at(-1)! - waits[0]!);
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

  it('spaces clients at the measured rate when the window kept the CPU busy', () => {
    const { window, scheduledRate } = storm(100);
    // 100 handshakes/s (the starting estimate, too) on a saturated core: no spare capacity to schedule.
    window(100, 1);
    expect(scheduledRate()).toBeCloseTo(100, -1);
    // Over the target (GC, other threads) never schedules below what was measured.
    window(100, 1.5);
    expect(scheduledRate()).toBeCloseTo(100, -1);
  });

  it('raises the rate window by window while the CPU has room, although clients arrive at the rate scheduled', () => {
    const { window, scheduledRate } = storm(100);
    // A busy first second sets the estimate near what was done: 60/s.
    window(20, 1);
    let rate = scheduledRate();
    expect(rate).toBeCloseTo(60, -1);
    // Then the clients come back exactly as scheduled, and the instance uses 30% of a core doing it:
    // throughput alone would stay at 60/s for ever; the capacity estimate rises each window.
    const rates = [rate];
    for (let i = 0; i < 4; i++) {
      window(Math.round(rate), 0.3);
      rate = scheduledRate();
      rates.push(rate);
    }
    for (let i = 1; i < rates.length; i++) expect(rates[i]).toBeGreaterThan(rates[i - 1]! * 1.5);
    // 0.9 / 0.3: at most three times what the window measured.
    expect(rates[1]).toBeCloseTo(0.5 * 3 * 60 + 0.5 * 60, -1);
  });

  it('scales an almost idle window up by at most four, and never past ten times the handshake limit per second', () => {
    const { window, scheduledRate } = storm(10);
    window(10, 0); // measured 10/s, no CPU used: 0.5 × 40 + 0.5 × 10
    expect(scheduledRate()).toBeCloseTo(25, 0);
    for (let i = 0; i < 5; i++) window(90, 0);
    expect(scheduledRate()).toBeCloseTo(100, -1);
  });
});
