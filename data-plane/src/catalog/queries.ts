import { type SQL, sql } from 'drizzle-orm';
import type { Database, Queryable } from '../db/client.ts';
import type { ProductImage } from './schema.ts';
import type { SortOrder } from './schemas.ts';

/**
 * The catalog's read queries in raw SQL, each one round trip, each filtered on tenant_id and
 * written to use the indexes in schema.ts: GIN on search_vector (full text), GIN trigram on
 * title (fuzzy), GIN on tags, btree (tenant, status, created_at) and (tenant, price_minor).
 */

/** Text search config: 'simple' (no stemming, no stop words) works for Persian as for English. */
const TS_CONFIG = sql.raw(`'simple'`);

/** Recomputes products.search_vector and products.price_minor for the given products. */
export async function refreshDerivedColumns(db: Queryable, tenantId: string, productIds: string[]) {
  if (productIds.length === 0) return;
  await db.execute(sql`
    UPDATE products p
       SET search_vector =
             setweight(to_tsvector(${TS_CONFIG}, p.title), 'A') ||
             setweight(to_tsvector(${TS_CONFIG}, array_to_string(p.tags, ' ')), 'B') ||
             setweight(to_tsvector(${TS_CONFIG}, p.description), 'C'),
           price_minor = (
             SELECT min(v.price_minor) FROM variants v
              WHERE v.tenant_id = p.tenant_id AND v.product_id = p.id AND v.status = 'active')
     WHERE p.tenant_id = ${tenantId} AND p.id = ANY(${sql.param(productIds)}::uuid[])`);
}

export interface ProductListFilter {
  statuses: readonly ('active' | 'archived')[];
  search?: string | undefined;
  /** A category slug or id; its descendants are included. */
  category?: string | undefined;
  tag?: string | undefined;
  minPrice?: number | undefined;
  maxPrice?: number | undefined;
  sort?: SortOrder | undefined;
  page: number;
  limit: number;
}

export interface ProductSummaryRow {
  id: string;
  slug: string;
  title: string;
  status: 'active' | 'archived';
  pricing_mode: 'fixed' | 'quote';
  price_minor: number | null;
  currency: string;
  category_id: string | null;
  tags: string[];
  images: ProductImage[];
  created_at: string;
  variant_count: number;
  available: number;
  in_stock: boolean;
}

/** The category and all of its descendants (UNION, so even a corrupt cycle terminates). */
function categoryWithDescendants(tenantId: string, category: string): SQL {
  return sql`(
    WITH RECURSIVE tree(id) AS (
      SELECT id FROM categories
       WHERE tenant_id = ${tenantId} AND (slug = ${category} OR id::text = lower(${category}))
      UNION
      SELECT c.id FROM categories c JOIN tree ON c.parent_id = tree.id WHERE c.tenant_id = ${tenantId}
    ) SELECT id FROM tree)`;
}

/** ORDER BY on the listing's column names, valid both inside and outside the page subquery. */
function orderBy(sort: SortOrder): SQL {
  switch (sort) {
    case 'relevance':
      return sql`relevance DESC, created_at DESC, id`;
    case 'price_asc':
      return sql`price_minor ASC NULLS LAST, id`;
    case 'price_desc':
      return sql`price_minor DESC NULLS LAST, id`;
    case 'title':
      return sql`title ASC, id`;
    case 'newest':
      return sql`created_at DESC, id DESC`;
  }
}

/**
 * Totals of browse listings (no search), cached briefly per filter: counting the whole
 * catalog on every page view would cost more than the page itself. Local catalog writes
 * clear the cache (catalogChanged); a write on another replica shows within TOTAL_TTL_MS.
 */
const TOTAL_TTL_MS = 5_000;
const MAX_CACHED_TOTALS = 2_000;
const cachedTotals = new Map<string, { total: number; expires: number }>();

/**
 * Serialized storefront responses (listing, search, item), cached for STOREFRONT_TTL_MS:
 * under load most requests ask for the same few pages. Bounded (oldest entries go first).
 * Staleness: a catalog or stock write on this replica clears the cache (catalogChanged), and
 * a response read while a clear happened is not stored, so a committed local write is visible
 * to the next request; a write on another replica shows within STOREFRONT_TTL_MS. Checkout
 * re-checks stock atomically, so a briefly stale "in stock" never oversells.
 */
export const STOREFRONT_TTL_MS = 1_000;
const MAX_CACHED_RESPONSES = 5_000;
const cachedResponses = new Map<string, { body: string; expires: number }>();
const inFlight = new Map<string, Promise<string | null>>();
let catalogGeneration = 0;

