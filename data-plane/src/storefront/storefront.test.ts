import { createHash } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCategory, createProduct } from '../catalog/testing.ts';
import { startTestDataPlane, type TestDataPlane } from '../testing/harness.ts';

/**
 * The server-rendered storefront through fastify's inject, on a real PostgreSQL: pages in
 * English and Persian, theming, white-labelling, filters and the cart without JavaScript,
 * SEO files, 404 and the suspended shop.
 */

let dp: TestDataPlane;
let mug: { id: string; variants: { id: string; sku: string }[] };
const ORIGIN = 'https://test-shop.localhost';
const FILLERS = 26;
/** Mug, XSS, quote and the fillers; the archived product is not counted. */
const ACTIVE = FILLERS + 3;

const brand = {
  logo_url: 'https://img.example.com/logo.png',
  favicon_url: 'https://img.example.com/favicon.png',
  primary_color: '#0a7cff',
  accent_color: '#ffcc00',
  display_name: 'Sara Goods',
  tagline: 'Handmade in Shiraz',
  font_family: 'Vazirmatn',
};

async function patchSettings(patch: Record<string, unknown>) {
  const response = await dp.app.inject({
    method: 'PATCH',
    url: '/api/admin/settings',
    headers: await dp.staffHeaders('owner'),
    payload: patch,
  });
  expect(response.statusCode, response.body).toBe(200);
}

const get = (url: string, headers: Record<string, string> = {}) =>
  dp.app.inject({ method: 'GET', url, headers });

function postForm(url: string, form: Record<string, string>, cookie?: string) {
  return dp.app.inject({
    method: 'POST',
    url,
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(cookie ? { cookie } : {}) },
    payload: new URLSearchParams(form).toString(),
  });
}

const count = (body: string, text: string) => body.split(text).length - 1;
const textOf = (body: string, testId: string) =>
  [...body.matchAll(new RegExp(`data-testid="${testId}"[^>]*>([^<]*)<`, 'g'))].map((match) => match[1] ?? '');
const setCookies = (response: LightMyRequestResponse) => [response.headers['set-cookie'] ?? []].flat();

function expectPage(response: LightMyRequestResponse, status: number, locale: 'en' | 'fa') {
  expect(response.statusCode, response.body.slice(0, 500)).toBe(status);
  expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
  const body = response.body;
  expect(body.startsWith('<!doctype html><html')).toBe(true);
  expect(body).toContain(`<html lang="${locale}" dir="${locale === 'fa' ? 'rtl' : 'ltr'}">`);
  expect(body).toMatch(/<a class="skip-link" href="#main">[^<]+<\/a>/);
  for (const landmark of [
    '<header class="site-header">',
    '<main id="main"',
    '<footer class="site-footer">',
  ]) {
    expect(body).toContain(landmark);
  }
  expect(Buffer.byteLength(body)).toBeLessThan(100_000);
}

