/**
 * `npm run bench:local`: the local platform as `npm start` runs it (embedded PostgreSQL, the
 * control plane, the local runtime, the router), in a temporary data directory:
 *
 * - start-up until every demo shop answers on its host through the router, on a cold data
 *   directory (initdb, migrations, provisioning, seeding the demo fleet) and a warm one (the
 *   same directory again: PostgreSQL restarts, the data planes start, nothing is seeded);
 * - the RSS of each idle data plane (VmRSS 5, 30 and 60 s after the cold start's seeding,
 *   `BENCH_IDLE_SECONDS=5,30,60`);
 * - approve → storefront 200 through the router for a new tenant, `BENCH_NEW_TENANTS` times
 *   per isolation mode.
 *
 * Targets (issue 7): a new tenant ready in under 3 s; an idle data plane under 100 MB RSS.
 * It runs in-process, as `control-plane/src/local.ts` does: npm's and tsx's own start-up
 * (about a second) is not counted.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { machineSummary } from '@amanat/kit/bench/machine';
import { type EmbeddedPostgresHandle, freePort, startEmbeddedPostgres } from '@amanat/kit/postgres/embedded';
import { databaseUrl, withAdminClient } from '@amanat/kit/postgres/test-databases';
import { Keyring } from '@amanat/kit/secrets/keyring';
import { register } from '../src/accounts/service.ts';
import type { Actor } from '../src/audit/record.ts';
import { allTenants } from '../src/cluster/queries.ts';
import { loadConfig } from '../src/config.ts';
import { generateSigningKeyJson } from '../src/data-plane-access/signing.ts';
import { DEMO_SHOPS } from '../src/local-runtime/demo.ts';
import { type LocalPlatform, startLocalPlatform } from '../src/local-runtime/platform.ts';
import { requestTenant, transitionTenant } from '../src/tenants/service.ts';

/** When to read each data plane's RSS, in seconds after the seeding ended: right after a burst, and settled. */
const IDLE_SECONDS = (process.env.BENCH_IDLE_SECONDS ?? '5,30,60').split(',').map(Number);
const NEW_TENANTS = Number(process.env.BENCH_NEW_TENANTS ?? 3);
const ACTOR: Actor = { userId: null, role: null, requestId: 'bench-local', ip: '127.0.0.1' };

const dataDir = await mkdtemp(join(tmpdir(), 'amanat-bench-local-'));
// PostgreSQL may run as another user, who cannot enter a 0700 temp dir: it gets one of its own.
const postgresDir = await mkdtemp(join(tmpdir(), 'amanat-bench-local-pg-'));
const postgresPort = await freePort();
const controlPlanePort = await freePort();
const secrets = {
  SECRETS_KEYS: Keyring.generateSpec('bench1'),
  DATA_PLANE_SIGNING_KEY: await generateSigningKeyJson('bench1'),
};

/** A GET through the router with a shop's Host; 0 when the connection fails. */
function statusThroughRouter(routerUrl: string, host: string): Promise<number> {
  return new Promise((resolve) => {
    const request = httpRequest(`${routerUrl}/`, { headers: { host }, timeout: 5_000 }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode ?? 0));
    });
    request.on('timeout', () => request.destroy(new Error('timeout')));
    request.on('error', () => resolve(0));
    request.end();
  });
}

