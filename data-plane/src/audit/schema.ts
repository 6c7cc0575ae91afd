import { bigserial, index, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';
import { tenantId } from '../db/columns.ts';

export const actorTypes = ['staff', 'buyer', 'guest', 'system', 'payment_adapter'] as const;
export type ActorType = (typeof actorTypes)[number];

/** Append-only (a trigger refuses UPDATE, DELETE, TRUNCATE): one row per mutation. */
export const auditLog = pgTable(
  'audit_log',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    tenantId: tenantId(),
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
    actorType: text('actor_type', { enum: actorTypes }).notNull(),
    actorId: text('actor_id'),
    actorRole: text('actor_role'),
    action: text('action').notNull(),
    targetType: text('target_type').notNull(),
    targetId: text('target_id'),
    before: jsonb('before'),
    after: jsonb('after'),
    requestId: text('request_id'),
  },
  (t) => [
    index('audit_log_tenant_idx').on(t.tenantId, t.id),
    index('audit_log_target_idx').on(t.tenantId, t.targetType, t.targetId),
  ],
);
