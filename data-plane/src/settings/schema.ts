import { integer, jsonb, pgTable, text, uuid } from 'drizzle-orm/pg-core';
import { updatedAt } from '../db/columns.ts';

export const paymentRails = ['amn_escrow', 'amn_direct', 'external_provider', 'manual_invoice'] as const;
export type PaymentRail = (typeof paymentRails)[number];

import type { Brand } from '@amanat/kit/brand';

export interface PaymentPolicy {
  allowed_rails: PaymentRail[];
  default_rail: PaymentRail;
  /** Orders whose total is at or above this (minor units) must use amn_escrow; null = never. */
  escrow_required_above_minor: number | null;
  /** Orders with any item in these categories must use amn_escrow. */
  escrow_required_category_ids: string[];
}

/** One row per tenant: how the shop presents itself and which payments it takes. */
export const shopSettings = pgTable('shop_settings', {
  tenantId: uuid('tenant_id').primaryKey(),
  displayName: text('display_name').notNull(),
  brand: jsonb('brand').$type<Brand | null>(),
  features: jsonb('features').$type<{ login_methods: string[]; disclose_platform: boolean }>().notNull(),
  defaultLocale: text('default_locale').notNull(),
  locales: text('locales').array().notNull(),
  currency: text('currency').notNull(),
  timezone: text('timezone').notNull(),
  paymentPolicy: jsonb('payment_policy').$type<PaymentPolicy>().notNull(),
  lowStockThreshold: integer('low_stock_threshold').notNull().default(5),
  updatedAt: updatedAt(),
});
