import type { Readable } from 'node:stream';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ProblemError, problem } from '@amanat/kit/http/problem';
import { parse } from 'csv-parse';
import { and, eq, inArray } from 'drizzle-orm';
import { type Actor, recordAudit } from '../audit/record.ts';
import type { ServiceContext } from '../context.ts';
import type { Tx } from '../db/client.ts';
import { adjustStock } from '../inventory/service.ts';
import { getSettings } from '../settings/service.ts';
import {
  type ImportColumn,
  type ImportRow,
  importColumns,
  productFieldColumn,
  productFields,
  type RowError,
  requiredColumns,
  validateRow,
} from './csv.ts';
import { catalogChanged, refreshDerivedColumns } from './queries.ts';
import { categories, type ProductImage, products, stockLevels, variants } from './schema.ts';
import { limits } from './schemas.ts';
import { conflictFromUniqueViolation } from './service.ts';

export interface ImportResult {
  /** Rows whose SKU was new. */
  created: number;
  /** Rows whose variant, stock or product changed. */
  updated: number;
  /** Rows that matched the catalog already (a re-run of the same file). */
  unchanged: number;
  errors: RowError[];
  /** Errors beyond the first MAX_REPORTED_ERRORS, counted but not listed. */
  errors_omitted: number;
}

export const MAX_REPORTED_ERRORS = 1000;

const payloadTooLarge = (limit: number) =>
  new ProblemError(413, 'payload-too-large', 'Payload Too Large', `The CSV is larger than ${limit} bytes.`);

/** Passes bytes through and fails the pipeline once more than `limit` have gone by. */
function byteLimit(limit: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      seen += chunk.length;
      if (seen > limit) callback(payloadTooLarge(limit));
      else callback(null, chunk);
    },
  });
}

interface ParsedFile {
  rows: ImportRow[];
  errors: RowError[];
}

/**
 * Streams the CSV through csv-parse, validating every row as it arrives. The header must name
 * product_slug and sku and nothing outside importColumns (400 otherwise: nothing is imported).
 */
export async function parseCatalogCsv(source: Readable, limitBytes: number): Promise<ParsedFile> {
  const rows: ImportRow[] = [];
  const errors: RowError[] = [];
  let header: ImportColumn[] | null = null;
  let lastLine = 0;
  const parser = parse({
    bom: true,
    info: true,
    skip_empty_lines: true,
    relax_column_count: true,
    // A stray quote stays part of its value (and fails that column's check) instead of
    // derailing the parser for the rest of the file.
    relax_quotes: true,
    skip_records_with_error: true,
    // Runs synchronously as each record is parsed, so on_skip knows where the bad one starts.
    on_record: (record: string[], context: { lines: number }) => {
      lastLine = context.lines;
      return record;
    },
    on_skip: (error) => {
      errors.push({ line: lastLine + 1, field: 'row', message: error?.message ?? 'is not valid CSV' });
      return undefined;
    },
  });
  const consume = async () => {
    for await (const { record, info } of parser as AsyncIterable<{
      record: string[];
      info: { lines: number };
    }>) {
      const newlines = record.reduce((n, value) => n + (value.match(/\r\n|\n|\r/g)?.length ?? 0), 0);
      const line = info.lines - newlines;
      if (!header) {
        header = readHeader(record);
        continue;
      }
      if (record.length !== header.length) {
        errors.push({
          line,
          field: 'row',
          message: `has ${record.length} fields; the header has ${header.length}`,
        });
        continue;
      }
      const cells: Partial<Record<ImportColumn, string>> = {};
      header.forEach((column, index) => {
        cells[column] = record[index] as string;
      });
      const result = validateRow(cells, line);
      if (result.row) rows.push(result.row);
      else errors.push(...result.errors);
    }
  };
  await Promise.all([pipeline(source, byteLimit(limitBytes), parser), consume()]);
  if (!header)
    throw problem.validation('body is empty: send a header row and data rows', [
      { field: 'body', message: 'has no header row' },
    ]);
  return { rows, errors };
}