beforeAll(async () => {
  dp = await startTestDataPlane();
  await patchSettings({
    brand,
    features: { login_methods: ['email_password'], disclose_platform: false },
    locales: ['en', 'fa'],
    default_locale: 'en',
    currency: 'USD',
    low_stock_threshold: 5,
  });
  const home = await createCategory(dp, { name: 'Home goods', slug: 'home-goods' });
  const mugs = await createCategory(dp, { name: 'Mugs', slug: 'mugs', parent_id: home.id });
  mug = await createProduct(dp, {
    slug: 'blue-mug',
    title: 'Blue mug',
    description: 'A glazed stoneware mug.\n\nDishwasher safe.',
    category_id: mugs.id,
    images: [
      { url: 'https://img.example.com/mug.jpg', alt: 'A blue mug on a wooden table' },
      { url: 'https://img.example.com/mug-2.jpg', alt: 'The mug from above' },
    ],
    variants: [
      { sku: 'MUG-S', options: { size: 'S' }, price_minor: 1_250_000, stock: 3 },
      { sku: 'MUG-L', options: { size: 'L' }, price_minor: 1_500_000, stock: 0 },
    ],
  });
  await createProduct(dp, {
    slug: 'xss',
    title: '<script>alert(1)</script>',
    description: '"><img src=x onerror=alert(1)>',
    images: [{ url: 'https://img.example.com/x.jpg', alt: '"><script>alert(2)</script>' }],
    variants: [{ sku: 'XSS-1', price_minor: 100, stock: 10 }],
  });
  await createProduct(dp, {
    slug: 'custom-table',
    title: 'Custom table',
    pricing_mode: 'quote',
    variants: [{ sku: 'TABLE-1', stock: 1 }],
  });
  for (let i = 1; i <= FILLERS; i++) {
    await createProduct(dp, {
      slug: `filler-${i}`,
      title: `Filler ${String(i).padStart(2, '0')}`,
      variants: [{ sku: `FILL-${i}`, price_minor: 1000 + i, stock: 20 }],
    });
  }
  const old = await createProduct(dp, {
    slug: 'old-thing',
    title: 'Old thing',
    variants: [{ sku: 'OLD-1', price_minor: 500, stock: 1 }],
  });
  const archived = await dp.app.inject({
    method: 'POST',
    url: `/api/admin/products/${old.id}/archive`,
    headers: await dp.staffHeaders('owner'),
  });
  expect(archived.statusCode).toBe(200);
});
afterAll(() => dp.close());

