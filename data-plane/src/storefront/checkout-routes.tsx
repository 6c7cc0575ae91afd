/** @jsxRuntime automatic @jsxImportSource preact */
import { ProblemError } from '@amanat/kit/http/problem';
import type { App } from '@amanat/kit/http/types';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { listAddresses } from '../buyers/service.ts';
import { currentBuyer } from '../buyers/session.ts';
import { checkout, checkoutRails } from '../checkout/service.ts';
import type { ServiceContext } from '../context.ts';
import { openDownload } from '../delivery/service.ts';
import { orderForViewer, storefrontOrderDetail } from '../orders/access.ts';
import { orderTransitionsOf } from '../orders/queries.ts';
import type { PaymentRail } from '../settings/schema.ts';
import { getSettings } from '../settings/service.ts';
import { CART_COOKIE, type CartLineView, cartLineViews, readCartCookie } from './cart.ts';
import {
  type CheckoutFormValues,
  checkoutBodyOf,
  checkoutFormErrors,
  emptyCheckoutForm,
  type FormError,
  newIdempotencyKey,
  problemFormErrors,
  readCheckoutForm,
} from './checkout-form.ts';
import { loadPageContext, orderPageUrl, type PageContext } from './page-context.ts';
import { CheckoutPage } from './pages/checkout.tsx';
import { NotFoundPage } from './pages/errors.tsx';
import { OrderPage } from './pages/order.tsx';
import { formFields, sendPage } from './respond.tsx';

/**
 * Set for five minutes on the redirect after a placed order and read once by that order's
 * page, which then tells the script to empty the localStorage cart. Any later visit to the
 * order page leaves the buyer's new cart alone.
 */
const PLACED_COOKIE = 'placed';
const PLACED_SECONDS = 300;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Checkout and order pages hold a buyer's email and address: no cache may keep them. */
const privatePage = {
  schema: { hide: true },
  onSend: async (_request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    reply.header('cache-control', 'no-store');
    return payload;
  },
};

/**
 * Order pages may carry a guest's access token in their URL: no Referer header may take it
 * along. (Not the checkout page: under `no-referrer` browsers send its form post with
 * `Origin: null`, which the same-origin check rightly refuses.)
 */
const tokenPage = {
  schema: { hide: true },
  onSend: async (_request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    reply.header('cache-control', 'no-store');
    reply.header('referrer-policy', 'no-referrer');
    return payload;
  },
};

const queryText = (request: FastifyRequest, name: string): string | undefined => {
  const value = (request.query as Record<string, unknown>)[name];
  return typeof value === 'string' ? value : undefined;
};

/**
 * The checkout page (GET renders the cart, POST places the order through the checkout
 * service), the order page buyers land on, and its digital goods. Registered in the
 * storefront pages' scope, which parses forms, refuses cross-site posts and answers every
 * request of a suspended shop with the unavailable page.
 */
