import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { objectStoreFromUrl } from '@amanat/data-plane/backups/object-store';
import { Provisioner } from '@amanat/data-plane/provisioning/provisioner';
import { type LocalMailbox, startLocalMailbox } from '@amanat/kit/mail/local-mailbox';
import pino from 'pino';
import { findUserByEmail } from '../accounts/queries.ts';
import { register } from '../accounts/service.ts';
import type { Actor } from '../audit/record.ts';
import { findTenantBySlug } from '../cluster/queries.ts';
import type { Config } from '../config.ts';
import type { ServiceContext } from '../context.ts';
import { loadSigningKey } from '../data-plane-access/signing.ts';
import { startControlPlane } from '../main.ts';
import { createTenant } from '../tenants/service.ts';
import { DEMO_SHOPS, type DemoShop, seedDemoShop } from './demo.ts';
import { mailboxRoutes } from './mailbox-pages.ts';
import { startRouter } from './router.ts';
import { LocalRuntime } from './runtime.ts';
import { simulatedPaymentRoutes } from './simulate-payment.ts';

export interface LocalPlatformOptions {
  /** The control plane's configuration (its DATABASE_URL included). */
  config: Config;
  /** Admin URL of the PostgreSQL server the tenants' databases go on. */
  provisionerAdminUrl: string;
  /** Where tenant state, data-plane logs, backups and the local mailbox live. */
  dataDir: string;
  router: { host: string; port: number };
  /**
   * Make sure the demo fleet exists: its owners and shops are created when missing, and a
   * shop without products is filled. Safe to repeat after a start that stopped half-way.
   */
  seedDemo: boolean;
  /** The password every demo owner gets. */
  demoPassword: string;
  /**
   * A real SMTP server for the data planes' email (`smtp://user:password@host:587`). Without
   * one, the local mailbox takes it: an SMTP server on loopback that files each message under
   * `dataDir/mailbox/`, shown at `/mailbox` on the admin host.
   */
  smtpUrl?: string;
  /** The data planes' MAIL_FROM, when given. */
  mailFrom?: string;
  logLevel?: string;
}

export interface LocalPlatform {
  routerUrl: string;
  controlPlaneUrl: string;
  runtime: LocalRuntime;
  ctx: ServiceContext;
  demo: { shop: DemoShop; tenantId: string }[];
  /** The SMTP_URL every data plane gets, and the local mailbox behind it unless a real server was given. */
  mail: { smtpUrl: string; mailbox: LocalMailbox | null };
  stop(): Promise<void>;
}

const SEED_ACTOR: Actor = { userId: null, role: null, requestId: 'demo-seed', ip: '127.0.0.1' };
const READY_TIMEOUT_MS = 60_000;

/**
 * The whole platform on one machine: the control plane, a local runtime that turns its tenants
 * into data-plane processes, and a router that serves `admin.localhost` and every shop's hosts
 * on one port. The same parts as production, with processes instead of pods.
 */
