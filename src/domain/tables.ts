import { randomUUID } from 'node:crypto';
import { requirePermission } from '../auth/permissions';
import { authorizationScope, canAccessStore, canWorkTables } from '../auth/policy';
import type { Principal } from '../auth/principal';
import type { RevocationStore } from '../auth/revocation';
import { signTableToken } from '../auth/tokens';
import { guestTokensRevokedBefore, guestUserId } from '../db/guests';
import type { Tx } from '../db/types';
import { badInput, forbidden, notFound } from '../errors';
import { topics } from '../events/topics';
import type { TableStatus } from '../generated/prisma/enums';
import type { ServiceDeps } from './services';
import { requireStore } from './stores';
import { openPlanStream, type Selector, type SubscriptionPlan, type Viewer } from './subscription-plans';
import {
  emitTableEvent,
  lockTable,
  type TableEventPayload,
  type TableView,
  toTableViews,
} from './table-records';
import { assertManualTransition, canSeat, isOccupied, tableConflict } from './table-status';

/**
 * The dining room of a store for the floor staff: seating parties, the statuses they set by hand, and a live
 * view of every table (its status follows the orders of the party at it: table-records.ts).
 */

/** A table event as a subscriber receives it. */
export interface TableStreamEvent extends TableEventPayload {
  cursor: string;
}

/** What a table subscription's events depend on: who watches which store. */
export interface TablesKey {
  viewer: Viewer;
  storeId: string;
}

export type TablesPlan = SubscriptionPlan<TablesKey, TableEventPayload, TableStreamEvent>;

const selectTableEvent: Selector<TablesKey, TableEventPayload, TableStreamEvent> =
  ({ viewer, storeId }) =>
  (event) => {
    const { table } = event.payload;
    if (event.tenantId !== viewer.tenantId || table.storeId !== storeId) return undefined;
    if (!canWorkTables(viewer, table.storeId)) return undefined;
    return { ...event.payload, cursor: event.cursor };
  };

function requireFloorStaff(principal: Principal): void {
  requirePermission(principal, 'table.work');
}

export interface TableToken {
  token: string;
  tableId: string;
  expiresAt: string;
}

export interface TableServiceOptions {
  /** Where seating a party ends the previous party's guest tokens, on every instance and transport. */
  revocations?: Pick<RevocationStore, 'revokeUser'>;
}

export class TableService {
  constructor(
    private readonly deps: ServiceDeps,
    private readonly options: TableServiceOptions = {},
  ) {}

  /** The store's tables by number, each with the open orders of the party at it. */
  async tables(principal: Principal, storeId: string): Promise<TableView[]> {
    requireFloorStaff(principal);
    const store = await requireStore(this.deps.db, principal, storeId);
    const rows = await this.deps.db.diningTable.findMany({
      where: { tenantId: principal.tenantId, storeId: store.id },
      orderBy: { number: 'asc' },
    });
    return toTableViews(this.deps.db, rows);
  }

  /**
   * Seats a party at a FREE or RESERVED table (CONFLICT otherwise): a new seating, whose orders the table now
   * follows and whose guests see them.
   */
  async seatTable(principal: Principal, tableId: string, partySize: number): Promise<TableView> {
    requireFloorStaff(principal);
    const seated = await this.deps.publisher.run(async (tx, emit) => {
      const table = await this.lockOwnTable(tx, principal, tableId);
      if (!Number.isInteger(partySize) || partySize < 1 || partySize > table.seats) {
        throw badInput(`partySize must be from 1 to the table's ${table.seats} seats`, {
          field: 'partySize',
        });
      }
      if (!canSeat(table.status)) throw tableConflict(table, 'it cannot be seated');
      const at = new Date();
      const row = await tx.diningTable.update({
        where: { id: table.id },
        data: { status: 'SEATED', partySize, seatedAt: at, seatingId: randomUUID() },
      });
      const [view] = await toTableViews(tx, [row]);
      emitTableEvent(emit, principal.tenantId, {
        kind: 'STATUS_CHANGED',
        table: view as TableView,
        previousStatus: table.status,
        at,
      });
      return { view: view as TableView, at };
    });
    await this.endEarlierGuests(principal.tenantId, tableId, seated.at);
    return seated.view;
  }

