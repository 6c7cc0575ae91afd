import { type FieldError, problem } from '@amanat/kit/http/problem';
import { and, asc, eq, inArray, ne } from 'drizzle-orm';
import { type Actor, recordAudit } from '../audit/record.ts';
import type { ServiceContext } from '../context.ts';
import type { Queryable } from '../db/client.ts';
import { adjustStock, stockOf } from '../inventory/service.ts';
import { getSettings } from '../settings/service.ts';
import {
  type CategoryTreeRow,
  catalogChanged,
  categoryTree,
  isSelfOrDescendant,
  listProducts,
  type ProductListFilter,
  refreshDerivedColumns,
} from './queries.ts';
import { categories, products, variants } from './schema.ts';
import type { ProductCreateInput, ProductPatchInput } from './schemas.ts';

type ProductRow = typeof products.$inferSelect;
type VariantRow = typeof variants.$inferSelect;

// ---- errors

/** The constraint a PostgreSQL unique violation names, looking through drizzle's wrapper. */
export function uniqueViolation(error: unknown): { constraint: string; detail: string } | undefined {
  for (let cause = error; cause && typeof cause === 'object'; cause = (cause as { cause?: unknown }).cause) {
    const pgError = cause as { code?: string; constraint?: string; detail?: string };
    if (pgError.code === '23505')
      return { constraint: pgError.constraint ?? '', detail: pgError.detail ?? '' };
  }
  return undefined;
}

export const skuTaken = (sku: string) =>
  problem.conflict('sku-taken', `The SKU ${sku} is already used by another variant of this shop.`, { sku });
export const slugTaken = (slug: string) =>
  problem.conflict('slug-taken', `The slug ${slug} is already used by another product of this shop.`, {
    slug,
  });
const categorySlugTaken = (slug: string) =>
  problem.conflict('category-slug-taken', `The slug ${slug} is already used by another category.`, { slug });

/** Turns a unique violation that slipped past the pre-checks (a concurrent write) into a 409. */
export function conflictFromUniqueViolation(error: unknown): never {
  const violation = uniqueViolation(error);
  if (violation) {
    const value = /=\([^,]*, (.*)\) already exists/.exec(violation.detail)?.[1] ?? 'given';
    if (violation.constraint === 'variants_tenant_sku_unique') throw skuTaken(value);
    if (violation.constraint === 'products_tenant_slug_unique') throw slugTaken(value);
    if (violation.constraint === 'categories_tenant_slug_unique') throw categorySlugTaken(value);
  }
  throw error;
}

/** Clears cached listing totals once a catalog write has committed. */
export async function thenCatalogChanged<T>(write: Promise<T>): Promise<T> {
  const result = await write;
  catalogChanged();
  return result;
}

function invalid(errors: FieldError[]) {
  return problem.validation(errors.map((e) => `${e.field} ${e.message}`).join('; '), errors);
}

// ---- categories

export async function listCategories(ctx: ServiceContext): Promise<CategoryTreeRow[]> {
  return categoryTree(ctx.db, ctx.tenantId);
}

async function categoryExists(db: Queryable, tenantId: string, id: string): Promise<boolean> {
  const [row] = await db
    .select({ id: categories.id })
    .from(categories)
    .where(and(eq(categories.tenantId, tenantId), eq(categories.id, id)));
  return row !== undefined;
}

async function categoryView(db: Queryable, tenantId: string, id: string): Promise<CategoryTreeRow> {
  const found = (await categoryTree(db, tenantId)).find((row) => row.id === id);
  if (!found) throw new Error(`category ${id} is not reachable from a root`);
  return found;
}

