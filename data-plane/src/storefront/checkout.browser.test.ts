import { stat } from 'node:fs/promises';
import { describeViolations, seriousAccessibilityViolations } from '@amanat/kit/testing/axe';
import { launchBrowser, saveScreenshot } from '@amanat/kit/testing/browser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCategory, createProduct } from '../catalog/testing.ts';
import { payOrder, placeOrder } from '../orders/fixtures.ts';
import { railDisclosures } from '../settings/rails.ts';
import { startTestDataPlane, type TestDataPlane } from '../testing/harness.ts';
import { type Browser, type ContextOptions, listenOnLoopback, loopbackContext } from './browser-testing.ts';

/**
 * Checkout and the order page in a real browser (Debian's Chromium through playwright-core),
 * served by a data plane on real PostgreSQL listening on loopback: a guest's whole purchase
 * with the script and without it, axe-core and screenshots in English and Persian.
 */

type Page = Awaited<ReturnType<Awaited<ReturnType<Browser['newContext']>>['newPage']>>;

let dp: TestDataPlane;
let browser: Browser;
let origin: string;
let teapotVariant: string;

const newContext = (options: ContextOptions = {}) => loopbackContext(browser, origin, options);

async function fillAddress(page: Page, email: string | null) {
  if (email) await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByLabel('Full name').fill('Sara Ahmadi');
  await page.getByLabel('Street and number').fill('1 Main Street');
  await page.getByLabel('City', { exact: true }).fill('Tehran');
  await page.getByLabel('Country code').fill('IR');
}

const storedCart = (page: Page) => page.evaluate(() => JSON.parse(localStorage.getItem('cart') ?? '[]'));

beforeAll(async () => {
  [dp, browser] = await Promise.all([startTestDataPlane(), launchBrowser()]);
  const settings = await dp.app.inject({
    method: 'PATCH',
    url: '/api/admin/settings',
    headers: await dp.staffHeaders('owner'),
    payload: {
      brand: {
        logo_url: 'https://img.example.com/logo.png',
        favicon_url: 'https://img.example.com/favicon.png',
        primary_color: '#1f6f5c',
        accent_color: '#ffcc00',
        display_name: 'Sara Goods',
        tagline: 'Handmade in Shiraz',
      },
      locales: ['en', 'fa'],
      default_locale: 'en',
      currency: 'USD',
      timezone: 'Asia/Tehran',
    },
  });
  expect(settings.statusCode, settings.body).toBe(200);
  const kitchen = await createCategory(dp, { name: 'Kitchen', slug: 'kitchen' });
  await createProduct(dp, {
    slug: 'blue-mug',
    title: 'Blue mug',
    category_id: kitchen.id,
    images: [{ url: 'https://img.example.com/mug.jpg', alt: 'A blue mug on a wooden table' }],
    variants: [
      { sku: 'MUG-S', options: { size: 'S' }, price_minor: 1250, stock: 40 },
      { sku: 'MUG-L', options: { size: 'L' }, price_minor: 1500, stock: 40 },
    ],
  });
  const teapot = await createProduct(dp, {
    slug: 'teapot',
    title: 'Clay teapot',
    category_id: kitchen.id,
    images: [{ url: 'https://img.example.com/teapot.jpg', alt: 'A round clay teapot' }],
    variants: [{ sku: 'POT-1', price_minor: 4200, stock: 40 }],
  });
  teapotVariant = teapot.variants[0]?.id as string;
  origin = await listenOnLoopback(dp);
});

afterAll(async () => {
  await browser?.close();
  await dp?.close();
});

