import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog } from '../audit/schema.ts';
import { outboxEvents } from '../events/schema.ts';
import { startTestDataPlane, type TestDataPlane } from '../testing/harness.ts';
import { categories, products, stockLevels, stockMovements, variants } from './schema.ts';
import { createCategory, createProduct } from './testing.ts';

let dp: TestDataPlane;
let productId: string;
let variantId: string;
let categoryId: string;

beforeAll(async () => {
  dp = await startTestDataPlane();
  categoryId = (await createCategory(dp, { name: 'Tools', slug: 'tools' })).id;
  const product = await createProduct(dp, {
    slug: 'hammer',
    title: 'Hammer',
    variants: [{ sku: 'HAM-1', price_minor: 1000, stock: 3 }],
  });
  productId = product.id;
  variantId = product.variants[0]?.id as string;
});
afterAll(() => dp.close());

const validProduct = {
  slug: 'saw',
  title: 'Saw',
  variants: [{ sku: 'SAW-1', price_minor: 2500 }],
};
const withProduct = (patch: Record<string, unknown>) => ({ ...validProduct, ...patch });
const withVariant = (patch: Record<string, unknown>) => ({
  ...validProduct,
  variants: [{ ...validProduct.variants[0], ...patch }],
});

type Case = {
  name: string;
  method: 'GET' | 'POST' | 'PATCH' | 'PUT';
  url: () => string;
  /** An object is sent as JSON; a string is sent raw as application/json. */
  body?: unknown;
  /** The field the problem must name; undefined when the problem is about the whole body. */
  field?: string;
  status?: number;
};

