import { timestamp, uuid } from 'drizzle-orm/pg-core';

/**
 * Every tenant-owned table carries tenant_id, and every query filters on it explicitly,
 * whichever isolation mode the tenant runs in (see docs/architecture.md).
 */
export const tenantId = () => uuid('tenant_id').notNull();
export const createdAt = () => timestamp('created_at', { withTimezone: true }).notNull().defaultNow();
export const updatedAt = () => timestamp('updated_at', { withTimezone: true }).notNull().defaultNow();
