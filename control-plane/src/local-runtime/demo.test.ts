import { describe, expect, it } from 'vitest';
import { DEMO_PRODUCTS_PER_SHOP, DEMO_SHOPS, demoCatalog, signedEvidence } from './demo.ts';

describe('the demo fleet', () => {
  it('is three shops, one per isolation mode, one of them in Persian', () => {
    expect(DEMO_SHOPS.map((shop) => shop.mode).sort()).toEqual(['database', 'schema', 'shared']);
    expect(DEMO_SHOPS.filter((shop) => shop.locale === 'fa')).toHaveLength(1);
    expect(new Set(DEMO_SHOPS.map((shop) => shop.brand.primary_color)).size).toBe(3);
  });

  it('gives each shop the same catalog every time: about 50 products, unique slugs and SKUs, variants, stock states', () => {
    for (const shop of DEMO_SHOPS) {
      const catalog = demoCatalog(shop);
      expect(catalog).toEqual(demoCatalog(shop));
      expect(catalog).toHaveLength(DEMO_PRODUCTS_PER_SHOP);
      expect(new Set(catalog.map((product) => product.slug)).size).toBe(catalog.length);
      const skus = catalog.flatMap((product) => product.variants.map((variant) => variant.sku));
      expect(new Set(skus).size).toBe(skus.length);
      expect(catalog.some((product) => product.variants.length > 1)).toBe(true);
      expect(catalog.some((product) => product.variants.some((variant) => variant.stock === 0))).toBe(true);
      for (const product of catalog) {
        expect(product.slug).toMatch(/^[a-z0-9]+(?:-[a-z0-9]+)*$/);
        for (const variant of product.variants) expect(Number.isInteger(variant.price_minor)).toBe(true);
      }
    }
  });

  it('signs simulated payment evidence the way data planes verify it', () => {
    const { raw, headers } = signedEvidence('s'.repeat(40), { order_id: 'x' }, new Date(1_800_000_000_000));
    expect(raw).toBe('{"order_id":"x"}');
    expect(headers['x-payment-timestamp']).toBe('1800000000');
    expect(headers['x-payment-signature']).toMatch(/^sha256=[0-9a-f]{64}$/);
  });
});
