import { sql } from 'drizzle-orm';
import {
  bigint,
  check,
  foreignKey,
  index,
  jsonb,
  pgTable,
  text,
  timestamp,
  unique,
  uuid,
} from 'drizzle-orm/pg-core';
import { createdAt, tenantId, updatedAt } from '../db/columns.ts';
import { orders } from '../orders/schema.ts';
import { paymentRails } from '../settings/schema.ts';

export const paymentStatuses = ['pending', 'paid', 'refunded', 'expired', 'cancelled'] as const;
export type PaymentStatus = (typeof paymentStatuses)[number];

/** One payment record per order, created at checkout, settled by evidence. */
export const payments = pgTable(
  'payments',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tenantId: tenantId(),
    orderId: uuid('order_id').notNull(),
    rail: text('rail', { enum: paymentRails }).notNull(),
    status: text('status', { enum: paymentStatuses }).notNull().default('pending'),
    amountMinor: bigint('amount_minor', { mode: 'number' }).notNull(),
    currency: text('currency').notNull(),
    paidAt: timestamp('paid_at', { withTimezone: true }),
    refundedAt: timestamp('refunded_at', { withTimezone: true }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    unique('payments_order_unique').on(t.tenantId, t.orderId),
    foreignKey({
      name: 'payments_order_fk',
      columns: [t.tenantId, t.orderId],
      foreignColumns: [orders.tenantId, orders.id],
    }),
    check('payments_amount_non_negative', sql`${t.amountMinor} >= 0`),
  ],
);

/**
 * Evidence that an order was paid, as an adapter (the platform's scanner, staff, later a
 * provider's webhook) verified it. An evidence id is accepted once per source: a replay is
 * refused by the unique key.
 */
export const paymentEvidence = pgTable(
  'payment_evidence',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tenantId: tenantId(),
    source: text('source').notNull(),
    evidenceId: text('evidence_id').notNull(),
    orderId: uuid('order_id').notNull(),
    amountMinor: bigint('amount_minor', { mode: 'number' }).notNull(),
    currency: text('currency').notNull(),
    /** Staff's evidence note (manual_invoice) or the provider's reference. */
    note: text('note'),
    actorId: text('actor_id'),
    payload: jsonb('payload'),
    occurredAt: timestamp('occurred_at', { withTimezone: true }),
    receivedAt: createdAt(),
  },
  (t) => [
    unique('payment_evidence_once').on(t.tenantId, t.source, t.evidenceId),
    index('payment_evidence_order_idx').on(t.tenantId, t.orderId),
    foreignKey({
      name: 'payment_evidence_order_fk',
      columns: [t.tenantId, t.orderId],
      foreignColumns: [orders.tenantId, orders.id],
    }),
  ],
);
