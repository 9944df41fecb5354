import type { WebSocket, WebSocketServer } from 'ws';

/**
 * Close code of a connection shed by the admission limit: 1013 "Try Again Later" (RFC 6455's registry), with
 * the reason `Server busy, retryAfter=<seconds>`. docs/api.md "WebSocket close codes" and docs/limits.md
 * "Reconnect storms" document both.
 */
export const TRY_AGAIN_LATER = 1013;

export interface AdmissionOptions {
  /** Connections between upgrade and connection_ack an instance works on at once (WS_MAX_HANDSHAKES). */
  maxHandshakes: number;
  /** Shortest wait a shed client is told (WS_SHED_MIN_RETRY_AFTER_MS). */
  minRetryAfterMs: number;
  /** Longest wait a shed client is told (WS_SHED_MAX_RETRY_AFTER_MS). */
  maxRetryAfterMs: number;
  /** Called for every shed connection (metrics). */
  onShed?: () => void;
  now?: () => number;
  /** CPU time this process has used, in microseconds (user + system); `process.cpuUsage()` unless injected (tests). */
  cpuMicros?: () => number;
}

export interface Admission {
  /** Sheds upgrades over the limit before anything else reads them; call once on the server. */
  attach(wsServer: WebSocketServer): void;
  /** The connection was acknowledged (authenticated): its handshake slot is free. */
  admitted(socket: WebSocket): void;
  /** Handshakes in progress. */
  pending(): number;
}

/** Admission rate is measured over windows of this length. */
const RATE_WINDOW_MS = 1000;
/** Weight of the newest window in the rate's moving average. */
const RATE_WEIGHT = 0.5;
/** Share of a core the schedule aims to keep busy: a window below it means the instance could admit more. */
const TARGET_UTILISATION = 0.9;
/** Most a single window can scale its measured rate up by (an almost idle CPU share would extrapolate to anything). */
const MAX_SCALE = 4;
/** The estimate never exceeds this many times `maxHandshakes` per second, whatever the windows say. */
const MAX_RATE_PER_HANDSHAKE_SLOT = 10;

const processCpuMicros = () => {
  const { user, system } = process.cpuUsage();
  return user + system;
};

/**
 * Admission of WebSocket handshakes: at most `maxHandshakes` connections are between their upgrade and their
 * connection_ack at a time (a handshake costs token verification, revocation and connection-limit look-ups;
 * a storm of thousands at once would make every one of them late, past the clients' own timeouts, and
 * they would all retry). Over the limit, the connection is closed at once with 1013 and a `retryAfter`.
 *
 * The waits are scheduled, not all alike: the instance estimates how many handshakes it could complete per second
 * and gives each shed client the next free slot at that rate (at least `minRetryAfterMs` away), so a storm of
 * N clients comes back spread over about N / rate seconds instead of all at once again.
 *
 * The estimate is of capacity, not throughput. Handshakes completed per second alone is self-fulfilling: once the
 * clients arrive at the times this schedule gave them, the instance completes exactly as many as it scheduled, and
 * never finds out it could do more (measured: a storm of 10,000 kept at a fraction of a core, its tail a minute
 * long). So each window also samples the process's CPU time and scales the measured rate by
 * TARGET_UTILISATION / (share of a core used), between 1 (a busy window: the measured rate is the capacity) and
 * MAX_SCALE, smoothed over windows and capped at MAX_RATE_PER_HANDSHAKE_SLOT × maxHandshakes per second. CPU is
 * the resource the handshake limit protects (token verification and look-ups run on the event loop). Counting all
 * of the process's CPU as handshake work errs low, never high: with other work W besides, rate × target / (W +
 * rate × cost) stays under the true (target − W) / cost, so windows rise towards the target and stop there.
 * Little's law (maxHandshakes / mean handshake duration) was the simpler candidate, but a handshake's duration is
 * mostly waiting on the client and the network, not work here; it would measure latency, not the spare capacity.
 */
export function createAdmission(options: AdmissionOptions): Admission {
  const now = options.now ?? Date.now;
  const cpuMicros = options.cpuMicros ?? processCpuMicros;
  const maxRate = MAX_RATE_PER_HANDSHAKE_SLOT * options.maxHandshakes;
  /** Sockets between upgrade and acknowledgement, with the close listener that frees their slot. */
  const pending = new Map<WebSocket, () => void>();
  // Before the first window is measured, assume the limit's worth of handshakes per second.
  let ratePerSecond = options.maxHandshakes;
  let windowStart = now();
  let windowCpuStart = cpuMicros();
  let admittedInWindow = 0;
  /** When the latest client shed was told to come back. */
  let lastSlotAt = 0;

  function measure(at: number) {
    const elapsed = at - windowStart;
    if (elapsed < RATE_WINDOW_MS) return;
    const cpu = cpuMicros();
    // An idle window says nothing of capacity: only windows that admitted something move the estimate.
    if (admittedInWindow > 0) {
      const measured = (admittedInWindow * 1000) / elapsed;
      const cpuShare = (cpu - windowCpuStart) / 1000 / elapsed;
      const scale = Math.min(MAX_SCALE, Math.max(1, TARGET_UTILISATION / cpuShare));
      const capacity = measured * scale;
      ratePerSecond = Math.min(maxRate, RATE_WEIGHT * capacity + (1 - RATE_WEIGHT) * ratePerSecond);
    }
    windowStart = at;
    windowCpuStart = cpu;
    admittedInWindow = 0;
  }

  /** Milliseconds until the next free slot, which this client takes. */
  function retryAfterMs(): number {
    const at = now();
    measure(at);
    const spacing = 1000 / Math.max(1, ratePerSecond);
    lastSlotAt = Math.max(lastSlotAt + spacing, at + options.minRetryAfterMs);
    return Math.min(options.maxRetryAfterMs, lastSlotAt - at);
  }

  function shed(socket: WebSocket) {
    options.onShed?.();
    const seconds = (retryAfterMs() / 1000).toFixed(3).replace(/\.?0+$/, '');
    socket.close(TRY_AGAIN_LATER, `Server busy, retryAfter=${seconds}`);
  }

  return {
    attach(wsServer) {
      wsServer.prependListener('connection', (socket: WebSocket) => {
        if (pending.size >= options.maxHandshakes) {
          shed(socket);
          return;
        }
        const free = () => pending.delete(socket);
        pending.set(socket, free);
        socket.once('close', free);
      });
    },
    admitted(socket) {
      const free = pending.get(socket);
      if (!free) return;
      pending.delete(socket);
      // Not kept for the connection's life: an idle connection holds nothing of its handshake.
      socket.off('close', free);
      const at = now();
      measure(at);
      admittedInWindow++;
    },
    pending: () => pending.size,
  };
}
