import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config';
import { createDb } from '../../src/db/client';
import { DEFAULT_MIGRATIONS_DIR, migrate, readMigrations } from '../../src/db/migrate';
import { seed } from '../../src/db/seed';
import { InventoryService } from '../../src/domain/inventory';
import { KdsService } from '../../src/domain/kds';
import { OrderService } from '../../src/domain/orders';
import type { ServiceDeps } from '../../src/domain/services';
import { createPubSub } from '../../src/events/create-pubsub';
import { createEventLog } from '../../src/events/event-log';
import { createEventStreams } from '../../src/events/event-streams';
import { createOutboxPublisher, createUnitOfWork } from '../../src/events/outbox';
import { createPublisher } from '../../src/events/publisher';
import { createTopicFeeds } from '../../src/events/topic-feeds';
import { Prisma } from '../../src/generated/prisma/client';
import { createLogger } from '../../src/observability/logger';
import { as, downtownOrder } from '../support/domain-fixture';

describe('embedded PGlite mode', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'expediter-pglite-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('migrates, seeds and serves Prisma queries, and keeps the data when reopened', async () => {
    const first = await createDb({ dataDir });
    try {
      expect(first.mode).toBe('pglite');
      const [a, b] = await Promise.all([migrate(first), migrate(first)]);
      // Two concurrent runs apply every migration exactly once between them.
      expect([...(a?.applied ?? []), ...(b?.applied ?? [])].sort()).toEqual(
        readMigrations(DEFAULT_MIGRATIONS_DIR).map((m) => m.name),
      );
      await seed(first.db);
      const stores = await first.db.store.findMany({ where: { tenantId: 'acme' }, orderBy: { id: 'asc' } });
      expect(stores.map((s) => s.id)).toEqual(['acme-downtown', 'acme-uptown']);
      await first.db.inventoryItem.update({
        where: { id: 'acme-uptown-burger-stock' },
        data: { quantity: 3 },
      });
    } finally {
      await first.close();
    }

    const reopened = await createDb({ dataDir });
    try {
      expect(await migrate(reopened)).toEqual({ applied: [] });
      expect(await reopened.db.store.count()).toBe(3);
      const burger = await reopened.db.inventoryItem.findUniqueOrThrow({
        where: { id: 'acme-uptown-burger-stock' },
      });
      expect(burger.quantity).toBe(3);

      // The one-statement unit of work (the hot mutations' path) through the adapter: CTEs, outbox, patched payload.
      const logger = createLogger('silent');
      const pubsub = await createPubSub({ logger });
      const uow = createUnitOfWork({
        db: reopened.db,
        publisher: createOutboxPublisher(pubsub, { db: reopened.db, logger }),
        logger,
      });
      const topic = 't:acme:store:acme-uptown:orders';
      const outcome = await uow.runStatement({
        ctes: Prisma.sql`"go" AS MATERIALIZED (SELECT true AS "ok", to_jsonb(7) AS "patch"),
          "touched" AS (UPDATE "Store" SET "nextOrderNumber" = "nextOrderNumber" + 1
            WHERE "id" = 'acme-uptown' AND (SELECT "ok" FROM "go"))`,
        events: [
          {
            tenantId: 'acme',
            topic,
            kind: 'order.CREATED',
            payload: { order: { number: 0 } },
            patch: ['order', 'number'],
          },
        ],
      });
      expect(outcome.ok).toBe(true);
      expect(outcome.envelopes.map((e) => [e.topic, e.payload])).toEqual([[topic, { order: { number: 7 } }]]);
      const stored = await reopened.db.event.findMany({ where: { topic } });
      expect(stored.map((e) => [e.id.toString(), e.payload])).toEqual([
        [outcome.envelopes[0]?.id, { order: { number: 7 } }],
      ]);

      // The hot mutations' own paths (a read, then one statement) through the adapter: every one writes in one go.
      const log = createEventLog(reopened.db);
      const feeds = createTopicFeeds({ pubsub, log, logger, maxFillEvents: 100 });
      const deps: ServiceDeps = {
        db: reopened.db,
        publisher: createPublisher(uow, pubsub),
        streams: createEventStreams({ feeds, log, logger, replayMaxEvents: 100 }),
        config: loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent' }),
        logger,
      };
      const oks: boolean[] = [];
      const runStatement = deps.publisher.runStatement;
      deps.publisher.runStatement = async (work) => {
        const outcome = await runStatement(work);
        oks.push(outcome.ok);
        return outcome;
      };
      const [orders, kds, inventory] = [
        new OrderService(deps),
        new KdsService(deps),
        new InventoryService(deps),
      ];
      const admin = as('acme-admin');
      const first = await orders.createOrder(admin, downtownOrder()); // the transaction, which fills the cache
      const order = await orders.createOrder(admin, downtownOrder());
      await orders.updateOrderStatus(admin, order.id, 'ACCEPTED');
      const [item] = order.items;
      await kds.markItemReady(admin, item?.id as string);
      await kds.bumpTicket(admin, item?.ticketId as string);
      await orders.recordPayment(admin, order.id, 100);
      await inventory.adjustInventory(admin, 'acme-downtown-fries-stock', -1, 'count');
      await orders.updateOrderStatus(admin, first.id, 'ACCEPTED');
      await orders.updateOrderStatus(admin, first.id, 'IN_PROGRESS');
      await orders.updateOrderStatus(admin, first.id, 'READY');
      await orders.updateOrderStatus(admin, first.id, 'COMPLETED');
      expect(oks).toEqual(Array.from({ length: 10 }, () => true));
      expect((await reopened.db.order.findUniqueOrThrow({ where: { id: first.id } })).status).toBe(
        'COMPLETED',
      );
      expect(
        await reopened.db.kdsTicket.count({ where: { orderId: first.id, status: { not: 'BUMPED' } } }),
      ).toBe(0);
      await pubsub.close();
    } finally {
      await reopened.close();
    }
  }, 180_000); // WebAssembly PostgreSQL, migrated and seeded twice: minutes on a busy machine
});
