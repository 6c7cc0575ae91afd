import { redactSecrets } from '@amanat/kit/audit/redact';
import type { PlatformRole } from '../accounts/schema.ts';
import type { Queryable } from '../db/client.ts';
import { auditLog } from './schema.ts';

/** Who is acting, as the service layer sees it: taken from the authenticated request. */
export interface Actor {
  userId: string | null;
  role: PlatformRole | null;
  requestId: string;
  ip: string;
}

export interface AuditEntry {
  action: string;
  targetType: string;
  targetId?: string | null;
  tenantId?: string | null;
  before?: unknown;
  after?: unknown;
  reason?: string | null;
  /** Overrides the actor's user id, e.g. for a registration the new account is the actor. */
  actorId?: string | null;
  /** The overriding actor's platform role; the request's role belongs to someone else. */
  actorRole?: PlatformRole | null;
}

/** Writes one audit row; call it inside the transaction that makes the change. */
export async function recordAudit(db: Queryable, actor: Actor, entry: AuditEntry): Promise<void> {
  await db.insert(auditLog).values({
    actorId: entry.actorId === undefined ? actor.userId : entry.actorId,
    actorRole: entry.actorId === undefined ? actor.role : (entry.actorRole ?? null),
    tenantId: entry.tenantId ?? null,
    action: entry.action,
    targetType: entry.targetType,
    targetId: entry.targetId ?? null,
    before: entry.before === undefined ? null : redactSecrets(entry.before),
    after: entry.after === undefined ? null : redactSecrets(entry.after),
    reason: entry.reason ?? null,
    requestId: actor.requestId,
    ip: actor.ip,
  });
}
