import { ConfigError } from '@amanat/kit/config/env';
import { type AppDependencies, buildApp } from './app.ts';
import type { TenantResourcesView } from './cluster/view.ts';
import { type Config, loadConfig } from './config.ts';
import { connect, type Database } from './db/client.ts';
import { migrateControlPlane } from './db/migrate.ts';

function configOrExit(): Config {
  try {
    return loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`control-plane: invalid configuration: ${error.message}`);
    process.exit(78);
  }
}

/**
 * Starts the control plane against DATABASE_URL, migrating it first. Returns a stopper.
 * `tenantResources` puts tenants somewhere other than Kubernetes (the local runtime), which
 * may bring `localRoutes` of its own.
 */
export async function startControlPlane(
  config: Config,
  options: Pick<AppDependencies, 'localRoutes'> & {
    tenantResources?: (db: Database) => TenantResourcesView;
  } = {},
) {
  await migrateControlPlane(config.DATABASE_URL);
  const { db, pool } = connect(config.DATABASE_URL);
  const tenantResources = options.tenantResources?.(db);
  const app = await buildApp({
    db,
    pool,
    config,
    ...(tenantResources ? { tenantResources } : {}),
    ...(options.localRoutes ? { localRoutes: options.localRoutes } : {}),
  });
  const address = await app.listen({ host: config.HOST, port: config.PORT });
  return {
    app,
    address,
    db,
    async stop() {
      await app.close();
      await pool.end();
    },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const running = await startControlPlane(configOrExit());
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      running.app.log.info({ signal }, 'shutting down');
      void running.stop().then(() => process.exit(0));
    });
  }
}
