import { describe, expect, it } from 'vitest';
import {
  alertSeverity,
  atLeast,
  evaluateStock,
  highestSeverity,
  openAlertKey,
} from '../../src/domain/inventory-alerts';

const none = new Set<'LOW_STOCK' | 'OUT_OF_STOCK'>();

describe('alert severity', () => {
  it('is URGENT when out of stock', () => {
    expect(alertSeverity('OUT_OF_STOCK', { quantity: 0, threshold: 10 })).toBe('URGENT');
    expect(alertSeverity('LOW_STOCK', { quantity: 0, threshold: 10 })).toBe('URGENT');
  });

  it('is HIGH with at most 25% of the threshold left', () => {
    expect(alertSeverity('LOW_STOCK', { quantity: 2, threshold: 8 })).toBe('HIGH');
    expect(alertSeverity('LOW_STOCK', { quantity: 1, threshold: 10 })).toBe('HIGH');
  });

  it('is NORMAL with more than 25% of the threshold left', () => {
    expect(alertSeverity('LOW_STOCK', { quantity: 3, threshold: 8 })).toBe('NORMAL');
    expect(alertSeverity('LOW_STOCK', { quantity: 10, threshold: 10 })).toBe('NORMAL');
  });
});

describe('stock transitions', () => {
  it('raises nothing above the threshold', () => {
    expect(evaluateStock({ quantity: 11, threshold: 10 }, none)).toEqual({ raise: [], restocked: false });
  });

  it('raises LOW_STOCK at the threshold', () => {
    expect(evaluateStock({ quantity: 10, threshold: 10 }, none)).toEqual({
      raise: [{ kind: 'LOW_STOCK', severity: 'NORMAL' }],
      restocked: false,
    });
  });

  it('does not raise LOW_STOCK again while one is unresolved', () => {
    expect(evaluateStock({ quantity: 4, threshold: 10 }, new Set(['LOW_STOCK']))).toEqual({
      raise: [],
      restocked: false,
    });
  });

  it('raises OUT_OF_STOCK at zero next to an unresolved LOW_STOCK', () => {
    expect(evaluateStock({ quantity: 0, threshold: 10 }, new Set(['LOW_STOCK']))).toEqual({
      raise: [{ kind: 'OUT_OF_STOCK', severity: 'URGENT' }],
      restocked: false,
    });
  });

  it('raises both kinds when stock drops from plenty straight to zero', () => {
    expect(evaluateStock({ quantity: 0, threshold: 10 }, none).raise.map((a) => a.kind)).toEqual([
      'LOW_STOCK',
      'OUT_OF_STOCK',
    ]);
  });

  it('keeps alerts unresolved while stock stays at or under the threshold', () => {
    expect(evaluateStock({ quantity: 10, threshold: 10 }, new Set(['LOW_STOCK', 'OUT_OF_STOCK']))).toEqual({
      raise: [],
      restocked: false,
    });
  });

  it('reports a recovery above the threshold only when alerts were unresolved', () => {
    expect(evaluateStock({ quantity: 11, threshold: 10 }, new Set(['LOW_STOCK'])).restocked).toBe(true);
    expect(evaluateStock({ quantity: 11, threshold: 10 }, none).restocked).toBe(false);
  });
});

describe('severity helpers', () => {
  it('compares against an optional minimum', () => {
    expect(atLeast('HIGH', 'NORMAL')).toBe(true);
    expect(atLeast('NORMAL', 'HIGH')).toBe(false);
    expect(atLeast('LOW', null)).toBe(true);
  });

  it('picks the highest severity, LOW when there is none', () => {
    expect(highestSeverity(['NORMAL', 'URGENT', 'HIGH'])).toBe('URGENT');
    expect(highestSeverity([])).toBe('LOW');
  });

  it('keys unresolved alerts by item and kind', () => {
    expect(openAlertKey('item-1', 'LOW_STOCK')).toBe('item-1:LOW_STOCK');
  });
});
