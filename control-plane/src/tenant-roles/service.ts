import { problem } from '@amanat/kit/http/problem';
import { findUserByEmail } from '../accounts/queries.ts';
import { normalizeEmail } from '../accounts/service.ts';
import { type Actor, recordAudit } from '../audit/record.ts';
import type { ServiceContext } from '../context.ts';
import type { Tx } from '../db/client.ts';
import { lockTenant, updateTenant } from '../tenants/queries.ts';
import {
  deleteMember,
  findMembership,
  insertMember,
  listMembers,
  type MemberRow,
  setMemberRole,
} from './queries.ts';
import type { TenantRole } from './schema.ts';

export const MAX_MANAGERS = 5;
export const MAX_STAFF = 10;
const staffRoles: readonly TenantRole[] = ['finance', 'support', 'developer'];

export type GrantableRole = Exclude<TenantRole, 'owner'>;

/** Owners manage every non-owner role; managers manage staff roles only. */
function assertMayManage(actorRole: TenantRole, role: TenantRole): void {
  if (role === 'owner') {
    throw problem.conflict('owner-protected', 'The owner role changes hands only by ownership transfer.');
  }
  if (actorRole === 'owner') return;
  if (actorRole === 'manager' && staffRoles.includes(role)) return;
  throw problem.forbidden('tenant-role', `A ${actorRole} may not manage ${role}s.`);
}

/** Role limits are checked against the roster as it will be, under the tenant row lock. */
async function assertWithinLimits(tx: Tx, tenantId: string, changes: Map<string, TenantRole | null>) {
  const roster = new Map(
    (await listMembers(tx, tenantId)).map((row) => [row.member.userId, row.member.role]),
  );
  for (const [userId, role] of changes) {
    if (role === null) roster.delete(userId);
    else roster.set(userId, role);
  }
  const roles = [...roster.values()];
  if (roles.filter((role) => role === 'owner').length !== 1) {
    throw problem.conflict('owner-protected', 'A tenant has exactly one owner.');
  }
  if (roles.filter((role) => role === 'manager').length > MAX_MANAGERS) {
    throw problem.conflict('role-limit', `A tenant has at most ${MAX_MANAGERS} managers.`);
  }
  if (roles.filter((role) => staffRoles.includes(role)).length > MAX_STAFF) {
    throw problem.conflict(
      'role-limit',
      `A tenant has at most ${MAX_STAFF} finance, support and developer members together.`,
    );
  }
}

/**
 * Locks the tenant row and reads the caller's role under that lock. The route's guard
 * checked the role earlier; a concurrent change (a revoke, an ownership transfer) may have
 * altered it since, so every decision here uses the role as it is now.
 */
async function lockForRoleChange(tx: Tx, tenantId: string, actor: Actor) {
  const tenant = await lockTenant(tx, tenantId);
  if (!tenant) throw problem.notFound(`No tenant ${tenantId}.`);
  if (tenant.status === 'closed')
    throw problem.conflict('tenant-closed', 'A closed tenant cannot be changed.');
  const membership = actor.userId ? await findMembership(tx, tenantId, actor.userId) : undefined;
  if (!membership) throw problem.forbidden('tenant-role', 'You no longer have a role in this tenant.');
  return { tenant, actorRole: membership.role };
}

function memberView(member: MemberRow) {
  return {
    user_id: member.userId,
    role: member.role,
    granted_by: member.grantedBy,
    created_at: member.createdAt,
  };
}

export function grantRole(
  ctx: ServiceContext,
  actor: Actor,
  tenantId: string,
  input: { email: string; role: GrantableRole },
): Promise<MemberRow> {
  return ctx.db.transaction(async (tx) => {
    const { actorRole } = await lockForRoleChange(tx, tenantId, actor);
    assertMayManage(actorRole, input.role);
    const user = await findUserByEmail(tx, normalizeEmail(input.email));
    if (!user) throw problem.notFound('No platform account has that email; they must register first.');
    if (await findMembership(tx, tenantId, user.id)) {
      throw problem.conflict('already-member', 'That account already has a role here; change it instead.');
    }
    await assertWithinLimits(tx, tenantId, new Map([[user.id, input.role]]));
    const member = await insertMember(tx, {
      tenantId,
      userId: user.id,
      role: input.role,
      grantedBy: actor.userId,
    });
    await recordAudit(tx, actor, {
      action: 'tenant_role.granted',
      targetType: 'tenant_member',
      targetId: user.id,
      tenantId,
      after: memberView(member),
    });
    return member;
  });
}

