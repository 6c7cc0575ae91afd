import { BrandSchema } from '@amanat/kit/brand';
import { errorResponses, literals, Strict, Timestamp, Uuid } from '@amanat/kit/http/schemas';
import type { App } from '@amanat/kit/http/types';
import { Type } from 'typebox';
import { actorOf, authOf, requirePlatformAdmin, requireUser } from '../auth/authenticate.ts';
import { TenantCluster } from '../cluster/view.ts';
import type { ServiceContext } from '../context.ts';
import { AccessReasonHeaders, requireTenantRole, tenantAccessOf } from '../tenant-roles/guard.ts';
import { tenantRoles } from '../tenant-roles/schema.ts';
import { listTenants, type TenantRow, tenantSorts } from './queries.ts';
import { isolationModes, loginMethods, tenantStatuses, tenantTiers } from './schema.ts';
import {
  createTenant,
  publicTenant,
  requestTenant,
  transitionTenant,
  updateTenantSettings,
} from './service.ts';
import { SLUG_PATTERN } from './validation.ts';

const Features = Strict({
  login_methods: Type.Array(literals(loginMethods), {
    minItems: 1,
    uniqueItems: true,
  }),
  disclose_platform: Type.Boolean({ description: 'Show buyers that the shop runs on the platform.' }),
});

const Settings = {
  display_name: Type.String({ minLength: 1, maxLength: 120 }),
  brand: Type.Union([BrandSchema, Type.Null()]),
  features: Features,
  locale: Type.String({
    pattern: '^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$',
    maxLength: 35,
    description: 'BCP 47',
  }),
  timezone: Type.String({ minLength: 1, maxLength: 64, description: 'IANA time zone' }),
  currency: Type.String({ pattern: '^[A-Z]{3}$', description: 'ISO 4217' }),
};

const TenantInput = Strict({
  slug: Type.String({
    pattern: SLUG_PATTERN,
    minLength: 3,
    maxLength: 40,
    description: 'DNS label, 3-40 chars',
  }),
  display_name: Settings.display_name,
  tier: literals(tenantTiers),
  isolation_mode: Type.Optional(literals(isolationModes, 'defaults from the tier')),
  brand: Type.Optional(Settings.brand),
  features: Type.Optional(Settings.features),
  locale: Type.Optional(Settings.locale),
  timezone: Type.Optional(Settings.timezone),
  currency: Type.Optional(Settings.currency),
});

export const Tenant = Strict({
  id: Uuid,
  slug: Type.String(),
  display_name: Type.String(),
  owner_id: Uuid,
  tier: literals(tenantTiers),
  status: literals(tenantStatuses),
  status_reason: Type.Union([Type.String(), Type.Null()]),
  isolation_mode: literals(isolationModes),
  brand: Type.Union([BrandSchema, Type.Null()]),
  features: Features,
  locale: Type.String(),
  timezone: Type.String(),
  currency: Type.String(),
  created_at: Timestamp,
  updated_at: Timestamp,
  status_changed_at: Timestamp,
  cluster: Type.Optional(TenantCluster),
});

const TenantPage = Strict({
  items: Type.Array(Tenant),
  total: Type.Integer(),
  limit: Type.Integer(),
  offset: Type.Integer(),
});

const PageQuery = {
  q: Type.Optional(
    Type.String({ minLength: 1, maxLength: 100, description: 'matches slug or display name' }),
  ),
  sort: Type.Optional(literals(tenantSorts)),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
  offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 100_000, default: 0 })),
};

const TenantParams = Strict({ tenantId: Uuid });
const Reason = Type.String({ minLength: 3, maxLength: 500 });

