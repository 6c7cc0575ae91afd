import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemActor } from '../audit/record.ts';
import { reserveStock } from '../inventory/service.ts';
import { startTestDataPlane, type TestDataPlane } from '../testing/harness.ts';
import { createCategory, createProduct } from './testing.ts';

let dp: TestDataPlane;
const ids: Record<string, { id: string; variants: { id: string; sku: string }[] }> = {};

beforeAll(async () => {
  dp = await startTestDataPlane();
  const clothing = await createCategory(dp, { name: 'Clothing', slug: 'clothing' });
  const shirts = await createCategory(dp, { name: 'Shirts', slug: 'shirts', parent_id: clothing.id });
  const tees = await createCategory(dp, { name: 'T-shirts', slug: 'tees', parent_id: shirts.id });
  const electronics = await createCategory(dp, { name: 'Electronics', slug: 'electronics' });
  const seed = [
    {
      slug: 'wireless-headphones',
      title: 'Wireless Headphones',
      description: 'Noise cancelling over-ear sound',
      category_id: electronics.id,
      tags: ['audio', 'bluetooth'],
      variants: [
        { sku: 'WH-BLK', options: { colour: 'black' }, price_minor: 9900, stock: 5 },
        { sku: 'WH-WHT', options: { colour: 'white' }, price_minor: 10900, stock: 0 },
      ],
    },
    {
      slug: 'cotton-tee',
      title: 'Cotton T-Shirt',
      description: 'Soft organic cotton',
      category_id: tees.id,
      tags: ['summer', 'cotton'],
      variants: [{ sku: 'TEE-M', options: { size: 'M' }, price_minor: 1500, stock: 10 }],
    },
    {
      slug: 'linen-shirt',
      title: 'Linen Shirt',
      description: 'Breathable linen for hot days',
      category_id: shirts.id,
      tags: ['summer'],
      variants: [{ sku: 'LIN-M', price_minor: 4500, stock: 1 }],
    },
    {
      slug: 'leather-wallet',
      title: 'Leather Wallet',
      description: 'Hand stitched',
      tags: ['accessories'],
      variants: [{ sku: 'WAL-1', price_minor: 3000 }],
    },
    {
      slug: 'persian-rug',
      title: 'فرش دستباف',
      description: 'Hand-knotted wool rug',
      tags: ['فرش', 'home'],
      pricing_mode: 'quote',
      variants: [{ sku: 'RUG-1' }],
    },
  ];
  for (const product of seed) ids[product.slug] = await createProduct(dp, product);
});
afterAll(() => dp.close());

async function catalog(query: string) {
  const response = await dp.app.inject(`/api/storefront/catalog?${query}`);
  expect(response.statusCode, response.body).toBe(200);
  return response.json() as {
    items: { slug: string; price_minor: number | null; in_stock: boolean; available: number }[];
    total: number;
    page: number;
    limit: number;
  };
}
const slugs = (page: { items: { slug: string }[] }) => page.items.map((item) => item.slug);

describe('storefront catalog search', () => {
  it('finds by full text over title, tags and description', async () => {
    expect(slugs(await catalog('search=headphones'))).toEqual(['wireless-headphones']);
    expect(slugs(await catalog('search=bluetooth'))).toEqual(['wireless-headphones']);
    expect(slugs(await catalog('search=breathable%20linen'))).toEqual(['linen-shirt']);
    expect(slugs(await catalog(`search=${encodeURIComponent('فرش')}`))).toEqual(['persian-rug']);
  });

  it('finds through a typo by trigram similarity', async () => {
    expect(slugs(await catalog('search=hedphones'))).toEqual(['wireless-headphones']);
    expect(slugs(await catalog('search=walet'))).toEqual(['leather-wallet']);
  });

  it('ranks title matches above description matches', async () => {
    const page = await catalog('search=cotton');
    expect(slugs(page)[0]).toBe('cotton-tee');
  });

  it('filters a category together with its descendants, by slug or id', async () => {
    expect(slugs(await catalog('category=clothing&sort=title')).sort()).toEqual([
      'cotton-tee',
      'linen-shirt',
    ]);
    expect(slugs(await catalog('category=tees'))).toEqual(['cotton-tee']);
    expect((await catalog(`category=${randomUUID()}`)).items).toEqual([]);
    expect((await catalog('category=no-such-category')).total).toBe(0);
  });

  it('filters by price range and tag', async () => {
    expect(slugs(await catalog('min_price=2000&max_price=5000&sort=price_asc'))).toEqual([
      'leather-wallet',
      'linen-shirt',
    ]);
    expect(slugs(await catalog('tag=summer&sort=title'))).toEqual(['cotton-tee', 'linen-shirt']);
    const bad = await dp.app.inject('/api/storefront/catalog?min_price=10&max_price=5');
    expect(bad.statusCode).toBe(400);
    expect(bad.json().errors[0].field).toBe('query.min_price');
  });

  it('sorts by price, title and newest; quote products have no price and sort last by price', async () => {
    expect(slugs(await catalog('sort=price_asc'))).toEqual([
      'cotton-tee',
      'leather-wallet',
      'linen-shirt',
      'wireless-headphones',
      'persian-rug',
    ]);
    expect(slugs(await catalog('sort=price_desc'))).toEqual([
      'wireless-headphones',
      'linen-shirt',
      'leather-wallet',
      'cotton-tee',
      'persian-rug',
    ]);
    expect(slugs(await catalog('sort=title'))).toEqual([
      'cotton-tee',
      'leather-wallet',
      'linen-shirt',
      'wireless-headphones',
      'persian-rug',
    ]);
    expect(slugs(await catalog('sort=newest'))[0]).toBe('persian-rug');
    const rug = (await catalog('search=rug')).items[0];
    expect(rug?.price_minor).toBeNull();
  });

  it('paginates with a stable total and no overlap', async () => {
    const seen: string[] = [];
    for (const page of [1, 2, 3]) {
      const result = await catalog(`limit=2&page=${page}&sort=price_asc`);
      expect(result.total).toBe(5);
      expect(result.items.length).toBe(page === 3 ? 1 : 2);
      seen.push(...slugs(result));
    }
    expect(new Set(seen).size).toBe(5);
    const beyond = await catalog('limit=2&page=9');
    expect(beyond).toMatchObject({ items: [], total: 5, page: 9 });
    expect((await catalog('search=zzzzqqq')).total).toBe(0);
  });

  it('reports stock: available = on hand - reserved over active variants', async () => {
    const headphones = (await catalog('search=headphones')).items[0];
    expect(headphones).toMatchObject({ available: 5, in_stock: true });
    expect((await catalog('search=wallet')).items[0]).toMatchObject({ available: 0, in_stock: false });
  });
});

