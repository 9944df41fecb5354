/** What one instance is doing right now, in the shape serverStats reports (Prometheus has the rest). */
export interface ActivitySnapshot {
  connections: number;
  subscriptions: number;
  subscriptionsByField: Record<string, number>;
  /** Keyed by tenant so serverStats can show a tenant's admin its own stores only. */
  subscriptionsByStore: StoreSubscriptions[];
  /** Monotonic totals since start; throughput is their rate of change. */
  totals: ActivityTotals;
}

export interface StoreSubscriptions {
  tenantId: string;
  storeId: string;
  count: number;
}

export interface ActivityTotals {
  eventsPublished: number;
  eventsDelivered: number;
  operations: number;
}

export class Activity {
  private connections = 0;
  private readonly byField = new Map<string, number>();
  private readonly byStore = new Map<string, StoreSubscriptions>();
  private readonly totals: ActivityTotals = { eventsPublished: 0, eventsDelivered: 0, operations: 0 };

  connectionOpened(): void {
    this.connections += 1;
  }

  connectionClosed(): void {
    this.connections = Math.max(0, this.connections - 1);
  }

  /** Counts a subscription until the returned function is called (idempotent). */
  subscriptionStarted(field: string, tenantId: string | undefined, storeId: string | undefined): () => void {
    adjust(this.byField, field, 1);
    const storeKey = tenantId && storeId ? `${tenantId}\u0000${storeId}` : undefined;
    if (storeKey && tenantId && storeId) {
      const entry = this.byStore.get(storeKey) ?? { tenantId, storeId, count: 0 };
      entry.count += 1;
      this.byStore.set(storeKey, entry);
    }
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      adjust(this.byField, field, -1);
      const entry = storeKey ? this.byStore.get(storeKey) : undefined;
      if (storeKey && entry) {
        entry.count -= 1;
        if (entry.count <= 0) this.byStore.delete(storeKey);
      }
    };
  }

  eventPublished(): void {
    this.totals.eventsPublished += 1;
  }

  eventDelivered(): void {
    this.totals.eventsDelivered += 1;
  }

  operationExecuted(): void {
    this.totals.operations += 1;
  }

  snapshot(): ActivitySnapshot {
    let subscriptions = 0;
    for (const count of this.byField.values()) subscriptions += count;
    return {
      connections: this.connections,
      subscriptions,
      subscriptionsByField: Object.fromEntries(this.byField),
      subscriptionsByStore: [...this.byStore.values()].map((entry) => ({ ...entry })),
      totals: { ...this.totals },
    };
  }
}

function adjust(map: Map<string, number>, key: string, delta: number) {
  const next = (map.get(key) ?? 0) + delta;
  if (next > 0) map.set(key, next);
  else map.delete(key);
}
