import { ROLES } from '../auth/principal';
import { KDS_ALERTS, KDS_EVENT_KINDS, ORDER_EVENT_KINDS } from '../domain/order-records';
import { builder } from './builder';

/** Enums shared by several domain modules; each is defined once here and imported by reference. */

export const SeverityEnum = builder.enumType('Severity', {
  values: ['LOW', 'NORMAL', 'HIGH', 'URGENT'] as const,
});

export const RoleEnum = builder.enumType('Role', { values: ROLES });

export const OrderStatusEnum = builder.enumType('OrderStatus', {
  values: ['PENDING', 'ACCEPTED', 'IN_PROGRESS', 'READY', 'COMPLETED', 'CANCELLED'] as const,
});

export const OrderChannelEnum = builder.enumType('OrderChannel', {
  values: ['POS', 'ONLINE', 'KIOSK', 'TABLE'] as const,
});

export const OrderEventKindEnum = builder.enumType('OrderEventKind', { values: ORDER_EVENT_KINDS });

export const ItemStatusEnum = builder.enumType('ItemStatus', {
  values: ['PENDING', 'IN_PROGRESS', 'READY'] as const,
});

export const TicketStatusEnum = builder.enumType('TicketStatus', {
  values: ['OPEN', 'IN_PROGRESS', 'READY', 'BUMPED'] as const,
});

export const StationKindEnum = builder.enumType('StationKind', {
  description: 'PREP stations cook what is routed to them; an EXPO station sees every ticket of its store.',
  values: ['PREP', 'EXPO'] as const,
});

export const KdsEventKindEnum = builder.enumType('KdsEventKind', { values: KDS_EVENT_KINDS });

export const KdsAlertEnum = builder.enumType('KdsAlert', {
  description: 'What a kitchen display should signal for an event (sound, flash, badge).',
  values: KDS_ALERTS,
});
