import { errorResponses, literals, Strict } from '@amanat/kit/http/schemas';
import type { App } from '@amanat/kit/http/types';
import { Type } from 'typebox';
import { requirePlatformAdmin } from '../auth/authenticate.ts';
import type { ServiceContext } from '../context.ts';
import { UnadoptedTenantSchema } from './view.ts';

const syncStates = ['off', 'listing', 'synced'] as const;

export async function clusterRoutes(app: App, ctx: ServiceContext) {
  app.get(
    '/admin/cluster',
    {
      preValidation: requirePlatformAdmin(ctx),
      schema: {
        tags: ['admin'],
        summary: "The sync with the cluster's Tenant resources, and the Tenants it could not adopt",
        response: {
          200: Strict({
            sync: literals(
              syncStates,
              'off (KUBERNETES_SYNC), listing (waiting for the API server) or synced',
            ),
            unadopted_tenants: Type.Array(UnadoptedTenantSchema, {
              description: 'Tenants created in the cluster that are not in the registry, and why.',
            }),
          }),
          ...errorResponses,
        },
      },
    },
    async () => {
      const sync = ctx.tenantResources;
      return {
        sync: !sync ? ('off' as const) : sync.hasSynced ? ('synced' as const) : ('listing' as const),
        unadopted_tenants: sync?.unadoptedTenants() ?? [],
      };
    },
  );
}