async function until200(routerUrl: string, host: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await statusThroughRouter(routerUrl, host)) !== 200) {
    if (Date.now() > deadline) throw new Error(`${host} did not answer 200 within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** One `npm start`: PostgreSQL on the data directory, then the platform; resolves once every demo shop answers. */
async function start(
  seedDemo: boolean,
): Promise<{ platform: LocalPlatform; postgres: EmbeddedPostgresHandle; ms: number }> {
  const startedAt = performance.now();
  const postgres = await startEmbeddedPostgres({
    dataDir: postgresDir,
    persistent: true,
    port: postgresPort,
  });
  await withAdminClient(postgres.adminUrl, async (client) => {
    const exists = await client.query("SELECT 1 FROM pg_database WHERE datname = 'amanat_control_plane'");
    if (exists.rowCount === 0) await client.query('CREATE DATABASE amanat_control_plane');
  });
  const config = loadConfig({
    ...secrets,
    DATABASE_URL: databaseUrl(postgres.adminUrl, 'amanat_control_plane'),
    PORT: String(controlPlanePort),
    SHOPS_DOMAIN: 'localhost',
    LOG_LEVEL: 'silent',
  });
  const platform = await startLocalPlatform({
    config,
    provisionerAdminUrl: postgres.adminUrl,
    dataDir,
    router: { host: '127.0.0.1', port: 0 },
    seedDemo,
    demoPassword: 'bench-demo-password',
  });
  await Promise.all(DEMO_SHOPS.map((shop) => until200(platform.routerUrl, `${shop.slug}.localhost`)));
  return { platform, postgres, ms: performance.now() - startedAt };
}

function vmRssMiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith('VmRSS:'));
  return Number(line?.match(/(\d+)/)?.[1] ?? Number.NaN) / 1024;
}

const round = (value: number) => Math.round(value);
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

const cold = await start(true);
const seededAt = Date.now();
const tenants = await allTenants(cold.platform.ctx.db);
const processes = [
  ...tenants.map((tenant) => ({
    process: `data plane ${tenant.slug}`,
    mode: tenant.isolationMode as string,
    pid: cold.platform.runtime.supervisorOf(tenant.id)?.status.pid as number,
  })),
  { process: 'control plane + runtime + router (this process)', mode: '-', pid: process.pid },
];
const memory: Record<string, string | number>[] = processes.map(({ process, mode }) => ({ process, mode }));
for (const idle of IDLE_SECONDS) {
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, seededAt + idle * 1000 - Date.now())));
  processes.forEach(({ pid }, index) => {
    (memory[index] as Record<string, number>)[`VmRSS MiB after ${idle} s`] = round(vmRssMiB(pid));
  });
}
await cold.platform.stop();
await cold.postgres.stop();

const warm = await start(false);
const startup = [
  {
    run: 'cold (fresh data dir: initdb, migrations, provisioning, demo seeding)',
    'all demo shops answer': seconds(cold.ms),
  },
  { run: 'warm (the same data dir again)', 'all demo shops answer': seconds(warm.ms) },
];

const owner = await register(warm.platform.ctx, ACTOR, {
  email: 'bench-owner@example.com',
  password: 'correct horse battery staple',
  display_name: 'Bench owner',
});
const newTenant: Record<string, string | number>[] = [];
for (const [tier, mode] of [
  ['hosted_seller', 'shared'],
  ['white_label', 'schema'],
  ['isolated', 'database'],
] as const) {
  const times: number[] = [];
  for (let index = 1; index <= NEW_TENANTS; index++) {
    const tenant = await requestTenant(
      warm.platform.ctx,
      { ...ACTOR, userId: owner.id },
      { slug: `bench-${mode}-${index}`, display_name: `Bench ${mode} ${index}`, tier, isolation_mode: mode },
    );
    const approvedAt = performance.now();
    await transitionTenant(warm.platform.ctx, ACTOR, tenant.id, 'approve', null);
    await until200(warm.platform.routerUrl, `${tenant.slug}.localhost`);
    times.push(performance.now() - approvedAt);
  }
  times.sort((a, b) => a - b);
  newTenant.push({
    mode,
    tenants: times.length,
    'min ms': round(times[0] as number),
    'median ms': round(times[Math.floor(times.length / 2)] as number),
    'max ms': round(times.at(-1) as number),
  });
}

await warm.platform.stop();
await warm.postgres.stop();
await rm(dataDir, { recursive: true, force: true });
await rm(postgresDir, { recursive: true, force: true });

console.log(`local platform bench: ${machineSummary()}`);
console.table(startup);
console.log('idle data planes, seconds after the demo seeding (target < 100 MB)');
console.table(memory);
console.log('new tenant: approve → storefront 200 through the router (target < 3 s)');
console.table(newTenant);