export async function createCategory(
  ctx: ServiceContext,
  actor: Actor,
  input: { name: string; slug: string; parent_id?: string | null | undefined },
): Promise<CategoryTreeRow> {
  return ctx.db
    .transaction(async (tx) => {
      const parentId = input.parent_id ?? null;
      if (parentId && !(await categoryExists(tx, ctx.tenantId, parentId))) {
        throw invalid([{ field: 'body.parent_id', message: 'is not a category of this shop' }]);
      }
      const [existing] = await tx
        .select({ id: categories.id })
        .from(categories)
        .where(and(eq(categories.tenantId, ctx.tenantId), eq(categories.slug, input.slug)));
      if (existing) throw categorySlugTaken(input.slug);
      const [created] = await tx
        .insert(categories)
        .values({ tenantId: ctx.tenantId, parentId, name: input.name, slug: input.slug })
        .returning();
      if (!created) throw new Error('insert returned nothing');
      const view = await categoryView(tx, ctx.tenantId, created.id);
      await recordAudit(tx, ctx.tenantId, actor, {
        action: 'category.created',
        targetType: 'category',
        targetId: created.id,
        after: view,
      });
      return view;
    })
    .catch(conflictFromUniqueViolation);
}

/** Renames and/or moves a category; a move under itself or its own descendant is a 409. */
export async function updateCategory(
  ctx: ServiceContext,
  actor: Actor,
  id: string,
  patch: { name?: string | undefined; slug?: string | undefined; parent_id?: string | null | undefined },
): Promise<CategoryTreeRow> {
  return thenCatalogChanged(
    ctx.db
      .transaction(async (tx) => {
        const [current] = await tx
          .select()
          .from(categories)
          .where(and(eq(categories.tenantId, ctx.tenantId), eq(categories.id, id)))
          .for('update');
        if (!current) throw problem.notFound(`No category ${id} in this shop.`);
        const before = await categoryView(tx, ctx.tenantId, id);
        if (patch.parent_id) {
          if (!(await categoryExists(tx, ctx.tenantId, patch.parent_id))) {
            throw invalid([{ field: 'body.parent_id', message: 'is not a category of this shop' }]);
          }
          if (await isSelfOrDescendant(tx, ctx.tenantId, id, patch.parent_id)) {
            throw problem.conflict(
              'category-cycle',
              'A category cannot move under itself or one of its own subcategories.',
              { parent_id: patch.parent_id },
            );
          }
        }
        if (patch.slug !== undefined && patch.slug !== current.slug) {
          const [existing] = await tx
            .select({ id: categories.id })
            .from(categories)
            .where(and(eq(categories.tenantId, ctx.tenantId), eq(categories.slug, patch.slug)));
          if (existing) throw categorySlugTaken(patch.slug);
        }
        await tx
          .update(categories)
          .set({
            ...(patch.name !== undefined ? { name: patch.name } : {}),
            ...(patch.slug !== undefined ? { slug: patch.slug } : {}),
            ...(patch.parent_id !== undefined ? { parentId: patch.parent_id } : {}),
          })
          .where(and(eq(categories.tenantId, ctx.tenantId), eq(categories.id, id)));
        const after = await categoryView(tx, ctx.tenantId, id);
        await recordAudit(tx, ctx.tenantId, actor, {
          action: 'category.updated',
          targetType: 'category',
          targetId: id,
          before,
          after,
        });
        return after;
      })
      .catch(conflictFromUniqueViolation),
  );
}

// ---- products

export type AdminProductView = ReturnType<typeof adminProductView>;

function adminProductView(
  product: ProductRow,
  variantRows: VariantRow[],
  stock: Awaited<ReturnType<typeof stockOf>>,
) {
  return {
    id: product.id,
    slug: product.slug,
    title: product.title,
    description: product.description,
    category_id: product.categoryId,
    tags: product.tags,
    status: product.status,
    pricing_mode: product.pricingMode,
    price_minor: product.priceMinor,
    currency: product.currency,
    images: product.images,
    variants: variantRows.map((variant) => {
      const level = stock.get(variant.id);
      return {
        id: variant.id,
        sku: variant.sku,
        options: variant.options,
        price_minor: variant.priceMinor,
        status: variant.status,
        stock: {
          on_hand: level?.onHand ?? 0,
          reserved: level?.reserved ?? 0,
          available: level?.available ?? 0,
          low_stock_threshold: level?.lowStockThreshold ?? null,
        },
        created_at: variant.createdAt.toISOString(),
        updated_at: variant.updatedAt.toISOString(),
      };
    }),
    created_at: product.createdAt.toISOString(),
    updated_at: product.updatedAt.toISOString(),
  };
}

async function variantsOf(db: Queryable, tenantId: string, productId: string): Promise<VariantRow[]> {
  return db
    .select()
    .from(variants)
    .where(and(eq(variants.tenantId, tenantId), eq(variants.productId, productId)))
    .orderBy(asc(variants.createdAt), asc(variants.sku));
}

