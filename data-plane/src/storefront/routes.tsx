/** @jsxRuntime automatic @jsxImportSource preact */
import { problem } from '@amanat/kit/http/problem';
import type { App } from '@amanat/kit/http/types';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { VNode } from 'preact';
import {
  type CategoryTreeRow,
  cachedStorefrontResponse,
  categoryTree,
  listProducts,
  type ProductSummaryRow,
  storefrontItem,
} from '../catalog/queries.ts';
import type { ServiceContext } from '../context.ts';
import { acceptsSignedCrossSitePost, accountRoutes } from './account-routes.tsx';
import { assetsByPath } from './assets.ts';
import {
  applyCartForm,
  CART_COOKIE,
  CART_COOKIE_SECONDS,
  cartLineViews,
  readCartCookie,
  writeCartCookie,
} from './cart.ts';
import { checkoutPageRoutes } from './checkout-routes.tsx';
import { catalogFilters, PAGE_SIZE } from './filters.ts';
import { loadPageContext, loadShop, type PageContext } from './page-context.ts';
import { CartPage } from './pages/cart.tsx';
import { NotFoundPage } from './pages/errors.tsx';
import { HomePage } from './pages/home.tsx';
import { ItemPage } from './pages/item.tsx';
import { sitemapProducts } from './queries.ts';
import { formFields, html, isSameOriginPost, sendPage, sendUnavailable } from './respond.tsx';
import { robotsTxt, SITEMAP_PRODUCTS, sitemapXml } from './seo.ts';

/** Page routes are for browsers, not API clients: they stay out of the OpenAPI document. */
const hidden = { schema: { hide: true } };
const ITEM_SLUG = /^[A-Za-z0-9-]{1,120}$/;
/**
 * The largest no-script form: the checkout's, 50 lines of `line.<uuid>=99` plus about 2,100
 * characters of email, address and note, each up to 12 bytes once percent-encoded.
 */
const FORM_BODY_LIMIT = 32_768;

const isPageRequest = (request: FastifyRequest) =>
  (request.method === 'GET' || request.method === 'HEAD') && !/^\/api(?:[/?]|$)/.test(request.url);

/**
 * Unknown paths a browser asks for get the shop's own 404 page (the shop-unavailable page
 * while suspended); API clients keep their problem+json 404.
 */
export function storefrontNotFound(ctx: ServiceContext) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<boolean> => {
    if (!isPageRequest(request)) return false;
    const page = await loadPageContext(ctx, request, reply);
    if (ctx.config.SHOP_SUSPENDED) sendUnavailable(reply, page);
    else sendPage(reply, 404, page.shop, <NotFoundPage page={page} />);
    return true;
  };
}

/**
 * The storefront's pages on the shop's own host: catalog, item, cart, sitemap, robots.txt
 * and the two assets. Register in a scope of its own: it accepts form posts, which the API
 * beside it must not (a cross-site form could then reach a JSON route).
 */
