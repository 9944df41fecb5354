import { vi } from 'vitest';
import type { Principal } from '../../src/auth/principal';
import { createMemoryRevocationStore, type RevocationStore } from '../../src/auth/revocation';
import { loadConfig } from '../../src/config';
import { findDemoUser } from '../../src/db/demo-data';
import { type DashboardOptions, DashboardService } from '../../src/domain/dashboard';
import { InventoryService } from '../../src/domain/inventory';
import { KdsService, type KdsServiceOptions } from '../../src/domain/kds';
import { MenuService } from '../../src/domain/menu';
import { NotificationService } from '../../src/domain/notifications';
import { type CreateOrderInput, OrderService, type OrderServiceOptions } from '../../src/domain/orders';
import type { ServiceDeps } from '../../src/domain/services';
import { StoreService } from '../../src/domain/stores';
import { TableService } from '../../src/domain/tables';
import { createPubSub } from '../../src/events/create-pubsub';
import { createEventLog } from '../../src/events/event-log';
import { createEventStreams } from '../../src/events/event-streams';
import type { StatementOutcome } from '../../src/events/one-statement';
import { createOutboxPublisher, createUnitOfWork } from '../../src/events/outbox';
import { createPublisher } from '../../src/events/publisher';
import type { PubSub } from '../../src/events/pubsub';
import { createTopicFeeds } from '../../src/events/topic-feeds';
import type { CommitListener } from '../../src/events/unit-of-work';
import { createLogger } from '../../src/observability/logger';
import { createTestDatabase, type TestDatabase, withAdmin } from './db';
import { started } from './started';

export interface StoredEvent {
  id: bigint;
  topic: string;
  kind: string;
  // biome-ignore lint/suspicious/noExplicitAny: payload shapes are asserted field by field in tests
  payload: any;
}

/**
 * Every domain service over a fresh seeded PostgreSQL database, with the real unit of work (outbox),
 * in-process pub/sub and event streams: what the server wires, minus GraphQL.
 */
export interface DomainFixture {
  database: TestDatabase;
  deps: ServiceDeps;
  /** The pub/sub under the publisher and the feeds (leak checks count its handlers). */
  pubsub: PubSub;
  stores: StoreService;
  orders: OrderService;
  menu: MenuService;
  tables: TableService;
  /** In memory: what seating a table revokes (guest tokens of earlier parties). */
  revocations: RevocationStore;
  kds: KdsService;
  inventory: InventoryService;
  notifications: NotificationService;
  dashboard: DashboardService;
  /** Registers another commit listener (e.g. a second DashboardService). */
  listen(listener: CommitListener): void;
  /** Event rows written after `afterId` (all by default), in id order. */
  events(afterId?: bigint): Promise<StoredEvent[]>;
  lastEventId(): Promise<bigint>;
  close(): Promise<void>;
}

export interface DomainFixtureOptions {
  orders?: OrderServiceOptions;
  kds?: KdsServiceOptions;
  dashboard?: Partial<DashboardOptions>;
}

/** A test file's domain fixture, created before its tests and closed after them. */
export function useDomainFixture(options: DomainFixtureOptions = {}): DomainFixture {
  return started(
    () => createDomainFixture(options),
    (fixture) => fixture.close(),
  );
}

