import { WebSocket, type WebSocketServer } from 'ws';

export interface HeartbeatOptions {
  wsServer: WebSocketServer;
  /** How often every socket is pinged. */
  intervalMs: number;
  /** A socket that has not answered a ping within this bound is terminated. */
  timeoutMs: number;
  /** Called just before a stale socket is terminated (for logs and metrics). */
  onStale?: (socket: WebSocket) => void;
}

export interface Heartbeat {
  stop(): void;
}

/**
 * WebSocket ping/pong for every socket of the server, on one timer. A peer that vanished without a
 * close frame (a phone losing signal, a NAT dropping the flow) answers no ping: it is terminated within
 * intervalMs + timeoutMs, and terminating emits 'close' (1006) so graphql-ws completes its subscriptions.
 * This replaces graphql-ws's own keepAlive (one interval and one timeout per socket).
 */
export function startHeartbeat(options: HeartbeatOptions): Heartbeat {
  const { wsServer, timeoutMs } = options;
  /** Socket -> the round of its unanswered ping. */
  const awaiting = new WeakMap<WebSocket, number>();
  const listening = new WeakSet<WebSocket>();
  const deadlines = new Set<NodeJS.Timeout>();
  let round = 0;

  function ping() {
    round += 1;
    const current = round;
    for (const socket of wsServer.clients) {
      if (socket.readyState !== WebSocket.OPEN || awaiting.has(socket)) continue;
      if (!listening.has(socket)) {
        listening.add(socket);
        socket.on('pong', () => awaiting.delete(socket));
      }
      awaiting.set(socket, current);
      socket.ping();
    }
    const deadline = setTimeout(() => {
      deadlines.delete(deadline);
      terminateUnanswered(current);
    }, timeoutMs);
    deadline.unref();
    deadlines.add(deadline);
  }

  function terminateUnanswered(pingRound: number) {
    for (const socket of wsServer.clients) {
      if (awaiting.get(socket) !== pingRound) continue;
      awaiting.delete(socket);
      options.onStale?.(socket);
      socket.terminate();
    }
  }

  const interval = setInterval(ping, options.intervalMs);
  interval.unref();
  return {
    stop() {
      clearInterval(interval);
      for (const deadline of deadlines) clearTimeout(deadline);
      deadlines.clear();
    },
  };
}
