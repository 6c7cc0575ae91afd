import { problem } from '@amanat/kit/http/problem';
import { errorResponses, Strict, Timestamp } from '@amanat/kit/http/schemas';
import type { App } from '@amanat/kit/http/types';
import { Type } from 'typebox';
import { recordAudit } from '../audit/record.ts';
import { actorOf, authOf, requireUser } from '../auth/authenticate.ts';
import type { ServiceContext } from '../context.ts';
import { requireTenantRole, tenantAccessOf } from '../tenant-roles/guard.ts';
import { tenantRoles } from '../tenant-roles/schema.ts';
import type { SigningKey } from './signing.ts';

const TenantParams = Strict({ tenantId: Type.String({ format: 'uuid' }) });

export async function dataPlaneAccessRoutes(app: App, ctx: ServiceContext, signingKey: SigningKey) {
  app.get(
    '/.well-known/jwks.json',
    {
      schema: {
        tags: ['data planes'],
        summary: 'The public keys data planes use to verify staff tokens',
        response: {
          200: Strict({ keys: Type.Array(Type.Record(Type.String(), Type.Unknown())) }),
          ...errorResponses,
        },
      },
    },
    async () => ({ keys: [signingKey.publicJwk as Record<string, unknown>] }),
  );

  app.post(
    '/tenants/:tenantId/data-plane-token',
    {
      preValidation: requireUser,
      preHandler: requireTenantRole(ctx, ...tenantRoles),
      schema: {
        tags: ['data planes'],
        summary: "A short-lived token for this tenant's shop admin API, carrying your tenant role",
        description:
          "Signed with the control plane's Ed25519 key; audience tenant:<id>, five minutes. The data plane checks the role against its permission table.",
        params: TenantParams,
        response: {
          201: Strict({
            token: Type.String(),
            token_type: Type.Literal('Bearer'),
            expires_at: Timestamp,
            role: Type.String(),
          }),
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const { tenant, role } = tenantAccessOf(request);
      if (!role) throw new Error('requireTenantRole admits only members to POST routes');
      if (tenant.status !== 'active') {
        throw problem.conflict(
          'tenant-not-active',
          `The tenant is ${tenant.status}; its shop admin API is closed to staff.`,
        );
      }
      const issued = await signingKey.sign({
        sub: authOf(request).user.id,
        role,
        aud: `tenant:${tenant.id}`,
      });
      await recordAudit(ctx.db, actorOf(request), {
        action: 'data_plane.token_issued',
        targetType: 'tenant',
        targetId: tenant.id,
        tenantId: tenant.id,
        after: { role, expires_at: issued.expiresAt.toISOString() },
      });
      return reply.code(201).send({
        token: issued.token,
        token_type: 'Bearer' as const,
        expires_at: issued.expiresAt.toISOString(),
        role,
      });
    },
  );
}
