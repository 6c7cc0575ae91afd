import type { FastifyReply, FastifyRequest } from 'fastify';
import { cachedStorefrontResponse } from '../catalog/queries.ts';
import type { ServiceContext } from '../context.ts';
import { getSettings, publicSettings } from '../settings/service.ts';
import { type I18n, i18n, isLocale, type Locale } from './i18n/index.ts';
import { type Theme, themeFor } from './theme.ts';

/** The shop as its pages present it: settings and brand, resolved once per request. */
export interface ShopView {
  name: string;
  tagline: string;
  logoUrl: string | null;
  faviconUrl: string | null;
  theme: Theme;
  /** The locales the shop offers, its default first. */
  locales: Locale[];
  defaultLocale: Locale;
  currency: string;
  timezone: string;
  disclosePlatform: boolean;
  lowStockThreshold: number;
  /** PUBLIC_SCHEME :// the first of PUBLIC_HOSTS: canonical URLs, Open Graph, the sitemap and email links. */
  origin: string;
}

export interface PageContext {
  shop: ShopView;
  i18n: I18n;
  /** The request's path and query, for links that keep them (the language switcher). */
  url: URL;
}

export const LANG_COOKIE = 'lang';
const YEAR_SECONDS = 365 * 24 * 3600;

/**
 * The shop as pages show it, through the storefront cache: every page needs it, and the
 * settings read and the theme's contrast search would otherwise run on each request.
 * A settings change clears the cache (updateSettings calls catalogChanged).
 */
export async function loadShop(ctx: ServiceContext): Promise<ShopView> {
  const body = (await cachedStorefrontResponse(JSON.stringify([ctx.tenantId, 'shop']), async () =>
    JSON.stringify(await readShop(ctx)),
  )) as string;
  // Every page asks for the shop: parse each cached text once, not once per request.
  if (lastShop?.body !== body) lastShop = { body, view: JSON.parse(body) as ShopView };
  return lastShop.view;
}

let lastShop: { body: string; view: ShopView } | undefined;

async function readShop(ctx: ServiceContext): Promise<ShopView> {
  const settings = publicSettings(await getSettings(ctx.db, ctx.tenantId));
  const brand = settings.brand;
  const offered = settings.locales.filter(isLocale);
  const defaultLocale = isLocale(settings.default_locale) ? settings.default_locale : (offered[0] ?? 'en');
  return {
    name: brand?.display_name ?? settings.display_name,
    tagline: brand?.tagline ?? '',
    logoUrl: brand?.logo_url ?? null,
    faviconUrl: brand?.favicon_url ?? null,
    theme: themeFor(brand),
    locales: [defaultLocale, ...offered.filter((locale) => locale !== defaultLocale)],
    defaultLocale,
    currency: settings.currency,
    timezone: settings.timezone,
    disclosePlatform: settings.features.disclose_platform,
    lowStockThreshold: settings.low_stock_threshold,
    origin: ctx.config.publicOrigin,
  };
}

/**
 * The page's locale: `?lang=` when the shop offers it (remembered in a cookie for the next
 * pages), else the cookie's, else the shop's default. Locales the shop does not list are
 * never served, whatever the request asks for.
 */
export function chooseLocale(shop: ShopView, request: FastifyRequest): { locale: Locale; remember: boolean } {
  const asked = new URL(request.url, shop.origin).searchParams.get('lang');
  if (isLocale(asked) && shop.locales.includes(asked)) return { locale: asked, remember: true };
  const remembered = request.cookies[LANG_COOKIE];
  if (isLocale(remembered) && shop.locales.includes(remembered))
    return { locale: remembered, remember: false };
  return { locale: shop.defaultLocale, remember: false };
}

export async function loadPageContext(
  ctx: ServiceContext,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<PageContext> {
  const shop = await loadShop(ctx);
  const { locale, remember } = chooseLocale(shop, request);
  if (remember) {
    // Read by the server only, but not a secret: HttpOnly adds nothing here.
    reply.setCookie(LANG_COOKIE, locale, { path: '/', sameSite: 'lax', secure: true, maxAge: YEAR_SECONDS });
  }
  return { shop, i18n: i18n(locale), url: new URL(request.url, shop.origin) };
}

/** A relative link: `path` with the given query parameters (undefined ones left out). */
export function linkTo(path: string, params: Record<string, string | undefined>): string {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) if (value !== undefined) query.set(name, value);
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}

/** An order page's absolute URL on the canonical host; a guest's carries the order's access token. */
export function orderPageUrl(shop: ShopView, orderId: string, token: string | null): string {
  return `${shop.origin}${linkTo(`/orders/${orderId}`, { token: token ?? undefined })}`;
}

/** A relative link to the requested page with some query parameters changed (undefined removes one). */
export function hrefWith(url: URL, changes: Record<string, string | undefined>): string {
  // One leading slash: a 404 page's path like `/..//evil.example` resolves to `//evil.example`,
  // which as a link would leave the shop (a protocol-relative URL).
  const path = url.pathname.replace(/^\/+/, '/');
  return linkTo(path, { ...Object.fromEntries(url.searchParams), ...changes });
}

/**
 * The absolute URL of a page in a locale, on the canonical host. The default locale's pages
 * have no `lang` parameter (crawlers keep no cookies, so they are what a plain URL shows).
 */
export function canonicalUrl(shop: ShopView, path: string, locale: Locale): string {
  const url = new URL(path, shop.origin);
  if (locale !== shop.defaultLocale) url.searchParams.set('lang', locale);
  return url.href;
}