export async function storefrontRoutes(app: App, ctx: ServiceContext) {
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: FORM_BODY_LIMIT },
    (_request, body, done) => done(null, Object.fromEntries(new URLSearchParams(body as string))),
  );

  app.addHook('onRequest', async (request, reply) => {
    if (request.method === 'POST' && !isSameOriginPost(request) && !acceptsSignedCrossSitePost(request)) {
      throw problem.forbidden('cross-site-form', 'This form can only be sent from the shop’s own pages.');
    }
    if (!ctx.config.SHOP_SUSPENDED || request.routeOptions.url === '/assets/:file') return;
    return sendUnavailable(reply, await loadPageContext(ctx, request, reply));
  });

  await accountRoutes(app, ctx);
  await checkoutPageRoutes(app, ctx);

  /** A catalog read through the storefront API's response cache (cleared by catalog writes). */
  async function cached<T>(key: unknown[], read: () => Promise<T | null>): Promise<T | null> {
    const body = await cachedStorefrontResponse(JSON.stringify([ctx.tenantId, 'page', ...key]), async () => {
      const value = await read();
      return value === null ? null : JSON.stringify(value);
    });
    return body === null ? null : (JSON.parse(body) as T);
  }

  /**
   * The rendered HTML of a page that depends only on its locale and URL (and the catalog),
   * through the same cache: rendering 24 products costs more than reading them. Null (a 404)
   * is rendered afresh each time.
   */
  function cachedHtml(page: PageContext, request: FastifyRequest, render: () => Promise<VNode | null>) {
    return cachedStorefrontResponse(
      JSON.stringify([ctx.tenantId, 'html', page.i18n.locale, request.url]),
      async () => {
        const vnode = await render();
        return vnode ? html(vnode) : null;
      },
    );
  }

  app.get('/', hidden, async (request, reply) => {
    const page = await loadPageContext(ctx, request, reply);
    const body = await cachedHtml(page, request, () => renderHome(page, request));
    return sendPage(reply, 200, page.shop, body as string);
  });

  async function renderHome(page: PageContext, request: FastifyRequest): Promise<VNode> {
    const filters = catalogFilters(request.query, page.shop.currency);
    const data = await cached<{
      products: ProductSummaryRow[];
      total: number;
      categories: CategoryTreeRow[];
    }>(
      ['home', filters.q, filters.category, filters.minMinor, filters.maxMinor, filters.sort, filters.page],
      async () => {
        const [listing, categories] = await Promise.all([
          listProducts(ctx.db, ctx.tenantId, {
            statuses: ['active'],
            search: filters.q,
            category: filters.category,
            minPrice: filters.minMinor,
            maxPrice: filters.maxMinor,
            sort: filters.sort,
            page: filters.page,
            limit: PAGE_SIZE,
          }),
          categoryTree(ctx.db, ctx.tenantId),
        ]);
        return { products: listing.rows, total: listing.total, categories };
      },
    );
    const { products, total, categories } = data ?? { products: [], total: 0, categories: [] };
    return (
      <HomePage page={page} filters={filters} products={products} total={total} categories={categories} />
    );
  }

  app.get('/items/:slug', hidden, async (request, reply) => {
    const page = await loadPageContext(ctx, request, reply);
    const { slug } = request.params as { slug: string };
    const body = await cachedHtml(page, request, async () => {
      const item = ITEM_SLUG.test(slug) ? await storefrontItem(ctx.db, ctx.tenantId, slug) : null;
      return item ? <ItemPage page={page} item={item} /> : null;
    });
    return body === null
      ? sendPage(reply, 404, page.shop, <NotFoundPage page={page} />)
      : sendPage(reply, 200, page.shop, body);
  });

  app.get('/cart', hidden, async (request, reply) => {
    const page = await loadPageContext(ctx, request, reply);
    const lines = await cartLineViews(ctx, page.i18n, readCartCookie(request.cookies[CART_COOKIE]));
    return sendPage(reply, 200, page.shop, <CartPage page={page} lines={lines} />);
  });

  // The add-to-cart and cart forms without JavaScript; Post/Redirect/Get back to the cart.
  app.post('/cart', hidden, async (request, reply) => {
    const lines = applyCartForm(readCartCookie(request.cookies[CART_COOKIE]), formFields(request.body));
    const cookie = { path: '/', sameSite: 'lax', secure: true } as const;
    if (lines.length > 0) {
      // Not HttpOnly: the script moves these lines into localStorage once it runs.
      reply.setCookie(CART_COOKIE, writeCartCookie(lines), { ...cookie, maxAge: CART_COOKIE_SECONDS });
    } else reply.clearCookie(CART_COOKIE, cookie);
    return reply.redirect('/cart', 303);
  });

  app.get('/sitemap.xml', hidden, async (_request, reply) => {
    const shop = await loadShop(ctx);
    const products = await sitemapProducts(ctx.db, ctx.tenantId, SITEMAP_PRODUCTS);
    return reply
      .type('application/xml; charset=utf-8')
      .header('x-content-type-options', 'nosniff')
      .header('cache-control', 'public, max-age=3600')
      .send(sitemapXml(shop, products));
  });

  app.get('/robots.txt', hidden, async (_request, reply) => {
    const shop = await loadShop(ctx);
    return reply
      .type('text/plain; charset=utf-8')
      .header('x-content-type-options', 'nosniff')
      .header('cache-control', 'public, max-age=3600')
      .send(robotsTxt(shop));
  });

  app.get('/assets/:file', hidden, async (request, reply) => {
    const asset = assetsByPath.get(`/assets/${(request.params as { file: string }).file}`);
    if (!asset) {
      const page = await loadPageContext(ctx, request, reply);
      return sendPage(reply, 404, page.shop, <NotFoundPage page={page} />);
    }
    return reply
      .headers({
        'content-type': asset.contentType,
        // The URL changes with the content, so a browser may keep this copy for a year.
        'cache-control': 'public, max-age=31536000, immutable',
        'x-content-type-options': 'nosniff',
      })
      .send(asset.body);
  });
}
