import { Readable } from 'node:stream';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog } from '../audit/schema.ts';
import { startTestDataPlane, type TestDataPlane } from '../testing/harness.ts';
import { parseCatalogCsv } from './import.ts';
import { categories, products, stockLevels, stockMovements, variants } from './schema.ts';
import { createCategory, createProduct } from './testing.ts';

let dp: TestDataPlane;
beforeAll(async () => {
  dp = await startTestDataPlane({ env: { IMPORT_LIMIT_BYTES: '4096' } });
  await createCategory(dp, { name: 'Clothing', slug: 'clothing' });
  await createProduct(dp, {
    slug: 'existing',
    title: 'Existing',
    variants: [{ sku: 'TAKEN-1', price_minor: 1 }],
  });
});
afterAll(() => dp.close());

const header =
  'product_slug,title,description,category_slug,tags,status,pricing_mode,currency,sku,options,price_minor,stock,image_url,image_alt';

/** Good and bad rows; the comment after each says what it tests. Line 1 is the header. */
const mixedCsv = [
  header,
  'tee,Cotton Tee,Soft,clothing,summer;cotton,active,fixed,USD,TEE-S,size=S;colour=red,1500,10,https://cdn.example.com/tee.jpg,Red tee', // 2 ok
  'tee,,,,,,,,TEE-M,size=M;colour=red,1600,0,,', // 3 ok, same product
  'tee,,,,,,,,TEE-L,size=L,abc,3,,', // 4 bad price
  'tee,Another Title,,,,,,,TEE-XL,size=XL,1700,,,', // 5 conflicting title
  ',No slug,,,,,,,NOSLUG-1,,100,,,', // 6 missing slug
  'mug,"Mug, with a ""quote""","Two',
  'lines of description",,,,,,MUG-1,,900,4,,', // 7-8 ok, multi-line cell
  'mug,,,,,,,,MUG-1,,900,4,,', // 9 duplicate sku within file
  'rug,Rug,,,,,quote,,RUG-1,,,,,', // 10 ok, quote needs no price
  'hat,Hat,,no-such-category,,,,,HAT-1,,500,,,', // 11 unknown category
  'cap,Cap,,,,,,,TAKEN-1,,500,,,', // 12 sku of another product
  'bag,Bag,,,,,,,BAG-1,,500,-2,,', // 13 negative stock
  'bag,Bag,,,,,,,BAG-2,colour,500,,,', // 14 options not name=value
  'bag,Bag,,,,,,,BAG-3,,500,,http://insecure.example.com/x.jpg,x', // 15 not https
  'bag,Bag,,,,,,,BAG-4,,500,,,', // 16 ok
  'bag,Bag,,,,,,,BAG-5,,,,,', // 17 fixed price missing
  'short,row', // 18 wrong field count
  'bag,Bag,,,,,,,BAG-6,,500,,https://cdn.example.com/bag.jpg,', // 19 alt missing
  'bag,Bag,,,,wrong,,,BAG-7,,500,,,', // 20 bad status
].join('\n');

async function importCsv(body: string, headers: Record<string, string> = {}) {
  return dp.app.inject({
    method: 'POST',
    url: '/api/admin/catalog/import',
    headers: { ...(await dp.staffHeaders('owner')), 'content-type': 'text/csv', ...headers },
    payload: body,
  });
}

async function counts() {
  return {
    products: await dp.rowCount(products),
    variants: await dp.rowCount(variants),
    stockLevels: await dp.rowCount(stockLevels),
    movements: await dp.rowCount(stockMovements),
    categories: await dp.rowCount(categories),
  };
}