export async function loadAdminProduct(
  db: Queryable,
  tenantId: string,
  id: string,
): Promise<AdminProductView | null> {
  const [product] = await db
    .select()
    .from(products)
    .where(and(eq(products.tenantId, tenantId), eq(products.id, id)));
  if (!product) return null;
  const variantRows = await variantsOf(db, tenantId, id);
  const stock = await stockOf(
    db,
    tenantId,
    variantRows.map((v) => v.id),
  );
  return adminProductView(product, variantRows, stock);
}

export async function getProduct(ctx: ServiceContext, id: string): Promise<AdminProductView> {
  const found = await loadAdminProduct(ctx.db, ctx.tenantId, id);
  if (!found) throw problem.notFound(`No product ${id} in this shop.`);
  return found;
}

export async function listAdminProducts(
  ctx: ServiceContext,
  filter: Omit<ProductListFilter, 'statuses'> & { status?: 'active' | 'archived' | undefined },
) {
  const { status, ...rest } = filter;
  return listProducts(ctx.db, ctx.tenantId, {
    ...rest,
    statuses: status ? [status] : ['active', 'archived'],
  });
}

/** SKUs among `skus` already used by a variant of this tenant other than those in `exceptIds`. */
async function takenSkus(db: Queryable, tenantId: string, skus: string[], exceptIds: string[] = []) {
  if (skus.length === 0) return [];
  const rows = await db
    .select({ sku: variants.sku })
    .from(variants)
    .where(
      and(
        eq(variants.tenantId, tenantId),
        inArray(variants.sku, skus),
        ...exceptIds.map((id) => ne(variants.id, id)),
      ),
    );
  return rows.map((row) => row.sku);
}

async function slugTakenByOther(db: Queryable, tenantId: string, slug: string, exceptId?: string) {
  const [row] = await db
    .select({ id: products.id })
    .from(products)
    .where(
      and(
        eq(products.tenantId, tenantId),
        eq(products.slug, slug),
        ...(exceptId ? [ne(products.id, exceptId)] : []),
      ),
    );
  return row !== undefined;
}

function duplicateSkuErrors(items: { sku?: string | undefined }[]): FieldError[] {
  const seen = new Set<string>();
  const errors: FieldError[] = [];
  items.forEach((item, index) => {
    if (item.sku === undefined) return;
    if (seen.has(item.sku))
      errors.push({ field: `body.variants.${index}.sku`, message: 'repeats another variant' });
    seen.add(item.sku);
  });
  return errors;
}

export async function createProduct(
  ctx: ServiceContext,
  actor: Actor,
  input: ProductCreateInput,
): Promise<AdminProductView> {
  const pricingMode = input.pricing_mode ?? 'fixed';
  const errors = duplicateSkuErrors(input.variants);
  if (pricingMode === 'fixed') {
    input.variants.forEach((variant, index) => {
      if ((variant.status ?? 'active') === 'active' && (variant.price_minor ?? null) === null) {
        errors.push({
          field: `body.variants.${index}.price_minor`,
          message: 'is required for a fixed-price product',
        });
      }
    });
  }
  if (errors.length > 0) throw invalid(errors);

  return thenCatalogChanged(
    ctx.db
      .transaction(async (tx) => {
        if (input.category_id && !(await categoryExists(tx, ctx.tenantId, input.category_id))) {
          throw invalid([{ field: 'body.category_id', message: 'is not a category of this shop' }]);
        }
        if (await slugTakenByOther(tx, ctx.tenantId, input.slug)) throw slugTaken(input.slug);
        const [taken] = await takenSkus(
          tx,
          ctx.tenantId,
          input.variants.map((v) => v.sku),
        );
        if (taken) throw skuTaken(taken);
        const currency = input.currency ?? (await getSettings(tx, ctx.tenantId)).currency;
        const [product] = await tx
          .insert(products)
          .values({
            tenantId: ctx.tenantId,
            slug: input.slug,
            title: input.title,
            description: input.description ?? '',
            categoryId: input.category_id ?? null,
            tags: input.tags ?? [],
            status: input.status ?? 'active',
            pricingMode,
            currency,
            images: input.images ?? [],
          })
          .returning();
        if (!product) throw new Error('insert returned nothing');
        const inserted = await tx
          .insert(variants)
          .values(
            input.variants.map((variant) => ({
              tenantId: ctx.tenantId,
              productId: product.id,
              sku: variant.sku,
              options: variant.options ?? {},
              priceMinor: variant.price_minor ?? null,
              status: variant.status ?? 'active',
            })),
          )
          .returning({ id: variants.id, sku: variants.sku });
        const idBySku = new Map(inserted.map((row) => [row.sku, row.id]));
        for (const variant of input.variants) {
          if (variant.stock) {
            await adjustStock(
              tx,
              ctx.tenantId,
              actor,
              idBySku.get(variant.sku) as string,
              { set: variant.stock },
              'restock',
              'initial stock',
            );
          }
        }
        await refreshDerivedColumns(tx, ctx.tenantId, [product.id]);
        const view = (await loadAdminProduct(tx, ctx.tenantId, product.id)) as AdminProductView;
        await recordAudit(tx, ctx.tenantId, actor, {
          action: 'product.created',
          targetType: 'product',
          targetId: product.id,
          after: view,
        });
        return view;
      })
      .catch(conflictFromUniqueViolation),
  );
}

