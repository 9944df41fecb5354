import { encodeCursor } from '../src/events/cursor';
import { topics } from '../src/events/topics';
import { BENCH_STORE, BENCH_TENANT, nowMs } from './protocol';

/**
 * Event sources of the fan-out, cross-instance and storm scenarios: Expediter through its public API (an
 * order created, then moved through its statuses, 25 orders at a time), the baselines through a POST that
 * emits a synthetic event of the same shape to the store's room.
 */

export interface Trigger {
  /** Sends event i; resolves with its key and the time it was sent. */
  fire(i: number): Promise<{ key: string; at: number; tookMs: number }>;
}

const ORDER_TOPIC = topics.storeOrders(BENCH_TENANT, BENCH_STORE);
const CREATE_ORDER = /* GraphQL */ `mutation ($input: CreateOrderInput!) { createOrder(input: $input) { id status } }`;
const UPDATE_STATUS = /* GraphQL */ `mutation ($orderId: ID!, $status: OrderStatus!) {
  updateOrderStatus(orderId: $orderId, status: $status) { id status }
}`;
const ORDER_ITEMS = [
  { productId: `${BENCH_STORE}-burger`, quantity: 1 },
  { productId: `${BENCH_STORE}-fries`, quantity: 2 },
  { productId: `${BENCH_STORE}-lemonade`, quantity: 1 },
];
const STEPS = ['PENDING', 'ACCEPTED', 'IN_PROGRESS', 'READY'] as const;
/** Orders in flight at once: event i moves order i % SLOTS one step further. */
const SLOTS = 25;

export function expediterTrigger(url: string, token: string): Trigger {
  const slots = new Map<number, Promise<{ id: string } | undefined>>();
  async function gql<T>(query: string, variables: Record<string, unknown>): Promise<T> {
    const response = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await response.json()) as { data?: T; errors?: unknown };
    if (body.errors) throw new Error(`mutation failed: ${JSON.stringify(body.errors)}`);
    return body.data!;
  }
  return {
    async fire(i) {
      const slot = i % SLOTS;
      const step = Math.floor(i / SLOTS) % STEPS.length;
      const prior = slots.get(slot);
      let at = nowMs();
      // Registered synchronously, so the slot's next step always waits for this one.
      const done = (async () => {
        const previous = step === 0 ? undefined : await prior;
        at = nowMs();
        if (step === 0) {
          const data = await gql<{ createOrder: { id: string } }>(CREATE_ORDER, {
            input: { storeId: BENCH_STORE, channel: 'POS', items: ORDER_ITEMS },
          });
          return { id: data.createOrder.id };
        }
        await gql(UPDATE_STATUS, { orderId: previous!.id, status: STEPS[step] });
        return previous;
      })();
      slots.set(slot, done);
      const order = (await done)!;
      const key = step === 0 ? `${order.id}:CREATED:PENDING` : `${order.id}:STATUS_CHANGED:${STEPS[step]}`;
      return { key, at, tookMs: nowMs() - at };
    },
  };
}

/** The same event a subscriber of Expediter receives (same fields, similar values), for the baselines. */
function syntheticEvent(i: number) {
  const step = Math.floor(i / SLOTS) % STEPS.length;
  const id = `${(Math.floor(i / 100) * 25 + (i % 25)).toString(16).padStart(8, '0')}-0000-4000-8000-000000000000`;
  const now = new Date().toISOString();
  return {
    cursor: encodeCursor(ORDER_TOPIC, String(1000 + i)),
    kind: step === 0 ? 'CREATED' : 'STATUS_CHANGED',
    previousStatus: step === 0 ? null : STEPS[step - 1],
    occurredAt: now,
    order: {
      id,
      number: 100 + i,
      status: STEPS[step],
      channel: 'POS',
      totalCents: 2196,
      currency: 'USD',
      items: [
        { name: 'Burger', quantity: 1, unitPriceCents: 1099 },
        { name: 'Fries', quantity: 2, unitPriceCents: 399 },
        { name: 'Lemonade', quantity: 1, unitPriceCents: 299 },
      ],
    },
  };
}

export function baselineTrigger(url: string, run: number): Trigger {
  return {
    async fire(i) {
      const event = syntheticEvent(i + run * 100_000);
      const at = nowMs();
      const response = await fetch(`${url}/emit`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ storeId: BENCH_STORE, event }),
      });
      await response.arrayBuffer();
      return { key: `${event.order.id}:${event.kind}:${event.order.status}`, at, tookMs: nowMs() - at };
    },
  };
}

/** Fires events at `rate` per second until stopped; `fired()` is how many were sent, `failed()` how many failed. */
export function fireContinuously(trigger: Trigger, rate: number) {
  const started = nowMs();
  let sent = 0;
  let failures = 0;
  let firstFailure: string | undefined;
  let stopped = false;
  const inFlight = new Set<Promise<void>>();
  const loop = (async () => {
    while (!stopped) {
      const due = started + (sent * 1000) / rate;
      const wait = due - nowMs();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      if (stopped) break;
      const fired = trigger.fire(sent++).then(
        () => {},
        (error: unknown) => {
          failures++;
          firstFailure ??= error instanceof Error ? error.message : String(error);
        },
      );
      inFlight.add(fired);
      void fired.finally(() => inFlight.delete(fired));
    }
  })();
  return {
    fired: () => sent,
    failed: () => failures,
    firstFailure: () => firstFailure,
    /** Stops firing and waits for the events in flight. */
    async stop() {
      stopped = true;
      await loop;
      await Promise.all(inFlight);
    },
  };
}
