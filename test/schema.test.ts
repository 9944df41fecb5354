import { readFileSync } from 'node:fs';
import { buildSchema, type GraphQLObjectType, isEnumType, isInputObjectType } from 'graphql';
import { describe, expect, it } from 'vitest';
import { printedSchema } from '../src/schema/print';

/** What issues bind clients to, read from the printed schema: a field's signature (arguments sorted by name). */
const bound = () => {
  const schema = buildSchema(printedSchema());
  const signature = (typeName: string, fieldName: string) => {
    const field = (schema.getType(typeName) as GraphQLObjectType).getFields()[fieldName];
    if (!field) return undefined;
    const args = [...field.args]
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((arg) => `${arg.name}: ${String(arg.type)}`)
      .join(', ');
    return `${fieldName}(${args}): ${String(field.type)}`;
  };
  /** An object or input type's fields and their types. */
  const fieldsOf = (typeName: string) => {
    const type = schema.getType(typeName);
    const fields = isInputObjectType(type) ? type.getFields() : (type as GraphQLObjectType).getFields();
    return Object.fromEntries(Object.values(fields).map((field) => [field.name, String(field.type)]));
  };
  /** An enum's values, sorted. */
  const valuesOf = (typeName: string) => {
    const type = schema.getType(typeName);
    return isEnumType(type)
      ? type
          .getValues()
          .map((value) => value.name)
          .sort()
      : undefined;
  };
  return { signature, fieldsOf, valuesOf };
};

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

  it('has the names and types issue 16 binds (menu and tables)', () => {
    const { signature, fieldsOf, valuesOf } = bound();
    expect(signature('Mutation', 'createProduct')).toBe(
      'createProduct(input: CreateProductInput!): Product!',
    );
    expect(signature('Mutation', 'updateProduct')).toBe(
      'updateProduct(input: UpdateProductInput!): Product!',
    );
    expect(signature('Mutation', 'setProductAvailability')).toBe(
      'setProductAvailability(available: Boolean!, productId: ID!, reason: String): Product!',
    );
    expect(signature('Subscription', 'menuUpdated')).toBe(
      'menuUpdated(after: String, storeId: ID!): MenuEvent!',
    );
    expect(signature('Query', 'tables')).toBe('tables(storeId: ID): [DiningTable!]!');
    expect(signature('Mutation', 'seatTable')).toBe('seatTable(partySize: Int!, tableId: ID!): DiningTable!');
    expect(signature('Mutation', 'setTableStatus')).toBe(
      'setTableStatus(status: TableStatus!, tableId: ID!): DiningTable!',
    );
    expect(signature('Mutation', 'issueTableToken')).toBe('issueTableToken(tableId: ID!): TableToken!');
    expect(signature('Subscription', 'tableUpdated')).toBe(
      'tableUpdated(after: String, storeId: ID!): TableEvent!',
    );
    expect(fieldsOf('CreateProductInput')).toMatchObject({
      storeId: 'ID!',
      name: 'String!',
      priceCents: 'Int!',
      stationId: 'ID!',
      category: 'String',
      description: 'String',
      initialStock: 'Int',
      lowStockThreshold: 'Int',
    });
    expect(fieldsOf('UpdateProductInput')).toMatchObject({
      productId: 'ID!',
      name: 'String',
      priceCents: 'Int',
      stationId: 'ID',
      category: 'String',
      description: 'String',
      active: 'Boolean',
    });
    expect(fieldsOf('MenuEvent')).toMatchObject({
      cursor: 'String!',
      kind: 'MenuEventKind!',
      product: 'Product!',
      previousPriceCents: 'Int',
      occurredAt: 'DateTime!',
    });
    expect(valuesOf('MenuEventKind')).toEqual(
      [
        'PRODUCT_CREATED',
        'PRODUCT_UPDATED',
        'PRICE_CHANGED',
        'AVAILABILITY_CHANGED',
        'PRODUCT_ARCHIVED',
      ].sort(),
    );
    expect(fieldsOf('DiningTable')).toMatchObject({
      id: 'ID!',
      storeId: 'ID!',
      number: 'Int!',
      seats: 'Int!',
      status: 'TableStatus!',
      partySize: 'Int',
      seatedAt: 'DateTime',
      openOrders: '[Order!]!',
    });
    expect(valuesOf('TableStatus')).toEqual(
      ['FREE', 'RESERVED', 'SEATED', 'ORDERED', 'SERVED', 'PAYING', 'NEEDS_CLEANING'].sort(),
    );
    expect(fieldsOf('TableEvent')).toMatchObject({
      cursor: 'String!',
      kind: 'TableEventKind!',
      table: 'DiningTable!',
      previousStatus: 'TableStatus',
      occurredAt: 'DateTime!',
    });
    expect(valuesOf('TableEventKind')).toEqual(['STATUS_CHANGED', 'ORDER_ADDED', 'ORDER_UPDATED'].sort());
    expect(fieldsOf('TableToken')).toEqual({ token: 'String!', tableId: 'ID!', expiresAt: 'DateTime!' });
  });

  it('has the names and types issue 17 binds (device presence and live token refresh)', () => {
    const { signature, fieldsOf, valuesOf } = bound();
    expect(signature('Query', 'presence')).toBe('presence(storeId: ID): [DevicePresence!]!');
    expect(signature('Subscription', 'presenceChanged')).toBe(
      'presenceChanged(storeId: ID!): PresenceEvent!',
    );
    expect(fieldsOf('DevicePresence')).toMatchObject({
      userId: 'ID!',
      name: 'String!',
      roles: '[Role!]!',
      stationIds: '[ID!]!',
      connections: 'Int!',
      since: 'DateTime!',
      lastSeenAt: 'DateTime!',
    });
    expect(fieldsOf('PresenceEvent')).toEqual({
      kind: 'PresenceEventKind!',
      storeId: 'ID!',
      device: 'DevicePresence!',
      occurredAt: 'DateTime!',
    });
    expect(valuesOf('PresenceEventKind')).toEqual(['OFFLINE', 'ONLINE']);
    expect(fieldsOf('Station')).toMatchObject({ online: 'Boolean!' });
    expect(signature('Mutation', 'refreshConnectionToken')).toBe(
      'refreshConnectionToken(token: String!): ConnectionSession!',
    );
    expect(fieldsOf('ConnectionSession')).toEqual({ userId: 'ID!', expiresAt: 'DateTime!' });
  });

  it('has the additive names issue 12 introduced (customers opt in to store and tenant notifications)', () => {
    const { fieldsOf } = bound();
    expect(fieldsOf('SendNotificationInput')).toMatchObject({ includeCustomers: 'Boolean' });
    expect(fieldsOf('Notification')).toMatchObject({ includeCustomers: 'Boolean!' });
  });
});
