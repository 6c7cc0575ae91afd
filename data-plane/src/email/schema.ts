import { sql } from 'drizzle-orm';
import {
  check,
  foreignKey,
  index,
  integer,
  pgTable,
  text,
  timestamp,
  unique,
  uuid,
} from 'drizzle-orm/pg-core';
import { createdAt, tenantId } from '../db/columns.ts';
import { orders } from '../orders/schema.ts';

export const emailKinds = ['order_confirmation'] as const;
export type EmailKind = (typeof emailKinds)[number];

export const emailStatuses = ['queued', 'sent', 'failed'] as const;
export type EmailStatus = (typeof emailStatuses)[number];

/**
 * Email to buyers, queued in the transaction that causes it (an order's confirmation is
 * inserted with the order) and sent by the email sender (email/sender.ts), which renders
 * the message from the current order when it sends. Only what cannot be read again later is
 * kept: the recipient and, for a guest, the order's access token, sealed.
 */
export const emailMessages = pgTable(
  'email_messages',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tenantId: tenantId(),
    kind: text('kind', { enum: emailKinds }).notNull(),
    orderId: uuid('order_id').notNull(),
    toAddress: text('to_address').notNull(),
    /**
     * A guest's order access token, sealed with the keyring (associated data: tenant and
     * message id): the link in the email needs it and the order keeps only its hash.
     * Dropped once the message is sent.
     */
    sealedToken: text('sealed_token'),
    status: text('status', { enum: emailStatuses }).notNull().default('queued'),
    /** Sending attempts started; a claim counts one before it sends. */
    attempts: integer('attempts').notNull().default(0),
    /** When a queued message is next due; while a sender holds it, the end of its lease. */
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }).notNull().defaultNow(),
    lastError: text('last_error'),
    sentAt: timestamp('sent_at', { withTimezone: true }),
    /** The Message-ID the SMTP server accepted, and its answer. */
    smtpMessageId: text('smtp_message_id'),
    smtpResponse: text('smtp_response'),
    createdAt: createdAt(),
  },
  (t) => [
    // One confirmation per order. Led by the order so the order's page and the admin filter
    // find its messages through it.
    unique('email_messages_order_kind_unique').on(t.tenantId, t.orderId, t.kind),
    index('email_messages_due_idx').on(t.tenantId, t.nextAttemptAt).where(sql`status = 'queued'`),
    index('email_messages_tenant_created_idx').on(t.tenantId, t.createdAt),
    index('email_messages_tenant_status_idx').on(t.tenantId, t.status, t.createdAt),
    foreignKey({
      name: 'email_messages_order_fk',
      columns: [t.tenantId, t.orderId],
      foreignColumns: [orders.tenantId, orders.id],
    }),
    check('email_messages_attempts_non_negative', sql`${t.attempts} >= 0`),
    check('email_messages_sent_at', sql`(${t.status} = 'sent') = (${t.sentAt} IS NOT NULL)`),
  ],
);

export type EmailMessageRow = typeof emailMessages.$inferSelect;
