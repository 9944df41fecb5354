import { badInput } from '../errors';
import type { OrderStatus } from '../generated/prisma/enums';

/** Which statuses an order may move to from each status. COMPLETED and CANCELLED are terminal. */
export const ORDER_TRANSITIONS: Readonly<Record<OrderStatus, readonly OrderStatus[]>> = {
  PENDING: ['ACCEPTED', 'CANCELLED'],
  ACCEPTED: ['IN_PROGRESS', 'CANCELLED'],
  IN_PROGRESS: ['READY', 'CANCELLED'],
  READY: ['COMPLETED', 'IN_PROGRESS'],
  COMPLETED: [],
  CANCELLED: [],
};

export function canTransition(from: OrderStatus, to: OrderStatus): boolean {
  return ORDER_TRANSITIONS[from].includes(to);
}

export function isTerminal(status: OrderStatus): boolean {
  return ORDER_TRANSITIONS[status].length === 0;
}

/** Throws BAD_USER_INPUT naming both statuses when the move is not allowed. */
export function assertTransition(from: OrderStatus, to: OrderStatus): void {
  if (!canTransition(from, to)) {
    throw badInput(`An order cannot move from ${from} to ${to}`, { from, to });
  }
}

/**
 * The kitchen moves orders implicitly: starting or finishing an item puts a not-yet-started order
 * IN_PROGRESS, bumping the last ticket makes it READY. Those moves skip ACCEPTED, so they have their own rule.
 */
export function kitchenStartMovesOrder(status: OrderStatus): boolean {
  return status === 'PENDING' || status === 'ACCEPTED';
}

export function kitchenBumpMovesOrder(status: OrderStatus): boolean {
  return status === 'PENDING' || status === 'ACCEPTED' || status === 'IN_PROGRESS';
}
