import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { printedSchema } from '../src/schema/print';

describe('schema.graphql', () => {
  it('is the SDL printed from the Pothos schema (run `npm run schema` after changing src/schema)', () => {
    const committed = readFileSync(new URL('../schema.graphql', import.meta.url), 'utf8');
    expect(committed).toBe(printedSchema());
  });

  it('keeps the subscription fields and arguments that clients are built against', () => {
    const sdl = printedSchema();
    // Arguments print sorted by name.
    for (const field of [
      'orderUpdated(after: String, storeId: ID!): OrderEvent!',
      'kdsTicket(after: String, stationId: ID!): KdsTicketEvent!',
      'dashboardMetrics(storeId: ID): DashboardMetrics!',
      'notifications(after: String): NotificationEvent!',
    ]) {
      expect(sdl).toContain(field);
    }
    expect(sdl).toMatch(
      /inventoryAlert\(\s+after: String\s+minSeverity: Severity[^)]*storeId: ID\s+\): InventoryAlertEvent!/,
    );
  });
});
