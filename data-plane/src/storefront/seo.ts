import type { ShopView } from './page-context.ts';

/** One sitemap file holds at most 50,000 URLs (sitemaps.org); the home page takes one. */
export const SITEMAP_PRODUCTS = 49_999;

const xmlEscapes: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
};
const xml = (text: string) => text.replace(/[&<>"']/g, (char) => xmlEscapes[char] as string);

/** The home page and every active product, on the canonical host, in the shop's default locale. */
export function sitemapXml(shop: ShopView, products: { slug: string; updatedAt: Date }[]): string {
  const urls = [
    `<url><loc>${xml(`${shop.origin}/`)}</loc></url>`,
    ...products.map(
      (product) =>
        `<url><loc>${xml(`${shop.origin}/items/${encodeURIComponent(product.slug)}`)}</loc>` +
        `<lastmod>${product.updatedAt.toISOString()}</lastmod></url>`,
    ),
  ];
  return `<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n${urls.join('\n')}\n</urlset>\n`;
}

/** Crawl the catalog and items; not the cart or the API. */
export function robotsTxt(shop: ShopView): string {
  return [
    'User-agent: *',
    'Allow: /',
    // Pages for one buyer or one order: nothing a search engine should crawl.
    ...['/cart', '/checkout', '/orders/', '/account', '/login', '/register', '/unsubscribe', '/api/'].map(
      (path) => `Disallow: ${path}`,
    ),
    `Sitemap: ${shop.origin}/sitemap.xml`,
    '',
  ].join('\n');
}
