import WebSocket from 'ws';
import { signToken } from '../src/auth/tokens';
import { backoffDelay, delayAfterShed, retryAfterOf } from '../src/client/backoff';
import { BENCH_JWT_SECRET, BENCH_STORE, BENCH_TENANT, nowMs } from './protocol';
import type { StormConnect, StormReply, StormRequest } from './storm-protocol';

/**
 * A storm-scenario client process: many raw sockets, each a subscriber that, when its connection is lost,
 * reconnects to the fail-over instance the way its system's own client does, and resumes:
 * - Expediter: expediter/client's policy (full-jitter backoff from 250 ms, `retryAfter` after a 1013), then
 *   `subscribe` again with `after` = the last cursor it received;
 * - Socket.io: socket.io-client's defaults (1 s doubling to 5 s, ±50 %), then CONNECT with its session id
 *   and last offset (connection state recovery); a session not restored joins the room again.
 * Every event carries a cursor whose id grows with each event: a subscriber counts an id at or below its
 * last as a duplicate; what it should have received and did not is loss.
 */

interface Subscriber {
  index: number;
  token: string;
  url: string;
  socket?: WebSocket;
  /** Received events (not duplicates), the highest id, duplicates, events older than one received before. */
  received: number;
  lastId: number;
  lastCursor?: string;
  /** Told to refetch (a GraphQL error such as CURSOR_TOO_OLD): it subscribes again from now, without a cursor. */
  refetch?: boolean;
  duplicated: number;
  outOfOrder: number;
  /** Which ids were received: bit (id - baseId), grown as needed. */
  baseId: number;
  bits: Uint8Array;
  /** Failed attempts in a row (the backoff's), and every reconnect attempt. */
  attempts: number;
  reconnects: number;
  shed: number;
  disconnectedAt?: number;
  /** Subscribed again after the loss (Expediter: acknowledged and subscribed with its cursor). */
  liveAgainAt?: number;
  /** The first event received after the loss. */
  firstEventAt?: number;
  /** Socket.io: the session id and the offset of the last packet (connection state recovery). */
  pid?: string;
  offset?: string;
  recovered: number;
}

type OrderEvent = { cursor: string };

const subscribers: Subscriber[] = [];
let request: StormConnect;
let firstError: string | undefined;
const closes: Record<string, number> = {};
/** Sockets the client ended itself after an `error` or `complete` message. */
const endedAfter = new WeakMap<WebSocket, string>();
let closing = false;

const reply = (message: StormReply) => process.send?.(message);

/** The id in a cursor (base64url of `1.<tag>.<id>`). */
function idOf(cursor: string): number {
  return Number(Buffer.from(cursor, 'base64url').toString('utf8').split('.')[2] ?? '0');
}

function onEvent(subscriber: Subscriber, event: OrderEvent) {
  const id = idOf(event.cursor);
  if (subscriber.disconnectedAt !== undefined) subscriber.firstEventAt ??= nowMs();
  // Room below the first id for events that arrive after it (the baseline's triggers race).
  if (subscriber.received === 0 && subscriber.duplicated === 0) subscriber.baseId = id - 4096;
  const bit = id - subscriber.baseId;
  if (bit < 0) {
    subscriber.outOfOrder++;
    return;
  }
  if (bit >= subscriber.bits.length * 8) {
    const grown = new Uint8Array(Math.max(subscriber.bits.length * 2, (bit >> 3) + 64));
    grown.set(subscriber.bits);
    subscriber.bits = grown;
  }
  const mask = 1 << (bit & 7);
  if (subscriber.bits[bit >> 3]! & mask) {
    subscriber.duplicated++;
    return;
  }
  subscriber.bits[bit >> 3]! |= mask;
  subscriber.received++;
  if (id < subscriber.lastId) subscriber.outOfOrder++;
  else {
    subscriber.lastId = id;
    subscriber.lastCursor = event.cursor;
  }
}

function liveAgain(subscriber: Subscriber) {
  subscriber.attempts = 0;
  if (subscriber.disconnectedAt !== undefined && subscriber.liveAgainAt === undefined)
    subscriber.liveAgainAt = nowMs();
}

