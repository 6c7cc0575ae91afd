import type { AddressInfo } from 'node:net';
import type { launchBrowser } from '@amanat/kit/testing/browser';
import type { TestDataPlane } from '../testing/harness.ts';

/** What the storefront's browser tests share: a brand, a loopback server, a sealed-off browser context. */
export type Browser = Awaited<ReturnType<typeof launchBrowser>>;
export type ContextOptions = NonNullable<Parameters<Browser['newContext']>[0]>;

export const TEST_BRAND = {
  logo_url: 'https://img.example.com/logo.png',
  favicon_url: 'https://img.example.com/favicon.png',
  primary_color: '#1f6f5c',
  accent_color: '#ffcc00',
  display_name: 'Sara Goods',
  tagline: 'Handmade in Shiraz',
};

/** One picture served for every image (the logo included): the browser never leaves loopback. */
const PICTURE = Buffer.from(
  '<svg xmlns="http://www.w3.org/2000/svg" width="400" height="400" viewBox="0 0 400 400">' +
    '<rect width="400" height="400" fill="#c9ddd8"/><circle cx="200" cy="200" r="120" fill="#1f6f5c"/></svg>',
);

/** Serves the data plane on a loopback port; returns its origin. */
export async function listenOnLoopback(dp: TestDataPlane): Promise<string> {
  await dp.app.listen({ host: '127.0.0.1', port: 0 });
  return `http://127.0.0.1:${(dp.app.server.address() as AddressInfo).port}`;
}

/** A fresh context whose catalog images come from a route and whose other off-host requests fail. */
export async function loopbackContext(browser: Browser, origin: string, options: ContextOptions = {}) {
  const context = await browser.newContext(options);
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(`${origin}/`)) return route.continue();
    if (url.startsWith('https://img.example.com/'))
      return route.fulfill({ status: 200, contentType: 'image/svg+xml', body: PICTURE });
    return route.abort();
  });
  return context;
}
