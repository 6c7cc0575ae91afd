import { foreignKey, index, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { actorTypes } from '../audit/schema.ts';
import { createdAt, tenantId } from '../db/columns.ts';
import { orders } from '../orders/schema.ts';

export const trackingStatuses = [
  'label_created',
  'picked_up',
  'in_transit',
  'out_for_delivery',
  'delivered',
  'exception',
  'note',
] as const;
export type TrackingStatus = (typeof trackingStatuses)[number];

/** The delivery timeline of an order: manual updates by staff (later, carrier feeds). */
export const orderTrackingEvents = pgTable(
  'order_tracking_events',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tenantId: tenantId(),
    orderId: uuid('order_id').notNull(),
    status: text('status', { enum: trackingStatuses }).notNull(),
    description: text('description').notNull(),
    location: text('location'),
    carrier: text('carrier'),
    trackingNumber: text('tracking_number'),
    occurredAt: timestamp('occurred_at', { withTimezone: true }).notNull(),
    actorType: text('actor_type', { enum: actorTypes }).notNull(),
    actorId: text('actor_id'),
    createdAt: createdAt(),
  },
  (t) => [
    index('order_tracking_events_order_idx').on(t.tenantId, t.orderId, t.occurredAt),
    foreignKey({
      name: 'order_tracking_events_order_fk',
      columns: [t.tenantId, t.orderId],
      foreignColumns: [orders.tenantId, orders.id],
    }),
  ],
);