export async function startLocalPlatform(options: LocalPlatformOptions): Promise<LocalPlatform> {
  const log = pino({ level: options.logLevel ?? 'warn', base: { component: 'local-runtime' } });
  const provisioner = await Provisioner.open({ adminUrl: options.provisionerAdminUrl });
  const backupsDir = join(options.dataDir, 'backups');
  await mkdir(backupsDir, { recursive: true });
  const signingKey = await loadSigningKey(options.config.DATA_PLANE_SIGNING_KEY);
  const adminHost = `admin.${options.config.SHOPS_DOMAIN}`;
  const mail: LocalPlatform['mail'] = options.smtpUrl
    ? { smtpUrl: options.smtpUrl, mailbox: null }
    : await startLocalMailbox({ dir: join(options.dataDir, 'mailbox') }).then((mailbox) => ({
        smtpUrl: mailbox.url,
        mailbox,
      }));
  const { mailbox } = mail;
  let runtime: LocalRuntime | undefined;
  const controlPlane = await startControlPlane(options.config, {
    tenantResources: (db) => {
      runtime = new LocalRuntime({
        db,
        provisioner,
        backups: objectStoreFromUrl(pathToFileURL(backupsDir).href, process.env),
        settings: options.config,
        stateDir: join(options.dataDir, 'runtime'),
        controlPlane: {
          url: `http://127.0.0.1:${options.config.PORT}`,
          jwks: JSON.stringify({ keys: [signingKey.publicJwk] }),
        },
        mail: { smtpUrl: mail.smtpUrl, from: options.mailFrom },
        log,
      });
      return runtime;
    },
    // buildApp calls this after tenantResources above: the runtime exists by then.
    localRoutes: async (app, ctx) => {
      await simulatedPaymentRoutes(app, ctx, runtime as LocalRuntime, signingKey);
      if (mailbox) await mailboxRoutes(app, mailbox, { adminHost });
    },
  });
  const localRuntime = runtime as unknown as LocalRuntime;
  const router = await startRouter(localRuntime, options.router);
  localRuntime.servedThrough(Number(new URL(router.url).port));
  localRuntime.route(adminHost, controlPlane.address);
  const ctx: ServiceContext = { db: controlPlane.db, config: options.config, tenantResources: localRuntime };

  const stop = async () => {
    await router.close();
    await localRuntime.stop();
    await controlPlane.stop();
    await provisioner.close();
    // After the data planes: a message one of them was sending as it stopped is still filed.
    await mailbox?.stop();
  };
  try {
    await localRuntime.start();
    const demo = options.seedDemo
      ? await seedDemoFleet(ctx, localRuntime, signingKey, options.demoPassword)
      : [];
    return {
      routerUrl: router.url,
      controlPlaneUrl: controlPlane.address,
      runtime: localRuntime,
      ctx,
      demo,
      mail,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Creates the demo owners and shops through the control plane's services, then fills each shop. */
async function seedDemoFleet(
  ctx: ServiceContext,
  runtime: LocalRuntime,
  signingKey: Awaited<ReturnType<typeof loadSigningKey>>,
  password: string,
): Promise<{ shop: DemoShop; tenantId: string }[]> {
  const created: { shop: DemoShop; tenantId: string; ownerId: string }[] = [];
  for (const shop of DEMO_SHOPS) {
    const owner =
      (await findUserByEmail(ctx.db, shop.owner.email)) ??
      (await register(ctx, SEED_ACTOR, {
        email: shop.owner.email,
        password,
        display_name: shop.owner.displayName,
      }));
    const tenant =
      (await findTenantBySlug(ctx.db, shop.slug)) ??
      (await createTenant(ctx, SEED_ACTOR, {
        slug: shop.slug,
        display_name: shop.name,
        tier: shop.tier,
        isolation_mode: shop.mode,
        locale: shop.locale,
        currency: shop.currency,
        owner_email: shop.owner.email,
      }));
    created.push({ shop, tenantId: tenant.id, ownerId: owner.id });
  }
  await runtime.settled();
  await Promise.all(
    created.map(async ({ shop, tenantId, ownerId }) => {
      const supervisor = runtime.supervisorOf(tenantId);
      await supervisor?.ready(READY_TIMEOUT_MS);
      const endpoint = await runtime.tenantEndpoint(tenantId);
      if (!endpoint) throw new Error(`demo shop ${shop.slug} has no running data plane`);
      await seedDemoShop(
        {
          baseUrl: endpoint.url,
          paymentEvidenceSecret: endpoint.paymentEvidenceSecret,
          staffToken: async () =>
            (await signingKey.sign({ sub: ownerId, role: 'owner', aud: `tenant:${tenantId}` })).token,
        },
        shop,
      );
    }),
  );
  return created.map(({ shop, tenantId }) => ({ shop, tenantId }));
}
