import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startEmbeddedPostgres } from '@amanat/kit/postgres/embedded';
import { databaseUrl, withAdminClient } from '@amanat/kit/postgres/test-databases';
import { Keyring } from '@amanat/kit/secrets/keyring';
import autocannon from 'autocannon';
import { exportJWK, generateKeyPair } from 'jose';
import { migrateDataPlane } from '../src/db/migrate.ts';
import { type DataPlaneLaunch, dataPlaneCommand } from '../src/launch.ts';
import { seedCatalog } from './seed.ts';

export const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
export const DURATION_SECONDS = Number(process.env.BENCH_DURATION ?? 10);
/** A directory: the data plane writes a V8 CPU profile there when it exits. */
const CPU_PROFILE_DIR = process.env.BENCH_CPU_PROFILE_DIR;

/**
 * One shop in a fresh embedded PostgreSQL with a seeded catalog, its data plane started as
 * its own process from the configuration contract the way the local runtime starts it (the
 * built bundle, `dataPlaneCommand`) unless told otherwise, ready on a loopback port.
 */
export async function startBenchShop(products: number, launch: DataPlaneLaunch = dataPlaneCommand()) {
  const postgres = await startEmbeddedPostgres({
    dataDir: await mkdtemp(join(tmpdir(), 'amanat-dp-bench-pg-')),
    persistent: false,
  });
  await withAdminClient(postgres.adminUrl, (client) => client.query('CREATE DATABASE shop'));
  const url = databaseUrl(postgres.adminUrl, 'shop');
  await migrateDataPlane(url);
  const tenantId = randomUUID();
  const seeded = await seedCatalog(url, tenantId, products);

  const { publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const port = await freePort();
  const dataPlane = spawn(
    launch.command,
    [...(CPU_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${CPU_PROFILE_DIR}`] : []), ...launch.args],
    {
      cwd: launch.cwd,
      env: {
        ...process.env,
        ...launch.env,
        TENANT_ID: tenantId,
        TENANT_SLUG: 'bench-shop',
        DATABASE_URL: url,
        PUBLIC_HOSTS: 'bench-shop.localhost',
        CONTROL_PLANE_URL: 'http://127.0.0.1:1',
        CONTROL_PLANE_JWKS: JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'bench' }] }),
        PAYMENT_EVIDENCE_SECRET: 'bench-payment-evidence-secret-0123456789',
        DELIVERY_LINK_SECRET: 'bench-delivery-link-secret-0123456789abc',
        SECRETS_KEYS: Keyring.generateSpec(),
        PORT: String(port),
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    const ready = await fetch(`${base}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) break;
    if (i > 300) throw new Error('data plane did not become ready');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    base,
    url,
    tenantId,
    pid: dataPlane.pid as number,
    seeded,
    async stop() {
      dataPlane.kill('SIGTERM');
      await new Promise((resolve) => dataPlane.once('exit', resolve));
      await postgres.stop();
    },
  };
}

export const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)] as T;

export interface Row {
  scenario: string;
  'req/s': number;
  'p50 ms': number;
  'p95 ms': number;
  'p99 ms': number;
  requests: number;
  'non-2xx': number;
}

/** Runs one autocannon scenario; latencies are collected per response so p95 is exact, not interpolated. */
export async function measure(
  base: string,
  scenario: string,
  options: Partial<autocannon.Options>,
): Promise<Row> {
  const latencies: number[] = [];
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      { url: base, connections: CONNECTIONS, duration: DURATION_SECONDS, ...options },
      (error, finished) => (error ? reject(error) : resolve(finished)),
    );
    instance.on('response', (_client, _status, _bytes, responseTime) => latencies.push(responseTime));
  });
  latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    Number((latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0).toFixed(2));
  return {
    scenario,
    'req/s': Math.round(result.requests.average),
    'p50 ms': at(0.5),
    'p95 ms': at(0.95),
    'p99 ms': at(0.99),
    requests: result.requests.total,
    'non-2xx': result.non2xx + result.errors,
  };
}
