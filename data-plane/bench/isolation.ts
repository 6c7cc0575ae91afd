/**
 * `npm run bench -w data-plane -- isolation`: what isolation costs. On a fresh embedded
 * PostgreSQL it measures provisioning time per mode, the overhead of row-level security on
 * the catalog query, catalog latency in one schema tenant with 1 vs 1,000 schema tenants on
 * the server, and backup/restore throughput and lock time for a tenant with 100,000 orders.
 * Prints tables; record them in docs/benchmarks.md.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { machineSummary } from '@amanat/kit/bench/machine';
import { startEmbeddedPostgres } from '@amanat/kit/postgres/embedded';
import { takeBackup } from '../src/backups/backup.ts';
import { FileObjectStore } from '../src/backups/object-store.ts';
import { restoreBackup } from '../src/backups/restore.ts';
import { listProducts } from '../src/catalog/queries.ts';
import { connect } from '../src/db/client.ts';
import { ISOLATION_MODES } from '../src/provisioning/names.ts';
import { type Credentials, Provisioner } from '../src/provisioning/provisioner.ts';
import { seedCatalog } from './seed.ts';
import { seedOrders } from './seed-orders.ts';

const TENANTS_PER_MODE = Number(process.env.BENCH_TENANTS_PER_MODE ?? 10);
const SCHEMA_FLEET = Number(process.env.BENCH_SCHEMA_FLEET ?? 1000);
const PRODUCTS = Number(process.env.BENCH_PRODUCTS ?? 10_000);
const ORDERS = Number(process.env.BENCH_ORDERS ?? 100_000);
const QUERIES = Number(process.env.BENCH_QUERIES ?? 2000);

const postgres = await startEmbeddedPostgres({
  dataDir: await mkdtemp(join(tmpdir(), 'amanat-isolation-bench-pg-')),
  persistent: false,
});
const provisioner = await Provisioner.open({ adminUrl: postgres.adminUrl });
const newTenant = () => {
  const id = randomUUID();
  return { id, slug: `bench-${id.slice(0, 8)}` };
};
const quantile = (sorted: number[], q: number) =>
  Number((sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0).toFixed(2));
const ms = (started: number) => performance.now() - started;

console.log(`isolation bench: ${machineSummary()}`);

// 1. Provisioning time per mode.
const provisioning = [];
for (const mode of ISOLATION_MODES) {
  const times: number[] = [];
  for (let i = 0; i < TENANTS_PER_MODE; i++) {
    const started = performance.now();
    await provisioner.provision(newTenant(), mode);
    times.push(ms(started));
  }
  const first = times[0] ?? 0;
  const rest = times.slice(1).sort((a, b) => a - b);
  provisioning.push({
    mode,
    'first ms': Math.round(first),
    'median ms': quantile(rest, 0.5),
    'p95 ms': quantile(rest, 0.95),
  });
}
console.log(
  '\nprovisioning a tenant (first one creates and migrates the shared database or the schemas database)',
);
console.table(provisioning);

/** Runs `queries` catalog queries (listing pages and searches, alternating) and returns sorted latencies. */
async function catalogLatencies(url: string, tenantId: string, queries = QUERIES): Promise<number[]> {
  const { db, pool } = connect(url, 4);
  const terms = ['linen shirt', 'walnut', 'charcol', 'blue lamp'];
  const latencies: number[] = [];
  for (let i = 0; i < queries; i++) {
    const started = performance.now();
    await listProducts(db, tenantId, {
      statuses: ['active'],
      page: 1 + (i % 50),
      limit: 24,
      ...(i % 2 === 1 ? { search: terms[i % terms.length] } : {}),
    });
    latencies.push(ms(started));
  }
  await pool.end();
  return latencies.sort((a, b) => a - b);
}

