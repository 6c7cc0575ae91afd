/** @jsxRuntime automatic @jsxImportSource preact */
import type { ComponentChildren } from 'preact';
import { assets } from '../assets.ts';
import { localeInfo } from '../i18n/index.ts';
import { canonicalUrl, hrefWith, type PageContext } from '../page-context.ts';
import { PAGE_BACKGROUND } from '../theme.ts';

/** Shown only by shops that choose to disclose the platform (features.disclose_platform). */
const PLATFORM_NAME = 'Amanat Shops';

export interface LayoutProps {
  page: PageContext;
  /** The page's own title; the shop's name is added. Absent on the home page. */
  title?: string;
  description: string;
  /** The page's path and canonical parameters, without `lang`; absent for pages not to index. */
  canonicalPath?: string;
  image?: { url: string; alt: string };
  ogType?: 'website' | 'product';
  /** Extra Open Graph properties, e.g. a product's price. */
  og?: Record<string, string>;
  /** Search results and error pages: shown, not indexed. */
  noindex?: boolean;
  /** The "shop unavailable" page: no navigation into a shop that cannot be browsed. */
  bare?: boolean;
  children: ComponentChildren;
}

export function Layout(props: LayoutProps) {
  const { page } = props;
  const { shop, i18n } = page;
  const { t, locale } = i18n;
  const title = props.title
    ? `${props.title} – ${shop.name}`
    : shop.tagline
      ? `${shop.name} – ${shop.tagline}`
      : shop.name;
  const canonical =
    props.canonicalPath === undefined ? undefined : canonicalUrl(shop, props.canonicalPath, locale);
  const here = page.url.pathname;
  return (
    <html lang={locale} dir={i18n.dir}>
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{title}</title>
        <meta name="description" content={props.description} />
        {props.noindex ? <meta name="robots" content="noindex" /> : null}
        {canonical ? <link rel="canonical" href={canonical} /> : null}
        {props.canonicalPath !== undefined && shop.locales.length > 1
          ? [
              ...shop.locales.map((other) => (
                <link
                  rel="alternate"
                  hreflang={other}
                  href={canonicalUrl(shop, props.canonicalPath as string, other)}
                />
              )),
              <link
                rel="alternate"
                hreflang="x-default"
                href={canonicalUrl(shop, props.canonicalPath, shop.defaultLocale)}
              />,
            ]
          : null}
        <meta property="og:site_name" content={shop.name} />
        <meta property="og:title" content={props.title ?? shop.name} />
        <meta property="og:description" content={props.description} />
        <meta property="og:type" content={props.ogType ?? 'website'} />
        <meta property="og:locale" content={localeInfo[locale].og} />
        {canonical ? <meta property="og:url" content={canonical} /> : null}
        {props.image ? <meta property="og:image" content={props.image.url} /> : null}
        {props.image ? <meta property="og:image:alt" content={props.image.alt} /> : null}
        {Object.entries(props.og ?? {}).map(([property, content]) => (
          <meta property={property} content={content} />
        ))}
        <meta name="theme-color" content={shop.theme.primary} />
        {/* Without a favicon of its own, an empty one: no request for /favicon.ico. */}
        <link rel="icon" href={shop.faviconUrl ?? 'data:,'} />
        <link rel="stylesheet" href={assets.css.path} />
        {/* The brand's colours and font; allowed by its hash in the page's CSP. */}
        <style dangerouslySetInnerHTML={{ __html: shop.theme.css }} />
        <script src={assets.js.path} defer />
        {/* Does nothing outside Telegram; inside, its MainButton labels and brand colours. */}
        <script
          src={assets.miniapp.path}
          defer
          data-checkout-label={t('miniapp.checkout')}
          data-place-order-label={t('miniapp.placeOrder')}
          data-background={PAGE_BACKGROUND}
          data-button-color={shop.theme.accent}
          data-button-text-color={shop.theme.onAccent}
        />
      </head>
      <body>
        <a class="skip-link" href="#main">
          {t('skip.toContent')}
        </a>
        <header class="site-header">
          <div class="header-bar">
            <a class="brand" href="/" aria-current={here === '/' ? 'page' : undefined}>
              {shop.logoUrl ? (
                <img class="logo" src={shop.logoUrl} alt={shop.name} />
              ) : (
                <span class="wordmark">{shop.name}</span>
              )}
            </a>
            {props.bare ? null : (
              <nav class="site-nav" aria-label={t('nav.label')}>
                <ul>
                  <li>
                    <a href="/" aria-current={here === '/' ? 'page' : undefined}>
                      {t('nav.catalog')}
                    </a>
                  </li>
                  <li>
                    <a
                      href="/cart"
                      data-testid="cart-link"
                      aria-current={here === '/cart' ? 'page' : undefined}
                    >
                      {t('nav.cart')}
                      <span class="cart-count" data-cart-count data-testid="cart-count" hidden />
                    </a>
                  </li>
                  <li>
                    {/* The same link for everyone (cached pages carry it): /account sends guests to sign in. */}
                    <a
                      href="/account"
                      data-testid="account-link"
                      aria-current={here === '/account' ? 'page' : undefined}
                    >
                      {t('nav.account')}
                    </a>
                  </li>
                </ul>
              </nav>
            )}
            {shop.locales.length > 1 ? (
              <nav class="languages" aria-label={t('language.label')}>
                <ul>
                  {shop.locales.map((other) => (
                    <li>
                      {other === locale ? (
                        <span lang={other} aria-current="true">
                          {localeInfo[other].name}
                        </span>
                      ) : (
                        <a
                          href={hrefWith(page.url, { lang: other })}
                          lang={other}
                          hreflang={other}
                          data-testid={`language-${other}`}
                        >
                          {localeInfo[other].name}
                        </a>
                      )}
                    </li>
                  ))}
                </ul>
              </nav>
            ) : null}
          </div>
          {shop.tagline ? <p class="tagline">{shop.tagline}</p> : null}
        </header>
        <main id="main" tabindex={-1}>
          {props.children}
        </main>
        <footer class="site-footer">
          <p>{t('footer.copyright', { year: i18n.year(new Date(), shop.timezone), shop: shop.name })}</p>
          {shop.disclosePlatform ? (
            <p class="powered-by">{t('footer.poweredBy', { platform: PLATFORM_NAME })}</p>
          ) : null}
        </footer>
      </body>
    </html>
  );
}
