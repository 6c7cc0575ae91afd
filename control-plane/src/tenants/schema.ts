import { sql } from 'drizzle-orm';
import { check, index, jsonb, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { users } from '../accounts/schema.ts';

export const tenantTiers = ['hosted_seller', 'white_label', 'isolated', 'enterprise'] as const;
export const tenantStatuses = ['pending', 'active', 'suspended', 'closed'] as const;
export const isolationModes = ['shared', 'schema', 'database'] as const;

export type TenantTier = (typeof tenantTiers)[number];
export type TenantStatus = (typeof tenantStatuses)[number];
export type IsolationMode = (typeof isolationModes)[number];

import type { Brand } from '@amanat/kit/brand';

export const loginMethods = ['email_password', 'telegram', 'magic_link'] as const;

export interface TenantFeatures {
  login_methods: (typeof loginMethods)[number][];
  disclose_platform: boolean;
}

export const tenants = pgTable(
  'tenants',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    slug: text('slug').notNull().unique(),
    displayName: text('display_name').notNull(),
    ownerId: uuid('owner_id')
      .notNull()
      .references(() => users.id),
    tier: text('tier', { enum: tenantTiers }).notNull(),
    status: text('status', { enum: tenantStatuses }).notNull(),
    isolationMode: text('isolation_mode', { enum: isolationModes }).notNull(),
    brand: jsonb('brand').$type<Brand | null>(),
    features: jsonb('features').$type<TenantFeatures>().notNull(),
    locale: text('locale').notNull(),
    timezone: text('timezone').notNull(),
    currency: text('currency').notNull(),
    statusReason: text('status_reason'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
    statusChangedAt: timestamp('status_changed_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index('tenants_owner_idx').on(t.ownerId),
    index('tenants_status_idx').on(t.status),
    check('tenants_slug_dns_label', sql`${t.slug} ~ '^[a-z0-9][a-z0-9-]{1,38}[a-z0-9]$'`),
  ],
);