/** Call after any write that can change which products a listing matches or what it shows. */
export function catalogChanged(): void {
  catalogGeneration++;
  cachedTotals.clear();
  cachedResponses.clear();
  inFlight.clear();
}

/**
 * The cached body for `key`, else `produce()` (the serialized response, or null for one that
 * must not be cached), stored unless the catalog changed while it was being read.
 */
export async function cachedStorefrontResponse(
  key: string,
  produce: () => Promise<string | null>,
): Promise<string | null> {
  const hit = cachedResponses.get(key);
  if (hit && hit.expires > Date.now()) return hit.body;
  // Concurrent misses for one key share one read instead of all querying at once.
  const pending = inFlight.get(key);
  if (pending) return pending;
  const generation = catalogGeneration;
  const read = produce().then((body) => {
    if (body !== null && generation === catalogGeneration) {
      cachedResponses.delete(key);
      if (cachedResponses.size >= MAX_CACHED_RESPONSES) {
        const oldest = cachedResponses.keys().next().value;
        if (oldest !== undefined) cachedResponses.delete(oldest);
      }
      cachedResponses.set(key, { body, expires: Date.now() + STOREFRONT_TTL_MS });
    }
    return body;
  });
  inFlight.set(key, read);
  try {
    return await read;
  } finally {
    if (inFlight.get(key) === read) inFlight.delete(key);
  }
}

/** Searches whose full-text matches are fewer than this also take fuzzy (trigram) matches. */
const FUZZY_BELOW = 10;

interface PageQuery {
  where: SQL;
  relevance: SQL;
  sort: SortOrder;
  limit: number;
  offset: number;
  withTotal: boolean;
}

/**
 * One page, plus per product its active-variant count and available stock, fetched for the
 * page's rows only in the same query (no N+1). With withTotal, count(*) OVER () rides along.
 */
async function pageOfProducts(db: Queryable, tenantId: string, query: PageQuery) {
  // The page's ids (and sort keys) first, read off the sort's index (index-only for browse
  // sorts, so a deep OFFSET skips index entries, not heap rows); then the 24 rows themselves.
  // Output column names are unique, so the outer ORDER BY resolves to them.
  const result = await db.execute<Record<string, unknown>>(sql`
    SELECT page.*, p.slug, p.status, p.pricing_mode, p.currency, p.category_id, p.tags, p.images,
           agg.variant_count, agg.available
      FROM (
        SELECT p.id, p.created_at, p.price_minor, p.title, ${query.relevance} AS relevance
               ${query.withTotal ? sql`, count(*) OVER () AS total` : sql``}
          FROM products p
         WHERE ${query.where}
         ORDER BY ${orderBy(query.sort)}
         LIMIT ${query.limit} OFFSET ${query.offset}
      ) page
      JOIN products p ON p.tenant_id = ${tenantId} AND p.id = page.id
      LEFT JOIN LATERAL (
        SELECT count(*)::int AS variant_count,
               coalesce(sum(greatest(coalesce(s.on_hand - s.reserved, 0), 0)), 0)::int AS available
          FROM variants v
          LEFT JOIN stock_levels s ON s.tenant_id = v.tenant_id AND s.variant_id = v.id
         WHERE v.tenant_id = ${tenantId} AND v.product_id = page.id AND v.status = 'active'
      ) agg ON true
     ORDER BY ${orderBy(query.sort)}`);
  return result.rows;
}

async function countProducts(db: Queryable, where: SQL): Promise<number> {
  const counted = await db.execute<{ n: number }>(
    sql`SELECT count(*)::int AS n FROM products p WHERE ${where}`,
  );
  return counted.rows[0]?.n ?? 0;
}

/**
 * One page of products with the total count. Without a search, the page is read off the
 * sort's index and the total comes from a short-lived cache. With one, full text
 * (websearch syntax on search_vector, ranked by ts_rank) answers first; when it finds fewer
 * than FUZZY_BELOW products, similar words in the title (pg_trgm word similarity) join in,
 * so a typo still finds the item without making every common-word search pay for it.
 */