export async function checkoutPageRoutes(app: App, ctx: ServiceContext) {
  /**
   * The checkout form, priced from the catalog. `refresh` marks a page rendered for a GET:
   * the script may ask again for the localStorage cart's lines; `cookieLines`, that the lines
   * came from the no-script cookie cart (the script moves them into localStorage).
   */
  async function renderCheckout(
    request: FastifyRequest,
    reply: FastifyReply,
    page: PageContext,
    form: CheckoutFormValues,
    errors: FormError[],
    status: number,
    options: { refresh: boolean; cookieLines: boolean },
  ) {
    const buyer = await currentBuyer(ctx, request);
    const [settings, addresses, views] = await Promise.all([
      getSettings(ctx.db, ctx.tenantId),
      buyer ? listAddresses(ctx, buyer.id) : Promise.resolve([]),
      cartLineViews(
        ctx,
        page.i18n,
        form.lines.filter(
          (line) => UUID.test(line.variantId) && Number.isInteger(line.quantity) && line.quantity > 0,
        ),
      ),
    ]);
    const policy = settings.paymentPolicy;
    const rails = policy.allowed_rails.filter((rail) => checkoutRails.includes(rail));
    const asked = rails.find((rail) => rail === form.rail);
    const rail: PaymentRail | undefined =
      asked ?? (rails.includes(policy.default_rail) ? policy.default_rail : rails[0]);
    const fresh = options.refresh && addresses.length > 0;
    const savedAddress = fresh ? (addresses.find((address) => address.isDefault) ?? addresses[0]) : undefined;
    return sendPage(
      reply,
      status,
      page.shop,
      <CheckoutPage
        page={page}
        lines={views}
        form={savedAddress ? { ...form, addressId: savedAddress.id } : form}
        errors={errors.map((error) => withStock(error, views))}
        buyer={buyer ? { email: buyer.email, addresses } : null}
        rails={rails}
        rail={rail}
        refresh={options.refresh}
        cookieLines={options.cookieLines}
      />,
    );
  }

  app.get('/checkout', privatePage, async (request, reply) => {
    const page = await loadPageContext(ctx, request, reply);
    // The script sends the localStorage cart as `?cart=` (the cookie's format); without it,
    // the cart is the no-script cookie's.
    const asked = queryText(request, 'cart');
    const lines = readCartCookie(asked ?? request.cookies[CART_COOKIE]);
    return renderCheckout(request, reply, page, emptyCheckoutForm(lines), [], 200, {
      refresh: true,
      cookieLines: asked === undefined,
    });
  });

  app.post('/checkout', privatePage, async (request, reply) => {
    const page = await loadPageContext(ctx, request, reply);
    const form = readCheckoutForm(formFields(request.body));
    const buyer = await currentBuyer(ctx, request);
    const body = checkoutBodyOf(form, buyer);
    const refused = (errors: FormError[], status: number) => {
      // A key that is malformed or already spent on another order is replaced; any other
      // refusal wrote nothing, so the same key keeps a retry of this form to one order.
      const spent = errors.some(
        (error) =>
          error.message === 'checkout.error.expiredForm' || error.message === 'checkout.error.keyReused',
      );
      const next = spent ? { ...form, idempotencyKey: newIdempotencyKey() } : form;
      return renderCheckout(request, reply, page, next, errors, status, {
        refresh: false,
        cookieLines: false,
      });
    };
    const invalid = checkoutFormErrors(form, body);
    if (invalid.length > 0) return refused(invalid, 400);
    try {
      const { body: order } = await checkout(ctx, {
        buyer,
        idempotencyKey: form.idempotencyKey,
        body,
        requestId: request.id,
      });
      const secure = { sameSite: 'lax', secure: true } as const;
      reply.clearCookie(CART_COOKIE, { ...secure, path: '/' });
      reply.setCookie(PLACED_COOKIE, order.id, {
        ...secure,
        path: '/orders',
        httpOnly: true,
        maxAge: PLACED_SECONDS,
      });
      const token = order.access_token;
      return reply.redirect(token ? `/orders/${order.id}?token=${token}` : `/orders/${order.id}`, 303);
    } catch (error) {
      if (!(error instanceof ProblemError) || error.status >= 500) throw error;
      return refused(problemFormErrors(error, form), error.status);
    }
  });

  app.get('/orders/:id', tokenPage, async (request, reply) => {
    const page = await loadPageContext(ctx, request, reply);
    const { id } = request.params as { id: string };
    const token = queryText(request, 'token');
    const viewable = UUID.test(id)
      ? await orderForViewer(ctx, id.toLowerCase(), { buyer: await currentBuyer(ctx, request), token })
      : null;
    if (!viewable) return sendPage(reply, 404, page.shop, <NotFoundPage page={page} />);
    const [order, transitions] = await Promise.all([
      storefrontOrderDetail(ctx, viewable.order),
      orderTransitionsOf(ctx, viewable.order.id),
    ]);
    const placed = request.cookies[PLACED_COOKIE] === order.id;
    if (placed) reply.clearCookie(PLACED_COOKIE, { path: '/orders', sameSite: 'lax', secure: true });
    const link = viewable.via === 'token' ? orderPageUrl(page.shop, order.id, token as string) : null;
    return sendPage(
      reply,
      200,
      page.shop,
      <OrderPage page={page} order={order} transitions={transitions} link={link} placed={placed} />,
    );
  });

  // The order page's link to digital goods: the signed link opens them, no sign-in needed.
  app.get('/orders/:id/download', tokenPage, async (request, reply) => {
    const { id } = request.params as { id: string };
    const expires = queryText(request, 'expires') ?? '';
    const sig = queryText(request, 'sig') ?? '';
    if (UUID.test(id) && /^\d{1,11}$/.test(expires)) {
      try {
        const goods = await openDownload(ctx, id.toLowerCase(), Number(expires), sig);
        return reply.redirect(goods.url, 303);
      } catch (error) {
        if (!(error instanceof ProblemError)) throw error;
      }
    }
    const page = await loadPageContext(ctx, request, reply);
    return sendPage(reply, 404, page.shop, <NotFoundPage page={page} />);
  });
}

/** A sold-out line's message says how many are left. */
function withStock(error: FormError, lines: CartLineView[]): FormError {
  if (error.message !== 'checkout.error.soldOut') return error;
  const line = lines.find((view) => error.field === `line.${view.variantId}`);
  return { ...error, values: { count: line?.available ?? 0 } };
}