describe('catalog home', () => {
  it('renders in English: landmarks, brand theme, products, pagination', async () => {
    const response = await get('/');
    expectPage(response, 200, 'en');
    const body = response.body;
    expect(body).toContain('<title>Sara Goods – Handmade in Shiraz</title>');
    expect(body).toContain('<img class="logo" src="https://img.example.com/logo.png" alt="Sara Goods"/>');
    expect(body).toContain('<nav class="site-nav" aria-label="Main">');
    expect(count(body, 'data-testid="product-card"')).toBe(24);
    expect(textOf(body, 'result-count')).toEqual([`${ACTIVE} products`]);
    expect(body).toContain('<a rel="next" href="/?page=2"');
    expect(body).not.toContain('rel="prev"');
    expect(body).toContain(`<link rel="canonical" href="${ORIGIN}/"/>`);
    expect(body).toContain('<meta property="og:site_name" content="Sara Goods"/>');
    expect(body).toContain('<meta name="description" content="Handmade in Shiraz"/>');
    expect(body).toMatch(/<link rel="stylesheet" href="\/assets\/storefront\.[0-9a-f]{12}\.css"\/>/);
    expect(body).toMatch(/<script src="\/assets\/storefront\.[0-9a-f]{12}\.js" defer><\/script>/);
  });

  it('sets --brand-primary and --brand-accent on the root, allowed by the CSP hash of that style', async () => {
    const response = await get('/');
    const style = /<style>([^<]*)<\/style>/.exec(response.body)?.[1] ?? '';
    expect(style).toMatch(/^:root\{/);
    expect(style).toContain('--brand-primary:#0a7cff;');
    expect(style).toContain('--brand-accent:#ffcc00;');
    expect(style).toContain('--brand-on-accent:#000000;');
    expect(style).toContain('--brand-font:Vazirmatn, ');
    const hash = createHash('sha256').update(style).digest('base64');
    const csp = String(response.headers['content-security-policy']);
    expect(csp).toContain(`style-src 'self' 'sha256-${hash}'`);
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("img-src 'self' https:");
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.headers['x-powered-by']).toBeUndefined();
  });

  it('renders in Persian, right to left with Persian digits, and remembers the choice in a cookie', async () => {
    const response = await get('/?lang=fa');
    expectPage(response, 200, 'fa');
    const [cookie] = setCookies(response);
    expect(cookie).toMatch(/^lang=fa;/);
    expect(cookie).toContain('Path=/');
    expect(cookie).toContain('SameSite=Lax');
    expect(cookie).toContain('Secure');
    expect(cookie).not.toContain('HttpOnly');
    expect(textOf(response.body, 'result-count')).toEqual(['۲۹ محصول']);
    const prices = textOf(response.body, 'price');
    expect(prices).toHaveLength(24);
    for (const price of prices.filter((text) => text !== 'قیمت با استعلام')) {
      expect(price).toMatch(/[۰-۹]/);
      expect(price).not.toMatch(/[0-9]/);
    }
    expect(response.body).toContain(
      '<a href="/?lang=en" lang="en" hreflang="en" data-testid="language-en">English</a>',
    );
    expect(response.body).toContain(`<link rel="canonical" href="${ORIGIN}/?lang=fa"/>`);
    expect(response.body).toContain('<meta property="og:locale" content="fa_IR"/>');
    expect(response.body).toContain('<footer class="site-footer"><p>© ۱۴');

    const next = await get('/', { cookie: 'lang=fa' });
    expectPage(next, 200, 'fa');
    expect(next.headers['set-cookie']).toBeUndefined();
    expectPage(await get('/?lang=en', { cookie: 'lang=fa' }), 200, 'en');
  });

  it("offers only the shop's locales, and starts in its default", async () => {
    await patchSettings({ locales: ['en'], default_locale: 'en' });
    const asked = await get('/?lang=fa', { cookie: 'lang=fa' });
    expectPage(asked, 200, 'en');
    expect(asked.headers['set-cookie']).toBeUndefined();
    expect(asked.body).not.toContain('class="languages"');
    expect(asked.body).not.toContain('hreflang');

    await patchSettings({ locales: ['en', 'fa'], default_locale: 'fa' });
    const persianFirst = await get('/');
    expectPage(persianFirst, 200, 'fa');
    expect(persianFirst.body).toContain(`<link rel="canonical" href="${ORIGIN}/"/>`);
    expect(persianFirst.body).toContain(`<link rel="alternate" hreflang="en" href="${ORIGIN}/?lang=en"/>`);
    await patchSettings({ default_locale: 'en' });
  });

  it('searches, filters by category and price, sorts and pages with plain GET links and forms', async () => {
    const form = (await get('/')).body;
    expect(form).toContain('<form class="filters" method="get" action="/">');
    for (const name of ['q', 'category', 'min', 'max', 'sort']) expect(form).toContain(`name="${name}"`);
    expect(form).toMatch(/<label for="filter-q">Search<\/label><input id="filter-q" name="q"/);

    const search = await get('/?q=mug');
    expectPage(search, 200, 'en');
    expect(search.body).toContain('<h2 class="card-title" dir="auto">Blue mug</h2>');
    expect(search.body).not.toContain('Filler');
    expect(search.body).toContain('name="q" type="search" value="mug"');
    expect(search.body).toContain('<meta name="robots" content="noindex"/>');
    expect(search.body).toContain('<option value="relevance" selected>');

    const category = (await get('/?category=home-goods')).body;
    expect(textOf(category, 'result-count')).toEqual(['1 product']);
    expect(category).toContain('<h2 class="card-title" dir="auto">Blue mug</h2>');
    expect(category).toContain('<option value="home-goods" selected>');
    expect(category).toContain(`<link rel="canonical" href="${ORIGIN}/?category=home-goods"/>`);

    for (const url of ['/?min=12000&max=13000', '/?min=13000&max=12000']) {
      const price = (await get(url)).body;
      expect(textOf(price, 'result-count'), url).toEqual(['1 product']);
      expect(price).toContain('name="min" type="number" min="0" step="0.01" value="12000"');
    }
    expect(textOf((await get('/?max=10.05')).body, 'result-count')).toEqual(['6 products']);

    const dearest = (await get('/?sort=price_desc')).body;
    expect(/<h2 class="card-title" dir="auto">([^<]*)</.exec(dearest)?.[1]).toBe('Blue mug');
    expect(dearest).toContain('<option value="price_desc" selected>');
    expect(dearest).toContain('href="/?sort=price_desc&amp;page=2"');

    const fillers = (await get('/?q=filler')).body;
    expect(textOf(fillers, 'result-count')).toEqual([`${FILLERS} products`]);
    expect(count(fillers, 'data-testid="product-card"')).toBe(24);
    expect(fillers).toContain('<a rel="next" href="/?q=filler&amp;page=2"');
    const second = (await get('/?q=filler&page=2')).body;
    expect(count(second, 'data-testid="product-card"')).toBe(FILLERS - 24);
    expect(second).toContain('<a rel="prev" href="/?q=filler"');
    expect(second).toContain('Page 2 of 2');

    expectPage(await get('/?page=abc&min=x&sort=evil&category=%3Cb%3E'), 200, 'en');
  });
});

