import { sql } from 'drizzle-orm';
import { index, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { users } from '../accounts/schema.ts';
import { tenants } from '../tenants/schema.ts';

export const tenantRoles = ['owner', 'manager', 'finance', 'support', 'developer'] as const;
export type TenantRole = (typeof tenantRoles)[number];

export const tenantMembers = pgTable(
  'tenant_members',
  {
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id),
    role: text('role', { enum: tenantRoles }).notNull(),
    grantedBy: uuid('granted_by').references(() => users.id),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.userId] }),
    // The database itself refuses a second owner, whatever the service does.
    uniqueIndex('tenant_members_one_owner').on(t.tenantId).where(sql`${t.role} = 'owner'`),
    index('tenant_members_user_idx').on(t.userId),
  ],
);
