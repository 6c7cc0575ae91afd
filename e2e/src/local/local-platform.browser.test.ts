import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DEMO_SHOPS, type DemoShop, demoCatalog } from '@amanat/control-plane/local-runtime/demo';
import { isProcessAlive } from '@amanat/kit/postgres/embedded';
import { launchBrowser, saveScreenshot } from '@amanat/kit/testing/browser';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type LocalTestPlatform, processesOfTenants, startLocalTestPlatform } from './harness.ts';

// A real cluster and real processes: each step waits with its own deadline, longer than the default test timeout.
vi.setConfig({ testTimeout: 240_000 });

/**
 * The whole local platform in a real browser (Debian's Chromium through playwright-core):
 * the demo fleet as `npm start` seeds it, a demo shop opened on `<slug>.localhost` through the
 * router, a buyer who registers and checks out on the escrow rail, the platform admin who
 * simulates the payment through the control-plane API, and the order page that shows it.
 */

type Browser = Awaited<ReturnType<typeof launchBrowser>>;

/** Sara Ceramics: the shared-mode shop, in English. */
const shop = DEMO_SHOPS[0] as DemoShop;
/** A product with one variant and stock to spare: no option to choose before adding it. */
const product = demoCatalog(shop).find(
  (candidate) => candidate.variants.length === 1 && (candidate.variants[0]?.stock ?? 0) > 2,
);

let local: LocalTestPlatform;
let browser: Browser;
let origin: string;

beforeAll(async () => {
  [local, browser] = await Promise.all([startLocalTestPlatform({ seedDemo: true }), launchBrowser()]);
  // Chromium resolves every *.localhost name to loopback by itself: no resolver rules needed.
  origin = `http://${shop.slug}.localhost:${local.routerPort}`;
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await local?.stop();
});

describe('the local platform in a real browser', () => {
  it('a demo shop through the router: its brand, a registered buyer’s escrow checkout, the admin’s simulated payment', async () => {
    if (!product) throw new Error(`the ${shop.slug} demo catalog has no single-variant product`);
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${origin}/`);
    expect(await page.getByTestId('product-card').count()).toBeGreaterThan(0);
    // A string expression: the e2e package compiles without the DOM's types.
    const primary = await page.evaluate<string>(
      "getComputedStyle(document.documentElement).getPropertyValue('--brand-primary').trim()",
    );
    expect(primary).toBe(shop.brand.primary_color);
    expect(await page.title()).toContain(shop.brand.display_name);
    const home = await saveScreenshot(page, 'local-home');
    expect((await stat(home)).size).toBeGreaterThan(1000);

    await page.goto(`${origin}/items/${product.slug}`);
    await page.getByTestId('add-to-cart').click();
    await expect.poll(() => page.getByTestId('cart-count').textContent()).toBe('1');
    await page.getByTestId('cart-link').click();
    await page.waitForURL(`${origin}/cart`);
    await expect.poll(() => page.getByTestId('cart-line').count()).toBe(1);

    const email = `buyer-${Date.now()}@example.com`;
    await page.goto(`${origin}/register?next=${encodeURIComponent('/checkout')}`);
    await page.getByLabel('Email', { exact: true }).fill(email);
    await page.getByLabel('Password', { exact: true }).fill('correct horse battery');
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.waitForURL(/\/checkout/);
    await expect.poll(() => page.getByTestId('checkout-line').count()).toBe(1);
    expect(await page.getByTestId('signed-in-email').textContent()).toBe(`Signed in as ${email}`);
    await page.getByLabel('Full name').fill('Sara Ahmadi');
    await page.getByLabel('Street and number').fill('1 Main Street');
    await page.getByLabel('City', { exact: true }).fill('Shiraz');
    await page.getByLabel('Country code').fill('IR');
    await page.getByRole('radio', { name: 'Escrow protection' }).check();
    await page.getByTestId('place-order').click();
    await page.waitForURL(/\/orders\/[0-9a-f-]{36}/);
    const orderId = new URL(page.url()).pathname.split('/')[2] as string;
    expect(await page.getByTestId('order-status').getAttribute('data-status')).toBe('pending_payment');

    const demoShop = local.platform.demo.find((entry) => entry.shop.slug === shop.slug);
    const simulate = () =>
      local.asAdmin('POST', `/admin/tenants/${demoShop?.tenantId}/orders/${orderId}/simulate-payment`);
    const paid = await simulate();
    expect(paid.status, JSON.stringify(paid.json)).toBe(200);
    expect(paid.json).toEqual({ order_id: orderId, status: 'escrow_funded', rail: 'amn_escrow' });
    // The data plane refuses to be paid twice, and the admin is told why.
    const again = await simulate();
    expect(again.status, JSON.stringify(again.json)).toBe(409);
    expect(again.json.type).toBe('/problems/payment-refused');

    await page.reload();
    expect(await page.getByTestId('order-status').getAttribute('data-status')).toBe('escrow_funded');
    expect(await page.getByTestId('order-status').textContent()).toBe('Paid into escrow');
    const order = await saveScreenshot(page, 'local-order');
    expect((await stat(order)).size).toBeGreaterThan(1000);
    await context.close();
  }, 90_000);

  it('leaves no process behind once stopped', async () => {
    const tenantIds = local.platform.demo.map((entry) => entry.tenantId);
    expect(tenantIds).toHaveLength(DEMO_SHOPS.length);
    const dataPlanePids = tenantIds.map(
      (id) => local.platform.runtime.supervisorOf(id)?.status.pid as number,
    );
    const postmasterPid = Number(
      (await readFile(join(local.postgres.dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0],
    );
    await browser.close();
    await local.stop();
    for (const pid of [...dataPlanePids, postmasterPid])
      expect(isProcessAlive(pid), `pid ${pid}`).toBe(false);
    expect(processesOfTenants(tenantIds)).toEqual([]);
  });
});