describe('catalog CSV import', () => {
  it('imports the good rows, reports each bad row by line and column, and is idempotent', async () => {
    const before = await counts();
    const auditBefore = await dp.rowCount(auditLog);
    const first = await importCsv(mixedCsv);
    expect(first.statusCode, first.body).toBe(200);
    const result = first.json();
    expect(result).toMatchObject({ created: 5, updated: 0, unchanged: 0, errors_omitted: 0 });
    expect(result.errors.map((e: { line: number; field: string }) => `${e.line}:${e.field}`)).toEqual([
      '4:price_minor',
      '5:title',
      '6:product_slug',
      '9:sku',
      '11:category_slug',
      '12:sku',
      '13:stock',
      '14:options',
      '15:image_url',
      '17:price_minor',
      '18:row',
      '19:image_alt',
      '20:status',
    ]);
    expect(result.errors.find((e: { line: number }) => e.line === 12).message).toMatch(/existing/);
    expect(result.errors.find((e: { line: number }) => e.line === 9).message).toMatch(/line 7/);
    const afterFirst = await counts();
    expect(afterFirst.products).toBe(before.products + 4);
    expect(afterFirst.variants).toBe(before.variants + 5);
    expect(await dp.rowCount(auditLog)).toBe(auditBefore + 1);

    const [tee] = await dp.db
      .select()
      .from(products)
      .where(and(eq(products.tenantId, dp.tenantId), eq(products.slug, 'tee')));
    expect(tee).toMatchObject({
      title: 'Cotton Tee',
      tags: ['summer', 'cotton'],
      priceMinor: 1500,
      images: [{ url: 'https://cdn.example.com/tee.jpg', alt: 'Red tee' }],
    });
    const [mug] = await dp.db
      .select()
      .from(products)
      .where(and(eq(products.tenantId, dp.tenantId), eq(products.slug, 'mug')));
    expect(mug).toMatchObject({ title: 'Mug, with a "quote"', description: 'Two\nlines of description' });
    const [teeSmall] = await dp.db.select().from(variants).where(eq(variants.sku, 'TEE-S'));
    expect(teeSmall?.options).toEqual({ size: 'S', colour: 'red' });
    const movements = await dp.db
      .select()
      .from(stockMovements)
      .where(eq(stockMovements.variantId, teeSmall?.id as string));
    expect(movements).toMatchObject([{ reason: 'import', onHandDelta: 10, actorType: 'staff' }]);

    const found = (await dp.app.inject('/api/storefront/catalog?search=cotton')).json();
    expect(found.items.map((i: { slug: string }) => i.slug)).toEqual(['tee']);

    const second = await importCsv(mixedCsv);
    expect(second.statusCode).toBe(200);
    expect(second.json()).toMatchObject({ created: 0, updated: 0, unchanged: 5 });
    expect(second.json().errors).toEqual(result.errors);
    expect(await counts()).toEqual(afterFirst);
    expect(await dp.rowCount(auditLog)).toBe(auditBefore + 2);

    const changed = await importCsv(
      [
        header,
        'tee,,,,,,,,TEE-S,size=S;colour=red,1400,10,,',
        'tee,,,,,,,,TEE-M,size=M;colour=red,1600,5,,',
      ].join('\r\n'),
    );
    expect(changed.json()).toMatchObject({ created: 0, updated: 2, unchanged: 0, errors: [] });
    const [repriced] = await dp.db.select().from(products).where(eq(products.slug, 'tee'));
    expect(repriced?.priceMinor).toBe(1400);
    expect((await counts()).movements).toBe(afterFirst.movements + 1);
  });

  it('accepts columns in any order and a subset of them, with a BOM', async () => {
    const response = await importCsv('\uFEFFsku,product_slug,price_minor,title\nSOCK-1,socks,300,Socks\n');
    expect(response.json()).toMatchObject({ created: 1, errors: [] });
  });

  it('refuses a header with unknown or missing columns: 400, nothing written', async () => {
    const before = await counts();
    const unknown = await importCsv('product_slug,sku,price,title\nx,X-1,1,X\n');
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().errors[0]).toMatchObject({ field: 'header.3' });
    const missing = await importCsv('product_slug,title\nx,X\n');
    expect(missing.statusCode).toBe(400);
    expect(missing.json().errors[0].field).toBe('header.sku');
    const empty = await importCsv('');
    expect(empty.statusCode).toBe(400);
    expect(await counts()).toEqual(before);
  });

  it('refuses a body over IMPORT_LIMIT_BYTES with 413, nothing written', async () => {
    const before = await counts();
    const rows = Array.from({ length: 200 }, (_, i) => `big,Big,,,,,,,BIG-${i},,100,,,`);
    const response = await importCsv([header, ...rows].join('\n'));
    expect(response.statusCode).toBe(413);
    expect(response.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(await counts()).toEqual(before);
  });

  it('stops reading a stream without content-length once it passes the limit', async () => {
    const chunks = function* () {
      yield `${header}\n`;
      for (let i = 0; i < 1000; i++) yield `big,Big,,,,,,,BIG-${i},,100,,,\n`;
    };
    await expect(parseCatalogCsv(Readable.from(chunks()), 4096)).rejects.toMatchObject({ status: 413 });
    const parsed = await parseCatalogCsv(Readable.from([`${header}\nok,Ok,,,,,,,OK-1,,100,,,\n`]), 4096);
    expect(parsed).toMatchObject({ rows: [{ sku: 'OK-1', line: 2 }], errors: [] });
  });

  it('needs text/csv and catalog.write', async () => {
    const json = await dp.app.inject({
      method: 'POST',
      url: '/api/admin/catalog/import',
      headers: await dp.staffHeaders('owner'),
      payload: { sku: 'X' },
    });
    expect(json.statusCode).toBe(415);
    const support = await importCsv(`${header}\n`, await dp.staffHeaders('support'));
    expect(support.statusCode).toBe(403);
    const anonymous = await dp.app.inject({
      method: 'POST',
      url: '/api/admin/catalog/import',
      headers: { 'content-type': 'text/csv' },
      payload: `${header}\n`,
    });
    expect(anonymous.statusCode).toBe(401);
  });
});
