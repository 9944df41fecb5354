import type { Principal } from '../../src/auth/principal';
import { loadConfig } from '../../src/config';
import { findDemoUser } from '../../src/db/demo-data';
import { KdsService, type KdsServiceOptions } from '../../src/domain/kds';
import { type CreateOrderInput, OrderService, type OrderServiceOptions } from '../../src/domain/orders';
import type { ServiceDeps } from '../../src/domain/services';
import { StoreService } from '../../src/domain/stores';
import { createEventStreams } from '../../src/events/event-streams';
import { createOutboxPublisher, createUnitOfWork } from '../../src/events/outbox';
import { createPubSub } from '../../src/events/pubsub';
import { createLogger } from '../../src/observability/logger';
import { createTestDatabase, type TestDatabase } from '../support/db';

export interface StoredEvent {
  id: bigint;
  topic: string;
  kind: string;
  // biome-ignore lint/suspicious/noExplicitAny: payload shapes are asserted field by field in tests
  payload: any;
}

/**
 * Orders, KDS and stores services over a fresh seeded PostgreSQL database, with the real unit of work
 * (outbox), in-process pub/sub and event streams: what the server wires, minus GraphQL.
 */
export interface KitchenFixture {
  database: TestDatabase;
  deps: ServiceDeps;
  stores: StoreService;
  orders: OrderService;
  kds: KdsService;
  /** Event rows written after `afterId` (all by default), in id order. */
  events(afterId?: bigint): Promise<StoredEvent[]>;
  lastEventId(): Promise<bigint>;
  close(): Promise<void>;
}

export async function createKitchenFixture(
  options: { orders?: OrderServiceOptions; kds?: KdsServiceOptions } = {},
): Promise<KitchenFixture> {
  const database = await createTestDatabase({ seed: true });
  const db = database.handle.db;
  const logger = createLogger('silent');
  const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent' });
  const pubsub = await createPubSub({ logger });
  const uow = createUnitOfWork({ db, publisher: createOutboxPublisher(pubsub), logger });
  const streams = createEventStreams({ db, pubsub, logger, replayMaxEvents: config.events.replayMaxEvents });
  const deps: ServiceDeps = { db, uow, streams, pubsub, config, logger };
  const kds = new KdsService(deps, options.kds);
  return {
    database,
    deps,
    stores: new StoreService(deps),
    orders: new OrderService(deps, options.orders),
    kds,
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
      await pubsub.close();
      await database.drop();
    },
  };
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
