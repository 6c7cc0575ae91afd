import { stat } from 'node:fs/promises';
import { describeViolations, seriousAccessibilityViolations } from '@amanat/kit/testing/axe';
import { launchBrowser, saveScreenshot } from '@amanat/kit/testing/browser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCategory, createProduct } from '../catalog/testing.ts';
import { startTestDataPlane, type TestDataPlane } from '../testing/harness.ts';
import {
  type Browser,
  TEST_BRAND as brand,
  type ContextOptions,
  listenOnLoopback,
  loopbackContext,
} from './browser-testing.ts';

/**
 * The storefront in a real browser (Debian's Chromium through playwright-core), served by a
 * data plane on real PostgreSQL listening on loopback: buying flow with the script, theming
 * in computed styles, white label, Persian right to left, browsing without JavaScript,
 * axe-core and screenshots.
 */

let dp: TestDataPlane;
let browser: Browser;
let origin: string;

/** Products besides the mug and the teapot: enough for a second catalog page (24 per page). */
const FILLERS = 24;
const TOTAL = FILLERS + 2;

const rgb = (hex: string) => {
  const [r, g, b] = [1, 3, 5].map((at) => Number.parseInt(hex.slice(at, at + 2), 16));
  return `rgb(${r}, ${g}, ${b})`;
};

const newContext = (options: ContextOptions = {}) => loopbackContext(browser, origin, options);

beforeAll(async () => {
  [dp, browser] = await Promise.all([startTestDataPlane(), launchBrowser()]);
  const settings = await dp.app.inject({
    method: 'PATCH',
    url: '/api/admin/settings',
    headers: await dp.staffHeaders('owner'),
    payload: {
      brand,
      features: { login_methods: ['email_password'], disclose_platform: false },
      locales: ['en', 'fa'],
      default_locale: 'en',
      currency: 'USD',
      low_stock_threshold: 5,
    },
  });
  expect(settings.statusCode, settings.body).toBe(200);
  const kitchen = await createCategory(dp, { name: 'Kitchen', slug: 'kitchen' });
  await createProduct(dp, {
    slug: 'blue-mug',
    title: 'Blue mug',
    description: 'A glazed stoneware mug.',
    category_id: kitchen.id,
    images: [{ url: 'https://img.example.com/mug.jpg', alt: 'A blue mug on a wooden table' }],
    variants: [
      { sku: 'MUG-S', options: { size: 'S' }, price_minor: 1250, stock: 10 },
      { sku: 'MUG-L', options: { size: 'L' }, price_minor: 1500, stock: 8 },
      { sku: 'MUG-XL', options: { size: 'XL' }, price_minor: 1750, stock: 0 },
    ],
  });
  await createProduct(dp, {
    slug: 'teapot',
    title: 'Clay teapot',
    category_id: kitchen.id,
    images: [{ url: 'https://img.example.com/teapot.jpg', alt: 'A round clay teapot' }],
    variants: [{ sku: 'POT-1', price_minor: 4200, stock: 2 }],
  });
  for (let i = 1; i <= FILLERS; i++) {
    await createProduct(dp, {
      slug: `filler-${i}`,
      title: `Filler ${String(i).padStart(2, '0')}`,
      variants: [{ sku: `FILL-${i}`, price_minor: 1000 + i, stock: 20 }],
    });
  }
  origin = await listenOnLoopback(dp);
});

afterAll(async () => {
  await browser?.close();
  await dp?.close();
});

