import { EventEmitter, once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildSchema } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';

/**
 * A minimal graphql-ws server with Expediter's resume semantics (cursor per event, `after` replays),
 * for testing the client helper without the whole API: it can refuse tokens, restart on the same port
 * and deliver an event twice on purpose.
 */
const schema = buildSchema(`
  type Event { cursor: String! text: String! }
  type Query { ping: String! fail: String }
  type Mutation { publish(text: String!): Event! }
  type Subscription { events(after: String): Event! finite(count: Int!): Event! }
`);

export interface MiniServerOptions {
  /** Decides connection_init: a close code to refuse with, or undefined to accept. */
  authorize?: (params: Record<string, unknown> | undefined) => number | undefined;
  /** Replay includes the event at the cursor too, as a server with an overlapping replay would. */
  overlappingReplay?: boolean;
}

export interface MiniServer {
  url: string;
  port: number;
  /** connection_init payloads in arrival order. */
  connections: Array<Record<string, unknown> | undefined>;
  /** The `after` argument of every subscribe, in arrival order. */
  subscribedAfter: Array<string | null>;
  publish(text: string): void;
  /** Publishes an event whose \`text\` fails to resolve (the result carries errors). */
  publishBroken(): void;
  /** Closes every socket with this code (1001 = going away) but keeps listening. */
  dropConnections(code?: number, reason?: string): void;
  /** Stops listening and closes every socket with 1001. */
  stop(): Promise<void>;
  /** Listens again on the same port, with the same events. */
  start(): Promise<void>;
}

export async function startMiniServer(options: MiniServerOptions = {}): Promise<MiniServer> {
  type LoggedEvent = { cursor: string; text: string | (() => never) };
  const log: LoggedEvent[] = [];
  const published = new EventEmitter();
  const connections: MiniServer['connections'] = [];
  const subscribedAfter: MiniServer['subscribedAfter'] = [];
  let http: Server | undefined;
  let wss: WebSocketServer | undefined;
  let port = 0;

  async function* events({ after }: { after?: string | null }) {
    subscribedAfter.push(after ?? null);
    const queue: LoggedEvent[] = [];
    let wake: (() => void) | undefined;
    const onEvent = (event: LoggedEvent) => {
      queue.push(event);
      wake?.();
    };
    published.on('event', onEvent);
    try {
      const from = after ? Number(after.slice(1)) - (options.overlappingReplay ? 1 : 0) : log.length;
      for (const event of log.slice(from)) yield { events: event };
      for (;;) {
        while (queue.length > 0) yield { events: queue.shift() };
        await new Promise<void>((resolve) => (wake = resolve));
      }
    } finally {
      published.off('event', onEvent);
    }
  }

  async function start() {
    http = createServer((_req, res) => res.writeHead(404).end());
    wss = new WebSocketServer({ server: http, path: '/graphql' });
    useServer(
      {
        schema,
        roots: {
          query: {
            ping: () => 'pong',
            fail: () => {
              throw new Error('failed on purpose');
            },
          },
          subscription: {
            events,
            async *finite({ count }: { count: number }) {
              for (let i = 1; i <= count; i++) yield { finite: { cursor: `f${i}`, text: `finite ${i}` } };
            },
          },
        },
        onConnect: (ctx) => {
          connections.push(ctx.connectionParams);
          const refusal = options.authorize?.(ctx.connectionParams);
          if (refusal) ctx.extra.socket.close(refusal, 'Refused');
          return refusal === undefined;
        },
      },
      wss,
    );
    http.listen(port, '127.0.0.1');
    await once(http, 'listening');
    port = (http.address() as AddressInfo).port;
  }

  const server: MiniServer = {
    get url() {
      return `ws://127.0.0.1:${port}/graphql`;
    },
    get port() {
      return port;
    },
    connections,
    subscribedAfter,
    publish(text) {
      const event = { cursor: `c${log.length + 1}`, text };
      log.push(event);
      published.emit('event', event);
    },
    publishBroken() {
      const event = {
        cursor: `c${log.length + 1}`,
        text: () => {
          throw new Error('text failed');
        },
      };
      log.push(event);
      published.emit('event', event);
    },
    dropConnections(code = 1001, reason = 'Going away') {
      for (const socket of wss?.clients ?? []) socket.close(code, reason);
    },
    async stop() {
      server.dropConnections();
      const closing = http ? new Promise((resolve) => http?.close(resolve)) : Promise.resolve();
      http?.closeAllConnections();
      wss?.close();
      await closing;
    },
    start,
  };
  await start();
  return server;
}