// 2. Row-level security on the catalog query: the tenant's login (policies apply) against the
// same query as the superuser (RLS bypassed), on a shared database holding five shops.
const shared = [];
let sharedTarget: { id: string; url: string } | undefined;
for (let i = 0; i < 5; i++) {
  const tenant = newTenant();
  const report = await provisioner.provision(tenant, 'shared');
  const url = (report.credentials as Credentials).url;
  await seedCatalog(url, tenant.id, PRODUCTS);
  shared.push({ id: tenant.id, url });
}
sharedTarget = shared[2];
if (!sharedTarget) throw new Error('no shared tenant');
await provisioner.servers.withAdmin('default', provisioner.databases.shared, (client) =>
  client.query('ANALYZE'),
);
// The superuser gets the logins' search_path, so it finds the trigram functions too.
const adminShared = `${provisioner.servers.adminUrl('default', provisioner.databases.shared)}?options=${encodeURIComponent(
  '-c search_path=public,extensions',
)}`;
// Alternating rounds, so a noisy moment on this shared machine hits both sides alike.
await catalogLatencies(sharedTarget.url, sharedTarget.id);
const withRls: number[] = [];
const withoutRls: number[] = [];
for (let round = 0; round < 4; round++) {
  withRls.push(...(await catalogLatencies(sharedTarget.url, sharedTarget.id, QUERIES / 4)));
  withoutRls.push(...(await catalogLatencies(adminShared, sharedTarget.id, QUERIES / 4)));
}
withRls.sort((a, b) => a - b);
withoutRls.sort((a, b) => a - b);
const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
console.log(
  `\nrow-level security on the catalog query (5 shops × ${PRODUCTS} products in one shared database, ${QUERIES} queries each)`,
);
console.table([
  {
    RLS: 'on (tenant login)',
    'mean ms': mean(withRls).toFixed(3),
    'p50 ms': quantile(withRls, 0.5),
    'p95 ms': quantile(withRls, 0.95),
  },
  {
    RLS: 'off (superuser)',
    'mean ms': mean(withoutRls).toFixed(3),
    'p50 ms': quantile(withoutRls, 0.5),
    'p95 ms': quantile(withoutRls, 0.95),
  },
]);
console.log(
  `RLS overhead (mean on / mean off): ${((mean(withRls) / mean(withoutRls) - 1) * 100).toFixed(1)} %  (target ≤ 10 %)`,
);

// 3. One schema tenant's catalog with 1 vs SCHEMA_FLEET schema tenants on the server.
const measured = newTenant();
const measuredReport = await provisioner.provision(measured, 'schema');
const measuredUrl = (measuredReport.credentials as Credentials).url;
await seedCatalog(measuredUrl, measured.id, PRODUCTS);
await catalogLatencies(measuredUrl, measured.id);
const alone = await catalogLatencies(measuredUrl, measured.id);
const fleetStarted = performance.now();
for (let i = 1; i < SCHEMA_FLEET; i++) {
  await provisioner.provision(newTenant(), 'schema');
  if (i % 100 === 0) process.stderr.write(`  ${i} schema tenants provisioned\n`);
}
const fleetSeconds = ms(fleetStarted) / 1000;
await catalogLatencies(measuredUrl, measured.id);
const crowded = await catalogLatencies(measuredUrl, measured.id);
console.log(
  `\ncatalog query in one schema tenant (${PRODUCTS} products); ${SCHEMA_FLEET - 1} more schema tenants provisioned in ${fleetSeconds.toFixed(0)} s`,
);
console.table([
  {
    'schema tenants': 1,
    'p50 ms': quantile(alone, 0.5),
    'p95 ms': quantile(alone, 0.95),
    'p99 ms': quantile(alone, 0.99),
  },
  {
    'schema tenants': SCHEMA_FLEET,
    'p50 ms': quantile(crowded, 0.5),
    'p95 ms': quantile(crowded, 0.95),
    'p99 ms': quantile(crowded, 0.99),
  },
]);

// 4. Backup and restore of a tenant with ORDERS orders.
const big = newTenant();
const bigReport = await provisioner.provision(big, 'schema');
await seedOrders((bigReport.credentials as Credentials).url, big.id, ORDERS);
const store = new FileObjectStore(await mkdtemp(join(tmpdir(), 'amanat-isolation-bench-store-')));
let started = performance.now();
const backup = await takeBackup(provisioner, store, big.id);
const backupSeconds = ms(started) / 1000;
started = performance.now();
const restore = await restoreBackup(provisioner, store, { tenantId: big.id, key: backup.key });
const restoreSeconds = ms(started) / 1000;
console.log(`\nbackup and restore of one schema tenant with ${ORDERS} orders`);
console.table([
  {
    operation: 'backup',
    rows: backup.rows,
    seconds: backupSeconds.toFixed(1),
    'rows/s': Math.round(backup.rows / backupSeconds),
    'archive MiB': (backup.sizeBytes / 2 ** 20).toFixed(1),
  },
  {
    operation: 'restore',
    rows: restore.rows,
    seconds: restoreSeconds.toFixed(1),
    'rows/s': Math.round(restore.rows / restoreSeconds),
    'archive MiB': '',
  },
]);
console.log(
  `longest lock held on one tenant table during the backup: ${backup.longestTableLockMs.toFixed(0)} ms (ACCESS SHARE, blocks only DDL)`,
);

await provisioner.close();
await postgres.stop();