describe('the storefront in a real browser', () => {
  it('a buyer searches, opens an item, picks a variant and adds it to the localStorage cart', async () => {
    const context = await newContext();
    const page = await context.newPage();
    await page.goto(`${origin}/`);
    await expect.poll(() => page.getByTestId('result-count').textContent()).toBe(`${TOTAL} products`);
    expect(await page.getByTestId('cart-count').isHidden()).toBe(true);

    await page.getByLabel('Search', { exact: true }).fill('mug');
    await page.getByRole('button', { name: 'Show products' }).click();
    await page.waitForURL(/\/\?q=mug/);
    expect(await page.getByTestId('result-count').textContent()).toBe('1 product');
    expect(await page.getByTestId('product-card').allTextContents()).toEqual([
      expect.stringContaining('Blue mug'),
    ]);

    await page.getByRole('link', { name: /Blue mug/ }).click();
    await page.waitForURL(`${origin}/items/blue-mug`);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Blue mug');
    // Variants are radio buttons: one buyable variant starts checked, the sold-out one is disabled.
    expect(await page.getByTestId('variant-option').count()).toBe(3);
    expect(await page.getByRole('radio', { name: /size: XL\b/ }).isDisabled()).toBe(true);
    const small = page.getByRole('radio', { name: /size: S\b/ });
    const large = page.getByRole('radio', { name: /size: L\b/ });
    expect((await small.isChecked()) !== (await large.isChecked())).toBe(true);
    // Pick the one that is not checked, so the click is what decides the line.
    const [pick, other, size, minor] = (await small.isChecked())
      ? [large, small, 'L', 1500]
      : [small, large, 'S', 1250];
    await pick.click();
    expect(await pick.isChecked()).toBe(true);
    expect(await other.isChecked()).toBe(false);
    await page.getByLabel('Quantity', { exact: true }).fill('2');
    await page.getByTestId('add-to-cart').click();

    // The script handled the submit: still on the item page, the badge and live region updated.
    await expect.poll(() => page.getByTestId('cart-count').textContent()).toBe('2');
    expect(await page.getByTestId('cart-count').isVisible()).toBe(true);
    expect(page.url()).toBe(`${origin}/items/blue-mug`);
    expect(await page.getByRole('status').textContent()).toBe('Added to your cart.');
    const stored = JSON.parse((await page.evaluate(() => localStorage.getItem('cart'))) ?? '[]');
    expect(stored).toEqual([
      expect.objectContaining({
        variant_id: await pick.getAttribute('value'),
        quantity: 2,
        title: 'Blue mug',
        label: `size: ${size}`,
        price_minor: minor,
        currency: 'USD',
      }),
    ]);

    await page.getByTestId('cart-link').click();
    await page.waitForURL(`${origin}/cart`);
    const lines = page.getByTestId('cart-line');
    await expect.poll(() => lines.count()).toBe(1);
    expect(await lines.locator('[data-field="title"]').textContent()).toBe('Blue mug');
    expect(await lines.locator('[data-field="label"]').textContent()).toBe(`size: ${size}`);
    expect(await page.getByTestId('cart-line-quantity').inputValue()).toBe('2');
    expect(await page.getByTestId('cart-line-price').textContent()).toBe(`$${(minor / 100).toFixed(2)}`);
    expect(await page.getByTestId('cart-subtotal').textContent()).toBe(`$${((2 * minor) / 100).toFixed(2)}`);
    expect(await page.getByTestId('cart-empty').isHidden()).toBe(true);
    expect(await page.getByTestId('cart-count').textContent()).toBe('2');

    // The cart outlives the page: a reload renders it again from localStorage.
    await page.reload();
    await expect.poll(() => page.getByTestId('cart-line-quantity').inputValue()).toBe('2');
    await context.close();
  });

  it("the brand's colours reach the computed styles", async () => {
    const context = await newContext();
    const page = await context.newPage();
    await page.goto(`${origin}/`);
    const styles = await page.evaluate(() => {
      const root = getComputedStyle(document.documentElement);
      const header = document.querySelector('.site-header');
      const button = document.querySelector('form.filters button.button');
      return {
        primary: root.getPropertyValue('--brand-primary').trim(),
        accent: root.getPropertyValue('--brand-accent').trim(),
        header: header ? getComputedStyle(header).backgroundColor : null,
        button: button ? getComputedStyle(button).backgroundColor : null,
      };
    });
    expect(styles).toEqual({
      primary: brand.primary_color,
      accent: brand.accent_color,
      header: rgb(brand.primary_color),
      button: rgb(brand.accent_color),
    });
    await context.close();
  });

  it('a shop that does not disclose the platform never names it: HTML, headers, cookies', async () => {
    const context = await newContext();
    const page = await context.newPage();
    const pending: Promise<string[]>[] = [];
    page.on('response', (response) => {
      if (!response.url().startsWith(origin)) return;
      pending.push(
        response
          .allHeaders()
          .then((all) => Object.entries(all).map(([name, value]) => `${response.url()} ${name}: ${value}`)),
      );
    });
    for (const path of ['/', '/?lang=fa', '/items/blue-mug', '/items/blue-mug?lang=en', '/cart', '/nope']) {
      await page.goto(`${origin}${path}`);
      if (path.startsWith('/items/')) await page.getByTestId('add-to-cart').click();
      expect(await page.content(), path).not.toMatch(/amanat/i);
    }
    // Pages, stylesheet and script all answered, and none of their headers names the platform.
    const headers = (await Promise.all(pending)).flat();
    expect(headers.some((line) => line.includes('/assets/storefront.') && line.includes('.css '))).toBe(true);
    expect(headers.some((line) => line.includes('/assets/storefront.') && line.includes('.js '))).toBe(true);
    expect(headers.filter((line) => /amanat/i.test(line))).toEqual([]);
    const cookies = await context.cookies();
    expect(cookies.map((cookie) => cookie.name)).toContain('lang');
    expect(JSON.stringify(cookies)).not.toMatch(/amanat/i);
    const storage = await page.evaluate(() => JSON.stringify({ ...localStorage }));
    expect(storage).toContain('Blue mug');
    expect(storage).not.toMatch(/amanat/i);
    await context.close();
  });

  it('Persian pages are right to left with Persian digits', async () => {
    const context = await newContext();
    const page = await context.newPage();
    await page.goto(`${origin}/?lang=fa`);
    expect(await page.locator('html').getAttribute('lang')).toBe('fa');
    expect(await page.locator('html').getAttribute('dir')).toBe('rtl');
    expect(await page.evaluate(() => getComputedStyle(document.body).direction)).toBe('rtl');
    expect(await page.getByTestId('result-count').textContent()).toMatch(/^[۰-۹]+ /);
    const prices = await page.getByTestId('price').allTextContents();
    expect(prices).toHaveLength(24);
    for (const price of prices) {
      expect(price).toMatch(/[\u06F0-\u06F9]/);
      expect(price).not.toMatch(/[0-9]/);
    }
    // The language is remembered: the item page opens in Persian without ?lang.
    await page.goto(`${origin}/items/blue-mug`);
    expect(await page.locator('html').getAttribute('dir')).toBe('rtl');
    expect(await page.getByTestId('price').textContent()).toMatch(/[\u06F0-\u06F9]/);
    await page.goto(`${origin}/?lang=fa`);
    const path = await saveScreenshot(page, 'storefront-home-fa-rtl');
    expect((await stat(path)).size).toBeGreaterThan(1000);
    await context.close();
  });

  it('browsing works with JavaScript disabled: items, pages, filters and the cookie cart', async () => {
    const context = await newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    await page.goto(`${origin}/`);
    expect(await page.getByTestId('product-card').count()).toBe(24);

    const first = page.getByTestId('product-card').first().locator('a.card-link');
    const title = (await first.locator('.card-title').textContent()) ?? '';
    await first.click();
    await page.waitForURL(/\/items\//);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe(title);
    expect(await page.getByTestId('add-to-cart').isEnabled()).toBe(true);

    await page.goto(`${origin}/`);
    await page.getByTestId('page-next').click();
    await page.waitForURL(`${origin}/?page=2`);
    expect(await page.getByTestId('product-card').count()).toBe(TOTAL - 24);
    expect(await page.getByTestId('page-previous').isVisible()).toBe(true);

    await page.getByLabel('Category', { exact: true }).selectOption('kitchen');
    await page.getByRole('button', { name: 'Show products' }).click();
    await page.waitForURL(/category=kitchen/);
    expect(await page.getByTestId('result-count').textContent()).toBe('2 products');
    await page.getByRole('link', { name: /Clay teapot/ }).click();
    await page.waitForURL(`${origin}/items/teapot`);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Clay teapot');

    // Without the script the form posts to /cart, which keeps the line in a cookie.
    await page.getByTestId('add-to-cart').click();
    await page.waitForURL(`${origin}/cart`);
    expect(await page.getByTestId('cart-line').count()).toBe(1);
    expect(await page.getByTestId('cart-line').getAttribute('data-title')).toBe('Clay teapot');
    expect(await page.getByTestId('cart-subtotal').textContent()).toBe('$42.00');
    await context.close();
  });

  it('axe-core finds no serious or critical violations on the catalog, item and cart, en and fa', async () => {
    const context = await newContext();
    const page = await context.newPage();
    const found: string[] = [];
    for (const lang of ['en', 'fa']) {
      for (const path of [`/?lang=${lang}`, `/?lang=${lang}&page=2`, `/items/blue-mug?lang=${lang}`]) {
        await page.goto(`${origin}${path}`);
        const violations = await seriousAccessibilityViolations(page);
        if (violations.length > 0) found.push(`${path}\n${describeViolations(violations)}`);
      }
      await page.getByTestId('add-to-cart').click();
      await page.goto(`${origin}/cart?lang=${lang}`);
      await expect.poll(() => page.getByTestId('cart-line').count()).toBe(1);
      const violations = await seriousAccessibilityViolations(page);
      if (violations.length > 0) found.push(`/cart?lang=${lang}\n${describeViolations(violations)}`);
    }
    expect(found.join('\n\n')).toBe('');
    await context.close();
  });

  it('screenshots: home and item, en and fa, desktop and phone, with no sideways scrolling', async () => {
    const viewports = {
      desktop: { width: 1280, height: 800 },
      phone: { width: 390, height: 844 },
    };
    for (const [device, viewport] of Object.entries(viewports)) {
      const context = await newContext({ viewport, isMobile: device === 'phone' });
      const page = await context.newPage();
      for (const lang of ['en', 'fa']) {
        for (const [name, path] of [
          ['home', '/'],
          ['item', '/items/blue-mug'],
        ]) {
          await page.goto(`${origin}${path}?lang=${lang}`);
          const overflow = await page.evaluate(
            () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
          );
          expect(overflow, `${name} ${lang} ${device}`).toBeLessThanOrEqual(0);
          const file = await saveScreenshot(page, `storefront-${name}-${lang}-${device}`);
          expect((await stat(file)).size).toBeGreaterThan(1000);
        }
      }
      await context.close();
    }
  });
});