export function changeRole(
  ctx: ServiceContext,
  actor: Actor,
  tenantId: string,
  userId: string,
  role: GrantableRole,
): Promise<MemberRow> {
  return ctx.db.transaction(async (tx) => {
    const { actorRole } = await lockForRoleChange(tx, tenantId, actor);
    const current = await findMembership(tx, tenantId, userId);
    if (!current) throw problem.notFound('That account has no role in this tenant.');
    assertMayManage(actorRole, current.role);
    assertMayManage(actorRole, role);
    await assertWithinLimits(tx, tenantId, new Map([[userId, role]]));
    const updated = await setMemberRole(tx, tenantId, userId, role);
    await recordAudit(tx, actor, {
      action: 'tenant_role.changed',
      targetType: 'tenant_member',
      targetId: userId,
      tenantId,
      before: memberView(current),
      after: memberView(updated),
    });
    return updated;
  });
}

export function revokeRole(
  ctx: ServiceContext,
  actor: Actor,
  tenantId: string,
  userId: string,
): Promise<void> {
  return ctx.db.transaction(async (tx) => {
    const { actorRole } = await lockForRoleChange(tx, tenantId, actor);
    const current = await findMembership(tx, tenantId, userId);
    if (!current) throw problem.notFound('That account has no role in this tenant.');
    if (current.role === 'owner') {
      throw problem.conflict(
        'owner-protected',
        userId === actor.userId
          ? 'The owner cannot revoke their own owner role; transfer ownership first.'
          : 'The owner role changes hands only by ownership transfer.',
      );
    }
    assertMayManage(actorRole, current.role);
    await deleteMember(tx, tenantId, userId);
    await recordAudit(tx, actor, {
      action: 'tenant_role.revoked',
      targetType: 'tenant_member',
      targetId: userId,
      tenantId,
      before: memberView(current),
    });
  });
}

/** The owner hands the tenant to another member; the old owner stays on as a manager. */
export function transferOwnership(
  ctx: ServiceContext,
  actor: Actor,
  tenantId: string,
  newOwnerId: string,
): Promise<void> {
  return ctx.db.transaction(async (tx) => {
    const { tenant, actorRole } = await lockForRoleChange(tx, tenantId, actor);
    if (actorRole !== 'owner') {
      throw problem.forbidden(
        'tenant-role',
        'Only the owner may transfer ownership, and you no longer own it.',
      );
    }
    const oldOwnerId = tenant.ownerId;
    if (newOwnerId === oldOwnerId)
      throw problem.conflict('already-owner', 'That account already owns this tenant.');
    const next = await findMembership(tx, tenantId, newOwnerId);
    if (!next) throw problem.notFound('The new owner must already have a role in this tenant.');
    await assertWithinLimits(
      tx,
      tenantId,
      new Map<string, TenantRole>([
        [oldOwnerId, 'manager'],
        [newOwnerId, 'owner'],
      ]),
    );
    // Demote first: the one-owner unique index holds at every statement.
    await setMemberRole(tx, tenantId, oldOwnerId, 'manager');
    await setMemberRole(tx, tenantId, newOwnerId, 'owner');
    await updateTenant(tx, tenantId, { ownerId: newOwnerId });
    await recordAudit(tx, actor, {
      action: 'tenant.ownership_transferred',
      targetType: 'tenant',
      targetId: tenantId,
      tenantId,
      before: { owner_id: oldOwnerId },
      after: { owner_id: newOwnerId },
    });
  });
}