describe('storefront item', () => {
  it('shows active variants with price, options, availability, images and the category path', async () => {
    const tee = ids['cotton-tee'] as { id: string; variants: { id: string }[] };
    await reserveStock(dp.db, dp.tenantId, systemActor(), randomUUID(), [
      { variantId: tee.variants[0]?.id as string, quantity: 4 },
    ]);
    for (const key of [tee.id, 'cotton-tee']) {
      const response = await dp.app.inject(`/api/storefront/items/${key}`);
      expect(response.statusCode, response.body).toBe(200);
      const item = response.json();
      expect(item).toMatchObject({
        slug: 'cotton-tee',
        price_minor: 1500,
        currency: 'USD',
        in_stock: true,
        category_path: [{ slug: 'clothing' }, { slug: 'shirts' }, { slug: 'tees' }],
      });
      expect(item.variants).toEqual([
        {
          id: tee.variants[0]?.id,
          sku: 'TEE-M',
          options: { size: 'M' },
          price_minor: 1500,
          available: 6,
          in_stock: true,
        },
      ]);
    }
  });

  it('hides prices of quote products and 404s what is not there', async () => {
    const rug = (await dp.app.inject('/api/storefront/items/persian-rug')).json();
    expect(rug).toMatchObject({ pricing_mode: 'quote', price_minor: null, category_path: [] });
    expect(rug.variants[0].price_minor).toBeNull();
    const missing = await dp.app.inject(`/api/storefront/items/${randomUUID()}`);
    expect(missing.statusCode).toBe(404);
    expect(missing.headers['content-type']).toMatch(/application\/problem\+json/);
    expect((await dp.app.inject('/api/storefront/items/no-such-thing')).statusCode).toBe(404);
  });

  it('shows a write on this replica at once, though storefront responses are cached', async () => {
    const item = async () => (await dp.app.inject('/api/storefront/items/cotton-tee')).json();
    const listed = async () =>
      (await dp.app.inject('/api/storefront/catalog?search=cotton')).json().items[0] as {
        title: string;
        available: number;
      };
    const before = await item();
    const beforeListed = await listed();
    expect(await item()).toEqual(before);
    const variantId = ids['cotton-tee']?.variants[0]?.id as string;

    const adjusted = await dp.app.inject({
      method: 'POST',
      url: `/api/admin/inventory/${variantId}/adjustments`,
      headers: await dp.staffHeaders('owner'),
      payload: { delta: 7, reason: 'restock' },
    });
    expect(adjusted.statusCode, adjusted.body).toBe(200);
    expect((await item()).variants[0].available).toBe(before.variants[0].available + 7);
    expect((await listed()).available).toBe(beforeListed.available + 7);

    const renamed = await dp.app.inject({
      method: 'PATCH',
      url: `/api/admin/products/${ids['cotton-tee']?.id}`,
      headers: await dp.staffHeaders('owner'),
      payload: { title: 'Cotton Tee Renamed' },
    });
    expect(renamed.statusCode, renamed.body).toBe(200);
    expect((await item()).title).toBe('Cotton Tee Renamed');
    expect((await listed()).title).toBe('Cotton Tee Renamed');

    await dp.db.transaction((tx) =>
      reserveStock(tx, dp.tenantId, systemActor('test'), randomUUID(), [{ variantId, quantity: 2 }]),
    );
    expect((await item()).variants[0].available).toBe(before.variants[0].available + 5);
  });
});
