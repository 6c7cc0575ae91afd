import { problem } from '@amanat/kit/http/problem';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { recordAudit } from '../audit/record.ts';
import { actorOf, assertRecentAdminMfa, authOf, requireUser } from '../auth/authenticate.ts';
import type { ServiceContext } from '../context.ts';
import { findTenant, type TenantRow } from '../tenants/queries.ts';
import { findMembership } from './queries.ts';
import type { TenantRole } from './schema.ts';

export interface TenantAccess {
  tenant: TenantRow;
  /** The caller's role in this tenant, or null for a platform admin's reasoned read. */
  role: TenantRole | null;
}

declare module 'fastify' {
  interface FastifyRequest {
    tenantAccess: TenantAccess | null;
  }
}

export const ACCESS_REASON_HEADER = 'x-access-reason';

/** Header schema for tenant-scoped reads: a platform admin must say why they look. */
export const AccessReasonHeaders = Type.Object({
  [ACCESS_REASON_HEADER]: Type.Optional(
    Type.String({
      minLength: 10,
      maxLength: 500,
      description: "Platform admins only: why you are reading this tenant's data (logged).",
    }),
  ),
});

export function tenantAccessOf(request: FastifyRequest): TenantAccess {
  if (!request.tenantAccess) throw new Error('route is missing the requireTenantRole guard');
  return request.tenantAccess;
}

/**
 * The one guard for every tenant-scoped route (`/tenants/:tenantId/...`): the caller
 * must hold one of `roles` in that tenant. Non-members get 404 so tenant ids do not leak.
 * A platform admin with a recent MFA check may read (GET only) by giving a reason in
 * `x-access-reason`; that read is written to the audit log.
 */
export function requireTenantRole(ctx: ServiceContext, ...roles: TenantRole[]) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    await requireUser(request, reply);
    const auth = authOf(request);
    const { tenantId } = request.params as { tenantId: string };
    const tenant = await findTenant(ctx.db, tenantId);
    const membership = tenant ? await findMembership(ctx.db, tenantId, auth.user.id) : undefined;
    if (tenant && membership) {
      if (!roles.includes(membership.role)) {
        throw problem.forbidden(
          'tenant-role',
          `Your role here is ${membership.role}; this needs one of: ${roles.join(', ')}.`,
        );
      }
      request.tenantAccess = { tenant, role: membership.role };
      return;
    }
    if (tenant && auth.user.role === 'admin' && request.method === 'GET') {
      assertRecentAdminMfa(ctx, auth);
      const reason = request.headers[ACCESS_REASON_HEADER];
      if (typeof reason !== 'string' || reason.trim().length < 10) {
        throw problem.badRequest(
          'access-reason-required',
          `Reading a tenant's data as a platform admin needs a reason (10+ characters) in the ${ACCESS_REASON_HEADER} header.`,
        );
      }
      await recordAudit(ctx.db, actorOf(request), {
        action: 'tenant.data_read',
        targetType: 'tenant',
        targetId: tenantId,
        tenantId,
        reason: reason.trim(),
        after: { route: request.routeOptions.url },
      });
      request.tenantAccess = { tenant, role: null };
      return;
    }
    throw problem.notFound(`No tenant ${tenantId} that you can access.`);
  };
}
