/** Messages between bench/storm.ts and its client processes (bench/storm-client.ts), over Node IPC. */

export type StormSystem = 'expediter' | 'socketio';

export interface StormConnect {
  cmd: 'connect';
  system: StormSystem;
  /** Where the subscribers connect first (instance A). */
  url: string;
  /** Where they reconnect once A is gone (instance B). */
  failoverUrl: string;
  /** Global index of this process's first subscriber (unique user ids). */
  from: number;
  count: number;
  concurrency: number;
  /** Expediter only: the subscription document and its variables (with the first `after`). */
  query?: string;
  variables?: Record<string, unknown>;
}

export type StormRequest =
  | StormConnect
  /** Counts so far (cheap, polled). */
  | { cmd: 'progress' }
  /** The full report, with `expected` events per subscriber. */
  | { cmd: 'report'; expected: number }
  | { cmd: 'close' };

export interface StormProgress {
  subscribers: number;
  /** Subscribers that lost their connection at least once. */
  disconnected: number;
  /** Of those, the ones subscribed again (Expediter: acknowledged and subscribed with its cursor; Socket.io: session restored or room joined). */
  liveAgain: number;
  /** Events received (not counting duplicates). */
  received: number;
}

export interface StormReport extends StormProgress {
  /** Epoch ms at which each reconnected subscriber was subscribed again, and received its first event after the loss. */
  liveAgainAt: number[];
  firstEventAt: number[];
  /** Events received after a later one (the subscriber's view jumped back). */
  outOfOrder: number;
  /** Events a subscriber should have had and did not, summed; subscribers missing at least one. */
  lost: number;
  subscribersWithLoss: number;
  duplicated: number;
  /** Closes with 1013 (shed by admission) and reconnect attempts, summed. */
  shed: number;
  attempts: number;
  /** Socket.io: reconnections whose session was restored (connection state recovery). */
  recovered: number;
  /** How the server closed subscribers' sockets, by close code (a storm that feeds itself shows here). */
  closes: Record<string, number>;
  firstError?: string;
}

export type StormReply =
  | { type: 'connected'; failures: number; firstError?: string }
  | ({ type: 'progress' } & StormProgress)
  | ({ type: 'report' } & StormReport);
