import { describe, expect, it } from 'vitest';
import {
  assertManualTransition,
  MANUAL_TRANSITIONS,
  statusAfterOrderChange,
  TABLE_STATUSES,
} from '../../src/domain/table-status';
import type { OrderStatus, TableStatus } from '../../src/generated/prisma/enums';

const order = (status: OrderStatus, totalCents = 1000, paidCents = 0) => ({ status, totalCents, paidCents });

describe('a table follows the orders of the party at it', () => {
  it('is ORDERED by a new order, from any status with a party', () => {
    for (const current of ['SEATED', 'ORDERED', 'SERVED', 'PAYING'] as const) {
      expect(statusAfterOrderChange(current, [order('PENDING')], true)).toBe('ORDERED');
    }
  });

  it('is SERVED once every order is READY or later, cancelled ones aside', () => {
    expect(statusAfterOrderChange('ORDERED', [order('READY'), order('IN_PROGRESS')], false)).toBe('ORDERED');
    expect(statusAfterOrderChange('ORDERED', [order('READY'), order('COMPLETED')], false)).toBe('SERVED');
    expect(statusAfterOrderChange('ORDERED', [order('READY'), order('CANCELLED')], false)).toBe('SERVED');
    expect(statusAfterOrderChange('SERVED', [order('READY'), order('IN_PROGRESS')], false)).toBe('ORDERED');
  });

  it('needs cleaning once served and paid in full; paid but not served stays ORDERED', () => {
    expect(statusAfterOrderChange('SERVED', [order('READY', 1000, 1000)], false)).toBe('NEEDS_CLEANING');
    expect(statusAfterOrderChange('PAYING', [order('COMPLETED', 1000, 1000)], false)).toBe('NEEDS_CLEANING');
    expect(statusAfterOrderChange('SERVED', [order('READY', 1000, 999)], false)).toBe('SERVED');
    expect(statusAfterOrderChange('ORDERED', [order('PENDING', 1000, 1000)], false)).toBe('ORDERED');
    expect(statusAfterOrderChange('ORDERED', [order('READY', 1000, 1000)], false)).toBe('NEEDS_CLEANING');
  });

  it('keeps a bill asked for until paid, and goes back to SEATED when every order is cancelled', () => {
    expect(statusAfterOrderChange('PAYING', [order('READY', 1000, 500)], false)).toBe('PAYING');
    expect(statusAfterOrderChange('PAYING', [order('IN_PROGRESS')], false)).toBe('PAYING');
    expect(statusAfterOrderChange('ORDERED', [order('CANCELLED')], false)).toBe('SEATED');
  });

  it('does not move a table without a party', () => {
    for (const current of ['FREE', 'RESERVED', 'NEEDS_CLEANING'] as const) {
      expect(statusAfterOrderChange(current, [order('READY', 1000, 1000)], false)).toBe(current);
      expect(statusAfterOrderChange(current, [order('PENDING')], true)).toBe(current);
    }
  });
});

describe('what staff set by hand', () => {
  const table = (status: TableStatus) => ({ id: 'acme-downtown-7', number: 7, status });

  it('allows exactly the listed moves', () => {
    const allowed: string[] = [];
    for (const from of TABLE_STATUSES) {
      for (const to of TABLE_STATUSES) {
        try {
          assertManualTransition(table(from), to);
          allowed.push(`${from}->${to}`);
        } catch {}
      }
    }
    expect(allowed.sort()).toEqual(
      [
        'FREE->RESERVED',
        'RESERVED->FREE',
        'SEATED->FREE',
        'ORDERED->PAYING',
        'SERVED->PAYING',
        'NEEDS_CLEANING->FREE',
      ].sort(),
    );
    expect(Object.keys(MANUAL_TRANSITIONS).sort()).toEqual([...TABLE_STATUSES].sort());
  });

  it('refuses the rest with CONFLICT naming the current status', () => {
    expect(() => assertManualTransition(table('ORDERED'), 'FREE')).toThrow(
      expect.objectContaining({
        code: 'CONFLICT',
        message: 'Table 7 is ORDERED: it cannot be set FREE',
        details: { tableId: 'acme-downtown-7', status: 'ORDERED' },
      }),
    );
    expect(() => assertManualTransition(table('FREE'), 'SEATED')).toThrow(/seat a party with seatTable/);
    expect(() => assertManualTransition(table('SEATED'), 'SERVED')).toThrow(/SERVED follows its orders/);
  });
});
