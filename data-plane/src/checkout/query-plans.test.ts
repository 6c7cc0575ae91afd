import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connect, type Database } from '../db/client.ts';
import { address, createVariant, newKey } from '../orders/fixtures.ts';
import { startTestDataPlane, type TestDataPlane } from '../testing/harness.ts';
import { checkout } from './service.ts';

let dp: TestDataPlane;
beforeAll(async () => {
  dp = await startTestDataPlane();
});
afterAll(() => dp.close());

const scansOfOrders = async (db: Pick<Database, 'execute'>) => {
  const { rows } = await db.execute<{ seq: number; idx: number }>(
    sql`SELECT seq_scan::int AS seq, idx_scan::int AS idx FROM pg_stat_xact_user_tables WHERE relname = 'orders'`,
  );
  return rows[0] ?? { seq: 0, idx: 0 };
};

it("checks an order's lines, payment and transition against orders by index once the shop has grown, whatever plan the connection cached while it was young", async () => {
  // One connection, so every checkout below meets the plans the earlier ones left behind.
  const { db, pool } = connect(dp.config.DATABASE_URL, 1);
  try {
    const variantId = await createVariant(dp, { stock: 1_000 });
    const order = (on: Database) =>
      checkout(
        { db: on, config: dp.config, tenantId: dp.tenantId },
        {
          buyer: null,
          idempotencyKey: newKey(),
          body: {
            lines: [{ variant_id: variantId, quantity: 1 }],
            email: 'guest@example.com',
            shipping_address: address,
          },
          requestId: 'query-plans-test',
        },
      );

    // Autovacuum analyses a young shop's orders early; the connection's first checkouts then
    // run while the table holds a handful of rows, enough for PostgreSQL to settle on cached
    // plans for the foreign-key checks, which at that size would be sequential scans.
    await order(db);
    await db.execute(sql`ANALYZE orders`);
    for (let i = 0; i < 10; i++) await order(db);

    await db.execute(sql`
      INSERT INTO orders (tenant_id, status, rail, rail_disclosure, currency, subtotal_minor, total_minor,
                          item_count, email, access_token_hash, expires_at)
      SELECT ${dp.tenantId}, 'cancelled', 'amn_direct', 'direct', 'USD', 100, 100, 1,
             'earlier@example.com', 'hash-' || n, now()
      FROM generate_series(1, 5000) AS n`);

    // Within one transaction, so the counts are this checkout's alone (checkout's own
    // transaction becomes a savepoint in it).
    const scanned = await db.transaction(async (tx) => {
      const before = await scansOfOrders(tx);
      await order(tx as unknown as Database);
      const after = await scansOfOrders(tx);
      return { seq: after.seq - before.seq, idx: after.idx - before.idx };
    });
    expect(scanned.seq).toBe(0);
    expect(scanned.idx).toBeGreaterThanOrEqual(3);
  } finally {
    await pool.end();
  }
});
