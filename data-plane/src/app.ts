import { registerFoundation, serverOptions } from '@amanat/kit/http/foundation';
import { Problem } from '@amanat/kit/http/schemas';
import type { App } from '@amanat/kit/http/types';
import cookie from '@fastify/cookie';
import swagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify from 'fastify';
import type pg from 'pg';
import type { DestinationStream } from 'pino';
import { staffTokenVerifier } from './auth/staff.ts';
import { buyerRoutes } from './buyers/routes.ts';
import { catalogRoutes } from './catalog/routes.ts';
import type { ServiceContext } from './context.ts';
import { customerRoutes } from './customers/routes.ts';
import { dataPlaneMigrationsAreCurrent } from './db/migrate.ts';
import { webhookRoutes } from './events/routes.ts';
import { commerceRoutes } from './orders/register.ts';
import { overviewRoutes } from './overview/routes.ts';
import { settingsRoutes } from './settings/routes.ts';

export interface DataPlaneDependencies extends ServiceContext {
  pool: pg.Pool;
  logStream?: DestinationStream;
}

export interface RouteEntry {
  method: string;
  url: string;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route registered on the app, for tests and tooling. */
    routeTable: readonly RouteEntry[];
  }
}

/** One tenant's data plane: storefront API, shop admin API, payment adapters. */
export async function buildDataPlaneApp(deps: DataPlaneDependencies): Promise<App> {
  const { config } = deps;
  const app = Fastify(
    serverOptions({
      logLevel: config.LOG_LEVEL,
      bodyLimit: config.BODY_LIMIT_BYTES,
      trustProxy: config.TRUST_PROXY,
      logStream: deps.logStream,
      logBindings: { tenantId: deps.tenantId },
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
        title: 'Shop data plane',
        version: '0.1.0',
        description:
          "One shop's storefront API (/api/storefront), shop admin API (/api/admin, staff tokens from the control plane) and payment adapters (/api/payments). Errors are RFC 9457 problem+json.",
      },
      components: {
        securitySchemes: {
          staff: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
          buyer: { type: 'apiKey', in: 'cookie', name: '__Host-sid' },
        },
      },
    },
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => String(json.$id ?? `def-${i}`) },
  });
  app.addSchema(Problem);
  await app.register(cookie);

  registerFoundation(app, {
    service: 'data-plane',
    readiness: async () => {
      await deps.pool.query('SELECT 1');
      return (await dataPlaneMigrationsAreCurrent(deps.pool))
        ? []
        : ['the database is not at the schema version this data plane expects; run its migrations'];
    },
  });

  const verifyStaff = staffTokenVerifier(config);
  await app.register(async (scoped) => {
    const typed = scoped.withTypeProvider<TypeBoxTypeProvider>();
    await settingsRoutes(typed, deps, verifyStaff);
    await catalogRoutes(typed, deps, verifyStaff);
    await buyerRoutes(typed, deps);
    await customerRoutes(typed, deps, verifyStaff);
    await overviewRoutes(typed, deps, verifyStaff);
    await webhookRoutes(typed, deps, verifyStaff);
    await commerceRoutes(typed, deps, verifyStaff);
  });

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  return app;
}