export async function listProducts(
  db: Queryable,
  tenantId: string,
  filter: ProductListFilter,
): Promise<{ rows: ProductSummaryRow[]; total: number }> {
  const conditions: SQL[] = [
    sql`p.tenant_id = ${tenantId}`,
    filter.statuses.length === 1
      ? sql`p.status = ${filter.statuses[0]}`
      : sql`p.status = ANY(${sql.param([...filter.statuses])}::text[])`,
  ];
  if (filter.category)
    conditions.push(sql`p.category_id IN ${categoryWithDescendants(tenantId, filter.category)}`);
  if (filter.tag) conditions.push(sql`p.tags @> ARRAY[${filter.tag}]::text[]`);
  if (filter.minPrice !== undefined) conditions.push(sql`p.price_minor >= ${filter.minPrice}`);
  if (filter.maxPrice !== undefined) conditions.push(sql`p.price_minor <= ${filter.maxPrice}`);
  const search = filter.search?.trim() || undefined;
  const sort = filter.sort ?? (search ? 'relevance' : 'newest');
  const offset = (filter.page - 1) * filter.limit;
  const page = { sort, limit: filter.limit, offset };

  if (!search) {
    const where = sql.join(conditions, sql` AND `);
    const rows = await pageOfProducts(db, tenantId, {
      ...page,
      where,
      relevance: sql`0::real`,
      withTotal: false,
    });
    const key = JSON.stringify([
      tenantId,
      filter.statuses,
      filter.category,
      filter.tag,
      filter.minPrice,
      filter.maxPrice,
    ]);
    const cached = cachedTotals.get(key);
    let total: number;
    if (cached && cached.expires > Date.now()) total = cached.total;
    else {
      total = await countProducts(db, where);
      if (cachedTotals.size >= MAX_CACHED_TOTALS) cachedTotals.clear();
      cachedTotals.set(key, { total, expires: Date.now() + TOTAL_TTL_MS });
    }
    return { rows: rows.map(toSummary), total };
  }

  const query = sql`websearch_to_tsquery(${TS_CONFIG}, ${search})`;
  const fullText = sql`p.search_vector @@ ${query}`;
  const run = async (tx: Queryable, match: SQL, relevance: SQL) => {
    const where = sql.join([...conditions, match], sql` AND `);
    const rows = await pageOfProducts(tx, tenantId, { ...page, where, relevance, withTotal: true });
    const total = rows.length > 0 ? Number(rows[0]?.total) : offset > 0 ? await countProducts(tx, where) : 0;
    return { rows: rows.map(toSummary), total };
  };
  const exact = await run(db, fullText, sql`ts_rank(p.search_vector, ${query})`);
  if (exact.total >= FUZZY_BELOW) return exact;
  // Both GIN indexes lead with tenant_id, so the planner ORs two bitmap index scans instead
  // of testing word similarity against every title.
  return run(
    db,
    sql`(${fullText} OR ${search} <% p.title)`,
    sql`ts_rank(p.search_vector, ${query}) + word_similarity(${search}, p.title)`,
  );
}

function toSummary(row: Record<string, unknown>): ProductSummaryRow {
  const available = row.available as number;
  return {
    id: row.id as string,
    slug: row.slug as string,
    title: row.title as string,
    status: row.status as ProductSummaryRow['status'],
    pricing_mode: row.pricing_mode as ProductSummaryRow['pricing_mode'],
    price_minor: row.price_minor === null ? null : Number(row.price_minor),
    currency: row.currency as string,
    category_id: (row.category_id as string | null) ?? null,
    tags: row.tags as string[],
    images: row.images as ProductImage[],
    created_at: new Date(row.created_at as string).toISOString(),
    variant_count: row.variant_count as number,
    available,
    in_stock: available > 0,
  };
}

export interface StorefrontItemRow {
  id: string;
  slug: string;
  title: string;
  description: string;
  pricing_mode: 'fixed' | 'quote';
  price_minor: number | null;
  currency: string;
  tags: string[];
  images: ProductImage[];
  category_path: { id: string; name: string; slug: string }[];
  variants: {
    id: string;
    sku: string;
    options: Record<string, string>;
    price_minor: number | null;
    available: number;
  }[];
}

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

