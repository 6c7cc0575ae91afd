import { sql } from 'drizzle-orm';
import {
  bigserial,
  index,
  integer,
  jsonb,
  pgTable,
  text,
  timestamp,
  unique,
  uuid,
} from 'drizzle-orm/pg-core';
import { createdAt, tenantId } from '../db/columns.ts';

/**
 * The transactional outbox: a domain event is inserted in the same transaction as the
 * change it describes, so it exists exactly when the change does. The dispatcher delivers.
 */
export const outboxEvents = pgTable(
  'outbox_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    tenantId: tenantId(),
    eventId: uuid('event_id').notNull().defaultRandom().unique(),
    type: text('type').notNull(),
    aggregateType: text('aggregate_type').notNull(),
    aggregateId: text('aggregate_id').notNull(),
    payload: jsonb('payload').notNull(),
    occurredAt: createdAt(),
    /** Set once every subscribed endpoint has the event or has exhausted its retries. */
    dispatchedAt: timestamp('dispatched_at', { withTimezone: true }),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    // What webhook deliveries reference: a key that includes the tenant, so a delivery can
    // never point at another tenant's event (foreign-key checks ignore row-level security).
    unique('outbox_events_tenant_id_unique').on(t.tenantId, t.id),
    index('outbox_pending_idx').on(t.tenantId, t.nextAttemptAt).where(sql`dispatched_at IS NULL`),
    index('outbox_aggregate_idx').on(t.tenantId, t.aggregateType, t.aggregateId),
  ],
);
