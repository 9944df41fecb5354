import WebSocket from 'ws';
import { signToken } from '../src/auth/tokens';
import {
  BENCH_JWT_SECRET,
  BENCH_STORE,
  BENCH_TENANT,
  type ClientReply,
  type ClientRequest,
  type ConnectRequest,
  eventKey,
  nowMs,
} from './protocol';

/**
 * A bench client process: holds many raw `ws` sockets speaking each system's own protocol (graphql-transport-ws,
 * engine.io/socket.io v4, or the floor's JSON), so client-side overhead stays low and identical in kind.
 * Each subscriber's first message marks it subscribed (Expediter: the one event its `after` cursor replays;
 * Socket.io: the join ack; ws: "joined"); later messages are deliveries, recorded per event key.
 */

type OrderEvent = { kind: string; order: { id: string; status: string } };

interface Subscriber {
  seen: Set<string>;
  socket: WebSocket;
}

const subscribers: Subscriber[] = [];
let receipts = new Map<string, number[]>();
let duplicates = 0;
let closed = 0;
let frameBytes = 0;

function reply(message: ClientReply) {
  process.send?.(message);
}

function record(subscriber: Subscriber, event: OrderEvent, at: number, bytes: number) {
  const key = eventKey(event);
  if (subscriber.seen.has(key)) {
    duplicates++;
    return;
  }
  subscriber.seen.add(key);
  frameBytes = bytes;
  const times = receipts.get(key) ?? [];
  receipts.set(key, times);
  times.push(at);
}

/** Opens one subscriber; resolves with the milliseconds from opening the socket to being subscribed. */
async function open(request: ConnectRequest, index: number): Promise<number> {
  const token = await signToken(
    {
      sub: `bench-user-${index}`,
      tid: BENCH_TENANT,
      roles: ['STAFF'],
      stores: [BENCH_STORE],
      expiresIn: '2h',
    },
    { secret: BENCH_JWT_SECRET },
  );
  const url = request.urls[index % request.urls.length]!;
  const started = nowMs();
  return new Promise((resolve, reject) => {
    const socket = connectors[request.system](url);
    const subscriber: Subscriber = { seen: new Set(), socket };
    let subscribed = false;
    const ready = () => {
      subscribed = true;
      subscribers.push(subscriber);
      resolve(nowMs() - started);
    };
    const fail = (why: string) => {
      if (!subscribed) reject(new Error(why));
      socket.terminate();
    };
    socket.on('error', (error) => fail(error.message));
    socket.on('close', (code, reason) => {
      if (subscribed) closed++;
      else fail(`closed ${code} ${reason}`);
    });
    handlers[request.system](socket, request, token, {
      ready,
      fail,
      event: (event, bytes) => (subscribed ? record(subscriber, event, nowMs(), bytes) : ready()),
    });
  });
}

const connectors: Record<ConnectRequest['system'], (url: string) => WebSocket> = {
  expediter: (url) => new WebSocket(url, 'graphql-transport-ws', { perMessageDeflate: false }),
  socketio: (url) =>
    new WebSocket(`${url}/socket.io/?EIO=4&transport=websocket`, { perMessageDeflate: false }),
  ws: (url) => new WebSocket(url, { perMessageDeflate: false }),
};

interface Callbacks {
  ready(): void;
  fail(why: string): void;
  event(event: OrderEvent, bytes: number): void;
}

const handlers: Record<
  ConnectRequest['system'],
  (socket: WebSocket, request: ConnectRequest, token: string, on: Callbacks) => void
> = {
  expediter(socket, request, token, on) {
    socket.on('open', () =>
      socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } })),
    );
    socket.on('message', (data: Buffer) => {
      const message = JSON.parse(data.toString()) as {
        type: string;
        payload?: { data?: { orderUpdated?: OrderEvent }; errors?: unknown };
      };
      if (message.type === 'connection_ack') {
        socket.send(
          JSON.stringify({
            id: '1',
            type: 'subscribe',
            payload: { query: request.query, variables: request.variables },
          }),
        );
      } else if (message.type === 'next') {
        const event = message.payload?.data?.orderUpdated;
        if (event) on.event(event, data.length);
        else on.fail(`errors: ${JSON.stringify(message.payload?.errors)}`);
      } else if (message.type === 'error' || message.type === 'complete') {
        on.fail(`${message.type}: ${JSON.stringify(message.payload)}`);
      } else if (message.type === 'ping') {
        socket.send('{"type":"pong"}');
      }
    });
  },
  socketio(socket, _request, token, on) {
    socket.on('message', (data: Buffer) => {
      const text = data.toString();
      if (text.startsWith('42')) {
        const [, event] = JSON.parse(text.slice(2)) as [string, OrderEvent];
        on.event(event, data.length);
      } else if (text === '2') socket.send('3');
      else if (text.startsWith('0')) socket.send(`40${JSON.stringify({ token })}`);
      else if (text.startsWith('40')) socket.send(`420${JSON.stringify(['join', BENCH_STORE])}`);
      else if (text.startsWith('430')) {
        const [answer] = JSON.parse(text.slice(3)) as [{ ok?: boolean }];
        if (answer.ok) on.ready();
        else on.fail(text);
      } else if (text.startsWith('44')) on.fail(text);
    });
  },
  ws(socket, _request, token, on) {
    socket.on('open', () => socket.send(JSON.stringify({ token, storeId: BENCH_STORE })));
    socket.on('message', (data: Buffer) => {
      const message = JSON.parse(data.toString()) as { type: string; event?: OrderEvent };
      if (message.type === 'joined') on.ready();
      else if (message.event) on.event(message.event, data.length);
    });
  },
};

async function connectAll(request: ConnectRequest) {
  const millis: number[] = [];
  let failures = 0;
  let firstError: string | undefined;
  let next = 0;
  const worker = async () => {
    while (next < request.count) {
      const index = request.from + next++;
      try {
        millis.push(await open(request, index));
      } catch (error) {
        failures++;
        firstError ??= (error as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(request.concurrency, request.count) }, worker));
  reply({ type: 'connected', millis, failures, firstError });
}

process.on('message', (request: ClientRequest) => {
  if (request.cmd === 'connect') void connectAll(request);
  if (request.cmd === 'report') {
    reply({ type: 'report', receipts: Object.fromEntries(receipts), duplicates, closed, frameBytes });
  }
  if (request.cmd === 'count') {
    let deliveries = 0;
    for (const times of receipts.values()) deliveries += times.length;
    reply({ type: 'count', deliveries, closed });
  }
  if (request.cmd === 'reset') {
    receipts = new Map();
    duplicates = 0;
    for (const subscriber of subscribers) subscriber.seen.clear();
    reply({ type: 'reset' });
  }
  if (request.cmd === 'close') {
    for (const subscriber of subscribers) subscriber.socket.terminate();
    setTimeout(() => process.exit(0), 50);
  }
});
process.on('disconnect', () => process.exit(0));
