import { Empty, errorResponses, literals, Strict, Timestamp, Uuid } from '@amanat/kit/http/schemas';
import type { App } from '@amanat/kit/http/types';
import { type Static, Type } from 'typebox';
import { actorOf, requireUser } from '../auth/authenticate.ts';
import type { ServiceContext } from '../context.ts';
import { AccessReasonHeaders, requireTenantRole } from './guard.ts';
import { listMembers } from './queries.ts';
import { tenantRoles } from './schema.ts';
import { changeRole, grantRole, revokeRole, transferOwnership } from './service.ts';

const Role = literals(tenantRoles);
const GrantableRole = literals(
  ['manager', 'finance', 'support', 'developer'],
  'owner changes hands only by ownership transfer',
);

const Member = Strict({
  user_id: Uuid,
  email: Type.String(),
  display_name: Type.String(),
  role: Role,
  granted_by: Type.Union([Uuid, Type.Null()]),
  created_at: Timestamp,
});

const tags = ['tenant roles'];
const TenantParams = Strict({ tenantId: Uuid });
const MemberParams = Strict({ tenantId: Uuid, userId: Uuid });

export async function tenantRoleRoutes(app: App, ctx: ServiceContext) {
  const membersOf = async (tenantId: string) =>
    (await listMembers(ctx.db, tenantId)).map(({ member, email, displayName }) => ({
      user_id: member.userId,
      email,
      display_name: displayName,
      role: member.role,
      granted_by: member.grantedBy,
      created_at: member.createdAt.toISOString(),
    }));
  const memberOf = async (tenantId: string, userId: string) =>
    (await membersOf(tenantId)).find((member) => member.user_id === userId) as Static<typeof Member>;

  app.get(
    '/tenants/:tenantId/members',
    {
      preValidation: requireUser,
      preHandler: requireTenantRole(ctx, 'owner', 'manager'),
      schema: {
        tags,
        summary: 'Who holds which role in this tenant',
        params: TenantParams,
        headers: AccessReasonHeaders,
        response: { 200: Strict({ items: Type.Array(Member) }), ...errorResponses },
      },
    },
    async (request) => ({ items: await membersOf(request.params.tenantId) }),
  );

  app.post(
    '/tenants/:tenantId/members',
    {
      preValidation: requireUser,
      preHandler: requireTenantRole(ctx, 'owner', 'manager'),
      schema: {
        tags,
        summary: 'Give an existing account a role',
        description: 'At most 5 managers and 10 finance, support and developer members together.',
        params: TenantParams,
        body: Strict({ email: Type.String({ format: 'email', maxLength: 254 }), role: GrantableRole }),
        response: { 201: Member, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { tenantId } = request.params;
      const member = await grantRole(ctx, actorOf(request), tenantId, request.body);
      return reply.code(201).send(await memberOf(tenantId, member.userId));
    },
  );

  app.patch(
    '/tenants/:tenantId/members/:userId',
    {
      preValidation: requireUser,
      preHandler: requireTenantRole(ctx, 'owner', 'manager'),
      schema: {
        tags,
        summary: "Change a member's role",
        params: MemberParams,
        body: Strict({ role: GrantableRole }),
        response: { 200: Member, ...errorResponses },
      },
    },
    async (request) => {
      const { tenantId, userId } = request.params;
      await changeRole(ctx, actorOf(request), tenantId, userId, request.body.role);
      return memberOf(tenantId, userId);
    },
  );

  app.delete(
    '/tenants/:tenantId/members/:userId',
    {
      preValidation: requireUser,
      preHandler: requireTenantRole(ctx, 'owner', 'manager'),
      schema: {
        tags,
        summary: "Revoke a member's role (never the owner's)",
        params: MemberParams,
        response: { 204: Empty, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { tenantId, userId } = request.params;
      await revokeRole(ctx, actorOf(request), tenantId, userId);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/tenants/:tenantId/ownership',
    {
      preValidation: requireUser,
      preHandler: requireTenantRole(ctx, 'owner'),
      schema: {
        tags,
        summary: 'Transfer ownership to another member (the old owner becomes a manager)',
        params: TenantParams,
        body: Strict({ user_id: Uuid }),
        response: { 200: Strict({ items: Type.Array(Member) }), ...errorResponses },
      },
    },
    async (request) => {
      const { tenantId } = request.params;
      await transferOwnership(ctx, actorOf(request), tenantId, request.body.user_id);
      return { items: await membersOf(tenantId) };
    },
  );
}
