import { isoSql } from './rows-as-read';

/** The views of order-records.ts as SQL (JSON), for the reads of the hot paths (rows-as-read.ts). */

/** SQL text, for a read, of the view of order `o` as toOrderView makes it (JSON). */
export const orderViewSql = (o: string) => `json_build_object('id', ${o}."id", 'number', ${o}."number",
    'storeId', ${o}."storeId", 'status', ${o}."status", 'channel', ${o}."channel", 'tableNumber', ${o}."tableNumber",
    'tableId', ${o}."tableId", 'seatingId', ${o}."seatingId", 'customerId', ${o}."customerId",
    'priority', ${o}."priority",
    'items', COALESCE((
      SELECT json_agg(json_build_object('id', i."id", 'productId', i."productId", 'ticketId', i."ticketId",
        'name', i."name", 'quantity', i."quantity", 'unitPriceCents', i."unitPriceCents", 'notes', i."notes",
        'status', i."status") ORDER BY i."id")
      FROM "OrderItem" i WHERE i."orderId" = ${o}."id"), '[]'::json),
    'totalCents', ${o}."totalCents", 'paidCents', ${o}."paidCents", 'currency', ${o}."currency",
    'cancelReason', ${o}."cancelReason", 'createdAt', ${isoSql(`${o}."createdAt"`)},
    'updatedAt', ${isoSql(`${o}."updatedAt"`)}, 'readyAt', ${isoSql(`${o}."readyAt"`)},
    'completedAt', ${isoSql(`${o}."completedAt"`)}, 'cancelledAt', ${isoSql(`${o}."cancelledAt"`)})`;

/** SQL text, for a read, of the view of ticket `k` (its order `o`, its station `s`) as toTicketView makes it. */
export const ticketViewSql = `json_build_object('id', k."id", 'orderId', k."orderId", 'orderNumber', o."number",
    'storeId', k."storeId", 'stationId', k."stationId", 'stationKind', s."kind", 'status', k."status",
    'priority', k."priority", 'channel', o."channel", 'tableNumber', o."tableNumber", 'customerId', o."customerId",
    'items', COALESCE((
      SELECT json_agg(json_build_object('id', i."id", 'productId', i."productId", 'name', i."name",
        'quantity', i."quantity", 'notes', i."notes", 'status', i."status") ORDER BY i."id")
      FROM "OrderItem" i WHERE i."ticketId" = k."id"), '[]'::json),
    'firedAt', ${isoSql('k."firedAt"')}, 'startedAt', ${isoSql('k."startedAt"')},
    'readyAt', ${isoSql('k."readyAt"')}, 'bumpedAt', ${isoSql('k."bumpedAt"')},
    'recalledAt', ${isoSql('k."recalledAt"')}, 'lateAt', ${isoSql('k."lateAt"')},
    'targetSeconds', s."targetSeconds")`;
