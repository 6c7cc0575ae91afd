import { ConfigError } from '@amanat/kit/config/env';
import { buildDataPlaneApp } from './app.ts';
import { type DataPlaneConfig, loadDataPlaneConfig } from './config.ts';
import { connect } from './db/client.ts';
import { dataPlaneMigrationsAreCurrent, migrateDataPlane } from './db/migrate.ts';
import { startEmailSender } from './email/sender.ts';
import { startDispatcher } from './events/dispatcher.ts';
import { startPaymentWindowWorker } from './orders/expiry.ts';
import { ensureSettings } from './settings/service.ts';

function configOrExit(): DataPlaneConfig {
  try {
    return loadDataPlaneConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`data-plane: invalid configuration: ${error.message}`);
    process.exit(78);
  }
}

/** Starts one tenant's data plane from its configuration contract. Returns a stopper. */
export async function startDataPlane(config: DataPlaneConfig) {
  if (config.MIGRATE_ON_START) await migrateDataPlane(config.DATABASE_URL);
  const { db, pool } = connect(config.DATABASE_URL);
  const ctx = { db, config, tenantId: config.TENANT_ID };
  if (await dataPlaneMigrationsAreCurrent(pool).catch(() => false)) await ensureSettings(ctx);
  const app = await buildDataPlaneApp({ ...ctx, pool });
  const address = await app.listen({ host: config.HOST, port: config.PORT });
  // Delivers outbox events to the shop's webhooks; stopped first so no round is cut short.
  const dispatcher = startDispatcher(ctx, { log: app.log.child({ component: 'webhook-dispatcher' }) });
  // Expires orders whose payment window closed and releases their stock.
  const paymentWindow = startPaymentWindowWorker(ctx, app.log.child({ component: 'payment-window' }));
  // Sends the buyers' email; a shop without an SMTP server sends none (and queues none).
  const emailSender = config.SMTP_URL
    ? startEmailSender(ctx, app.log.child({ component: 'email-sender' }))
    : null;
  return {
    app,
    address,
    emailSender,
    async stop() {
      await dispatcher.stop();
      await emailSender?.stop();
      await paymentWindow.stop();
      await app.close();
      await pool.end();
    },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const running = await startDataPlane(configOrExit());
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      running.app.log.info({ signal }, 'shutting down');
      void running.stop().then(() => process.exit(0));
    });
  }
}
