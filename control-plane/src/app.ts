import { createServiceApp } from '@amanat/kit/http/service-app';
import type { App } from '@amanat/kit/http/types';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { KubeConfig } from '@kubernetes/client-node';
import type pg from 'pg';
import type { DestinationStream } from 'pino';
import { accountRoutes } from './accounts/routes.ts';
import { auditRoutes } from './audit/routes.ts';
import { registerAuthentication } from './auth/authenticate.ts';
import { clusterRoutes } from './cluster/routes.ts';
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
  /** The cluster the Tenant sync talks to when KUBERNETES_SYNC is on; KUBECONFIG or in-cluster otherwise. */
  kubeConfig?: KubeConfig;
  /**
   * Routes only the runtime that starts this control plane has (the local platform's payment
   * simulator); the production app and its OpenAPI document never include them.
   */
  localRoutes?: (app: App, ctx: ServiceContext) => Promise<void>;
}

/**
 * The Tenant sync, when it is on. Loaded on demand: the Kubernetes client takes a second or
 * two to load, which a control plane without a cluster (`npm start`, most tests) never pays.
 */
async function startTenantResources(app: App, deps: AppDependencies) {
  if (!deps.config.KUBERNETES_SYNC) return undefined;
  const { TenantResources, loadKubeConfig } = await import('./cluster/tenant-resources.ts');
  const tenantResources = new TenantResources({
    ctx: { db: deps.db, config: deps.config },
    kubeConfig: deps.kubeConfig ?? loadKubeConfig(),
    log: app.log.child({ component: 'tenant-resources' }),
    resyncMs: deps.config.KUBERNETES_RESYNC_SECONDS * 1000,
  });
  app.addHook('onReady', async () => tenantResources.start());
  app.addHook('onClose', () => tenantResources.stop());
  return tenantResources;
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
  // The local platform brings its own runtime (npm start); otherwise the Kubernetes sync, when on.
  const ctx = { ...deps, tenantResources: deps.tenantResources ?? (await startTenantResources(app, deps)) };

  await app.register(async (scoped) => {
    const typed = scoped.withTypeProvider<TypeBoxTypeProvider>();
    await accountRoutes(typed, ctx);
    await tenantRoutes(typed, ctx);
    await tenantRoleRoutes(typed, ctx);
    await auditRoutes(typed, ctx);
    await dataPlaneAccessRoutes(typed, ctx, signingKey);
    await clusterRoutes(typed, ctx);
    await deps.localRoutes?.(typed, ctx);
  });

  return app;
}
