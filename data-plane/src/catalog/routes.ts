import { problem } from '@amanat/kit/http/problem';
import { errorResponses, Strict, Uuid } from '@amanat/kit/http/schemas';
import type { App } from '@amanat/kit/http/types';
import { Type } from 'typebox';
import { requirePermission, type StaffIdentity, staffActor } from '../auth/staff.ts';
import type { ServiceContext } from '../context.ts';
import { inventoryRoutes } from '../inventory/routes.ts';
import { catalogImportRoutes } from './import-routes.ts';
import { cachedStorefrontResponse, listProducts, storefrontItem } from './queries.ts';
import {
  AdminProduct,
  AdminProductListQuery,
  Category,
  CategoryCreate,
  CategoryPatch,
  ProductCreate,
  ProductPage,
  ProductPatch,
  StorefrontCatalogQuery,
  StorefrontItem,
} from './schemas.ts';
import {
  archiveProduct,
  createCategory,
  createProduct,
  getProduct,
  listAdminProducts,
  listCategories,
  updateCategory,
  updateProduct,
} from './service.ts';

const IdParams = Strict({ id: Uuid });

/** Catalog (storefront and shop admin), CSV import and inventory admin routes. */
export async function catalogRoutes(
  app: App,
  ctx: ServiceContext,
  verifyStaff: (token: string) => Promise<StaffIdentity>,
) {
  const canRead = requirePermission(verifyStaff, 'catalog.read');
  const canWrite = requirePermission(verifyStaff, 'catalog.write');

  // ---- storefront

  app.get(
    '/api/storefront/catalog',
    {
      schema: {
        tags: ['storefront'],
        summary:
          'Active products: full-text and fuzzy search, category (with subcategories), price, tag, sort, pages',
        querystring: StorefrontCatalogQuery,
        response: { 200: ProductPage, ...errorResponses },
      },
    },
    async (request, reply) => {
      const query = request.query;
      if (
        query.min_price !== undefined &&
        query.max_price !== undefined &&
        query.min_price > query.max_price
      ) {
        throw problem.validation('query.min_price must not exceed max_price', [
          { field: 'query.min_price', message: 'must not exceed max_price' },
        ]);
      }
      const key = JSON.stringify([
        ctx.tenantId,
        'catalog',
        query.search,
        query.category,
        query.tag,
        query.min_price,
        query.max_price,
        query.sort,
        query.page,
        query.limit,
      ]);
      const body = await cachedStorefrontResponse(key, async () => {
        const { rows, total } = await listProducts(ctx.db, ctx.tenantId, {
          statuses: ['active'],
          search: query.search,
          category: query.category,
          tag: query.tag,
          minPrice: query.min_price,
          maxPrice: query.max_price,
          sort: query.sort,
          page: query.page,
          limit: query.limit,
        });
        // The route's response serializer (fast-json-stringify) produces a string.
        return reply.serialize({
          items: rows.map((row) => ({
            ...row,
            price_minor: row.pricing_mode === 'quote' ? null : row.price_minor,
          })),
          page: query.page,
          limit: query.limit,
          total,
        }) as string;
      });
      return reply.type('application/json; charset=utf-8').send(body);
    },
  );

  app.get(
    '/api/storefront/items/:id',
    {
      schema: {
        tags: ['storefront'],
        summary: 'One active product by id or slug, with its active variants, stock and category path',
        params: Strict({
          id: Type.String({
            minLength: 1,
            maxLength: 120,
            pattern: '^[A-Za-z0-9-]+$',
            description: 'id or slug',
          }),
        }),
        response: { 200: StorefrontItem, ...errorResponses },
      },
    },
    async (request, reply) => {
      const body = await cachedStorefrontResponse(
        JSON.stringify([ctx.tenantId, 'item', request.params.id]),
        async () => {
          const item = await storefrontItem(ctx.db, ctx.tenantId, request.params.id);
          if (!item) return null;
          const quote = item.pricing_mode === 'quote';
          return reply.serialize({
            ...item,
            price_minor: quote ? null : item.price_minor,
            in_stock: item.variants.some((variant) => variant.available > 0),
            variants: item.variants.map((variant) => ({
              ...variant,
              price_minor: quote || variant.price_minor === null ? null : Number(variant.price_minor),
              in_stock: variant.available > 0,
            })),
          }) as string;
        },
      );
      if (body === null) throw problem.notFound(`No item ${request.params.id} in this shop.`);
      return reply.type('application/json; charset=utf-8').send(body);
    },
  );

  // ---- admin: categories

  app.get(
    '/api/admin/categories',
    {
      preValidation: canRead,
      schema: {
        tags: ['admin'],
        summary: 'The category tree, depth-first (parents before children), each with depth and slug path',
        response: { 200: Strict({ categories: Type.Array(Category) }), ...errorResponses },
      },
    },
    async () => ({ categories: await listCategories(ctx) }),
  );

  app.post(
    '/api/admin/categories',
    {
      preValidation: canWrite,
      schema: {
        tags: ['admin'],
        summary: 'Create a category, optionally under a parent',
        body: CategoryCreate,
        response: { 201: Category, ...errorResponses },
      },
    },
    async (request, reply) =>
      reply.code(201).send(await createCategory(ctx, staffActor(request), request.body)),
  );

  app.patch(
    '/api/admin/categories/:id',
    {
      preValidation: canWrite,
      schema: {
        tags: ['admin'],
        summary: 'Rename or move a category (a move under its own subtree is refused with 409)',
        params: IdParams,
        body: CategoryPatch,
        response: { 200: Category, ...errorResponses },
      },
    },
    async (request) => updateCategory(ctx, staffActor(request), request.params.id, request.body),
  );

  // ---- admin: products

  app.get(
    '/api/admin/products',
    {
      preValidation: canRead,
      schema: {
        tags: ['admin'],
        summary: 'Products of every status: filter by status, category, tag and q; sort; paginate',
        querystring: AdminProductListQuery,
        response: { 200: ProductPage, ...errorResponses },
      },
    },
    async (request) => {
      const { q, search, page, limit, ...rest } = request.query;
      const { rows, total } = await listAdminProducts(ctx, { ...rest, search: q ?? search, page, limit });
      return { items: rows, page, limit, total };
    },
  );

  app.post(
    '/api/admin/products',
    {
      preValidation: canWrite,
      schema: {
        tags: ['admin'],
        summary: 'Create a product with its variants (and optional initial stock) in one call',
        body: ProductCreate,
        response: { 201: AdminProduct, ...errorResponses },
      },
    },
    async (request, reply) =>
      reply.code(201).send(await createProduct(ctx, staffActor(request), request.body)),
  );

  app.get(
    '/api/admin/products/:id',
    {
      preValidation: canRead,
      schema: {
        tags: ['admin'],
        summary: 'One product with all its variants and their stock',
        params: IdParams,
        response: { 200: AdminProduct, ...errorResponses },
      },
    },
    async (request) => getProduct(ctx, request.params.id),
  );

  app.patch(
    '/api/admin/products/:id',
    {
      preValidation: canWrite,
      schema: {
        tags: ['admin'],
        summary: 'Change a product; variants with an id are changed, variants without one are added',
        params: IdParams,
        body: ProductPatch,
        response: { 200: AdminProduct, ...errorResponses },
      },
    },
    async (request) => updateProduct(ctx, staffActor(request), request.params.id, request.body),
  );

  app.post(
    '/api/admin/products/:id/archive',
    {
      preValidation: canWrite,
      schema: {
        tags: ['admin'],
        summary: 'Archive a product: hidden from the storefront and checkout, kept for orders and history',
        params: IdParams,
        response: { 200: AdminProduct, ...errorResponses },
      },
    },
    async (request) => archiveProduct(ctx, staffActor(request), request.params.id),
  );

  await catalogImportRoutes(app, ctx, verifyStaff);
  await inventoryRoutes(app, ctx, verifyStaff);
}