const cases: Case[] = [
  { name: 'malformed JSON', method: 'POST', url: () => '/api/admin/products', body: '{"slug": "saw",' },
  { name: 'a JSON array body', method: 'POST', url: () => '/api/admin/products', body: '[]', field: 'body' },
  {
    name: 'an unknown field',
    method: 'POST',
    url: () => '/api/admin/products',
    body: withProduct({ colour: 'red' }),
    field: 'body.colour',
  },
  {
    name: 'a number for the title',
    method: 'POST',
    url: () => '/api/admin/products',
    body: withProduct({ title: 5 }),
    field: 'body.title',
  },
  {
    name: 'an overlong title',
    method: 'POST',
    url: () => '/api/admin/products',
    body: withProduct({ title: 'x'.repeat(201) }),
    field: 'body.title',
  },
  {
    name: 'a NUL byte in the title',
    method: 'POST',
    url: () => '/api/admin/products',
    body: withProduct({ title: 'Saw\u0000' }),
    field: 'body.title',
  },
  {
    name: 'a lone surrogate in the description',
    method: 'POST',
    url: () => '/api/admin/products',
    body: '{"slug":"saw","title":"Saw","description":"\\ud800","variants":[{"sku":"SAW-1","price_minor":1}]}',
    field: 'body.description',
  },
  {
    name: 'a slug with spaces',
    method: 'POST',
    url: () => '/api/admin/products',
    body: withProduct({ slug: 'Hand Saw' }),
    field: 'body.slug',
  },
  {
    name: 'a lower-case currency',
    method: 'POST',
    url: () => '/api/admin/products',
    body: withProduct({ currency: 'usd' }),
    field: 'body.currency',
  },
  {
    name: 'an unknown status',
    method: 'POST',
    url: () => '/api/admin/products',
    body: withProduct({ status: 'deleted' }),
    field: 'body.status',
  },
  {
    name: 'a bad category uuid',
    method: 'POST',
    url: () => '/api/admin/products',
    body: withProduct({ category_id: 'tools' }),
    field: 'body.category_id',
  },
  {
    name: 'an http image',
    method: 'POST',
    url: () => '/api/admin/products',
    body: withProduct({ images: [{ url: 'http://x.example/a.jpg', alt: 'a' }] }),
    field: 'body.images.0.url',
  },
  {
    name: 'an image without alt text',
    method: 'POST',
    url: () => '/api/admin/products',
    body: withProduct({ images: [{ url: 'https://x.example/a.jpg' }] }),
    field: 'body.images.0.alt',
  },
  {
    name: 'a tag with a semicolon',
    method: 'POST',
    url: () => '/api/admin/products',
    body: withProduct({ tags: ['a;b'] }),
    field: 'body.tags.0',
  },
  {
    name: 'no variants',
    method: 'POST',
    url: () => '/api/admin/products',
    body: withProduct({ variants: [] }),
    field: 'body.variants',
  },
  {
    name: 'a negative price',
    method: 'POST',
    url: () => '/api/admin/products',
    body: withVariant({ price_minor: -1 }),
    field: 'body.variants.0.price_minor',
  },
  {
    name: 'a fractional price',
    method: 'POST',
    url: () => '/api/admin/products',
    body: withVariant({ price_minor: 9.99 }),
    field: 'body.variants.0.price_minor',
  },
  {
    name: 'a price as a string',
    method: 'POST',
    url: () => '/api/admin/products',
    body: withVariant({ price_minor: '100' }),
    field: 'body.variants.0.price_minor',
  },
  {
    name: 'an absurd price',
    method: 'POST',
    url: () => '/api/admin/products',
    body: withVariant({ price_minor: 1e13 }),
    field: 'body.variants.0.price_minor',
  },
  {
    name: 'a SKU with a space',
    method: 'POST',
    url: () => '/api/admin/products',
    body: withVariant({ sku: 'SAW 1' }),
    field: 'body.variants.0.sku',
  },
  {
    name: 'negative initial stock',
    method: 'POST',
    url: () => '/api/admin/products',
    body: withVariant({ stock: -5 }),
    field: 'body.variants.0.stock',
  },
  {
    name: 'an option name with =',
    method: 'POST',
    url: () => '/api/admin/products',
    body: withVariant({ options: { 'a=b': 'c' } }),
    field: 'body.variants.0.options.a=b',
  },
  {
    name: 'an unknown variant field',
    method: 'POST',
    url: () => '/api/admin/products',
    body: withVariant({ weight: 3 }),
    field: 'body.variants.0.weight',
  },
  {
    name: 'an unknown category for the product',
    method: 'POST',
    url: () => '/api/admin/products',
    body: withProduct({ category_id: '00000000-0000-4000-8000-000000000000' }),
    field: 'body.category_id',
  },
  {
    name: 'a bad product id in the path',
    method: 'PATCH',
    url: () => '/api/admin/products/not-a-uuid',
    body: { title: 'X' },
    field: 'params.id',
  },
  {
    name: 'an empty patch',
    method: 'PATCH',
    url: () => `/api/admin/products/${productId}`,
    body: {},
    field: 'body',
  },
  {
    name: 'a patch with a bad variant id',
    method: 'PATCH',
    url: () => `/api/admin/products/${productId}`,
    body: { variants: [{ id: 'x', price_minor: 1 }] },
    field: 'body.variants.0.id',
  },
  {
    name: 'a patch adding a variant without SKU',
    method: 'PATCH',
    url: () => `/api/admin/products/${productId}`,
    body: { variants: [{ price_minor: 1 }] },
    field: 'body.variants.0.sku',
  },
  {
    name: 'a patch with a variant of another product',
    method: 'PATCH',
    url: () => `/api/admin/products/${productId}`,
    body: { variants: [{ id: '00000000-0000-4000-8000-000000000000', price_minor: 1 }] },
    field: 'body.variants.0.id',
  },
  {
    name: 'a null title in a patch',
    method: 'PATCH',
    url: () => `/api/admin/products/${productId}`,
    body: { title: null },
    field: 'body.title',
  },
  {
    name: 'archiving a bad uuid',
    method: 'POST',
    url: () => '/api/admin/products/123/archive',
    field: 'params.id',
  },
  {
    name: 'an empty category name',
    method: 'POST',
    url: () => '/api/admin/categories',
    body: { name: '', slug: 'x' },
    field: 'body.name',
  },
  {
    name: 'a category parent that is not a uuid',
    method: 'PATCH',
    url: () => `/api/admin/categories/${categoryId}`,
    body: { parent_id: 'root' },
    field: 'body.parent_id',
  },
  {
    name: 'an unknown category field',
    method: 'PATCH',
    url: () => `/api/admin/categories/${categoryId}`,
    body: { position: 1 },
    field: 'body.position',
  },
  {
    name: 'a huge page size',
    method: 'GET',
    url: () => '/api/storefront/catalog?limit=1000',
    field: 'query.limit',
  },
  { name: 'page zero', method: 'GET', url: () => '/api/storefront/catalog?page=0', field: 'query.page' },
  {
    name: 'an unknown sort',
    method: 'GET',
    url: () => '/api/storefront/catalog?sort=random',
    field: 'query.sort',
  },
  {
    name: 'a negative min_price',
    method: 'GET',
    url: () => '/api/storefront/catalog?min_price=-1',
    field: 'query.min_price',
  },
  {
    name: 'a text max_price',
    method: 'GET',
    url: () => '/api/storefront/catalog?max_price=cheap',
    field: 'query.max_price',
  },
  {
    name: 'an unknown query parameter',
    method: 'GET',
    url: () => '/api/storefront/catalog?colour=red',
    field: 'query.colour',
  },
  {
    name: 'an overlong search',
    method: 'GET',
    url: () => `/api/storefront/catalog?search=${'a'.repeat(201)}`,
    field: 'query.search',
  },
  {
    name: 'a NUL byte in the search',
    method: 'GET',
    url: () => '/api/storefront/catalog?search=a%00b',
    field: 'query.search',
  },
  {
    name: 'an item id with odd characters',
    method: 'GET',
    url: () => '/api/storefront/items/a%20b',
    field: 'params.id',
  },
  {
    name: 'an admin list status that does not exist',
    method: 'GET',
    url: () => '/api/admin/products?status=deleted',
    field: 'query.status',
  },
  {
    name: 'a bad variant id for stock',
    method: 'GET',
    url: () => '/api/admin/inventory/nope',
    field: 'params.variantId',
  },
  {
    name: 'a string delta',
    method: 'POST',
    url: () => `/api/admin/inventory/${variantId}/adjustments`,
    body: { delta: '5', reason: 'restock' },
    field: 'body.delta',
  },
  {
    name: 'an overlong note',
    method: 'POST',
    url: () => `/api/admin/inventory/${variantId}/adjustments`,
    body: { delta: 5, reason: 'restock', note: 'n'.repeat(501) },
    field: 'body.note',
  },
  {
    name: 'a negative threshold',
    method: 'PUT',
    url: () => `/api/admin/inventory/${variantId}/threshold`,
    body: { low_stock_threshold: -1 },
    field: 'body.low_stock_threshold',
  },
  {
    name: 'a missing threshold',
    method: 'PUT',
    url: () => `/api/admin/inventory/${variantId}/threshold`,
    body: {},
    field: 'body.low_stock_threshold',
  },
];

async function rowCounts() {
  const tables = { products, variants, categories, stockLevels, stockMovements, auditLog, outboxEvents };
  const entries = await Promise.all(
    Object.entries(tables).map(async ([name, table]) => [name, await dp.rowCount(table)] as const),
  );
  return Object.fromEntries(entries);
}

describe('bad input to the catalog and inventory routes', () => {
  it.each(cases)('$name → 4xx problem naming the field, nothing written', async (c) => {
    const before = await rowCounts();
    const headers: Record<string, string> = { ...(await dp.staffHeaders('owner')) };
    if (c.body !== undefined) headers['content-type'] = 'application/json';
    const response = await dp.app.inject({
      method: c.method,
      url: c.url(),
      headers,
      ...(c.body === undefined
        ? {}
        : { payload: typeof c.body === 'string' ? c.body : JSON.stringify(c.body) }),
    });
    expect(response.statusCode, response.body).toBe(c.status ?? 400);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    const problem = response.json();
    expect(problem.status).toBe(response.statusCode);
    if (c.field) {
      expect(
        problem.errors?.map((e: { field: string }) => e.field),
        response.body,
      ).toContain(c.field);
    }
    expect(await rowCounts()).toEqual(before);
  });
});