const storefrontItemSql = (match: string) => `
    SELECT p.id, p.slug, p.title, p.description, p.pricing_mode, p.price_minor, p.currency, p.tags, p.images,
      (SELECT coalesce(json_agg(json_build_object(
                 'id', v.id, 'sku', v.sku, 'options', v.options, 'price_minor', v.price_minor,
                 'available', greatest(coalesce(s.on_hand - s.reserved, 0), 0))
               ORDER BY v.created_at, v.sku), '[]'::json)
         FROM variants v
         LEFT JOIN stock_levels s ON s.tenant_id = v.tenant_id AND s.variant_id = v.id
        WHERE v.tenant_id = p.tenant_id AND v.product_id = p.id AND v.status = 'active') AS variants,
      (WITH RECURSIVE up(id, parent_id, name, slug, depth) AS (
         SELECT c.id, c.parent_id, c.name, c.slug, 0 FROM categories c
          WHERE c.tenant_id = p.tenant_id AND c.id = p.category_id
         UNION ALL
         SELECT c.id, c.parent_id, c.name, c.slug, up.depth + 1 FROM categories c
           JOIN up ON c.id = up.parent_id
          WHERE c.tenant_id = p.tenant_id AND up.depth < 64)
       SELECT coalesce(json_agg(json_build_object('id', id, 'name', name, 'slug', slug) ORDER BY depth DESC),
                       '[]'::json)
         FROM up) AS category_path
      FROM products p
     WHERE p.tenant_id = $1::uuid AND p.status = 'active' AND ${match}`;

/**
 * An active product by id or slug with its active variants (price, options, available
 * stock) and its category path, in one query; null when there is none.
 */
export async function storefrontItem(
  db: Database,
  tenantId: string,
  idOrSlug: string,
): Promise<StorefrontItemRow | null> {
  const byId = UUID.test(idOrSlug);
  // A named statement: each pooled connection parses and plans it once, not per request.
  const result = await db.$client.query<Record<string, unknown>>({
    name: byId ? 'storefront_item_by_id' : 'storefront_item_by_slug',
    text: storefrontItemSql(byId ? 'p.id = $2::uuid' : 'p.slug = $2'),
    values: [tenantId, byId ? idOrSlug.toLowerCase() : idOrSlug],
  });
  const row = result.rows[0];
  if (!row) return null;
  return {
    id: row.id as string,
    slug: row.slug as string,
    title: row.title as string,
    description: row.description as string,
    pricing_mode: row.pricing_mode as StorefrontItemRow['pricing_mode'],
    price_minor: row.price_minor === null ? null : Number(row.price_minor),
    currency: row.currency as string,
    tags: row.tags as string[],
    images: row.images as ProductImage[],
    category_path: row.category_path as StorefrontItemRow['category_path'],
    variants: row.variants as StorefrontItemRow['variants'],
  };
}

export interface CategoryTreeRow {
  id: string;
  parent_id: string | null;
  name: string;
  slug: string;
  depth: number;
  path: string[];
  created_at: string;
}

/** Every category in depth-first order (parents before children, siblings by name). */
export async function categoryTree(db: Queryable, tenantId: string): Promise<CategoryTreeRow[]> {
  const result = await db.execute<Record<string, unknown>>(sql`
    WITH RECURSIVE tree AS (
      SELECT id, parent_id, name, slug, created_at, 0 AS depth, ARRAY[slug] AS path, ARRAY[name || E'\\x01' || id::text] AS sort_path
        FROM categories WHERE tenant_id = ${tenantId} AND parent_id IS NULL
      UNION ALL
      SELECT c.id, c.parent_id, c.name, c.slug, c.created_at, tree.depth + 1, tree.path || c.slug,
             tree.sort_path || (c.name || E'\\x01' || c.id::text)
        FROM categories c JOIN tree ON c.parent_id = tree.id
       WHERE c.tenant_id = ${tenantId} AND tree.depth < 64)
    SELECT id, parent_id, name, slug, created_at, depth, path FROM tree ORDER BY sort_path`);
  return result.rows.map((row) => ({
    id: row.id as string,
    parent_id: (row.parent_id as string | null) ?? null,
    name: row.name as string,
    slug: row.slug as string,
    depth: row.depth as number,
    path: row.path as string[],
    created_at: new Date(row.created_at as string).toISOString(),
  }));
}

/** True when `candidate` is `categoryId` itself or one of its descendants. */
export async function isSelfOrDescendant(
  db: Queryable,
  tenantId: string,
  categoryId: string,
  candidate: string,
): Promise<boolean> {
  const result = await db.execute<{ found: boolean }>(sql`
    WITH RECURSIVE tree(id) AS (
      SELECT id FROM categories WHERE tenant_id = ${tenantId} AND id = ${categoryId}
      UNION
      SELECT c.id FROM categories c JOIN tree ON c.parent_id = tree.id WHERE c.tenant_id = ${tenantId})
    SELECT EXISTS (SELECT 1 FROM tree WHERE id = ${candidate}) AS found`);
  return result.rows[0]?.found === true;
}