export async function createDomainFixture(options: DomainFixtureOptions = {}): Promise<DomainFixture> {
  const database = await createTestDatabase({ seed: true });
  const db = database.handle.db;
  const logger = createLogger('silent');
  // acme operates the platform in the domain suites: its admins may send SYSTEM notifications.
  const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', PLATFORM_TENANTS: 'acme' });
  const pubsub = await createPubSub({ logger });
  const listeners: CommitListener[] = [];
  const outbox = createOutboxPublisher(pubsub, { db, logger });
  const uow = createUnitOfWork({
    db,
    publisher: outbox,
    logger,
    onCommit: [
      (events) => {
        for (const listener of listeners) listener(events);
      },
    ],
  });
  const log = createEventLog(db);
  const replayMaxEvents = config.events.replayMaxEvents;
  const feeds = createTopicFeeds({ pubsub, log, logger, maxFillEvents: replayMaxEvents });
  const streams = createEventStreams({ feeds, log, logger, replayMaxEvents });
  const deps: ServiceDeps = { db, publisher: createPublisher(uow, pubsub), streams, config, logger };
  const revocations = createMemoryRevocationStore();
  const kds = new KdsService(deps, options.kds);
  const dashboard = new DashboardService(deps, options.dashboard);
  listeners.push(dashboard.onCommit);
  return {
    database,
    deps,
    pubsub,
    stores: new StoreService(deps),
    orders: new OrderService(deps, options.orders),
    menu: new MenuService(deps),
    tables: new TableService(deps, { revocations }),
    revocations,
    kds,
    inventory: new InventoryService(deps),
    notifications: new NotificationService(deps),
    dashboard,
    listen: (listener) => {
      listeners.push(listener);
    },
    async events(afterId = 0n) {
      const rows = await db.event.findMany({ where: { id: { gt: afterId } }, orderBy: { id: 'asc' } });
      return rows.map((row) => ({ id: row.id, topic: row.topic, kind: row.kind, payload: row.payload }));
    },
    async lastEventId() {
      const last = await db.event.findFirst({ orderBy: { id: 'desc' }, select: { id: true } });
      return last?.id ?? 0n;
    },
    async close() {
      await kds.stop();
      await dashboard.stop();
      await outbox.close();
      await pubsub.close();
      await database.handle.close();
      await connectionsClosed(database.name);
      await database.drop();
    },
  };
}

/**
 * pg's pool.end() resolves before its sockets are closed; dropping the database WITH (FORCE) then kills
 * those backends, and the closing clients report it as an unhandled error. Wait for them to go first.
 */
async function connectionsClosed(databaseName: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const { rows } = await withAdmin((admin) =>
      admin.query('SELECT count(*)::int AS open FROM pg_stat_activity WHERE datname = $1', [databaseName]),
    );
    if (rows[0]?.open === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The principal a verified token of a demo user yields, with optional overrides. */
export function as(userId: string, overrides: Partial<Principal> = {}): Principal {
  const user = findDemoUser(userId);
  if (!user) throw new Error(`No demo user ${userId}`);
  return {
    userId: user.id,
    tenantId: user.tenantId,
    roles: user.roles,
    stores: user.storeIds.includes('*') ? '*' : user.storeIds,
    stations: user.stationIds,
    ...overrides,
  };
}

/** A downtown POS order: burgers and fries go to the grill, lemonade to the bar. */
export function downtownOrder(overrides: Partial<CreateOrderInput> = {}): CreateOrderInput {
  return {
    storeId: 'acme-downtown',
    channel: 'POS',
    items: [
      { productId: 'acme-downtown-burger', quantity: 2, notes: 'no onions' },
      { productId: 'acme-downtown-fries', quantity: 1 },
      { productId: 'acme-downtown-lemonade', quantity: 3 },
    ],
    ...overrides,
  };
}

/** Resolves with the next value, or rejects after timeoutMs. */
export async function nextWithin<T>(iterator: AsyncIterator<T>, timeoutMs = 3000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`nothing within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    const result = await Promise.race([iterator.next(), timeout]);
    if (result.done) throw new Error('stream ended');
    return result.value;
  } finally {
    clearTimeout(timer);
  }
}

/** Collects what the iterator yields within ms (for proving that something was NOT delivered). */
export async function drainFor<T>(iterator: AsyncIterator<T>, ms: number): Promise<T[]> {
  const values: T[] = [];
  const deadline = Date.now() + ms;
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) return values;
    try {
      values.push(await nextWithin(iterator, left));
    } catch {
      return values;
    }
  }
}

/**
 * Hands every one-statement write the fixture's publisher runs to `record` (a fast path's statement and whether it
 * wrote), until vi.restoreAllMocks().
 */
export function onStatement(fx: DomainFixture, record: (outcome: StatementOutcome) => void): void {
  const runStatement = fx.deps.publisher.runStatement;
  vi.spyOn(fx.deps.publisher, 'runStatement').mockImplementation(async (work) => {
    const outcome = await runStatement(work);
    record(outcome);
    return outcome;
  });
}
