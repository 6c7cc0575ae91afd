import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog } from '../audit/schema.ts';
import { startTestDataPlane, type TestDataPlane } from '../testing/harness.ts';
import { priceLines } from './pricing.ts';
import { categories, products, stockMovements, variants } from './schema.ts';
import { createCategory, createProduct } from './testing.ts';

let dp: TestDataPlane;
beforeAll(async () => {
  dp = await startTestDataPlane();
});
afterAll(() => dp.close());

async function admin(method: 'GET' | 'POST' | 'PATCH', url: string, payload?: unknown) {
  return dp.app.inject({
    method,
    url,
    headers: await dp.staffHeaders('owner'),
    ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }),
  });
}

async function counts() {
  return {
    products: await dp.rowCount(products),
    variants: await dp.rowCount(variants),
    categories: await dp.rowCount(categories),
    movements: await dp.rowCount(stockMovements),
    audit: await dp.rowCount(auditLog),
  };
}

describe('categories', () => {
  it('builds a tree, lists it depth-first, renames, moves and refuses cycles', async () => {
    const home = await createCategory(dp, { name: 'Home', slug: 'home' });
    const kitchen = await createCategory(dp, { name: 'Kitchen', slug: 'kitchen', parent_id: home.id });
    const knives = await createCategory(dp, { name: 'Knives', slug: 'knives', parent_id: kitchen.id });
    await createCategory(dp, { name: 'Garden', slug: 'garden' });

    const list = (await admin('GET', '/api/admin/categories')).json().categories as {
      slug: string;
      depth: number;
      path: string[];
    }[];
    const slugs = list.map((c) => c.slug);
    expect(slugs.indexOf('home')).toBeLessThan(slugs.indexOf('kitchen'));
    expect(slugs.indexOf('kitchen')).toBeLessThan(slugs.indexOf('knives'));
    expect(list.find((c) => c.slug === 'knives')).toMatchObject({
      depth: 2,
      path: ['home', 'kitchen', 'knives'],
    });

    const before = await counts();
    for (const parent of [knives.id, home.id]) {
      const cycle = await admin('PATCH', `/api/admin/categories/${home.id}`, { parent_id: parent });
      expect(cycle.statusCode).toBe(409);
      expect(cycle.headers['content-type']).toMatch(/application\/problem\+json/);
      expect(cycle.json().type).toBe('/problems/category-cycle');
    }
    expect(await counts()).toEqual(before);

    const moved = await admin('PATCH', `/api/admin/categories/${knives.id}`, {
      parent_id: home.id,
      name: 'Blades',
    });
    expect(moved.statusCode).toBe(200);
    expect(moved.json()).toMatchObject({ name: 'Blades', depth: 1, path: ['home', 'knives'] });
    const root = await admin('PATCH', `/api/admin/categories/${knives.id}`, { parent_id: null });
    expect(root.json()).toMatchObject({ depth: 0, parent_id: null });
    expect((await counts()).audit).toBe(before.audit + 2);

    const taken = await admin('POST', '/api/admin/categories', { name: 'Again', slug: 'home' });
    expect(taken.statusCode).toBe(409);
    const unknownParent = await admin('POST', '/api/admin/categories', {
      name: 'Orphan',
      slug: 'orphan',
      parent_id: randomUUID(),
    });
    expect(unknownParent.statusCode).toBe(400);
    expect(unknownParent.json().errors[0].field).toBe('body.parent_id');
  });
});

