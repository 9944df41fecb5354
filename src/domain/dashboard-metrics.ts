import type { OrderStatus } from '../generated/prisma/enums';

/**
 * Dashboard numbers as pure functions over rows loaded from the database (dashboard.ts loads them).
 * "Today" starts at local midnight in the store's time zone.
 */

export interface KitchenLoad {
  stationId: string;
  stationName: string;
  openItems: number;
}

export interface TopProduct {
  productId: string;
  name: string;
  quantity: number;
}

export interface DashboardMetricsView {
  /** null for tenant-wide metrics. */
  storeId: string | null;
  tenantId: string;
  salesTodayCents: number;
  ordersToday: number;
  openOrders: number;
  /** Fired to bumped, over tickets bumped today; null before the first bump of the day. */
  averageTicketSeconds: number | null;
  p90TicketSeconds: number | null;
  newCustomersToday: number;
  kitchenLoad: KitchenLoad[];
  topProducts: TopProduct[];
  computedAt: string;
}

/** Everything the metrics of one scope (a store, or the tenant as several stores merged) are made of. */
export interface MetricsInput {
  /** Orders created today, any status. */
  ordersToday: { status: OrderStatus; totalCents: number }[];
  /** Orders not yet completed or cancelled, whatever day they were placed. */
  openOrders: number;
  /** Tickets bumped today, of orders that were not cancelled (cancelling closes tickets). */
  bumpedTickets: { firedAt: Date; bumpedAt: Date }[];
  /** Customers who ordered today, with their first order ever in this scope. */
  customers: { customerId: string; firstOrderAt: Date }[];
  /** Start of today; the earliest of the stores' when merged. */
  dayStart: Date;
  stations: { id: string; name: string }[];
  /** One entry per unfinished item on an unbumped ticket of a live order. */
  openItemStationIds: string[];
  /** Lines of today's orders that were not cancelled. */
  itemsSoldToday: { productId: string; name: string; quantity: number }[];
}

export const TOP_PRODUCTS = 5;

export function salesTodayCents(orders: MetricsInput['ordersToday']): number {
  return orders.filter((o) => o.status !== 'CANCELLED').reduce((sum, o) => sum + o.totalCents, 0);
}

export function ordersToday(orders: MetricsInput['ordersToday']): number {
  return orders.filter((o) => o.status !== 'CANCELLED').length;
}

export function ticketSeconds(tickets: MetricsInput['bumpedTickets']): number[] {
  return tickets.map((t) => Math.max(0, (t.bumpedAt.getTime() - t.firedAt.getTime()) / 1000));
}

export function average(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  return Math.round(values.reduce((sum, v) => sum + v, 0) / values.length);
}

/** Nearest-rank percentile: the smallest value with at least p% of the values at or below it. */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return Math.round(sorted[rank - 1] as number);
}

export function newCustomers(customers: MetricsInput['customers'], dayStart: Date): number {
  const first = new Map<string, number>();
  for (const { customerId, firstOrderAt } of customers) {
    const at = firstOrderAt.getTime();
    first.set(customerId, Math.min(first.get(customerId) ?? at, at));
  }
  return [...first.values()].filter((at) => at >= dayStart.getTime()).length;
}

export function kitchenLoad(
  stations: MetricsInput['stations'],
  openItemStationIds: readonly string[],
): KitchenLoad[] {
  const counts = new Map<string, number>();
  for (const id of openItemStationIds) counts.set(id, (counts.get(id) ?? 0) + 1);
  return stations
    .map((s) => ({ stationId: s.id, stationName: s.name, openItems: counts.get(s.id) ?? 0 }))
    .sort((a, b) => b.openItems - a.openItems || a.stationName.localeCompare(b.stationName));
}

export function topProducts(items: MetricsInput['itemsSoldToday'], limit = TOP_PRODUCTS): TopProduct[] {
  const totals = new Map<string, TopProduct>();
  for (const { productId, name, quantity } of items) {
    const total = totals.get(productId) ?? { productId, name, quantity: 0 };
    total.quantity += quantity;
    totals.set(productId, total);
  }
  return [...totals.values()]
    .sort((a, b) => b.quantity - a.quantity || a.name.localeCompare(b.name))
    .slice(0, limit);
}

export function computeMetrics(
  input: MetricsInput,
  scope: { tenantId: string; storeId: string | null },
  now: Date,
): DashboardMetricsView {
  const seconds = ticketSeconds(input.bumpedTickets);
  return {
    storeId: scope.storeId,
    tenantId: scope.tenantId,
    salesTodayCents: salesTodayCents(input.ordersToday),
    ordersToday: ordersToday(input.ordersToday),
    openOrders: input.openOrders,
    averageTicketSeconds: average(seconds),
    p90TicketSeconds: percentile(seconds, 90),
    newCustomersToday: newCustomers(input.customers, input.dayStart),
    kitchenLoad: kitchenLoad(input.stations, input.openItemStationIds),
    topProducts: topProducts(input.itemsSoldToday),
    computedAt: now.toISOString(),
  };
}

