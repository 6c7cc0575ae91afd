import { createServiceApp } from '@amanat/kit/http/service-app';
import type { App } from '@amanat/kit/http/types';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type pg from 'pg';
import type { DestinationStream } from 'pino';
import { staffTokenVerifier } from './auth/staff.ts';
import { buyerRoutes } from './buyers/routes.ts';
import { telegramRoutes } from './buyers/telegram-routes.ts';
import { catalogRoutes } from './catalog/routes.ts';
import type { ServiceContext } from './context.ts';
import { customerRoutes } from './customers/routes.ts';
import { dataPlaneMigrationsAreCurrent } from './db/migrate.ts';
import { emailRoutes } from './email/routes.ts';
import { webhookRoutes } from './events/routes.ts';
import { commerceRoutes } from './orders/register.ts';
import { overviewRoutes } from './overview/routes.ts';
import { settingsRoutes } from './settings/routes.ts';
import { storefrontNotFound, storefrontRoutes } from './storefront/routes.tsx';

export interface DataPlaneDependencies extends ServiceContext {
  pool: pg.Pool;
  logStream?: DestinationStream;
}

/** One tenant's data plane: storefront pages and API, shop admin API, payment adapters. */
export async function buildDataPlaneApp(deps: DataPlaneDependencies): Promise<App> {
  const { config } = deps;
  const app = await createServiceApp({
    service: 'data-plane',
    server: {
      logLevel: config.LOG_LEVEL,
      bodyLimit: config.BODY_LIMIT_BYTES,
      trustProxy: config.TRUST_PROXY,
    },
    logStream: deps.logStream,
    logBindings: { tenantId: deps.tenantId },
    openapi: {
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
    readiness: async () => {
      await deps.pool.query('SELECT 1');
      return (await dataPlaneMigrationsAreCurrent(deps.pool))
        ? []
        : ['the database is not at the schema version this data plane expects; run its migrations'];
    },
    notFound: storefrontNotFound(deps),
  });

  const verifyStaff = staffTokenVerifier(config);
  await app.register(async (scoped) => {
    const typed = scoped.withTypeProvider<TypeBoxTypeProvider>();
    await settingsRoutes(typed, deps, verifyStaff);
    await catalogRoutes(typed, deps, verifyStaff);
    await buyerRoutes(typed, deps);
    await telegramRoutes(typed, deps);
    await customerRoutes(typed, deps, verifyStaff);
    await overviewRoutes(typed, deps, verifyStaff);
    await webhookRoutes(typed, deps, verifyStaff);
    await emailRoutes(typed, deps, verifyStaff);
    await commerceRoutes(typed, deps, verifyStaff);
  });
  // A scope of its own: the pages accept form posts, the API beside them must not.
  await app.register(async (pages) => storefrontRoutes(pages.withTypeProvider<TypeBoxTypeProvider>(), deps));

  return app;
}