describe('item page', () => {
  it('shows gallery, variants, stock, price and seller, with an add-to-cart form that needs no script', async () => {
    const response = await get('/items/blue-mug');
    expectPage(response, 200, 'en');
    const body = response.body;
    expect(body).toContain('<h1 dir="auto">Blue mug</h1>');
    expect(body).toContain('<title>Blue mug – Sara Goods</title>');
    expect(body).toContain('<img src="https://img.example.com/mug.jpg" alt="A blue mug on a wooden table"');
    expect(body).toContain('alt="The mug from above"');
    expect(textOf(body, 'price')).toEqual(['From $12,500.00']);
    expect(textOf(body, 'stock-state')).toEqual(['Only 3 left']);
    expect(body).toContain('<p class="seller">Sold by Sara Goods</p>');
    expect(body).toContain('<form class="add-to-cart" method="post" action="/cart"');
    expect(count(body, 'data-testid="variant-option"')).toBe(2);
    const small = mug.variants.find((variant) => variant.sku === 'MUG-S')?.id;
    const large = mug.variants.find((variant) => variant.sku === 'MUG-L')?.id;
    expect(body).toMatch(
      new RegExp(`<input type="radio" id="variant-${small}" name="variant_id" value="${small}" checked`),
    );
    expect(body).toMatch(
      new RegExp(`<input type="radio" id="variant-${large}" name="variant_id" value="${large}" disabled`),
    );
    expect(body).toContain(`<label for="variant-${small}"><span>size: S</span>`);
    expect(body).toMatch(
      /<button type="submit" class="button" data-testid="add-to-cart">Add to cart<\/button>/,
    );
    expect(body).toContain('<label for="quantity">Quantity</label>');
    expect(body).toContain('<a href="/?category=home-goods">Home goods</a>');
    expect(body).toContain('<a href="/?category=mugs">Mugs</a>');
    expect(body).toContain(`<link rel="canonical" href="${ORIGIN}/items/blue-mug"/>`);
    expect(body).toContain('<meta property="og:type" content="product"/>');
    expect(body).toContain('<meta property="og:title" content="Blue mug"/>');
    expect(body).toContain('<meta property="og:image" content="https://img.example.com/mug.jpg"/>');
    expect(body).toContain('<meta property="product:price:amount" content="12500.00"/>');
    expect(body).toContain('<meta name="description" content="A glazed stoneware mug. Dishwasher safe."/>');
    expect(body).toContain('<p dir="auto">Dishwasher safe.</p>');
  });

  it('shows a catalog change on the very next request, though pages are cached', async () => {
    const table = await createProduct(dp, {
      title: 'Bespoke table',
      slug: 'bespoke-oak',
      variants: [{ sku: 'OAK-TABLE-1', price_minor: 90_000, stock: 1 }],
    });
    expect((await get('/items/bespoke-oak')).body).toContain('<h1 dir="auto">Bespoke table</h1>');
    const renamed = await dp.app.inject({
      method: 'PATCH',
      url: `/api/admin/products/${table.id}`,
      headers: await dp.staffHeaders('owner'),
      payload: { title: 'Bespoke oak table' },
    });
    expect(renamed.statusCode, renamed.body).toBe(200);
    expect((await get('/items/bespoke-oak')).body).toContain('<h1 dir="auto">Bespoke oak table</h1>');
    const archived = await dp.app.inject({
      method: 'POST',
      url: `/api/admin/products/${table.id}/archive`,
      headers: await dp.staffHeaders('owner'),
    });
    expect(archived.statusCode, archived.body).toBe(200);
    expect((await get('/items/bespoke-oak')).statusCode).toBe(404);
  });

  it('renders in Persian with Persian digits and the mirrored layout', async () => {
    const response = await get('/items/blue-mug', { cookie: 'lang=fa' });
    expectPage(response, 200, 'fa');
    expect(textOf(response.body, 'price')[0]).toContain('از ‎$۱۲٬۵۰۰٫۰۰');
    expect(textOf(response.body, 'stock-state')).toEqual(['فقط ۳ عدد باقی مانده']);
    expect(response.body).toContain('<svg class="icon icon-forward"');
    expect(response.body).toContain(`<link rel="canonical" href="${ORIGIN}/items/blue-mug?lang=fa"/>`);
  });

  it('a product sold on quote has no price and no add to cart', async () => {
    const body = (await get('/items/custom-table')).body;
    expect(textOf(body, 'price')).toEqual(['Price on request']);
    expect(body).not.toContain('data-testid="add-to-cart"');
    expect(body).toContain('sold on quote');
  });

  it('escapes what the catalog says: a product titled <script> stays text', async () => {
    for (const url of ['/items/xss', '/', '/?q=%3Cscript%3Ealert(3)%3C%2Fscript%3E']) {
      const body = (await get(url)).body;
      // The storefront's script and the Telegram Mini App's, no other.
      expect(count(body, '<script'), url).toBe(2);
      expect(body).not.toContain('<img src=x');
      expect(body).not.toMatch(/alert\(\d\)<\/script>/);
    }
    const item = (await get('/items/xss')).body;
    expect(item).toContain('<h1 dir="auto">&lt;script>alert(1)&lt;/script></h1>');
    expect(item).toContain('alt="&quot;>&lt;script>alert(2)&lt;/script>"');
    expect(item).toContain('<title>&lt;script>alert(1)&lt;/script> – Sara Goods</title>');
    expect((await get('/?q=%3Cscript%3Ealert(3)%3C%2Fscript%3E')).body).toContain(
      '&lt;script>alert(3)&lt;/script>',
    );
  });
});