  /**
   * A guest token for the party at the table (a QR code on it): orders at this table and follows its orders
   * until the next party is seated or it expires. Only for a table with a party (CONFLICT otherwise).
   */
  async issueTableToken(principal: Principal, tableId: string): Promise<TableToken> {
    requireFloorStaff(principal);
    const table = await this.deps.db.diningTable.findFirst({
      where: { id: tableId, tenantId: principal.tenantId },
    });
    if (!table) throw notFound('Table', tableId);
    if (!canWorkTables(principal, table.storeId)) throw forbidden(`No access to table ${tableId}`);
    if (!isOccupied(table.status)) throw tableConflict(table, 'seat a party before issuing its token');
    const { secret, issuer, audience } = this.deps.config.jwt;
    if (!secret) {
      throw forbidden(
        'This server signs no tokens (JWKS mode): issue guest tokens from your identity provider',
      );
    }
    const { token, expiresAt } = await signTableToken(table, { secret, issuer, audience });
    return { token, tableId: table.id, expiresAt: expiresAt.toISOString() };
  }

  /**
   * Guest tokens issued before this seating's second belong to earlier parties: refused from now on, and their
   * live sessions closed on every instance (the table row stays the source of truth if this fails).
   */
  private async endEarlierGuests(tenantId: string, tableId: string, seatedAt: Date): Promise<void> {
    const before = guestTokensRevokedBefore(seatedAt) as number;
    try {
      await this.options.revocations?.revokeUser(tenantId, guestUserId(tableId), before);
    } catch (error) {
      this.deps.logger.warn({ err: error, tableId }, 'could not broadcast the end of earlier guest tokens');
    }
  }

  /**
   * What staff set by hand: FREE⇄RESERVED, SEATED→FREE (left without ordering), ORDERED|SERVED→PAYING (the bill),
   * NEEDS_CLEANING→FREE. Anything else is a CONFLICT naming the current status; the current status is a no-op.
   */
  async setTableStatus(principal: Principal, tableId: string, status: TableStatus): Promise<TableView> {
    requireFloorStaff(principal);
    return this.deps.publisher.run(async (tx, emit) => {
      const table = await this.lockOwnTable(tx, principal, tableId);
      if (table.status === status) return (await toTableViews(tx, [table]))[0] as TableView;
      assertManualTransition(table, status);
      // partySize, seatedAt and seatingId stay: they describe the last party (its guests, their tokens' end).
      const row = await tx.diningTable.update({ where: { id: table.id }, data: { status } });
      const [view] = await toTableViews(tx, [row]);
      emitTableEvent(emit, principal.tenantId, {
        kind: 'STATUS_CHANGED',
        table: view as TableView,
        previousStatus: table.status,
        at: new Date(),
      });
      return view as TableView;
    });
  }

  /** The store's table events from `after` on, for floor staff; every event is checked again before delivery. */
  async tablesPlan(principal: Principal, storeId: string, after?: string | null): Promise<TablesPlan> {
    requireFloorStaff(principal);
    const store = await requireStore(this.deps.db, principal, storeId, { cached: true });
    const topic = topics.storeTables(principal.tenantId, store.id);
    return {
      streamKey: topic,
      topics: [topic],
      after: after ?? null,
      key: { viewer: authorizationScope(principal), storeId: store.id },
      select: selectTableEvent,
    };
  }

  /** tablesPlan as a private stream. */
  async subscribeTables(
    principal: Principal,
    storeId: string,
    after?: string | null,
  ): Promise<AsyncIterableIterator<TableStreamEvent>> {
    return openPlanStream(this.deps.streams, await this.tablesPlan(principal, storeId, after));
  }

  /** The table locked, or NOT_FOUND outside the caller's tenant and FORBIDDEN outside its stores. */
  private async lockOwnTable(tx: Tx, principal: Principal, tableId: string) {
    const table = await lockTable(tx, { tenantId: principal.tenantId, id: tableId });
    if (!table) throw notFound('Table', tableId);
    if (!canAccessStore(principal, table.storeId)) throw forbidden(`No access to table ${tableId}`);
    return table;
  }
}
