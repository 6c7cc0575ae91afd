import { sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  check,
  foreignKey,
  index,
  integer,
  jsonb,
  pgTable,
  text,
  timestamp,
  unique,
  uuid,
} from 'drizzle-orm/pg-core';
import { actorTypes } from '../audit/schema.ts';
import { buyers } from '../buyers/schema.ts';
import { variants } from '../catalog/schema.ts';
import { createdAt, tenantId, updatedAt } from '../db/columns.ts';
import { paymentRails } from '../settings/schema.ts';

/** Every status an order can be in; orders/state-machine.ts says how it moves between them. */
export const orderStatuses = [
  'draft',
  'pending_payment',
  'paid_direct',
  'escrow_funded',
  'fulfillment',
  'delivered',
  'completed',
  'disputed',
  'expired',
  'cancelled',
] as const;
export type OrderStatus = (typeof orderStatuses)[number];

export interface ShippingAddress {
  recipient_name: string;
  line1: string;
  line2?: string | null;
  city: string;
  region?: string | null;
  postal_code?: string | null;
  /** ISO 3166-1 alpha-2. */
  country: string;
  phone?: string | null;
}

export interface DigitalDelivery {
  url: string;
  note: string | null;
  set_at: string;
}

/**
 * An order: totals in integer minor units, the rail with the disclosure the buyer was shown,
 * the buyer (account) or the guest's email, and — for guests — the SHA-256 of the access token
 * the confirmation gave them. Status changes only through orders/state-machine.ts.
 */
export const orders = pgTable(
  'orders',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tenantId: tenantId(),
    status: text('status', { enum: orderStatuses }).notNull(),
    rail: text('rail', { enum: paymentRails }).notNull(),
    /** The rail's buyer disclosure exactly as shown at checkout. */
    railDisclosure: text('rail_disclosure').notNull(),
    currency: text('currency').notNull(),
    subtotalMinor: bigint('subtotal_minor', { mode: 'number' }).notNull(),
    totalMinor: bigint('total_minor', { mode: 'number' }).notNull(),
    itemCount: integer('item_count').notNull(),
    /** The signed-in buyer; null for a guest checkout. */
    buyerId: uuid('buyer_id'),
    /** Contact email, lower-cased: the buyer account's or the guest's. */
    email: text('email').notNull(),
    shippingAddress: jsonb('shipping_address').$type<ShippingAddress | null>(),
    note: text('note'),
    /** SHA-256 (hex) of the guest's order access token; the token itself is never stored. */
    accessTokenHash: text('access_token_hash'),
    /** End of the payment window: an unpaid order expires and its stock is released. */
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    carrier: text('carrier'),
    trackingNumber: text('tracking_number'),
    digitalDelivery: jsonb('digital_delivery').$type<DigitalDelivery | null>(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    unique('orders_tenant_id_unique').on(t.tenantId, t.id),
    index('orders_tenant_created_idx').on(t.tenantId, t.createdAt),
    index('orders_tenant_status_idx').on(t.tenantId, t.status, t.createdAt),
    index('orders_tenant_buyer_idx').on(t.tenantId, t.buyerId, t.createdAt),
    foreignKey({ columns: [t.tenantId, t.buyerId], foreignColumns: [buyers.tenantId, buyers.id] }),
    index('orders_tenant_email_idx').on(t.tenantId, t.email),
    index('orders_payment_window_idx').on(t.tenantId, t.expiresAt).where(sql`status = 'pending_payment'`),
    check('orders_currency_iso', sql`${t.currency} ~ '^[A-Z]{3}$'`),
    check('orders_totals_non_negative', sql`${t.subtotalMinor} >= 0 AND ${t.totalMinor} >= 0`),
    // A buyer's order, or a guest's with the hash of their access token.
    check('orders_buyer_or_guest', sql`(${t.buyerId} IS NULL) <> (${t.accessTokenHash} IS NULL)`),
  ],
);

/** What was bought, snapshotted at checkout: later catalog edits never change an order. */
export const orderLines = pgTable(
  'order_lines',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tenantId: tenantId(),
    orderId: uuid('order_id').notNull(),
    position: integer('position').notNull(),
    variantId: uuid('variant_id').notNull(),
    productId: uuid('product_id').notNull(),
    categoryId: uuid('category_id'),
    sku: text('sku').notNull(),
    title: text('title').notNull(),
    options: jsonb('options').$type<Record<string, string>>().notNull(),
    unitPriceMinor: bigint('unit_price_minor', { mode: 'number' }).notNull(),
    quantity: integer('quantity').notNull(),
    lineTotalMinor: bigint('line_total_minor', { mode: 'number' }).notNull(),
  },
  (t) => [
    unique('order_lines_position_unique').on(t.tenantId, t.orderId, t.position),
    foreignKey({
      name: 'order_lines_order_fk',
      columns: [t.tenantId, t.orderId],
      foreignColumns: [orders.tenantId, orders.id],
    }),
    foreignKey({
      name: 'order_lines_variant_fk',
      columns: [t.tenantId, t.variantId],
      foreignColumns: [variants.tenantId, variants.id],
    }),
    check('order_lines_quantity_positive', sql`${t.quantity} > 0`),
    check(
      'order_lines_total',
      sql`${t.unitPriceMinor} >= 0 AND ${t.lineTotalMinor} = ${t.unitPriceMinor} * ${t.quantity}`,
    ),
  ],
);

/** Every status change of every order, with who made it and when. Append-only. */
export const orderTransitions = pgTable(
  'order_transitions',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    tenantId: tenantId(),
    orderId: uuid('order_id').notNull(),
    action: text('action').notNull(),
    fromStatus: text('from_status', { enum: orderStatuses }).notNull(),
    toStatus: text('to_status', { enum: orderStatuses }).notNull(),
    actorType: text('actor_type', { enum: actorTypes }).notNull(),
    actorId: text('actor_id'),
    actorRole: text('actor_role'),
    note: text('note'),
    requestId: text('request_id'),
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index('order_transitions_order_idx').on(t.tenantId, t.orderId, t.id),
    foreignKey({
      name: 'order_transitions_order_fk',
      columns: [t.tenantId, t.orderId],
      foreignColumns: [orders.tenantId, orders.id],
    }),
  ],
);
