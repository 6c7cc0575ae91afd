import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import { products, stockLevels, variants } from '../catalog/schema.ts';
import type { Queryable } from '../db/client.ts';

export interface CartVariantRow {
  variantId: string;
  sku: string;
  options: Record<string, string>;
  priceMinor: number | null;
  available: number;
  slug: string;
  title: string;
  pricingMode: 'fixed' | 'quote';
  currency: string;
  image: { url: string; alt: string } | undefined;
}

/** The variants of a cart that the shop still sells (active, in an active product), in one query. */
export async function cartVariants(
  db: Queryable,
  tenantId: string,
  ids: string[],
): Promise<CartVariantRow[]> {
  if (ids.length === 0) return [];
  const rows = await db
    .select({
      variantId: variants.id,
      sku: variants.sku,
      options: variants.options,
      priceMinor: variants.priceMinor,
      available: sql<number>`greatest(coalesce(${stockLevels.onHand} - ${stockLevels.reserved}, 0), 0)::int`,
      slug: products.slug,
      title: products.title,
      pricingMode: products.pricingMode,
      currency: products.currency,
      images: products.images,
    })
    .from(variants)
    .innerJoin(products, and(eq(products.tenantId, variants.tenantId), eq(products.id, variants.productId)))
    .leftJoin(
      stockLevels,
      and(eq(stockLevels.tenantId, variants.tenantId), eq(stockLevels.variantId, variants.id)),
    )
    .where(
      and(
        eq(variants.tenantId, tenantId),
        inArray(variants.id, ids),
        eq(variants.status, 'active'),
        eq(products.status, 'active'),
      ),
    );
  return rows.map(({ images, ...row }) => ({ ...row, image: images[0] }));
}

/** Every active product's slug and last change, oldest first, for the sitemap. */
export async function sitemapProducts(
  db: Queryable,
  tenantId: string,
  limit: number,
): Promise<{ slug: string; updatedAt: Date }[]> {
  return db
    .select({ slug: products.slug, updatedAt: products.updatedAt })
    .from(products)
    .where(and(eq(products.tenantId, tenantId), eq(products.status, 'active')))
    .orderBy(asc(products.createdAt), asc(products.id))
    .limit(limit);
}
