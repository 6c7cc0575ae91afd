import { sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  boolean,
  foreignKey,
  index,
  integer,
  pgTable,
  text,
  timestamp,
  unique,
  uuid,
} from 'drizzle-orm/pg-core';
import { createdAt, tenantId, updatedAt } from '../db/columns.ts';
import { outboxEvents } from './schema.ts';

/** Outbound webhooks the shop configures; the dispatcher POSTs matching outbox events to them. */
export const webhookEndpoints = pgTable(
  'webhook_endpoints',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tenantId: tenantId(),
    url: text('url').notNull(),
    description: text('description').notNull().default(''),
    /** Event types this endpoint receives (never empty). */
    eventTypes: text('event_types').array().notNull(),
    enabled: boolean('enabled').notNull().default(true),
    /** The signing secret, sealed with the data plane's keyring (AAD = endpoint id). */
    secretSealed: text('secret_sealed').notNull(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    /** Deleted endpoints are kept so their delivery log stays readable. */
    deletedAt: timestamp('deleted_at', { withTimezone: true }),
  },
  (t) => [
    unique('webhook_endpoints_tenant_id_unique').on(t.tenantId, t.id),
    index('webhook_endpoints_live_idx').on(t.tenantId).where(sql`${t.deletedAt} IS NULL AND ${t.enabled}`),
  ],
);

export const deliveryOutcomes = ['succeeded', 'retrying', 'failed'] as const;
export type DeliveryOutcome = (typeof deliveryOutcomes)[number];

/**
 * Every delivery attempt of an outbox event to an endpoint. `failed` marks the last attempt
 * after which the dispatcher gave up. The unique key makes a second delivery of the same
 * attempt impossible even if two dispatchers raced.
 */
export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    tenantId: tenantId(),
    outboxEventId: bigint('outbox_event_id', { mode: 'number' }).notNull(),
    eventId: uuid('event_id').notNull(),
    eventType: text('event_type').notNull(),
    endpointId: uuid('endpoint_id').notNull(),
    attempt: integer('attempt').notNull(),
    outcome: text('outcome', { enum: deliveryOutcomes }).notNull(),
    statusCode: integer('status_code'),
    error: text('error'),
    durationMs: integer('duration_ms').notNull(),
    attemptedAt: timestamp('attempted_at', { withTimezone: true }).notNull(),
  },
  (t) => [
    unique('webhook_deliveries_attempt_unique').on(t.tenantId, t.outboxEventId, t.endpointId, t.attempt),
    index('webhook_deliveries_endpoint_idx').on(t.tenantId, t.endpointId, t.id),
    foreignKey({
      name: 'webhook_deliveries_outbox_event_fk',
      columns: [t.tenantId, t.outboxEventId],
      foreignColumns: [outboxEvents.tenantId, outboxEvents.id],
    }),
    foreignKey({
      name: 'webhook_deliveries_endpoint_fk',
      columns: [t.tenantId, t.endpointId],
      foreignColumns: [webhookEndpoints.tenantId, webhookEndpoints.id],
    }),
  ],
);