/** Opens the subscriber's socket; `ready` fires once when it is subscribed the first time. */
function open(subscriber: Subscriber, ready?: (error?: string) => void) {
  const system = request.system;
  const socket =
    system === 'expediter'
      ? new WebSocket(subscriber.url, 'graphql-transport-ws', { perMessageDeflate: false })
      : new WebSocket(`${subscriber.url}/socket.io/?EIO=4&transport=websocket`, { perMessageDeflate: false });
  subscriber.socket = socket;
  let subscribed = false;
  const subscribedNow = () => {
    if (subscribed) return;
    subscribed = true;
    if (ready) ready();
    else liveAgain(subscriber);
  };
  let opened = false;
  let failure = '';
  socket.on('open', () => {
    opened = true;
  });
  socket.on('error', (error) => {
    failure = error.message; // the close that follows decides; its key in `closes` says why
  });
  socket.on('close', (code: number, reason: Buffer) => {
    if (closing) return;
    if (ready && !subscribed) return ready(`closed ${code} ${String(reason)}`);
    subscriber.disconnectedAt ??= nowMs();
    subscriber.url = request.failoverUrl;
    // Keyed by ws's error, if any (an abnormal close says why), and whether the handshake had completed.
    const why = failure ? `: ${failure.replace(/\d+/g, 'N')}` : '';
    const answered = endedAfter.get(socket);
    const key = answered
      ? `ended by the client after ${answered === 'refetch' ? 'errors (refetch: from now, no cursor)' : answered}`
      : `${code}${opened ? '' : ' before open'}${why}`;
    closes[key] = (closes[key] ?? 0) + 1;
    const retryAfter = retryAfterOf({ code, reason: String(reason) });
    if (retryAfter !== undefined) subscriber.shed++;
    subscriber.reconnects++;
    const attempt = subscriber.attempts++;
    const delay =
      system === 'expediter'
        ? retryAfter !== undefined
          ? delayAfterShed(retryAfter)
          : backoffDelay(attempt)
        : socketIoDelay(attempt);
    setTimeout(() => open(subscriber), delay);
  });
  if (system === 'expediter') expediter(socket, subscriber, subscribedNow);
  else socketio(socket, subscriber, subscribedNow);
}

/** socket.io-client's defaults: reconnectionDelay 1000, reconnectionDelayMax 5000, randomizationFactor 0.5. */
function socketIoDelay(attempt: number): number {
  const base = 1000 * 2 ** attempt;
  const deviation = Math.floor(Math.random() * 0.5 * base);
  const delay = Math.random() < 0.5 ? base - deviation : base + deviation;
  return Math.min(delay, 5000);
}

