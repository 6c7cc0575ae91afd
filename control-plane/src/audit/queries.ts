import { and, desc, eq, gte, lt, lte, type SQL } from 'drizzle-orm';
import type { Queryable } from '../db/client.ts';
import { auditLog } from './schema.ts';

export interface AuditFilter {
  tenant_id?: string;
  actor_id?: string;
  action?: string;
  target_type?: string;
  target_id?: string;
  from?: string;
  to?: string;
  before_id?: number;
}

/** Newest first, paged by id so pages stay stable while rows are appended. */
export function queryAudit(db: Queryable, filter: AuditFilter, limit: number) {
  const conditions: SQL[] = [];
  if (filter.tenant_id) conditions.push(eq(auditLog.tenantId, filter.tenant_id));
  if (filter.actor_id) conditions.push(eq(auditLog.actorId, filter.actor_id));
  if (filter.action) conditions.push(eq(auditLog.action, filter.action));
  if (filter.target_type) conditions.push(eq(auditLog.targetType, filter.target_type));
  if (filter.target_id) conditions.push(eq(auditLog.targetId, filter.target_id));
  if (filter.from) conditions.push(gte(auditLog.at, new Date(filter.from)));
  if (filter.to) conditions.push(lte(auditLog.at, new Date(filter.to)));
  if (filter.before_id) conditions.push(lt(auditLog.id, filter.before_id));
  return db
    .select()
    .from(auditLog)
    .where(and(...conditions))
    .orderBy(desc(auditLog.id))
    .limit(limit);
}
