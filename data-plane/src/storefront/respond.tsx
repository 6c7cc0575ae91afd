/** @jsxRuntime automatic @jsxImportSource preact */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { VNode } from 'preact';
import { renderToString } from 'preact-render-to-string';
import type { PageContext, ShopView } from './page-context.ts';
import { UnavailablePage } from './pages/errors.tsx';

/**
 * Scripts and styles only from the shop's own host, plus the one inline <style> holding the
 * brand (by hash); catalog images from any https host. Telegram's web client shows a Mini
 * App in a frame, so web.telegram.org may frame the pages; nobody else may.
 */
function contentSecurityPolicy(shop: ShopView): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    `style-src 'self' ${shop.theme.cspHash}`,
    "img-src 'self' https: data:",
    "connect-src 'self'",
    "form-action 'self'",
    "base-uri 'none'",
    "frame-ancestors 'self' https://web.telegram.org",
  ].join('; ');
}

/** Sends a page: a component to render, or HTML already rendered (from the cache). */
export function sendPage(
  reply: FastifyReply,
  status: number,
  shop: ShopView,
  page: VNode | string,
): FastifyReply {
  return reply
    .code(status)
    .headers({
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': contentSecurityPolicy(shop),
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'strict-origin-when-cross-origin',
      // The language may come from a cookie: caches must not hand one buyer's page to another.
      'cache-control': 'no-cache',
      vary: 'Cookie',
    })
    .send(typeof page === 'string' ? page : html(page));
}

export const html = (page: VNode) => `<!doctype html>${renderToString(page)}`;

export function sendUnavailable(reply: FastifyReply, page: PageContext): FastifyReply {
  return sendPage(reply.header('retry-after', '3600'), 503, page.shop, <UnavailablePage page={page} />);
}

/** Only a form's text fields: a JSON body posted here could carry anything. */
export function formFields(body: unknown): Record<string, string> {
  if (!body || typeof body !== 'object') return {};
  return Object.fromEntries(
    Object.entries(body).filter((entry): entry is [string, string] => typeof entry[1] === 'string'),
  );
}

/**
 * Whether a form post comes from one of the shop's own pages. Browsers send `Origin` (and
 * `Sec-Fetch-Site`) with every form post, so a post from another site is recognisable and
 * refused; clients without them are not browsers and carry no ambient cookies to abuse.
 * SameSite=Lax cookies already keep sessions out of cross-site posts: this is the second lock.
 */
export function isSameOriginPost(request: FastifyRequest): boolean {
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return false;
  const origin = request.headers.origin;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === request.host;
  } catch {
    return false;
  }
}