function readHeader(record: string[]): ImportColumn[] {
  const names = record.map((name) => name.trim().toLowerCase());
  const fieldErrors = names.flatMap((name, index) => {
    if (!Object.hasOwn(importColumns, name)) {
      return [{ field: `header.${index + 1}`, message: `"${name.slice(0, 40)}" is not a known column` }];
    }
    if (names.indexOf(name) !== index) return [{ field: `header.${name}`, message: 'appears twice' }];
    return [];
  });
  for (const required of requiredColumns) {
    if (!names.includes(required)) fieldErrors.push({ field: `header.${required}`, message: 'is missing' });
  }
  if (fieldErrors.length > 0) {
    throw problem.validation(
      `the CSV header is not valid: ${fieldErrors.map((e) => `${e.field} ${e.message}`).join('; ')}`,
      fieldErrors,
    );
  }
  return names as ImportColumn[];
}

type ProductRow = typeof products.$inferSelect;
type VariantRow = typeof variants.$inferSelect;

/** Options compared regardless of key order. */
const sameOptions = (a: Record<string, string>, b: Record<string, string>) =>
  JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort());
const sameList = (a: readonly unknown[], b: readonly unknown[]) => JSON.stringify(a) === JSON.stringify(b);
/** jsonb reorders object keys, so images are compared field by field. */
const sameImages = (a: readonly ProductImage[], b: readonly ProductImage[]) =>
  sameList(
    a.map((image) => [image.url, image.alt]),
    b.map((image) => [image.url, image.alt]),
  );

/**
 * Imports a catalog CSV: every row is validated and each bad one reported with its line and
 * column; the good ones are upserted by SKU (product by product_slug) in one transaction with
 * one audit row. Stock is set through adjustStock (reason 'import'), so an unchanged value
 * records no movement and a second run of the same file changes nothing.
 */
export async function importCatalogCsv(
  ctx: ServiceContext,
  actor: Actor,
  source: Readable,
): Promise<ImportResult> {
  const parsed = await parseCatalogCsv(source, ctx.config.IMPORT_LIMIT_BYTES);
  const errors = [...parsed.errors];
  const reject = (row: ImportRow, field: string, message: string) => {
    errors.push({ line: row.line, field, message });
  };

  // SKUs must be unique within the file: a later row repeating one is an error.
  const firstLineOfSku = new Map<string, number>();
  const rows = parsed.rows.filter((row) => {
    const first = firstLineOfSku.get(row.sku);
    if (first !== undefined) {
      reject(row, 'sku', `repeats the SKU of line ${first}`);
      return false;
    }
    firstLineOfSku.set(row.sku, row.line);
    return true;
  });

  const counts = { created: 0, updated: 0, unchanged: 0 };
  await ctx.db
    .transaction(async (tx) => {
      const slugs = [...new Set(rows.map((row) => row.productSlug))];
      const skus = rows.map((row) => row.sku);
      const existingProducts = new Map<string, ProductRow>(
        slugs.length === 0
          ? []
          : (
              await tx
                .select()
                .from(products)
                .where(and(eq(products.tenantId, ctx.tenantId), inArray(products.slug, slugs)))
            ).map((product) => [product.slug, product]),
      );
      const existingVariants = new Map<string, VariantRow>(
        skus.length === 0
          ? []
          : (
              await tx
                .select()
                .from(variants)
                .where(and(eq(variants.tenantId, ctx.tenantId), inArray(variants.sku, skus)))
            ).map((variant) => [variant.sku, variant]),
      );
      const variantIds = [...existingVariants.values()].map((variant) => variant.id);
      const levelByVariant = new Map<string, { onHand: number; reserved: number }>(
        variantIds.length === 0
          ? []
          : (
              await tx
                .select({
                  variantId: stockLevels.variantId,
                  onHand: stockLevels.onHand,
                  reserved: stockLevels.reserved,
                })
                .from(stockLevels)
                .where(
                  and(eq(stockLevels.tenantId, ctx.tenantId), inArray(stockLevels.variantId, variantIds)),
                )
            ).map((level) => [level.variantId, level]),
      );
      const productSlugById = new Map(
        [...existingProducts.values()].map((product) => [product.id, product.slug]),
      );
      const ownerIds = [
        ...new Set([...existingVariants.values()].map((variant) => variant.productId)),
      ].filter((id) => !productSlugById.has(id));
      if (ownerIds.length > 0) {
        const owners = await tx
          .select({ id: products.id, slug: products.slug })
          .from(products)
          .where(and(eq(products.tenantId, ctx.tenantId), inArray(products.id, ownerIds)));
        for (const owner of owners) productSlugById.set(owner.id, owner.slug);
      }
      const categoryIdBySlug = new Map(
        (
          await tx
            .select({ id: categories.id, slug: categories.slug })
            .from(categories)
            .where(eq(categories.tenantId, ctx.tenantId))
        ).map((category) => [category.slug, category.id]),
      );
      const shopCurrency = (await getSettings(tx, ctx.tenantId)).currency;

      // Row checks that need the catalog, then grouping by product.
      const groups = new Map<string, ImportRow[]>();
      for (const row of rows) {
        const variant = existingVariants.get(row.sku);
        const owner = variant ? productSlugById.get(variant.productId) : undefined;
        if (owner !== undefined && owner !== row.productSlug) {
          reject(row, 'sku', `belongs to the product ${owner}`);
          continue;
        }
        if (row.categorySlug !== undefined && !categoryIdBySlug.has(row.categorySlug)) {
          reject(row, 'category_slug', 'is not a category of this shop');
          continue;
        }
        const reserved = variant ? (levelByVariant.get(variant.id)?.reserved ?? 0) : 0;
        if (row.stock !== undefined && row.stock < reserved) {
          reject(row, 'stock', `is below the ${reserved} units reserved by open orders`);
          continue;
        }
        groups.set(row.productSlug, [...(groups.get(row.productSlug) ?? []), row]);
      }

      const touched: string[] = [];
      for (const [slug, groupRows] of groups) {
        const result = await importProduct(tx, ctx, actor, {
          slug,
          rows: groupRows,
          existing: existingProducts.get(slug),
          existingVariants,
          levelByVariant,
          categoryIdBySlug,
          shopCurrency,
          reject,
        });
        if (!result) continue;
        counts.created += result.created;
        counts.updated += result.updated;
        counts.unchanged += result.unchanged;
        if (result.changed) touched.push(result.productId);
      }
      await refreshDerivedColumns(tx, ctx.tenantId, touched);

      errors.sort((a, b) => a.line - b.line);
      await recordAudit(tx, ctx.tenantId, actor, {
        action: 'catalog.imported',
        targetType: 'catalog',
        after: { ...counts, error_count: errors.length, products_changed: touched.length },
      });
    })
    .catch(conflictFromUniqueViolation);
  catalogChanged();

  return {
    ...counts,
    errors: errors.slice(0, MAX_REPORTED_ERRORS),
    errors_omitted: Math.max(0, errors.length - MAX_REPORTED_ERRORS),
  };
}

