/** Messages between bench/run.ts and its child processes (servers and clients), over Node IPC. */

export type System = 'expediter' | 'socketio' | 'ws';

export const BENCH_JWT_SECRET = 'bench-secret-for-expediter-0001';
export const BENCH_TENANT = 'acme';
export const BENCH_STORE = 'acme-downtown';

/** Server children answer `stats` with their own CPU and memory. */
export interface ServerStats {
  cpuMicros: number;
  rss: number;
  heapUsed: number;
}

export type ServerRequest = { cmd: 'stats'; gc?: boolean } | { cmd: 'heap'; file: string } | { cmd: 'close' };
export type ServerReply =
  | { type: 'ready'; port: number }
  | ({ type: 'stats' } & ServerStats)
  | { type: 'heap'; file: string };

export interface ConnectRequest {
  cmd: 'connect';
  system: System;
  /** Subscriber i connects to urls[i % urls.length]. */
  urls: string[];
  /** Global index of this client process's first subscriber (for unique user ids). */
  from: number;
  count: number;
  concurrency: number;
  /** Expediter only: the subscription document and variables. */
  query?: string;
  variables?: Record<string, unknown>;
}

export type ClientRequest =
  | ConnectRequest
  | { cmd: 'report' }
  | { cmd: 'count' }
  | { cmd: 'reset' }
  | { cmd: 'close' };

export interface ClientReport {
  /** Receipt times (epoch ms, sub-ms precision) per event key. */
  receipts: Record<string, number[]>;
  duplicates: number;
  closed: number;
  frameBytes: number;
}

export type ClientReply =
  | { type: 'connected'; millis: number[]; failures: number; firstError?: string }
  | ({ type: 'report' } & ClientReport)
  | { type: 'count'; deliveries: number; closed: number }
  | { type: 'reset' };

/** Wall clock with sub-millisecond precision, comparable across processes of one machine. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

/** The key of an order event, the same for every system: which order, what happened, resulting status. */
export function eventKey(event: { kind: string; order: { id: string; status: string } }): string {
  return `${event.order.id}:${event.kind}:${event.order.status}`;
}

export function cpuMicros(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

/** Sends `message` to the parent and resolves once it is handed over. */
export function tell(message: unknown): Promise<void> {
  return new Promise((resolve, reject) => {
    process.send?.(message, undefined, {}, (error) => (error ? reject(error) : resolve()));
  });
}

export function serverStats(gc: boolean): ServerStats {
  if (gc) (globalThis as { gc?: () => void }).gc?.();
  const memory = process.memoryUsage();
  return { cpuMicros: cpuMicros(), rss: memory.rss, heapUsed: memory.heapUsed };
}
