import { redactSecrets } from '@amanat/kit/audit/redact';
import type { Queryable } from '../db/client.ts';
import { type ActorType, auditLog } from './schema.ts';

/** Who acts, as services see it: staff (from the control plane's token), a buyer, or the system. */
export interface Actor {
  type: ActorType;
  id: string | null;
  /** The staff member's tenant role. */
  role: string | null;
  requestId: string;
}

export const systemActor = (requestId = 'system'): Actor => ({
  type: 'system',
  id: null,
  role: null,
  requestId,
});

export interface AuditEntry {
  action: string;
  targetType: string;
  targetId?: string | null;
  before?: unknown;
  after?: unknown;
}

/** Writes one audit row for the tenant; call it in the transaction that makes the change. */
export async function recordAudit(
  db: Queryable,
  tenant: string,
  actor: Actor,
  entry: AuditEntry,
): Promise<void> {
  await auditInsert(db, tenant, actor, entry);
}

/** The insert recordAudit runs, unexecuted: for composing into one statement with other writes. */
export function auditInsert(db: Queryable, tenant: string, actor: Actor, entry: AuditEntry) {
  return db.insert(auditLog).values({
    tenantId: tenant,
    actorType: actor.type,
    actorId: actor.id,
    actorRole: actor.role,
    action: entry.action,
    targetType: entry.targetType,
    targetId: entry.targetId ?? null,
    before: entry.before === undefined ? null : redactSecrets(entry.before),
    after: entry.after === undefined ? null : redactSecrets(entry.after),
    requestId: actor.requestId,
  });
}
