/**
 * `npm run bench` (or `-- requests`): control-plane request costs on this machine, through
 * fastify's inject against a real (embedded) PostgreSQL. Prints one table; record results in
 * docs/benchmarks.md.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { machineSummary } from '@amanat/kit/bench/machine';
import { startEmbeddedPostgres } from '@amanat/kit/postgres/embedded';
import { databaseUrl, withAdminClient } from '@amanat/kit/postgres/test-databases';
import { Keyring } from '@amanat/kit/secrets/keyring';
import { createPlatformAdmin } from '../src/accounts/service.ts';
import { currentTotpCode, newTotpSecret } from '../src/accounts/totp.ts';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { generateSigningKeyJson } from '../src/data-plane-access/signing.ts';
import { connect } from '../src/db/client.ts';
import { migrateControlPlane } from '../src/db/migrate.ts';

const server = await startEmbeddedPostgres({
  dataDir: await mkdtemp(join(tmpdir(), 'amanat-bench-pg-')),
  persistent: false,
});
await withAdminClient(server.adminUrl, (client) => client.query('CREATE DATABASE bench'));
const url = databaseUrl(server.adminUrl, 'bench');
await migrateControlPlane(url);
const config = loadConfig({
  DATABASE_URL: url,
  SECRETS_KEYS: Keyring.generateSpec(),
  DATA_PLANE_SIGNING_KEY: await generateSigningKeyJson('bench'),
  LOG_LEVEL: 'silent',
});
const { db, pool } = connect(url, 20);
const app = await buildApp({ db, pool, config });
await app.ready();

const password = 'correct horse battery staple';
const json = (response: { statusCode: number; body: string }, expected: number) => {
  if (response.statusCode !== expected)
    throw new Error(`expected ${expected}, got ${response.statusCode}: ${response.body}`);
  return response.body ? JSON.parse(response.body) : null;
};

const totpSecret = newTotpSecret();
await createPlatformAdmin(
  { db, config },
  { email: 'bench-admin@example.com', password, display_name: 'A', totpSecret },
);
const adminLogin = json(
  await app.inject({
    method: 'POST',
    url: '/auth/login',
    payload: { email: 'bench-admin@example.com', password },
  }),
  200,
);
const admin = { authorization: `Bearer ${adminLogin.access_token}` };
json(
  await app.inject({
    method: 'POST',
    url: '/auth/mfa/challenge',
    headers: admin,
    payload: { code: currentTotpCode(totpSecret) },
  }),
  204,
);
json(
  await app.inject({
    method: 'POST',
    url: '/auth/register',
    payload: { email: 'seller@example.com', password, display_name: 'S' },
  }),
  201,
);
const sellerLogin = json(
  await app.inject({
    method: 'POST',
    url: '/auth/login',
    payload: { email: 'seller@example.com', password },
  }),
  200,
);
const seller = { authorization: `Bearer ${sellerLogin.access_token}` };

interface Row {
  scenario: string;
  ops: number;
  'ops/s': number;
  'p50 ms': number;
  'p95 ms': number;
  'p99 ms': number;
}

async function measure(
  scenario: string,
  ops: number,
  concurrency: number,
  run: (i: number) => Promise<void>,
) {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < ops) {
        const i = next++;
        const t0 = performance.now();
        await run(i);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    Number((latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0).toFixed(2));
  return {
    scenario,
    ops,
    'ops/s': Math.round(ops / seconds),
    'p50 ms': at(0.5),
    'p95 ms': at(0.95),
    'p99 ms': at(0.99),
  };
}

const results: Row[] = [];
results.push(
  await measure('POST /auth/login (argon2id verify)', 100, 4, async () => {
    json(
      await app.inject({
        method: 'POST',
        url: '/auth/login',
        payload: { email: 'seller@example.com', password },
      }),
      200,
    );
  }),
);
results.push(
  await measure('GET /auth/me (token lookup)', 2000, 8, async () => {
    json(await app.inject({ method: 'GET', url: '/auth/me', headers: seller }), 200);
  }),
);
results.push(
  await measure('POST /tenants (insert + role + audit)', 2000, 8, async (i) => {
    json(
      await app.inject({
        method: 'POST',
        url: '/tenants',
        headers: seller,
        payload: { slug: `bench-shop-${i}`, display_name: `Bench shop ${i}`, tier: 'hosted_seller' },
      }),
      201,
    );
  }),
);
results.push(
  await measure('GET /admin/tenants (2,000 rows, page of 20)', 1000, 8, async (i) => {
    json(
      await app.inject({
        method: 'GET',
        url: `/admin/tenants?sort=slug&offset=${(i * 20) % 2000}`,
        headers: admin,
      }),
      200,
    );
  }),
);
results.push(
  await measure('GET /admin/tenants?q= (substring search)', 500, 8, async (i) => {
    json(await app.inject({ method: 'GET', url: `/admin/tenants?q=shop-${i % 100}`, headers: admin }), 200);
  }),
);

console.log(
  `control-plane bench: ${machineSummary()}, rss ${Math.round(process.memoryUsage().rss / 2 ** 20)} MiB`,
);
console.table(results);
await app.close();
await pool.end();
await server.stop();
