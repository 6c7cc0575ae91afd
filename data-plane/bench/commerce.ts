/**
 * `npm run bench -w data-plane`: one shop with 10,000 products (30,000 variants) in a real
 * embedded PostgreSQL, its data plane started as its own process from the configuration
 * contract, and autocannon driving catalog listing, search, item detail and checkout over
 * loopback. Prints one table; record results in docs/benchmarks.md.
 */
import { randomUUID } from 'node:crypto';
import { machineSummary } from '@amanat/kit/bench/machine';
import type autocannon from 'autocannon';
import pg from 'pg';
import { CONNECTIONS, DURATION_SECONDS, measure, pick, type Row, startBenchShop } from './harness.ts';

const PRODUCTS = Number(process.env.BENCH_PRODUCTS ?? 10_000);
/** Comma-separated subset of catalog,search,item,checkout; all by default. */
const SCENARIOS = new Set((process.env.BENCH_SCENARIOS ?? 'catalog,search,item,checkout').split(','));

const shop = await startBenchShop(PRODUCTS);
const { seeded } = shop;

async function run(name: string, scenario: string, options: Partial<autocannon.Options>) {
  return SCENARIOS.has(name) ? measure(shop.base, scenario, options) : undefined;
}

const rows: (Row | undefined)[] = [];
rows.push(
  await run('catalog', 'GET /api/storefront/catalog (page of 24)', {
    requests: [
      {
        setupRequest: (req) => ({
          ...req,
          path: `/api/storefront/catalog?limit=24&page=${1 + Math.floor(Math.random() * 100)}`,
        }),
      },
    ],
  }),
);
rows.push(
  await run('search', 'GET /api/storefront/catalog?search= (full-text + fuzzy)', {
    requests: [
      {
        setupRequest: (req) => ({
          ...req,
          path: `/api/storefront/catalog?limit=24&search=${encodeURIComponent(pick(seeded.searchTerms))}`,
        }),
      },
    ],
  }),
);
rows.push(
  await run('item', 'GET /api/storefront/items/:id', {
    requests: [
      { setupRequest: (req) => ({ ...req, path: `/api/storefront/items/${pick(seeded.productIds)}` }) },
    ],
  }),
);
rows.push(
  await run('checkout', 'POST /api/storefront/checkout (guest, amn_direct)', {
    requests: [
      {
        method: 'POST',
        setupRequest: (req) => ({
          ...req,
          path: '/api/storefront/checkout',
          headers: { 'content-type': 'application/json', 'idempotency-key': randomUUID() },
          body: JSON.stringify({
            lines: [{ variant_id: pick(seeded.checkoutVariantIds), quantity: 1 }],
            email: `bench-${randomUUID()}@example.com`,
            rail: 'amn_direct',
            shipping_address: seeded.address,
          }),
        }),
      },
    ],
  }),
);

const client = new pg.Client({ connectionString: shop.url });
await client.connect();
const { rows: integrity } = await client.query<{ orders: string; reserved: string; oversold: string }>(
  `SELECT (SELECT count(*) FROM orders WHERE tenant_id = $1) AS orders,
          (SELECT coalesce(sum(reserved), 0) FROM stock_levels WHERE tenant_id = $1) AS reserved,
          (SELECT count(*) FROM stock_levels WHERE tenant_id = $1 AND (reserved > on_hand OR on_hand < 0)) AS oversold`,
  [shop.tenantId],
);
await client.end();

console.log(
  `data-plane bench: ${machineSummary()}, ${PRODUCTS} products / ${seeded.variantCount} variants, ${CONNECTIONS} connections, ${DURATION_SECONDS} s per scenario`,
);
console.table(rows.filter((row) => row !== undefined));
console.log(
  `checkout integrity: ${integrity[0]?.orders} orders, ${integrity[0]?.reserved} units reserved, ${integrity[0]?.oversold} oversold variants`,
);
await shop.stop();
