import pg from 'pg';
import { seedCatalog } from './seed.ts';

/**
 * Seeds `count` guest orders in SQL for backup and restore measurements: each with one line
 * for a catalog variant, its payment record and its draft → pending_payment transition.
 */
export async function seedOrders(url: string, tenantId: string, count: number): Promise<void> {
  await seedCatalog(url, tenantId, 100);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    // One statement: the source rows are materialised once and feed every insert.
    await client.query(
      `WITH src AS MATERIALIZED (
         SELECT gen_random_uuid() AS id, n, v.id AS variant_id, v.product_id, v.sku, v.price_minor
           FROM generate_series(1, $2::int) n
           JOIN LATERAL (SELECT * FROM variants WHERE tenant_id = $1 OFFSET n % 300 LIMIT 1) v ON true),
       o AS (
         INSERT INTO orders (id, tenant_id, status, rail, rail_disclosure, currency, subtotal_minor, total_minor,
                             item_count, email, access_token_hash, expires_at)
         SELECT id, $1, 'pending_payment', 'amn_direct', 'Paid to the seller directly; no escrow hold.', 'USD',
                price_minor, price_minor, 1, 'buyer' || n || '@example.com', md5(id::text), now() + interval '30 minutes'
           FROM src),
       l AS (
         INSERT INTO order_lines (tenant_id, order_id, position, variant_id, product_id, sku, title, options,
                                  unit_price_minor, quantity, line_total_minor)
         SELECT $1, id, 0, variant_id, product_id, sku, 'Item ' || sku, '{"size":"M"}', price_minor, 1, price_minor
           FROM src),
       p AS (
         INSERT INTO payments (tenant_id, order_id, rail, amount_minor, currency)
         SELECT $1, id, 'amn_direct', price_minor, 'USD' FROM src)
       INSERT INTO order_transitions (tenant_id, order_id, action, from_status, to_status, actor_type)
       SELECT $1, id, 'submit', 'draft', 'pending_payment', 'guest' FROM src`,
      [tenantId, count],
    );
  } finally {
    await client.end();
  }
}