describe('not found', () => {
  it('unknown pages and items get the friendly 404 page; API clients keep problem+json', async () => {
    for (const url of ['/nope', '/items/no-such-thing', '/items/bad%20slug!', '/items/old-thing', '/a/b/c']) {
      const response = await get(url);
      expectPage(response, 404, 'en');
      expect(response.body, url).toContain('<h1>Page not found</h1>');
      expect(response.body).toContain('<meta name="robots" content="noindex"/>');
    }
    expect((await get('/nope?lang=fa')).body).toContain('<h1>صفحه پیدا نشد</h1>');
    // A path that resolves to `//host` must not become a link off the shop.
    expect((await get('/x/..//evil.example')).body).not.toContain('href="//');

    const api = await get('/api/storefront/nope');
    expect(api.statusCode).toBe(404);
    expect(api.headers['content-type']).toMatch(/^application\/problem\+json/);
    const deleted = await dp.app.inject({ method: 'DELETE', url: '/nope' });
    expect(deleted.statusCode).toBe(404);
    expect(deleted.headers['content-type']).toMatch(/^application\/problem\+json/);
  });
});

describe('SEO files', () => {
  it('sitemap.xml lists the home page and every active product on the canonical host', async () => {
    const response = await get('/sitemap.xml');
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('application/xml; charset=utf-8');
    expect(response.body).toMatch(
      /^<\?xml version="1.0" encoding="UTF-8"\?>\n<urlset xmlns="http:\/\/www.sitemaps.org/,
    );
    expect(count(response.body, '<url>')).toBe(ACTIVE + 1);
    expect(response.body).toContain(`<url><loc>${ORIGIN}/</loc></url>`);
    expect(response.body).toMatch(new RegExp(`<loc>${ORIGIN}/items/blue-mug</loc><lastmod>\\d{4}-`));
    expect(response.body).not.toContain('old-thing');
  });

  it('robots.txt points at the sitemap and keeps crawlers off the cart and the API', async () => {
    const response = await get('/robots.txt');
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(response.body).toContain(`Sitemap: ${ORIGIN}/sitemap.xml`);
    expect(response.body).toContain('Disallow: /cart');
    expect(response.body).toContain('Disallow: /api/');
    for (const path of ['/checkout', '/orders/', '/account', '/login', '/register', '/unsubscribe']) {
      expect(response.body).toContain(`Disallow: ${path}`);
    }
  });

  it('page routes stay out of the OpenAPI document', async () => {
    const paths = Object.keys((await get('/openapi.json')).json().paths);
    expect(paths.length).toBeGreaterThan(10);
    expect(paths.filter((path) => !path.startsWith('/api/'))).toEqual([]);
    expect((await dp.app.inject({ method: 'HEAD', url: '/' })).statusCode).toBe(200);
  });
});