describe('products', () => {
  it('creates a product with its variants and stock in one call, audited once', async () => {
    const before = await counts();
    const product = await createProduct(dp, {
      slug: 'desk-lamp',
      title: 'Desk Lamp',
      description: 'A warm brass lamp',
      tags: ['lighting', 'brass'],
      images: [{ url: 'https://cdn.example.com/lamp.jpg', alt: 'A brass desk lamp' }],
      variants: [
        { sku: 'LAMP-S', options: { size: 'S' }, price_minor: 4500, stock: 3 },
        { sku: 'LAMP-L', options: { size: 'L' }, price_minor: 3900, stock: 0 },
        { sku: 'LAMP-XL', options: { size: 'XL' }, price_minor: 1000, status: 'archived' },
      ],
    });
    expect(product.price_minor).toBe(3900);
    expect(product.variants.map((v) => v.sku)).toEqual(['LAMP-L', 'LAMP-S', 'LAMP-XL'].sort());
    const after = await counts();
    expect(after.products).toBe(before.products + 1);
    expect(after.variants).toBe(before.variants + 3);
    expect(after.audit).toBe(before.audit + 1);
    expect(after.movements).toBe(before.movements + 1);

    const read = await admin('GET', `/api/admin/products/${product.id}`);
    expect(read.statusCode).toBe(200);
    const small = read.json().variants.find((v: { sku: string }) => v.sku === 'LAMP-S');
    expect(small.stock).toMatchObject({ on_hand: 3, reserved: 0, available: 3 });
    expect(read.json().currency).toBe('USD');

    const listed = (await admin('GET', '/api/admin/products?q=brass&sort=title')).json();
    expect(listed).toMatchObject({
      total: 1,
      items: [{ slug: 'desk-lamp', variant_count: 2, available: 3 }],
    });
  });

  it('updates partially, adds and changes variants, and keeps price and search in step', async () => {
    const product = await createProduct(dp, {
      slug: 'mug',
      title: 'Plain Mug',
      variants: [{ sku: 'MUG-1', price_minor: 900 }],
    });
    const before = await counts();
    const patched = await admin('PATCH', `/api/admin/products/${product.id}`, {
      title: 'Speckled Stoneware Mug',
      variants: [
        { id: product.variants[0]?.id, price_minor: 1200 },
        { sku: 'MUG-2', options: { colour: 'blue' }, price_minor: 1100, stock: 4 },
      ],
    });
    expect(patched.statusCode, patched.body).toBe(200);
    expect(patched.json()).toMatchObject({ title: 'Speckled Stoneware Mug', price_minor: 1100 });
    expect(patched.json().variants).toHaveLength(2);
    expect((await counts()).audit).toBe(before.audit + 1);

    const found = (await dp.app.inject('/api/storefront/catalog?search=stoneware')).json();
    expect(found.items.map((i: { slug: string }) => i.slug)).toEqual(['mug']);

    const archiveVariant = await admin('PATCH', `/api/admin/products/${product.id}`, {
      variants: [
        {
          id: patched.json().variants.find((v: { sku: string }) => v.sku === 'MUG-2').id,
          status: 'archived',
        },
      ],
    });
    expect(archiveVariant.json().price_minor).toBe(1200);

    const stockOfExisting = await admin('PATCH', `/api/admin/products/${product.id}`, {
      variants: [{ id: product.variants[0]?.id, stock: 5 }],
    });
    expect(stockOfExisting.statusCode).toBe(400);
    expect(stockOfExisting.json().errors[0].field).toBe('body.variants.0.stock');
  });

  it('refuses a taken SKU or slug with 409 naming it, writing nothing', async () => {
    const first = await createProduct(dp, {
      slug: 'kettle',
      title: 'Kettle',
      variants: [{ sku: 'KET-1', price_minor: 5000 }],
    });
    const before = await counts();
    const skuClash = await admin('POST', '/api/admin/products', {
      slug: 'kettle-2',
      title: 'Kettle 2',
      variants: [
        { sku: 'KET-NEW', price_minor: 1 },
        { sku: 'KET-1', price_minor: 1 },
      ],
    });
    expect(skuClash.statusCode).toBe(409);
    expect(skuClash.json()).toMatchObject({ type: '/problems/sku-taken', sku: 'KET-1' });
    expect(skuClash.json().detail).toContain('KET-1');

    const slugClash = await admin('POST', '/api/admin/products', {
      slug: 'kettle',
      title: 'Kettle again',
      variants: [{ sku: 'KET-9', price_minor: 1 }],
    });
    expect(slugClash.statusCode).toBe(409);
    expect(slugClash.json()).toMatchObject({ type: '/problems/slug-taken', slug: 'kettle' });

    const other = await createProduct(dp, {
      slug: 'teapot',
      title: 'Teapot',
      variants: [{ sku: 'TEA-1', price_minor: 1 }],
    });
    const before2 = await counts();
    const patchClash = await admin('PATCH', `/api/admin/products/${other.id}`, {
      variants: [{ id: other.variants[0]?.id, sku: 'KET-1' }],
    });
    expect(patchClash.statusCode).toBe(409);
    expect(patchClash.json().sku).toBe('KET-1');
    expect(await counts()).toEqual(before2);

    const repeated = await admin('POST', '/api/admin/products', {
      slug: 'pan',
      title: 'Pan',
      variants: [
        { sku: 'PAN-1', price_minor: 1 },
        { sku: 'PAN-1', price_minor: 2 },
      ],
    });
    expect(repeated.statusCode).toBe(400);
    expect(repeated.json().errors[0].field).toBe('body.variants.1.sku');

    const unpriced = await admin('POST', '/api/admin/products', {
      slug: 'pan',
      title: 'Pan',
      variants: [{ sku: 'PAN-1' }],
    });
    expect(unpriced.statusCode).toBe(400);
    expect(unpriced.json().errors[0].field).toBe('body.variants.0.price_minor');
    expect((await counts()).products).toBe(before.products + 1);
    expect(first.id).toBeTruthy();
  });

  it('archives instead of deleting: gone from the storefront and checkout, kept for the admin', async () => {
    const product = await createProduct(dp, {
      slug: 'vase',
      title: 'Tall Vase',
      variants: [{ sku: 'VASE-1', price_minor: 2500, stock: 2 }],
    });
    const variantId = product.variants[0]?.id as string;
    expect((await dp.app.inject('/api/storefront/items/vase')).statusCode).toBe(200);
    await expect(priceLines(dp.db, dp.tenantId, [{ variantId, quantity: 1 }])).resolves.toHaveLength(1);

    const before = await counts();
    const archived = await admin('POST', `/api/admin/products/${product.id}/archive`);
    expect(archived.statusCode).toBe(200);
    expect(archived.json().status).toBe('archived');
    expect((await counts()).audit).toBe(before.audit + 1);
    expect((await counts()).products).toBe(before.products);

    expect((await dp.app.inject('/api/storefront/items/vase')).statusCode).toBe(404);
    expect((await dp.app.inject(`/api/storefront/items/${product.id}`)).statusCode).toBe(404);
    const listed = (await dp.app.inject('/api/storefront/catalog?search=vase')).json();
    expect(listed.items).toEqual([]);
    const adminList = (await admin('GET', '/api/admin/products?status=archived')).json();
    expect(adminList.items.map((i: { slug: string }) => i.slug)).toContain('vase');
    await expect(priceLines(dp.db, dp.tenantId, [{ variantId, quantity: 1 }])).rejects.toMatchObject({
      status: 400,
      extensions: { errors: [{ field: 'body.lines.0.variant_id' }] },
    });
  });
});

