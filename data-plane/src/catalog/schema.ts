import { sql } from 'drizzle-orm';
import {
  bigint,
  check,
  customType,
  foreignKey,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  unique,
  uuid,
} from 'drizzle-orm/pg-core';
import { createdAt, tenantId, updatedAt } from '../db/columns.ts';

const tsvector = customType<{ data: string }>({ dataType: () => 'tsvector' });

export const productStatuses = ['active', 'archived'] as const;
export const pricingModes = ['fixed', 'quote'] as const;

export interface ProductImage {
  url: string;
  alt: string;
}

/** A tree: parent_id points at another category of the same tenant. */
export const categories = pgTable(
  'categories',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tenantId: tenantId(),
    parentId: uuid('parent_id'),
    name: text('name').notNull(),
    slug: text('slug').notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    unique('categories_tenant_id_unique').on(t.tenantId, t.id),
    unique('categories_tenant_slug_unique').on(t.tenantId, t.slug),
    foreignKey({ columns: [t.tenantId, t.parentId], foreignColumns: [t.tenantId, t.id] }),
  ],
);

export const products = pgTable(
  'products',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tenantId: tenantId(),
    slug: text('slug').notNull(),
    title: text('title').notNull(),
    description: text('description').notNull().default(''),
    categoryId: uuid('category_id'),
    tags: text('tags').array().notNull().default(sql`'{}'::text[]`),
    status: text('status', { enum: productStatuses }).notNull().default('active'),
    pricingMode: text('pricing_mode', { enum: pricingModes }).notNull().default('fixed'),
    /** The lowest active variant price, kept for sorting and price filters (minor units). */
    priceMinor: bigint('price_minor', { mode: 'number' }),
    currency: text('currency').notNull(),
    images: jsonb('images').$type<ProductImage[]>().notNull().default(sql`'[]'::jsonb`),
    /** Weighted title (A), tags (B), description (C); maintained by the catalog service. */
    searchVector: tsvector('search_vector'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    unique('products_tenant_id_unique').on(t.tenantId, t.id),
    unique('products_tenant_slug_unique').on(t.tenantId, t.slug),
    foreignKey({ columns: [t.tenantId, t.categoryId], foreignColumns: [categories.tenantId, categories.id] }),
    // Storefront sorts read a page straight off an index instead of sorting the catalog; each
    // index ends with the sort's id tie-break, so the whole ORDER BY matches it (newest scans
    // (tenant, status, created_at, id) backwards).
    index('products_tenant_status_idx').on(t.tenantId, t.status, t.createdAt, t.id),
    index('products_tenant_price_idx').on(t.tenantId, t.priceMinor),
    index('products_tenant_status_price_idx').on(t.tenantId, t.status, t.priceMinor, t.id),
    index('products_tenant_status_price_desc_idx').on(
      t.tenantId,
      t.status,
      t.priceMinor.desc().nullsLast(),
      t.id,
    ),
    index('products_tenant_status_title_idx').on(t.tenantId, t.status, t.title, t.id),
    index('products_tenant_category_idx').on(t.tenantId, t.categoryId),
    // GIN with tenant_id in the index (btree_gin): otherwise the planner, seeing every row match
    // the tenant, prefers a btree on tenant_id and tests @@ / <% on every product.
    index('products_search_idx').using('gin', t.tenantId, t.searchVector),
    index('products_title_trgm_idx').using('gin', t.tenantId, sql`${t.title} gin_trgm_ops`),
    index('products_tags_idx').using('gin', t.tags),
    check('products_currency_iso', sql`${t.currency} ~ '^[A-Z]{3}$'`),
  ],
);

export const variants = pgTable(
  'variants',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tenantId: tenantId(),
    productId: uuid('product_id').notNull(),
    sku: text('sku').notNull(),
    /** Option values, e.g. { "size": "M", "colour": "red" }. */
    options: jsonb('options').$type<Record<string, string>>().notNull().default(sql`'{}'::jsonb`),
    priceMinor: bigint('price_minor', { mode: 'number' }),
    status: text('status', { enum: productStatuses }).notNull().default('active'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    unique('variants_tenant_id_unique').on(t.tenantId, t.id),
    unique('variants_tenant_sku_unique').on(t.tenantId, t.sku),
    foreignKey({ columns: [t.tenantId, t.productId], foreignColumns: [products.tenantId, products.id] }),
    index('variants_product_idx').on(t.tenantId, t.productId),
    check('variants_price_non_negative', sql`${t.priceMinor} IS NULL OR ${t.priceMinor} >= 0`),
  ],
);

/** Stock per variant: on hand (physically there) and reserved (held by unpaid orders). */
export const stockLevels = pgTable(
  'stock_levels',
  {
    tenantId: tenantId(),
    variantId: uuid('variant_id').notNull(),
    onHand: integer('on_hand').notNull().default(0),
    reserved: integer('reserved').notNull().default(0),
    lowStockThreshold: integer('low_stock_threshold'),
    updatedAt: updatedAt(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.variantId] }),
    foreignKey({ columns: [t.tenantId, t.variantId], foreignColumns: [variants.tenantId, variants.id] }),
    // The database itself refuses an oversell, whatever the service does.
    check(
      'stock_never_negative',
      sql`${t.onHand} >= 0 AND ${t.reserved} >= 0 AND ${t.reserved} <= ${t.onHand}`,
    ),
  ],
);

export const stockMovementReasons = [
  'order_reserved',
  'order_released',
  'order_fulfilled',
  'restock',
  'adjustment',
  'import',
] as const;

/** Every change to stock: who, when, why, and by how much. Append-only. */
export const stockMovements = pgTable(
  'stock_movements',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tenantId: tenantId(),
    variantId: uuid('variant_id').notNull(),
    reason: text('reason', { enum: stockMovementReasons }).notNull(),
    onHandDelta: integer('on_hand_delta').notNull().default(0),
    reservedDelta: integer('reserved_delta').notNull().default(0),
    orderId: uuid('order_id'),
    note: text('note'),
    actorType: text('actor_type').notNull(),
    actorId: text('actor_id'),
    createdAt: createdAt(),
  },
  (t) => [
    index('stock_movements_variant_idx').on(t.tenantId, t.variantId, t.createdAt),
    index('stock_movements_order_idx').on(t.tenantId, t.orderId),
  ],
);