function expediter(socket: WebSocket, subscriber: Subscriber, subscribed: () => void) {
  socket.on('open', () =>
    socket.send(
      JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${subscriber.token}` } }),
    ),
  );
  socket.on('message', (data: Buffer) => {
    const message = JSON.parse(data.toString()) as {
      type: string;
      payload?: { data?: { orderUpdated?: OrderEvent }; errors?: unknown };
    };
    if (message.type === 'connection_ack') {
      const variables = subscriber.refetch
        ? { ...request.variables, after: undefined }
        : subscriber.lastCursor
          ? { ...request.variables, after: subscriber.lastCursor }
          : request.variables;
      subscriber.refetch = false;
      socket.send(
        JSON.stringify({ id: '1', type: 'subscribe', payload: { query: request.query, variables } }),
      );
      // Resubscribed with its cursor: from here on the server replays whatever it missed.
      if (subscriber.lastCursor && subscriber.disconnectedAt !== undefined) subscribed();
    } else if (message.type === 'next') {
      const event = message.payload?.data?.orderUpdated;
      if (!event) {
        // Refused (CURSOR_TOO_OLD...): a result with errors, then `complete`. Refetch (see below).
        firstError ??= `errors: ${JSON.stringify(message.payload?.errors)}`;
        subscriber.refetch = true;
        subscriber.lastCursor = undefined;
        return;
      }
      onEvent(subscriber, event);
      // The first connection is subscribed once the event before its first cursor is replayed.
      subscribed();
    } else if (message.type === 'error' || message.type === 'complete') {
      firstError ??= `${message.type}: ${JSON.stringify(message.payload)}`;
      // As an application on expediter/client does (a GraphQL error is an answer, not retried): it refetches
      // and subscribes from now. Resuming from the same cursor again would be refused again, each time after
      // the server read the whole replay (REPLAY_MAX_EVENTS + 1 rows) to say so: a storm feeding itself.
      if (message.type === 'error') {
        subscriber.refetch = true;
        subscriber.lastCursor = undefined;
      }
      endedAfter.set(socket, subscriber.refetch ? 'refetch' : message.type);
      socket.terminate();
    } else if (message.type === 'ping') {
      socket.send('{"type":"pong"}');
    }
  });
}

function socketio(socket: WebSocket, subscriber: Subscriber, subscribed: () => void) {
  socket.on('message', (data: Buffer) => {
    const text = data.toString();
    if (text.startsWith('42')) {
      const packet = JSON.parse(text.slice(2)) as [string, OrderEvent, string?];
      if (typeof packet[2] === 'string') subscriber.offset = packet[2];
      onEvent(subscriber, packet[1]);
    } else if (text === '2') socket.send('3');
    else if (text.startsWith('0')) {
      const auth = subscriber.pid
        ? { token: subscriber.token, pid: subscriber.pid, offset: subscriber.offset }
        : { token: subscriber.token };
      socket.send(`40${JSON.stringify(auth)}`);
    } else if (text.startsWith('40')) {
      const { pid } = JSON.parse(text.slice(2)) as { pid?: string };
      if (subscriber.pid && pid === subscriber.pid) {
        // Session restored: rooms back, missed packets follow.
        subscriber.recovered++;
        subscribed();
        return;
      }
      subscriber.pid = pid;
      socket.send(`420${JSON.stringify(['join', BENCH_STORE])}`);
    } else if (text.startsWith('430')) {
      const [answer] = JSON.parse(text.slice(3)) as [{ ok?: boolean }];
      if (answer.ok) subscribed();
      else firstError ??= text;
    } else if (text.startsWith('44')) {
      firstError ??= text;
      socket.terminate();
    }
  });
}

async function connectAll() {
  let failures = 0;
  let connectError: string | undefined;
  let next = 0;
  const worker = async () => {
    while (next < request.count) {
      const index = request.from + next++;
      const subscriber: Subscriber = {
        index,
        token: await signToken(
          {
            sub: `bench-user-${index}`,
            tid: BENCH_TENANT,
            roles: ['STAFF'],
            stores: [BENCH_STORE],
            expiresIn: '2h',
          },
          { secret: BENCH_JWT_SECRET },
        ),
        url: request.url,
        received: 0,
        lastId: 0,
        duplicated: 0,
        outOfOrder: 0,
        baseId: 0,
        bits: new Uint8Array(64),
        attempts: 0,
        reconnects: 0,
        shed: 0,
        recovered: 0,
      };
      const error = await new Promise<string | undefined>((resolve) => open(subscriber, resolve));
      if (error) {
        failures++;
        connectError ??= error;
        subscriber.socket?.terminate();
      } else {
        subscribers.push(subscriber);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(request.concurrency, request.count) }, worker));
  reply({ type: 'connected', failures, firstError: connectError });
}

function progress() {
  let disconnected = 0;
  let live = 0;
  let received = 0;
  for (const s of subscribers) {
    if (s.disconnectedAt !== undefined) disconnected++;
    if (s.liveAgainAt !== undefined) live++;
    received += s.received;
  }
  return { subscribers: subscribers.length, disconnected, liveAgain: live, received };
}

process.on('message', (message: StormRequest) => {
  if (message.cmd === 'connect') {
    request = message;
    void connectAll();
  } else if (message.cmd === 'progress') {
    reply({ type: 'progress', ...progress() });
  } else if (message.cmd === 'report') {
    let lost = 0;
    let withLoss = 0;
    for (const s of subscribers) {
      const missing = Math.max(0, message.expected - s.received);
      lost += missing;
      if (missing > 0) withLoss++;
    }
    const sum = (f: (s: Subscriber) => number) => subscribers.reduce((total, s) => total + f(s), 0);
    reply({
      type: 'report',
      ...progress(),
      liveAgainAt: subscribers.flatMap((s) => (s.liveAgainAt === undefined ? [] : [s.liveAgainAt])),
      firstEventAt: subscribers.flatMap((s) => (s.firstEventAt === undefined ? [] : [s.firstEventAt])),
      outOfOrder: sum((s) => s.outOfOrder),
      lost,
      subscribersWithLoss: withLoss,
      duplicated: sum((s) => s.duplicated),
      shed: sum((s) => s.shed),
      attempts: sum((s) => s.reconnects),
      recovered: sum((s) => s.recovered),
      closes,
      firstError,
    });
  } else if (message.cmd === 'close') {
    closing = true;
    for (const s of subscribers) s.socket?.terminate();
    setTimeout(() => process.exit(0), 50);
  }
});
process.on('disconnect', () => process.exit(0));
