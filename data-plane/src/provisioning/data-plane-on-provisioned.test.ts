import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProduct } from '../catalog/testing.ts';
import { placeOrder } from '../orders/fixtures.ts';
import { startTestDataPlane } from '../testing/harness.ts';
import { ISOLATION_MODES } from './names.ts';
import type { Credentials } from './provisioner.ts';
import { newTenant, openTestProvisioner } from './testing.ts';

let harness: Awaited<ReturnType<typeof openTestProvisioner>>;

beforeAll(async () => {
  harness = await openTestProvisioner();
});
afterAll(() => harness.cleanup());

describe.each(ISOLATION_MODES)('the data plane on a %s-mode login', (mode) => {
  it('becomes ready, serves its catalog (fuzzy search included) and takes orders', async () => {
    const tenant = newTenant();
    const report = await harness.provisioner.provision(tenant, mode);
    const dp = await startTestDataPlane({
      database: { url: (report.credentials as Credentials).url },
      tenantId: tenant.id,
    });
    try {
      const ready = await dp.app.inject({ method: 'GET', url: '/readyz' });
      expect(ready.statusCode).toBe(200);
      const product = await createProduct(dp, {
        title: 'Charcoal linen shirt',
        slug: 'charcoal-linen-shirt',
        variants: [{ sku: `SHIRT-${mode}`, price_minor: 2500, stock: 5 }],
      });
      // A typo: only the trigram functions (pg_trgm, in the extensions schema) find it.
      const search = await dp.app.inject({ method: 'GET', url: '/api/storefront/catalog?search=charcol' });
      expect(search.statusCode).toBe(200);
      expect(search.json().items.map((item: { id: string }) => item.id)).toContain(product.id);
      const order = await placeOrder(dp, {
        lines: [{ variant_id: product.variants[0]?.id as string, quantity: 2 }],
      });
      expect(order.status).toBe('pending_payment');
    } finally {
      await dp.close();
    }
  });

  it('refuses to become ready, saying why, when its database is behind the schema it expects', async () => {
    const tenant = newTenant();
    const report = await harness.provisioner.provision(tenant, mode);
    const dp = await startTestDataPlane({
      database: { url: (report.credentials as Credentials).url },
      tenantId: tenant.id,
    });
    try {
      const { placement } = report;
      const table = `"${placement.schema}".__drizzle_migrations`;
      const newest = await harness.provisioner.servers.withAdmin(
        placement.server,
        placement.database,
        (client) =>
          client.query(
            `DELETE FROM ${table} WHERE created_at = (SELECT max(created_at) FROM ${table}) RETURNING *`,
          ),
      );
      const ready = await dp.app.inject({ method: 'GET', url: '/readyz' });
      expect(ready.statusCode).toBe(503);
      expect(ready.body).toMatch(/not at the schema version this data plane expects/);
      const { hash, created_at } = newest.rows[0] as { hash: string; created_at: string };
      await harness.provisioner.servers.withAdmin(placement.server, placement.database, (client) =>
        client.query(`INSERT INTO ${table} (hash, created_at) VALUES ($1, $2)`, [hash, created_at]),
      );
      expect((await dp.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    } finally {
      await dp.close();
    }
  });
});
