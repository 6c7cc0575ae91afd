import { errorResponses, Strict, Timestamp, Uuid } from '@amanat/kit/http/schemas';
import type { App } from '@amanat/kit/http/types';
import { Type } from 'typebox';
import { requirePlatformAdmin } from '../auth/authenticate.ts';
import type { ServiceContext } from '../context.ts';
import { queryAudit } from './queries.ts';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) =>
  Type.Union([schema, Type.Null()]);

const AuditEntry = Strict({
  id: Type.Integer(),
  at: Timestamp,
  actor_id: Nullable(Uuid),
  actor_role: Nullable(Type.String()),
  tenant_id: Nullable(Uuid),
  action: Type.String(),
  target_type: Type.String(),
  target_id: Nullable(Type.String()),
  before: Type.Unknown(),
  after: Type.Unknown(),
  reason: Nullable(Type.String()),
  request_id: Nullable(Type.String()),
  ip: Nullable(Type.String()),
});

export async function auditRoutes(app: App, ctx: ServiceContext) {
  app.get(
    '/admin/audit',
    {
      preValidation: requirePlatformAdmin(ctx),
      schema: {
        tags: ['admin'],
        summary: 'The audit log, newest first',
        description: 'Page backwards by passing the next_before_id of the previous page as before_id.',
        querystring: Strict({
          tenant_id: Type.Optional(Uuid),
          actor_id: Type.Optional(Uuid),
          action: Type.Optional(Type.String({ pattern: '^[a-z_.]{1,64}$' })),
          target_type: Type.Optional(Type.String({ pattern: '^[a-z_]{1,64}$' })),
          target_id: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
          from: Type.Optional(Timestamp),
          to: Type.Optional(Timestamp),
          before_id: Type.Optional(Type.Integer({ minimum: 1 })),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
        }),
        response: {
          200: Strict({ items: Type.Array(AuditEntry), next_before_id: Nullable(Type.Integer()) }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const { limit = 50, ...filter } = request.query;
      const rows = await queryAudit(ctx.db, filter, limit);
      const last = rows.at(-1);
      return {
        items: rows.map((row) => ({
          id: row.id,
          at: row.at.toISOString(),
          actor_id: row.actorId,
          actor_role: row.actorRole,
          tenant_id: row.tenantId,
          action: row.action,
          target_type: row.targetType,
          target_id: row.targetId,
          before: row.before,
          after: row.after,
          reason: row.reason,
          request_id: row.requestId,
          ip: row.ip,
        })),
        next_before_id: rows.length === limit && last ? last.id : null,
      };
    },
  );
}