describe('assets', () => {
  it('one stylesheet and one script under content-hashed URLs, cached for a year', async () => {
    const home = (await get('/')).body;
    const css = /href="(\/assets\/storefront\.[0-9a-f]{12}\.css)"/.exec(home)?.[1] as string;
    const js = /src="(\/assets\/storefront\.[0-9a-f]{12}\.js)"/.exec(home)?.[1] as string;
    for (const [path, type] of [
      [css, 'text/css; charset=utf-8'],
      [js, 'text/javascript; charset=utf-8'],
    ] as const) {
      const response = await get(path);
      expect(response.statusCode).toBe(200);
      expect(response.headers['content-type']).toBe(type);
      expect(response.headers['cache-control']).toBe('public, max-age=31536000, immutable');
      expect(createHash('sha256').update(response.rawPayload).digest('hex').slice(0, 12)).toBe(
        /\.([0-9a-f]{12})\./.exec(path)?.[1],
      );
      expect(response.rawPayload.length).toBeLessThan(16_000);
    }
    expect((await get(css)).body).toContain('[dir="rtl"] .icon-forward');
    expect((await get(css)).body).toContain('transform: scaleX(-1)');
    expectPage(await get('/assets/storefront.000000000000.css'), 404, 'en');
  });
});

describe('white label', () => {
  const pages = [
    '/',
    '/?lang=fa',
    '/items/blue-mug',
    '/items/blue-mug?lang=fa',
    '/cart',
    '/nope',
    '/sitemap.xml',
    '/robots.txt',
  ];

  function expectNoPlatformName(response: LightMyRequestResponse, what: string) {
    expect(response.body, what).not.toMatch(/amanat/i);
    for (const [name, value] of Object.entries(response.headers)) {
      expect(`${name}: ${[value].flat().join(', ')}`, what).not.toMatch(/amanat/i);
    }
  }

  it('a shop that does not disclose the platform never names it: pages, headers, cookies, assets', async () => {
    const home = (await get('/')).body;
    const assets = [...home.matchAll(/"(\/assets\/[^"]+)"/g)].map((match) => match[1] as string);
    expect(assets).toHaveLength(3);
    for (const url of [...pages, ...assets]) expectNoPlatformName(await get(url), url);
    const added = await postForm('/cart', {
      intent: 'add',
      variant_id: mug.variants[0]?.id ?? '',
      quantity: '1',
    });
    expectNoPlatformName(added, 'POST /cart');
    expect(setCookies(added).join('\n')).toMatch(/^cart=/);
  });

  it('a disclosing shop says so in a small footer line', async () => {
    await patchSettings({ features: { login_methods: ['email_password'], disclose_platform: true } });
    try {
      expect((await get('/')).body).toContain('<p class="powered-by">Powered by Amanat Shops</p>');
      expect((await get('/?lang=fa')).body).toContain('<p class="powered-by">قدرت‌گرفته از Amanat Shops</p>');
    } finally {
      await patchSettings({ features: { login_methods: ['email_password'], disclose_platform: false } });
    }
    expect((await get('/')).body).not.toMatch(/amanat/i);
  });

  it('without a logo, the shop name is a wordmark', async () => {
    await patchSettings({ brand: null });
    try {
      const body = (await get('/')).body;
      expect(body).toContain('<span class="wordmark">test-shop</span>');
      expect(body).toContain('<link rel="icon" href="data:,"/>');
      expect(body).toMatch(/--brand-primary:#[0-9a-f]{6};/);
    } finally {
      await patchSettings({ brand });
    }
  });
});

describe('cart', () => {
  it('renders the empty cart server-side, with a <noscript> note and the template the script fills', async () => {
    const response = await get('/cart');
    expectPage(response, 200, 'en');
    const body = response.body;
    expect(body).toContain('<h1>Your cart</h1>');
    expect(body).toContain('<div class="cart-empty" data-cart-empty="true" data-testid="cart-empty">');
    expect(body).toContain('<noscript><p class="note">');
    expect(body).toContain('<template id="cart-line-template"><li class="cart-line"');
    expect(body).toMatch(
      /<form class="cart-form" method="post" action="\/cart" data-cart-form="true" hidden>/,
    );
    expect(body).toContain('<meta name="robots" content="noindex"/>');
  });

  it('works without JavaScript: the forms post to /cart, which keeps the lines in a cookie', async () => {
    const small = mug.variants.find((variant) => variant.sku === 'MUG-S')?.id as string;
    const added = await postForm('/cart', { intent: 'add', variant_id: small, quantity: '2' });
    expect(added.statusCode).toBe(303);
    expect(added.headers.location).toBe('/cart');
    const [cookie] = setCookies(added);
    expect(cookie).toMatch(/^cart=[^;]+; Max-Age=\d+; Path=\/; Secure; SameSite=Lax$/);
    let jar = (cookie as string).split(';')[0] as string;

    const again = await postForm('/cart', { intent: 'add', variant_id: small, quantity: '1' }, jar);
    jar = (setCookies(again)[0] as string).split(';')[0] as string;
    const cart = await get('/cart', { cookie: jar });
    expectPage(cart, 200, 'en');
    expect(count(cart.body, 'data-testid="cart-line" data-variant-id')).toBe(1);
    expect(cart.body).toContain(`data-variant-id="${small}" data-quantity="3" data-title="Blue mug"`);
    expect(textOf(cart.body, 'cart-line-price')).toEqual(['$12,500.00', '']);
    expect(textOf(cart.body, 'cart-subtotal')).toEqual(['$37,500.00']);
    expect(cart.body).toContain(`name="quantity.${small}" type="number"`);
    expect(cart.body).toContain('data-cart-empty="true" data-testid="cart-empty" hidden');
    expect(cart.body).toContain(
      '<form class="cart-form" method="post" action="/cart" data-cart-form="true">',
    );

    const persian = await get('/cart', { cookie: `${jar}; lang=fa` });
    expect(textOf(persian.body, 'cart-subtotal')[0]).toContain('۳۷٬۵۰۰٫۰۰');

    const updated = await postForm('/cart', { intent: 'update', [`quantity.${small}`]: '5' }, jar);
    jar = (setCookies(updated)[0] as string).split(';')[0] as string;
    expect((await get('/cart', { cookie: jar })).body).toContain('data-quantity="5"');

    const stranger = crypto.randomUUID();
    const foreign = await postForm('/cart', { intent: 'add', variant_id: stranger, quantity: '1' }, jar);
    jar = (setCookies(foreign)[0] as string).split(';')[0] as string;
    expect(count((await get('/cart', { cookie: jar })).body, 'data-testid="cart-line" data-variant-id')).toBe(
      1,
    );

    const removed = await postForm('/cart', { remove: small }, jar);
    expect(removed.statusCode).toBe(303);
    jar = (setCookies(removed)[0] as string).split(';')[0] as string;
    expect(jar).not.toContain(small);
    const emptied = await postForm('/cart', { remove: stranger }, jar);
    expect(setCookies(emptied).join('\n')).toMatch(/^cart=; .*Expires=Thu, 01 Jan 1970/);
    expect((await get('/cart', { cookie: 'cart=garbage|x:y|' })).body).toContain('data-testid="cart-empty">');
  });

  it('form posts are accepted by the pages only: the API still refuses them with 415', async () => {
    const response = await dp.app.inject({
      method: 'POST',
      url: '/api/storefront/checkout',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'idempotency-key': 'form-post-0001' },
      payload: 'lines=1',
    });
    expect(response.statusCode).toBe(415);
  });

  it('refuses a form posted from another site, and takes one from its own pages', async () => {
    const form = { variant_id: '00000000-0000-4000-8000-000000000000', quantity: '1' };
    const post = (headers: Record<string, string>) =>
      dp.app.inject({
        method: 'POST',
        url: '/cart',
        headers: { 'content-type': 'application/x-www-form-urlencoded', host: 'shop.example', ...headers },
        payload: new URLSearchParams(form).toString(),
      });
    for (const headers of <Record<string, string>[]>[
      { origin: 'https://evil.example' },
      { origin: 'null' },
      { 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'same-site', origin: 'https://shop.example' },
    ]) {
      const refused = await post(headers);
      expect(refused.statusCode, JSON.stringify(headers)).toBe(403);
      expect(refused.json()).toMatchObject({ type: '/problems/cross-site-form' });
      expect(refused.headers['set-cookie']).toBeUndefined();
    }
    const accepted = await post({ origin: 'https://shop.example', 'sec-fetch-site': 'same-origin' });
    expect(accepted.statusCode).toBe(303);
  });
});

