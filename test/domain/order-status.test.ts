import { describe, expect, it } from 'vitest';
import { assertTransition, canTransition, isTerminal } from '../../src/domain/order-status';
import { DomainError } from '../../src/errors';
import type { OrderStatus } from '../../src/generated/prisma/enums';

const ALL: OrderStatus[] = ['PENDING', 'ACCEPTED', 'IN_PROGRESS', 'READY', 'COMPLETED', 'CANCELLED'];

const LEGAL: Record<OrderStatus, OrderStatus[]> = {
  PENDING: ['ACCEPTED', 'CANCELLED'],
  ACCEPTED: ['IN_PROGRESS', 'CANCELLED'],
  IN_PROGRESS: ['READY', 'CANCELLED'],
  READY: ['COMPLETED', 'IN_PROGRESS'],
  COMPLETED: [],
  CANCELLED: [],
};

describe('order status transitions', () => {
  for (const from of ALL) {
    for (const to of ALL) {
      const legal = LEGAL[from].includes(to);
      it(`${from} → ${to} is ${legal ? 'allowed' : 'refused'}`, () => {
        expect(canTransition(from, to)).toBe(legal);
      });
    }
  }

  it('treats COMPLETED and CANCELLED as terminal, and nothing else', () => {
    expect(ALL.filter(isTerminal)).toEqual(['COMPLETED', 'CANCELLED']);
  });

  it('refuses an illegal move with BAD_USER_INPUT naming both statuses', () => {
    let error: unknown;
    try {
      assertTransition('COMPLETED', 'IN_PROGRESS');
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(DomainError);
    expect(error).toMatchObject({
      code: 'BAD_USER_INPUT',
      message: 'An order cannot move from COMPLETED to IN_PROGRESS',
      details: { from: 'COMPLETED', to: 'IN_PROGRESS' },
    });
  });

  it('lets a legal move pass', () => {
    expect(() => assertTransition('READY', 'COMPLETED')).not.toThrow();
  });
});
