import pg from 'pg';

const WORDS = [
  'linen',
  'cotton',
  'wool',
  'silk',
  'leather',
  'ceramic',
  'walnut',
  'brass',
  'copper',
  'glass',
  'shirt',
  'scarf',
  'bowl',
  'mug',
  'lamp',
  'chair',
  'table',
  'bag',
  'wallet',
  'candle',
  'blue',
  'red',
  'green',
  'amber',
  'ivory',
  'charcoal',
  'saffron',
  'teal',
  'olive',
  'rose',
];

/**
 * Seeds one tenant's catalog straight in SQL (generate_series), fast enough for 10,000
 * products: 10 categories, products with three variants each (S/M/L), stock for every
 * variant, and the same search vector the catalog service maintains.
 */
export async function seedCatalog(url: string, tenantId: string, productCount: number) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('BEGIN');
    await client.query(
      `INSERT INTO categories (tenant_id, name, slug)
       SELECT $1, 'Category ' || n, 'category-' || n FROM generate_series(1, 10) n`,
      [tenantId],
    );
    await client.query(
      `INSERT INTO products (tenant_id, slug, title, description, category_id, tags, currency, price_minor, images)
       SELECT $1,
              'product-' || n,
              initcap(w[1 + n % 30]) || ' ' || w[1 + (n / 30) % 30] || ' ' || w[1 + (n / 900) % 30] || ' ' || n,
              'A ' || w[1 + (n * 7) % 30] || ' piece, made with care. Item number ' || n || '.',
              (SELECT id FROM categories WHERE tenant_id = $1 AND slug = 'category-' || (1 + n % 10)),
              ARRAY[w[1 + (n * 3) % 30], w[1 + (n * 11) % 30]],
              'USD',
              1000 + (n * 37) % 9000,
              jsonb_build_array(jsonb_build_object('url', 'https://cdn.example.com/p/' || n || '.jpg', 'alt', 'Product ' || n))
       FROM generate_series(1, $2::int) n, (SELECT $3::text[] AS w) words`,
      [tenantId, productCount, WORDS],
    );
    await client.query(
      `UPDATE products SET search_vector =
         setweight(to_tsvector('simple', title), 'A') ||
         setweight(to_tsvector('simple', array_to_string(tags, ' ')), 'B') ||
         setweight(to_tsvector('simple', description), 'C')
       WHERE tenant_id = $1`,
      [tenantId],
    );
    await client.query(
      `INSERT INTO variants (tenant_id, product_id, sku, options, price_minor)
       SELECT p.tenant_id, p.id, p.slug || '-' || s.size, jsonb_build_object('size', s.size), p.price_minor + s.extra
       FROM products p, (VALUES ('S', 0), ('M', 100), ('L', 200)) s(size, extra)
       WHERE p.tenant_id = $1`,
      [tenantId],
    );
    await client.query(
      `INSERT INTO stock_levels (tenant_id, variant_id, on_hand)
       SELECT tenant_id, id, 1000000 FROM variants WHERE tenant_id = $1`,
      [tenantId],
    );
    await client.query('COMMIT');
    await client.query('ANALYZE');
    const products = await client.query<{ id: string }>('SELECT id FROM products WHERE tenant_id = $1', [
      tenantId,
    ]);
    const variants = await client.query<{ id: string }>(
      'SELECT id FROM variants WHERE tenant_id = $1 ORDER BY random() LIMIT 2000',
      [tenantId],
    );
    const variantCount = await client.query<{ n: string }>(
      'SELECT count(*) AS n FROM variants WHERE tenant_id = $1',
      [tenantId],
    );
    return {
      productIds: products.rows.map((row) => row.id),
      checkoutVariantIds: variants.rows.map((row) => row.id),
      variantCount: Number(variantCount.rows[0]?.n ?? 0),
      // Whole words, a prefix and a typo: the search must handle all three.
      searchTerms: [
        'linen shirt',
        'walnut',
        'ceramic bowl',
        'saffron',
        'charcol',
        'leathr wallet',
        'blue lamp',
        'cand',
      ],
      address: {
        recipient_name: 'Bench Buyer',
        line1: '1 Loop Road',
        city: 'Localhost',
        postal_code: '12345',
        country: 'US',
      },
    };
  } finally {
    await client.end();
  }
}