/**
 * Several stores' inputs as one tenant-wide input. `customers` must already hold each customer's first
 * order across the whole tenant (the loader queries it that way), so merging keeps the earliest.
 */
export function mergeInputs(inputs: readonly MetricsInput[], fallbackDayStart: Date): MetricsInput {
  return {
    ordersToday: inputs.flatMap((i) => i.ordersToday),
    openOrders: inputs.reduce((sum, i) => sum + i.openOrders, 0),
    bumpedTickets: inputs.flatMap((i) => i.bumpedTickets),
    customers: inputs.flatMap((i) => i.customers),
    dayStart: new Date(Math.min(fallbackDayStart.getTime(), ...inputs.map((i) => i.dayStart.getTime()))),
    stations: inputs.flatMap((i) => i.stations),
    openItemStationIds: inputs.flatMap((i) => i.openItemStationIds),
    itemsSoldToday: inputs.flatMap((i) => i.itemsSoldToday),
  };
}

/** Local midnight of `now` in the IANA time zone, as an instant (DST-safe to the hour). */
export function startOfDay(now: Date, timeZone: string): Date {
  const offsetAt = (instant: Date) => {
    const parts = Object.fromEntries(
      new Intl.DateTimeFormat('en-US', {
        timeZone,
        hourCycle: 'h23',
        year: 'numeric',
        month: '2-digit',
        day: '2-digit',
        hour: '2-digit',
        minute: '2-digit',
        second: '2-digit',
      })
        .formatToParts(instant)
        .map((p) => [p.type, Number(p.value)]),
    ) as Record<string, number>;
    const wall = Date.UTC(
      parts.year!,
      parts.month! - 1,
      parts.day!,
      parts.hour!,
      parts.minute!,
      parts.second!,
    );
    return { offset: wall - Math.floor(instant.getTime() / 1000) * 1000, parts };
  };
  const { offset, parts } = offsetAt(now);
  const localMidnight = Date.UTC(parts.year!, parts.month! - 1, parts.day!);
  const guess = new Date(localMidnight - offset);
  return new Date(localMidnight - offsetAt(guess).offset);
}

/**
 * Runs `work(key)` at most once per window per key: at once on the first trigger (leading edge) and once
 * more when the window ends if anything triggered during it (trailing edge), so the last change is never
 * held back. Runs of one key never overlap.
 */
export function createKeyedThrottle(windowMs: number, work: (key: string) => Promise<void>) {
  const windows = new Map<string, { timer: ReturnType<typeof setTimeout>; pending: boolean }>();
  /** The last run of each key still in flight; the next run of the key waits for it. */
  const runs = new Map<string, Promise<void>>();
  let stopped = false;

  const run = (key: string) => {
    const previous = runs.get(key);
    // A leading run starts right away; a run queued behind one still in flight starts after it.
    const started = previous ? previous.then(() => (stopped ? undefined : work(key))) : startNow(key);
    const current = started.catch(() => {
      // work reports its own errors; a failed run must not stop the next one
    });
    runs.set(key, current);
    void current.then(() => {
      if (runs.get(key) === current) runs.delete(key);
    });
  };

  const startNow = (key: string): Promise<void> => {
    try {
      return work(key);
    } catch (error) {
      return Promise.reject(error);
    }
  };

  const openWindow = (key: string) => {
    const timer = setTimeout(() => closeWindow(key), windowMs);
    timer.unref?.();
    windows.set(key, { timer, pending: false });
  };

  const closeWindow = (key: string) => {
    const window = windows.get(key);
    windows.delete(key);
    if (!window?.pending || stopped) return;
    run(key);
    openWindow(key);
  };

  return {
    trigger(key: string) {
      if (stopped) return;
      const window = windows.get(key);
      if (window) {
        window.pending = true;
        return;
      }
      run(key);
      openWindow(key);
    },
    /** Resolves once no window is open and no run is in flight (tests). */
    async idle() {
      while (windows.size > 0 || runs.size > 0) {
        await Promise.all(runs.values());
        if (windows.size > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(windowMs, 20)));
      }
    },
    /** Drops pending trailing runs and waits for the ones in flight (shutdown). */
    async stop() {
      stopped = true;
      for (const window of windows.values()) clearTimeout(window.timer);
      windows.clear();
      await Promise.all(runs.values());
    },
  };
}
