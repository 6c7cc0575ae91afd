import { createServiceApp } from '@amanat/kit/http/service-app';
import type { App } from '@amanat/kit/http/types';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type pg from 'pg';
import type { DestinationStream } from 'pino';
import { accountRoutes } from './accounts/routes.ts';
import { auditRoutes } from './audit/routes.ts';
import { registerAuthentication } from './auth/authenticate.ts';
import type { ServiceContext } from './context.ts';
import { dataPlaneAccessRoutes } from './data-plane-access/routes.ts';
import { loadSigningKey } from './data-plane-access/signing.ts';
import { controlPlaneMigrationsAreCurrent } from './db/migrate.ts';
import { tenantRoleRoutes } from './tenant-roles/routes.ts';
import { tenantRoutes } from './tenants/routes.ts';

export interface AppDependencies extends ServiceContext {
  pool: pg.Pool;
  /** Where pino writes; stdout unless a test captures the lines. */
  logStream?: DestinationStream;
}

export async function buildApp(deps: AppDependencies): Promise<App> {
  const { config } = deps;
  const signingKey = await loadSigningKey(config.DATA_PLANE_SIGNING_KEY);
  const app = await createServiceApp({
    service: 'control-plane',
    server: {
      logLevel: config.LOG_LEVEL,
      bodyLimit: config.BODY_LIMIT_BYTES,
      trustProxy: config.TRUST_PROXY,
    },
    logStream: deps.logStream,
    openapi: {
      info: {
        title: 'Amanat Shops control plane',
        version: '0.1.0',
        description:
          'Platform accounts, the tenants registry, tenant roles and the audit log. Errors are RFC 9457 problem+json.',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer' },
          session: { type: 'apiKey', in: 'cookie', name: '__Host-session' },
        },
      },
      security: [{ bearer: [] }, { session: [] }],
    },
    readiness: async () => {
      await deps.pool.query('SELECT 1');
      return (await controlPlaneMigrationsAreCurrent(deps.pool))
        ? []
        : ['database migrations are not current'];
    },
  });
  registerAuthentication(app, deps);

  await app.register(async (scoped) => {
    const typed = scoped.withTypeProvider<TypeBoxTypeProvider>();
    await accountRoutes(typed, deps);
    await tenantRoutes(typed, deps);
    await tenantRoleRoutes(typed, deps);
    await auditRoutes(typed, deps);
    await dataPlaneAccessRoutes(typed, deps, signingKey);
  });

  return app;
}