export async function tenantRoutes(app: App, ctx: ServiceContext) {
  const admin = requirePlatformAdmin(ctx);
  /** The registry's record, and the Tenant resource's status when the control plane syncs with a cluster. */
  const tenantView = (tenant: TenantRow) => {
    const sync = ctx.tenantResources;
    return sync ? { ...publicTenant(tenant), cluster: sync.clusterStatusOf(tenant) } : publicTenant(tenant);
  };

  app.get(
    '/tenants',
    {
      preValidation: requireUser,
      schema: {
        tags: ['tenants'],
        summary: 'Tenants where you hold a role',
        querystring: Strict({ status: Type.Optional(literals(tenantStatuses)), ...PageQuery }),
        response: { 200: TenantPage, ...errorResponses },
      },
    },
    async (request) => {
      const { limit = 20, offset = 0, sort = '-created_at', ...filter } = request.query;
      const page = await listTenants(
        ctx.db,
        { ...filter, member_id: authOf(request).user.id },
        { sort, limit, offset },
      );
      return { items: page.items.map(tenantView), total: page.total, limit, offset };
    },
  );

  app.post(
    '/tenants',
    {
      preValidation: requireUser,
      schema: {
        tags: ['tenants'],
        summary: 'Request a new shop (pending until a platform admin approves it)',
        body: TenantInput,
        response: { 201: Tenant, ...errorResponses },
      },
    },
    async (request, reply) => {
      const tenant = await requestTenant(ctx, actorOf(request), request.body);
      return reply.code(201).send(tenantView(tenant));
    },
  );

  app.get(
    '/tenants/:tenantId',
    {
      preValidation: requireUser,
      preHandler: requireTenantRole(ctx, ...tenantRoles),
      schema: {
        tags: ['tenants'],
        summary: 'One tenant (any role; platform admins give x-access-reason)',
        params: TenantParams,
        headers: AccessReasonHeaders,
        response: { 200: Tenant, ...errorResponses },
      },
    },
    async (request) => tenantView(tenantAccessOf(request).tenant),
  );

  app.patch(
    '/tenants/:tenantId',
    {
      preValidation: requireUser,
      preHandler: requireTenantRole(ctx, 'owner', 'manager'),
      schema: {
        tags: ['tenants'],
        summary: "Change the shop's settings and brand",
        params: TenantParams,
        body: Type.Partial(Strict(Settings), { additionalProperties: false, minProperties: 1 }),
        response: { 200: Tenant, ...errorResponses },
      },
    },
    async (request) =>
      tenantView(await updateTenantSettings(ctx, actorOf(request), request.params.tenantId, request.body)),
  );

  app.get(
    '/admin/tenants',
    {
      preValidation: admin,
      schema: {
        tags: ['admin'],
        summary: 'All tenants, filtered, sorted and paginated',
        querystring: Strict({
          status: Type.Optional(literals(tenantStatuses)),
          tier: Type.Optional(literals(tenantTiers)),
          isolation_mode: Type.Optional(literals(isolationModes)),
          owner_id: Type.Optional(Uuid),
          ...PageQuery,
        }),
        response: { 200: TenantPage, ...errorResponses },
      },
    },
    async (request) => {
      const { limit = 20, offset = 0, sort = '-created_at', ...filter } = request.query;
      const page = await listTenants(ctx.db, filter, { sort, limit, offset });
      return { items: page.items.map(tenantView), total: page.total, limit, offset };
    },
  );

  app.post(
    '/admin/tenants',
    {
      preValidation: admin,
      schema: {
        tags: ['admin'],
        summary: 'Create an active tenant for an existing account',
        body: Strict({
          ...TenantInput.properties,
          owner_email: Type.String({ format: 'email', maxLength: 254 }),
        }),
        response: { 201: Tenant, ...errorResponses },
      },
    },
    async (request, reply) => {
      const tenant = await createTenant(ctx, actorOf(request), request.body);
      return reply.code(201).send(tenantView(tenant));
    },
  );

  const transitions = [
    { action: 'approve', summary: 'Approve a pending tenant', reason: 'optional' },
    { action: 'suspend', summary: 'Suspend an active tenant', reason: 'required' },
    { action: 'reactivate', summary: 'Reactivate a suspended tenant', reason: 'optional' },
    { action: 'close', summary: 'Close a tenant for good', reason: 'optional' },
  ] as const;
  for (const { action, summary, reason } of transitions) {
    app.post(
      `/admin/tenants/:tenantId/${action}`,
      {
        preValidation: admin,
        schema: {
          tags: ['admin'],
          summary,
          params: TenantParams,
          // fastify validates a missing body as null: accepting null is what makes the body optional.
          body:
            reason === 'required'
              ? Strict({ reason: Reason })
              : Type.Union([Strict({ reason: Type.Optional(Reason) }), Type.Null()]),
          response: { 200: Tenant, ...errorResponses },
        },
      },
      async (request) => {
        const body = request.body as { reason?: string } | null;
        return tenantView(
          await transitionTenant(
            ctx,
            actorOf(request),
            request.params.tenantId,
            action,
            body?.reason ?? null,
          ),
        );
      },
    );
  }
}
