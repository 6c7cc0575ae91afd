import { registerFoundation, serverOptions } from '@amanat/kit/http/foundation';
import { Problem } from '@amanat/kit/http/schemas';
import type { App } from '@amanat/kit/http/types';
import cookie from '@fastify/cookie';
import swagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify from 'fastify';
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

export interface RouteEntry {
  method: string;
  url: string;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route registered on the app (HEAD routes included), for tests and tooling. */
    routeTable: readonly RouteEntry[];
  }
}

export async function buildApp(deps: AppDependencies): Promise<App> {
  const { config } = deps;
  const signingKey = await loadSigningKey(config.DATA_PLANE_SIGNING_KEY);
  const app = Fastify(
    serverOptions({
      logLevel: config.LOG_LEVEL,
      bodyLimit: config.BODY_LIMIT_BYTES,
      trustProxy: config.TRUST_PROXY,
      logStream: deps.logStream,
    }),
  ).withTypeProvider<TypeBoxTypeProvider>();

  const routeTable: RouteEntry[] = [];
  app.decorate('routeTable', routeTable);
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) routeTable.push({ method, url: route.url });
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
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
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => String(json.$id ?? `def-${i}`) },
  });
  app.addSchema(Problem);
  await app.register(cookie);

  registerFoundation(app, {
    service: 'control-plane',
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

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  return app;
}
