import type { AlertKind, Severity } from '../generated/prisma/enums';

/**
 * Low-stock rules as pure functions over stock levels, so they can be read and tested without a database.
 *
 * - LOW_STOCK holds while quantity <= threshold; OUT_OF_STOCK holds while quantity is 0.
 * - An alert is raised when its condition holds and no unresolved alert of that kind exists for the item
 *   (the database enforces one through InventoryAlert.openKey), so a burst of sales under the threshold
 *   raises it once, and an acknowledged alert stays quiet.
 * - Every unresolved alert of the item resolves when quantity recovers above the threshold (RESTOCKED);
 *   only then can the item alert again ("re-arms after recovery").
 *
 * Severity says how far under the threshold the item is:
 * - OUT_OF_STOCK: URGENT.
 * - LOW_STOCK with at most 25% of the threshold left: HIGH.
 * - any other LOW_STOCK: NORMAL.
 * Events that carry no alert of their own (ADJUSTMENT, TRANSFER_COMPLETE) are LOW; RESTOCKED and
 * ACKNOWLEDGED carry the severity of the alert(s) they close, so whoever watched the alert sees its end.
 */

export interface StockLevel {
  quantity: number;
  threshold: number;
}

export interface AlertToRaise {
  kind: AlertKind;
  severity: Severity;
}

export interface StockTransition {
  /** Alerts whose condition holds now and that are not already unresolved. */
  raise: AlertToRaise[];
  /** True when the item recovered above its threshold while it had unresolved alerts. */
  restocked: boolean;
}

export const SEVERITY_ORDER: readonly Severity[] = ['LOW', 'NORMAL', 'HIGH', 'URGENT'];

export function severityRank(severity: Severity): number {
  return SEVERITY_ORDER.indexOf(severity);
}

export function atLeast(severity: Severity, minimum: Severity | null | undefined): boolean {
  return minimum == null || severityRank(severity) >= severityRank(minimum);
}

export function highestSeverity(severities: readonly Severity[], fallback: Severity = 'LOW'): Severity {
  return severities.reduce((highest, s) => (severityRank(s) > severityRank(highest) ? s : highest), fallback);
}

export function alertSeverity(kind: AlertKind, level: StockLevel): Severity {
  if (kind === 'OUT_OF_STOCK' || level.quantity <= 0) return 'URGENT';
  return level.quantity * 4 <= level.threshold ? 'HIGH' : 'NORMAL';
}

export function alertConditions(level: StockLevel): AlertKind[] {
  const kinds: AlertKind[] = [];
  if (level.quantity <= level.threshold) kinds.push('LOW_STOCK');
  if (level.quantity <= 0) kinds.push('OUT_OF_STOCK');
  return kinds;
}

export function isRecovered(level: StockLevel): boolean {
  return level.quantity > level.threshold;
}

/** What a change of stock to `level` means, given the kinds of the item's unresolved alerts. */
export function evaluateStock(level: StockLevel, unresolvedKinds: ReadonlySet<AlertKind>): StockTransition {
  if (isRecovered(level)) return { raise: [], restocked: unresolvedKinds.size > 0 };
  const raise = alertConditions(level)
    .filter((kind) => !unresolvedKinds.has(kind))
    .map((kind) => ({ kind, severity: alertSeverity(kind, level) }));
  return { raise, restocked: false };
}

/** The value of InventoryAlert.openKey while an alert is unresolved. */
export function openAlertKey(inventoryItemId: string, kind: AlertKind): string {
  return `${inventoryItemId}:${kind}`;
}