describe('a suspended shop', () => {
  let suspended: TestDataPlane;
  beforeAll(async () => {
    suspended = await startTestDataPlane({ env: { SHOP_SUSPENDED: 'true' } });
  });
  afterAll(() => suspended.close());

  it('serves the shop-unavailable page with 503 on every page route, in the buyer’s language', async () => {
    for (const url of [
      '/',
      '/items/blue-mug',
      '/cart',
      '/nope',
      '/sitemap.xml',
      '/robots.txt',
      '/?q=x&page=2',
    ]) {
      const response = await suspended.app.inject({ method: 'GET', url });
      expectPage(response, 503, 'en');
      expect(response.body, url).toContain('<h1>Shop unavailable</h1>');
      expect(response.body).not.toContain('class="site-nav"');
      expect(response.headers['retry-after']).toBe('3600');
      expect(response.body).not.toMatch(/amanat/i);
    }
    const persian = await suspended.app.inject({ method: 'GET', url: '/?lang=fa' });
    expectPage(persian, 503, 'fa');
    expect(persian.body).toContain('<h1>فروشگاه در دسترس نیست</h1>');
    const post = await suspended.app.inject({
      method: 'POST',
      url: '/cart',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'intent=add',
    });
    expect(post.statusCode).toBe(503);
    const css = /href="(\/assets\/[^"]+\.css)"/.exec(persian.body)?.[1] as string;
    expect((await suspended.app.inject({ method: 'GET', url: css })).statusCode).toBe(200);
  });

  it('refuses checkout with 503 problem+json, whatever the request', async () => {
    for (const payload of [
      { lines: [{ variant_id: crypto.randomUUID(), quantity: 1 }], email: 'a@example.com' },
      {},
    ]) {
      const response = await suspended.app.inject({
        method: 'POST',
        url: '/api/storefront/checkout',
        headers: { 'idempotency-key': crypto.randomUUID() },
        payload,
      });
      expect(response.statusCode).toBe(503);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(response.json()).toMatchObject({ type: '/problems/shop-unavailable', status: 503 });
    }
  });
});