describe('checkout in a real browser', () => {
  it('a guest browses, adds to the cart, checks out on escrow and follows the order to escrow funded', async () => {
    const context = await newContext();
    const page = await context.newPage();
    await page.goto(`${origin}/`);
    await page.getByLabel('Search', { exact: true }).fill('mug');
    await page.getByRole('button', { name: 'Show products' }).click();
    await page.waitForURL(/\/\?q=mug/);
    await page.getByRole('link', { name: /Blue mug/ }).click();
    await page.waitForURL(`${origin}/items/blue-mug`);
    const large = page.getByRole('radio', { name: /size: L\b/ });
    await large.check();
    await page.getByLabel('Quantity', { exact: true }).fill('2');
    await page.getByTestId('add-to-cart').click();
    await expect.poll(() => page.getByTestId('cart-count').textContent()).toBe('2');

    await page.getByTestId('cart-link').click();
    await page.waitForURL(`${origin}/cart`);
    await expect.poll(() => page.getByTestId('cart-line').count()).toBe(1);
    await page.getByTestId('checkout-link').click();
    // The script asks the server to price the localStorage cart.
    await page.waitForURL(/\/checkout\?cart=/);
    const lines = page.getByTestId('checkout-line');
    await expect.poll(() => lines.count()).toBe(1);
    expect(await lines.textContent()).toContain('Blue mug');
    expect(await lines.textContent()).toContain('2 × $15.00');
    expect(await page.getByTestId('checkout-total').textContent()).toBe('$30.00');

    await fillAddress(page, 'guest@example.com');
    const escrow = page.getByRole('radio', { name: 'Escrow protection' });
    await escrow.check();
    expect(await page.locator(`#${await escrow.getAttribute('aria-describedby')}`).textContent()).toBe(
      railDisclosures.amn_escrow,
    );
    await page.getByTestId('place-order').click();

    await page.waitForURL(/\/orders\/[0-9a-f-]{36}\?token=[A-Za-z0-9_-]{43}$/);
    const orderId = new URL(page.url()).pathname.split('/')[2] as string;
    expect(await page.getByTestId('order-status').getAttribute('data-status')).toBe('pending_payment');
    expect(await page.getByTestId('order-status').textContent()).toBe('Waiting for payment');
    expect(await page.getByTestId('order-disclosure').textContent()).toBe(railDisclosures.amn_escrow);
    expect(await page.getByTestId('order-placed').isVisible()).toBe(true);
    expect(await page.getByTestId('order-link').inputValue()).toContain(`/orders/${orderId}?token=`);
    expect(await page.getByTestId('order-total').textContent()).toBe('$30.00');
    // The order holds the lines now: the localStorage cart is empty, the badge hidden.
    await expect.poll(() => storedCart(page)).toEqual([]);
    expect(await page.getByTestId('cart-count').isHidden()).toBe(true);

    await payOrder(dp, { id: orderId, total_minor: 3000, currency: 'USD', rail: 'amn_escrow' });
    await page.reload();
    expect(await page.getByTestId('order-status').getAttribute('data-status')).toBe('escrow_funded');
    expect(await page.getByTestId('order-status').textContent()).toBe('Paid into escrow');
    expect(await page.getByTestId('order-timeline').locator('li').count()).toBe(2);
    expect(await page.getByTestId('order-placed').count()).toBe(0);
    await context.close();
  });

  it('checkout works with JavaScript disabled: the cookie cart, the form post, the order page', async () => {
    const context = await newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    await page.goto(`${origin}/items/teapot`);
    await page.getByTestId('add-to-cart').click();
    await page.waitForURL(`${origin}/cart`);
    await page.getByTestId('checkout-link').click();
    await page.waitForURL(`${origin}/checkout`);
    expect(await page.getByTestId('checkout-line').count()).toBe(1);
    expect(await page.getByTestId('checkout-total').textContent()).toBe('$42.00');
    await fillAddress(page, 'nojs@example.com');
    await page.getByRole('radio', { name: 'Direct payment' }).check();
    await page.getByTestId('place-order').click();
    await page.waitForURL(/\/orders\/[0-9a-f-]{36}\?token=/);
    expect(await page.getByTestId('order-status').getAttribute('data-status')).toBe('pending_payment');
    expect(await page.getByTestId('order-disclosure').textContent()).toBe(railDisclosures.amn_direct);
    expect(await page.getByTestId('payment-instructions').textContent()).toMatch(/^Pay \$42\.00 quoting/);
    const cookies = await context.cookies();
    expect(cookies.find((cookie) => cookie.name === 'cart')).toBeUndefined();
    await page.goto(`${origin}/cart`);
    expect(await page.getByTestId('cart-empty').isVisible()).toBe(true);
    await context.close();
  });

  it('axe-core finds no serious violations on the checkout and order pages; screenshots en and fa, desktop and phone', async () => {
    const order = await placeOrder(dp, {
      lines: [{ variant_id: teapotVariant, quantity: 1 }],
      rail: 'amn_escrow',
    });
    const viewports = {
      desktop: { width: 1280, height: 800 },
      phone: { width: 390, height: 844 },
    };
    const found: string[] = [];
    for (const [device, viewport] of Object.entries(viewports)) {
      const context = await newContext({ viewport, isMobile: device === 'phone' });
      const page = await context.newPage();
      await page.goto(`${origin}/items/blue-mug`);
      await page.getByTestId('add-to-cart').click();
      await expect.poll(() => page.getByTestId('cart-count').textContent()).toBe('1');
      for (const lang of ['en', 'fa']) {
        for (const [name, path] of [
          ['checkout', `/checkout?lang=${lang}`],
          ['order', `/orders/${order.id}?token=${order.access_token}&lang=${lang}`],
        ] as const) {
          await page.goto(`${origin}${path}`);
          if (name === 'checkout') {
            await page.waitForURL(/cart=/);
            await expect.poll(() => page.getByTestId('checkout-line').count()).toBe(1);
          }
          expect(await page.locator('html').getAttribute('dir')).toBe(lang === 'fa' ? 'rtl' : 'ltr');
          if (device === 'desktop') {
            const violations = await seriousAccessibilityViolations(page);
            if (violations.length > 0) found.push(`${path}\n${describeViolations(violations)}`);
          }
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
    expect(found.join('\n\n')).toBe('');
  });
});