/**
 * Partial update. `variants` items with an id change that variant; items without one add a
 * variant. Variants are never deleted: archive them with status. Stock of existing variants
 * changes only through inventory adjustments.
 */
export async function updateProduct(
  ctx: ServiceContext,
  actor: Actor,
  id: string,
  patch: ProductPatchInput,
): Promise<AdminProductView> {
  return thenCatalogChanged(
    ctx.db
      .transaction(async (tx) => {
        const [current] = await tx
          .select()
          .from(products)
          .where(and(eq(products.tenantId, ctx.tenantId), eq(products.id, id)))
          .for('update');
        if (!current) throw problem.notFound(`No product ${id} in this shop.`);
        const existing = await variantsOf(tx, ctx.tenantId, id);
        const existingById = new Map(existing.map((v) => [v.id, v]));
        const items = patch.variants ?? [];

        const errors: FieldError[] = duplicateSkuErrors(items);
        const seenIds = new Set<string>();
        items.forEach((item, index) => {
          const field = `body.variants.${index}`;
          if (item.id !== undefined) {
            const itemId = item.id.toLowerCase();
            if (!existingById.has(itemId))
              errors.push({ field: `${field}.id`, message: 'is not a variant of this product' });
            if (seenIds.has(itemId)) errors.push({ field: `${field}.id`, message: 'repeats another item' });
            seenIds.add(itemId);
            if (item.stock !== undefined) {
              errors.push({
                field: `${field}.stock`,
                message:
                  'of an existing variant changes through /api/admin/inventory/{variantId}/adjustments',
              });
            }
          } else if (item.sku === undefined) {
            errors.push({ field: `${field}.sku`, message: 'is required for a new variant' });
          }
        });

        // The state after the patch: a fixed-price product needs a price on every active variant.
        const pricingMode = patch.pricing_mode ?? current.pricingMode;
        if (pricingMode === 'fixed') {
          const patchedIds = new Set<string>();
          items.forEach((item, index) => {
            const before = item.id ? existingById.get(item.id.toLowerCase()) : undefined;
            if (item.id) patchedIds.add(item.id.toLowerCase());
            const status = item.status ?? before?.status ?? 'active';
            const price = item.price_minor !== undefined ? item.price_minor : (before?.priceMinor ?? null);
            if (status === 'active' && price === null) {
              errors.push({
                field: `body.variants.${index}.price_minor`,
                message: 'is required for a fixed-price product',
              });
            }
          });
          const unpriced = existing.find(
            (v) => !patchedIds.has(v.id) && v.status === 'active' && v.priceMinor === null,
          );
          if (unpriced) {
            errors.push({
              field: 'body.pricing_mode',
              message: `cannot be fixed while the active variant ${unpriced.sku} has no price`,
            });
          }
        }
        if (patch.category_id && !(await categoryExists(tx, ctx.tenantId, patch.category_id))) {
          errors.push({ field: 'body.category_id', message: 'is not a category of this shop' });
        }
        if (errors.length > 0) throw invalid(errors);

        if (patch.slug !== undefined && (await slugTakenByOther(tx, ctx.tenantId, patch.slug, id))) {
          throw slugTaken(patch.slug);
        }
        const skusToClaim = items
          .filter((item) => item.sku !== undefined)
          .filter((item) => !item.id || existingById.get(item.id.toLowerCase())?.sku !== item.sku)
          .map((item) => item.sku as string);
        const [taken] = await takenSkus(
          tx,
          ctx.tenantId,
          skusToClaim,
          items.flatMap((item) => (item.id ? [item.id.toLowerCase()] : [])),
        );
        if (taken) throw skuTaken(taken);

        const before = (await loadAdminProduct(tx, ctx.tenantId, id)) as AdminProductView;
        const now = new Date();
        await tx
          .update(products)
          .set({
            ...(patch.slug !== undefined ? { slug: patch.slug } : {}),
            ...(patch.title !== undefined ? { title: patch.title } : {}),
            ...(patch.description !== undefined ? { description: patch.description } : {}),
            ...(patch.category_id !== undefined ? { categoryId: patch.category_id } : {}),
            ...(patch.tags !== undefined ? { tags: patch.tags } : {}),
            ...(patch.status !== undefined ? { status: patch.status } : {}),
            ...(patch.pricing_mode !== undefined ? { pricingMode: patch.pricing_mode } : {}),
            ...(patch.currency !== undefined ? { currency: patch.currency } : {}),
            ...(patch.images !== undefined ? { images: patch.images } : {}),
            updatedAt: now,
          })
          .where(and(eq(products.tenantId, ctx.tenantId), eq(products.id, id)));

        for (const item of items) {
          if (item.id) {
            await tx
              .update(variants)
              .set({
                ...(item.sku !== undefined ? { sku: item.sku } : {}),
                ...(item.options !== undefined ? { options: item.options } : {}),
                ...(item.price_minor !== undefined ? { priceMinor: item.price_minor } : {}),
                ...(item.status !== undefined ? { status: item.status } : {}),
                updatedAt: now,
              })
              .where(and(eq(variants.tenantId, ctx.tenantId), eq(variants.id, item.id.toLowerCase())));
          } else {
            const [created] = await tx
              .insert(variants)
              .values({
                tenantId: ctx.tenantId,
                productId: id,
                sku: item.sku as string,
                options: item.options ?? {},
                priceMinor: item.price_minor ?? null,
                status: item.status ?? 'active',
              })
              .returning({ id: variants.id });
            if (created && item.stock) {
              await adjustStock(
                tx,
                ctx.tenantId,
                actor,
                created.id,
                { set: item.stock },
                'restock',
                'initial stock',
              );
            }
          }
        }
        await refreshDerivedColumns(tx, ctx.tenantId, [id]);
        const after = (await loadAdminProduct(tx, ctx.tenantId, id)) as AdminProductView;
        await recordAudit(tx, ctx.tenantId, actor, {
          action: 'product.updated',
          targetType: 'product',
          targetId: id,
          before,
          after,
        });
        return after;
      })
      .catch(conflictFromUniqueViolation),
  );
}

/** Archives a product (never deletes it): it disappears from the storefront and checkout. */
export async function archiveProduct(
  ctx: ServiceContext,
  actor: Actor,
  id: string,
): Promise<AdminProductView> {
  return thenCatalogChanged(
    ctx.db.transaction(async (tx) => {
      const before = await loadAdminProduct(tx, ctx.tenantId, id);
      if (!before) throw problem.notFound(`No product ${id} in this shop.`);
      if (before.status === 'archived') return before;
      await tx
        .update(products)
        .set({ status: 'archived', updatedAt: new Date() })
        .where(and(eq(products.tenantId, ctx.tenantId), eq(products.id, id)));
      const after = (await loadAdminProduct(tx, ctx.tenantId, id)) as AdminProductView;
      await recordAudit(tx, ctx.tenantId, actor, {
        action: 'product.archived',
        targetType: 'product',
        targetId: id,
        before: { status: before.status },
        after: { status: after.status },
      });
      return after;
    }),
  );
}
