import { gzipSync } from 'node:zlib';
import { machineSummary } from '@amanat/kit/bench/machine';
import { CONNECTIONS, DURATION_SECONDS, measure, pick, startBenchShop } from './harness.ts';

const PRODUCTS = Number(process.env.BENCH_PRODUCTS ?? 10_000);
const HOST = 'bench-shop.localhost';

const shop = await startBenchShop(PRODUCTS);
const slugs = Array.from({ length: PRODUCTS }, (_, index) => `product-${index + 1}`);

/** The page's own bytes and those of the stylesheets and scripts it links (same origin). */
async function pageWeight(path: string) {
  const get = async (url: string) => {
    const response = await fetch(new URL(url, shop.base), { headers: { host: HOST } });
    if (!response.ok) throw new Error(`${url} answered ${response.status}`);
    return Buffer.from(await response.arrayBuffer());
  };
  const html = await get(path);
  const assets = [...html.toString('utf8').matchAll(/(?:href|src)="(\/assets\/[^"]+\.(?:css|js))"/g)].map(
    (match) => match[1] as string,
  );
  const bodies = [html, ...(await Promise.all([...new Set(assets)].map(get)))];
  const raw = bodies.reduce((sum, body) => sum + body.length, 0);
  const gzip = bodies.reduce((sum, body) => sum + gzipSync(body).length, 0);
  return { html: html.length, assets: new Set(assets).size, raw, gzip };
}

const home = await measure(shop.base, 'GET / (catalog page, 24 products)', {
  headers: { host: HOST },
  requests: [{ setupRequest: (req) => ({ ...req, path: `/?page=${1 + Math.floor(Math.random() * 100)}` }) }],
});
const item = await measure(shop.base, 'GET /items/:slug (item page)', {
  headers: { host: HOST },
  requests: [{ setupRequest: (req) => ({ ...req, path: `/items/${pick(slugs)}` }) }],
});
const weights = [
  { page: 'catalog home', ...(await pageWeight('/')) },
  { page: 'catalog home (fa)', ...(await pageWeight('/?lang=fa')) },
  { page: 'item', ...(await pageWeight('/items/product-42')) },
];

console.log(
  `storefront bench: ${machineSummary()}, ${PRODUCTS} products, ${CONNECTIONS} connections, ${DURATION_SECONDS} s per page`,
);
console.table([home, item]);
console.table(
  weights.map((w) => ({
    page: w.page,
    'HTML bytes': w.html,
    'CSS/JS files': w.assets,
    'total bytes': w.raw,
    'total gzip bytes': w.gzip,
  })),
);
await shop.stop();