describe('priceLines (server-side checkout pricing)', () => {
  it('prices lines from the catalog and refuses unknown, foreign, archived and quote-only items by line', async () => {
    const shirt = await createProduct(dp, {
      slug: 'price-shirt',
      title: 'Price Shirt',
      variants: [
        { sku: 'PS-M', options: { size: 'M' }, price_minor: 2000 },
        { sku: 'PS-OLD', price_minor: 1500, status: 'archived' },
      ],
    });
    const quote = await createProduct(dp, {
      slug: 'custom-table',
      title: 'Custom Table',
      pricing_mode: 'quote',
      variants: [{ sku: 'TABLE-1' }],
    });
    const [m, old] = ['PS-M', 'PS-OLD'].map((sku) => shirt.variants.find((v) => v.sku === sku)?.id as string);

    const priced = await priceLines(dp.db, dp.tenantId, [{ variantId: m as string, quantity: 3 }]);
    expect(priced[0]).toMatchObject({
      sku: 'PS-M',
      title: 'Price Shirt',
      currency: 'USD',
      unitPriceMinor: 2000,
      lineTotalMinor: 6000,
      pricingMode: 'fixed',
      categoryId: null,
    });

    // A variant of another tenant, in the same database.
    const foreignTenant = randomUUID();
    const [foreignProduct] = await dp.db
      .insert(products)
      .values({ tenantId: foreignTenant, slug: 'foreign', title: 'Foreign', currency: 'USD' })
      .returning();
    const [foreignVariant] = await dp.db
      .insert(variants)
      .values({ tenantId: foreignTenant, productId: foreignProduct?.id as string, sku: 'F-1', priceMinor: 1 })
      .returning();

    const error = await priceLines(dp.db, dp.tenantId, [
      { variantId: m as string, quantity: 1 },
      { variantId: randomUUID(), quantity: 1 },
      { variantId: foreignVariant?.id as string, quantity: 1 },
      { variantId: old as string, quantity: 1 },
      { variantId: quote.variants[0]?.id as string, quantity: 1 },
    ]).catch((e) => e);
    expect(error.status).toBe(400);
    expect(error.extensions.errors.map((e: { field: string }) => e.field)).toEqual([
      'body.lines.1.variant_id',
      'body.lines.2.variant_id',
      'body.lines.3.variant_id',
      'body.lines.4.variant_id',
    ]);
    expect(error.extensions.errors[3].message).toMatch(/quote/);

    const badQuantity = await priceLines(dp.db, dp.tenantId, [
      { variantId: m as string, quantity: 0 },
      { variantId: 'nope', quantity: 1.5 },
    ]).catch((e) => e);
    expect(badQuantity.extensions.errors.map((e: { field: string }) => e.field)).toEqual([
      'body.lines.0.quantity',
      'body.lines.1.variant_id',
      'body.lines.1.quantity',
    ]);
    const storefront = (await dp.app.inject('/api/storefront/catalog?search=foreign')).json();
    expect(storefront.items).toEqual([]);
    expect(await dp.db.select().from(products).where(eq(products.tenantId, foreignTenant))).toHaveLength(1);
  });
});

describe('OpenAPI', () => {
  it('documents the catalog, import and inventory routes', async () => {
    const document = (await dp.app.inject('/openapi.json')).json();
    for (const path of [
      '/api/storefront/catalog',
      '/api/storefront/items/{id}',
      '/api/admin/products',
      '/api/admin/products/{id}',
      '/api/admin/categories',
      '/api/admin/catalog/import',
      '/api/admin/inventory/{variantId}/adjustments',
    ]) {
      expect(document.paths[path], path).toBeDefined();
    }
    expect(document.paths['/api/admin/catalog/import'].post.requestBody.content).toHaveProperty('text/csv');
  });
});
