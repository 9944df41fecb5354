import type { ExecutionResult } from 'graphql';

/** One GraphQL-over-SSE event as the server wrote it ("distinct connections" mode: `next`, then `complete`). */
export interface SseEvent {
  event: string;
  data: string;
}

export interface SseStream<T = Record<string, unknown>> {
  status: number;
  /** The next `next` event's result; rejects when the stream ends first or nothing comes within timeoutMs. */
  next(timeoutMs?: number): Promise<ExecutionResult<T>>;
  /** Every event received so far (`next`, `complete`), in order. */
  events: SseEvent[];
  /** Resolves when the response ends (never rejects). */
  ended: Promise<void>;
  /** Ends the request from the client's side. */
  close(): Promise<void>;
}

/**
 * A subscription over Server-Sent Events with plain fetch, as any client would send it:
 * `POST /graphql` with `Accept: text/event-stream`, authenticated by the Authorization header.
 */
export async function openSse<T = Record<string, unknown>>(
  baseUrl: string,
  query: string,
  variables: Record<string, unknown> = {},
  opts: { token?: string; storeId?: string } = {},
): Promise<SseStream<T>> {
  const controller = new AbortController();
  const response = await fetch(`${baseUrl}/graphql`, {
    method: 'POST',
    signal: controller.signal,
    headers: {
      'content-type': 'application/json',
      accept: 'text/event-stream',
      ...(opts.token && { authorization: `Bearer ${opts.token}` }),
      ...(opts.storeId && { 'x-store-id': opts.storeId }),
    },
    body: JSON.stringify({ query, variables }),
  });
  const events: SseEvent[] = [];
  const results: ExecutionResult<T>[] = [];
  const waiters: Array<() => void> = [];
  let finished = false;
  const wakeAll = () => {
    for (const wake of waiters.splice(0)) wake();
  };

  const ended = readSseEvents(response, (event) => {
    events.push(event);
    if (event.event === 'next') results.push(JSON.parse(event.data) as ExecutionResult<T>);
    wakeAll();
  }).finally(() => {
    finished = true;
    wakeAll();
  });

  let read = 0;
  async function next(timeoutMs = 5000): Promise<ExecutionResult<T>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const result = results[read];
      if (result) {
        read++;
        return result;
      }
      if (finished) throw new Error(`SSE stream ended; events: ${JSON.stringify(events)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no SSE result within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  return {
    status: response.status,
    next,
    events,
    ended,
    async close() {
      controller.abort();
      await ended.catch(() => {});
    },
  };
}

/**
 * Reads an event-stream response to its end, handing each event (not comments) to onEvent; resolves when the
 * response ends, also when the client aborted it or the server dropped the connection (never rejects).
 */
export async function readSseEvents(response: Response, onEvent: (event: SseEvent) => void): Promise<void> {
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
        const event = parseSseBlock(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
        if (event) onEvent(event);
      }
    }
  } catch {
    // Aborted or dropped: either way the stream has ended.
  }
}

/** An SSE block's event name and data; null for comments (keep-alives). */
export function parseSseBlock(block: string): SseEvent | null {
  let event = 'message';
  const data: string[] = [];
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  }
  if (data.length === 0 && event === 'message') return null;
  return { event, data: data.join('\n') };
}

/** Resolves with `promise`, or rejects when it takes longer than ms (a bound for waiting on a condition). */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