/**
 * Upserts one product and its rows' variants. Rows that disagree with the product's first
 * row on a product-level field, or lack what the product needs, are reported and skipped.
 */
async function importProduct(
  tx: Tx,
  ctx: ServiceContext,
  actor: Actor,
  input: {
    slug: string;
    rows: ImportRow[];
    existing: ProductRow | undefined;
    existingVariants: Map<string, VariantRow>;
    /** On-hand stock read at the start of the import, so an unchanged value costs no statement. */
    levelByVariant: Map<string, { onHand: number }>;
    categoryIdBySlug: Map<string, string>;
    shopCurrency: string;
    reject: (row: ImportRow, field: string, message: string) => void;
  },
): Promise<{
  productId: string;
  created: number;
  updated: number;
  unchanged: number;
  changed: boolean;
} | null> {
  const { existing, reject } = input;

  // Product-level fields: the first row that fills one in defines it.
  const defined: Partial<Pick<ImportRow, (typeof productFields)[number]>> = {};
  const definedAt: Partial<Record<(typeof productFields)[number], number>> = {};
  let rows = input.rows.filter((row) => {
    for (const field of productFields) {
      const value = row[field];
      if (value === undefined) continue;
      const current = defined[field];
      if (current === undefined) continue;
      if (JSON.stringify(current) !== JSON.stringify(value)) {
        reject(row, productFieldColumn[field], `differs from line ${definedAt[field]} of the same product`);
        return false;
      }
    }
    for (const field of productFields) {
      if (row[field] !== undefined && defined[field] === undefined) {
        (defined as Record<string, unknown>)[field] = row[field];
        definedAt[field] = row.line;
      }
    }
    return true;
  });

  const pricingMode = defined.pricingMode ?? existing?.pricingMode ?? 'fixed';
  if (pricingMode === 'fixed') {
    rows = rows.filter((row) => {
      if (row.priceMinor !== null) return true;
      reject(row, 'price_minor', 'is required for fixed pricing');
      return false;
    });
  }
  const title = defined.title ?? existing?.title;
  if (title === undefined) {
    for (const row of rows) reject(row, 'title', 'is required for a new product');
    return null;
  }
  if (rows.length === 0) return null;

  const imagesGiven: ProductImage[] = [];
  for (const row of rows) {
    if (row.image && !imagesGiven.some((image) => image.url === row.image?.url)) imagesGiven.push(row.image);
  }
  if (imagesGiven.length > limits.images) {
    const row = rows.find((r) => r.image?.url === imagesGiven[limits.images]?.url) as ImportRow;
    reject(row, 'image_url', `the product has more than ${limits.images} images`);
    imagesGiven.length = limits.images;
  }

  const desired = {
    title,
    description: defined.description ?? existing?.description ?? '',
    categoryId:
      defined.categorySlug !== undefined
        ? (input.categoryIdBySlug.get(defined.categorySlug) as string)
        : (existing?.categoryId ?? null),
    tags: defined.tags ?? existing?.tags ?? [],
    status: defined.status ?? existing?.status ?? 'active',
    pricingMode,
    currency: defined.currency ?? existing?.currency ?? input.shopCurrency,
    images: imagesGiven.length > 0 ? imagesGiven : (existing?.images ?? []),
  };

  let productId: string;
  let productChanged = false;
  if (!existing) {
    const [created] = await tx
      .insert(products)
      .values({ tenantId: ctx.tenantId, slug: input.slug, ...desired })
      .returning({ id: products.id });
    productId = (created as { id: string }).id;
    productChanged = true;
  } else {
    productId = existing.id;
    productChanged =
      existing.title !== desired.title ||
      existing.description !== desired.description ||
      existing.categoryId !== desired.categoryId ||
      !sameList(existing.tags, desired.tags) ||
      existing.status !== desired.status ||
      existing.pricingMode !== desired.pricingMode ||
      existing.currency !== desired.currency ||
      !sameImages(existing.images, desired.images);
    if (productChanged) {
      await tx
        .update(products)
        .set({ ...desired, updatedAt: new Date() })
        .where(and(eq(products.tenantId, ctx.tenantId), eq(products.id, productId)));
    }
  }

  // New variants of this product go in with one statement.
  const newRows = rows.filter((row) => !input.existingVariants.has(row.sku));
  const createdIds = new Map<string, string>();
  if (newRows.length > 0) {
    const created = await tx
      .insert(variants)
      .values(
        newRows.map((row) => ({
          tenantId: ctx.tenantId,
          productId,
          sku: row.sku,
          options: row.options,
          priceMinor: row.priceMinor,
          status: 'active' as const,
        })),
      )
      .returning({ id: variants.id, sku: variants.sku });
    for (const variant of created) createdIds.set(variant.sku, variant.id);
  }

  const counts = { created: 0, updated: 0, unchanged: 0 };
  let variantsChanged = newRows.length > 0;
  for (const row of rows) {
    const existingVariant = input.existingVariants.get(row.sku);
    const variantId = existingVariant?.id ?? (createdIds.get(row.sku) as string);
    let rowChanged = productChanged;
    if (existingVariant) {
      const variantChanged =
        !sameOptions(existingVariant.options, row.options) ||
        existingVariant.priceMinor !== row.priceMinor ||
        existingVariant.status !== 'active';
      if (variantChanged) {
        await tx
          .update(variants)
          .set({ options: row.options, priceMinor: row.priceMinor, status: 'active', updatedAt: new Date() })
          .where(and(eq(variants.tenantId, ctx.tenantId), eq(variants.id, variantId)));
        variantsChanged = true;
        rowChanged = true;
      }
    }
    const knownOnHand = existingVariant ? (input.levelByVariant.get(existingVariant.id)?.onHand ?? 0) : 0;
    if (row.stock !== undefined && row.stock !== knownOnHand) {
      const { delta } = await adjustStock(
        tx,
        ctx.tenantId,
        actor,
        variantId,
        { set: row.stock },
        'import',
        `CSV line ${row.line}`,
      );
      if (delta !== 0) rowChanged = true;
    }
    if (!existingVariant) counts.created += 1;
    else if (rowChanged) counts.updated += 1;
    else counts.unchanged += 1;
  }
  return { productId, ...counts, changed: productChanged || variantsChanged };
}
