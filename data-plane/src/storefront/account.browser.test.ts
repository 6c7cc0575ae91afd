import { stat } from 'node:fs/promises';
import { describeViolations, seriousAccessibilityViolations } from '@amanat/kit/testing/axe';
import { launchBrowser, saveScreenshot } from '@amanat/kit/testing/browser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProduct } from '../catalog/testing.ts';
import { address, createVariant, placeOrder } from '../orders/fixtures.ts';
import { startTestDataPlane, type TestDataPlane } from '../testing/harness.ts';
import {
  type Browser,
  TEST_BRAND as brand,
  type ContextOptions,
  listenOnLoopback,
  loopbackContext,
} from './browser-testing.ts';

/**
 * The login, register and account pages in a real browser (Debian's Chromium through
 * playwright-core), served by a data plane on real PostgreSQL listening on loopback: a buyer
 * registers, keeps an address, signs out and in again, and buys as a registered buyer;
 * axe-core and screenshots in English and Persian, desktop and phone.
 */

type Page = Awaited<ReturnType<Awaited<ReturnType<Browser['newContext']>>['newPage']>>;

let dp: TestDataPlane;
let browser: Browser;
let origin: string;
/** A buyer with two orders and an address, for the account page's screenshots and axe. */
const SHOPPER = 'shopper@example.com';
const PASSWORD = 'correct horse battery';

const newContext = (options: ContextOptions = {}) => loopbackContext(browser, origin, options);

/** Signs the page's context in as the shopper, through the sign-in form. */
async function signInAsShopper(page: Page) {
  await page.goto(`${origin}/login?lang=en`);
  await page.getByLabel('Email', { exact: true }).fill(SHOPPER);
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${origin}/account`);
}

let emails = 0;
const newEmail = () => `buyer-${Date.now()}-${++emails}@example.com`;

async function registerThroughPage(page: Page, email: string, next = '') {
  await page.goto(`${origin}/register${next ? `?next=${encodeURIComponent(next)}` : ''}`);
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByRole('button', { name: 'Create account' }).click();
}

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
    },
  });
  expect(settings.statusCode, settings.body).toBe(200);
  await createProduct(dp, {
    slug: 'blue-mug',
    title: 'Blue mug',
    description: 'A glazed stoneware mug.',
    variants: [
      { sku: 'MUG-S', options: { size: 'S' }, price_minor: 1250, stock: 10 },
      { sku: 'MUG-L', options: { size: 'L' }, price_minor: 1500, stock: 8 },
    ],
  });
  await createProduct(dp, {
    slug: 'teapot',
    title: 'Clay teapot',
    variants: [{ sku: 'POT-1', price_minor: 4200, stock: 5 }],
  });
  const registered = await dp.app.inject({
    method: 'POST',
    url: '/api/storefront/account/register',
    payload: { email: SHOPPER, password: PASSWORD, display_name: 'Sara Ahmadi' },
  });
  expect(registered.statusCode, registered.body).toBe(201);
  const session = registered.cookies.find((cookie) => cookie.name === '__Host-sid');
  const buyer = { cookie: `__Host-sid=${session?.value}` };
  const variant = await createVariant(dp, { priceMinor: 2500 });
  await placeOrder(dp, { lines: [{ variant_id: variant, quantity: 1 }], cookie: buyer.cookie });
  await placeOrder(dp, { lines: [{ variant_id: variant, quantity: 3 }], cookie: buyer.cookie });
  const saved = await dp.app.inject({
    method: 'POST',
    url: '/api/storefront/account/addresses',
    headers: { cookie: buyer.cookie },
    payload: { ...address, label: 'Home', postal_code: '12345' },
  });
  expect(saved.statusCode, saved.body).toBe(201);
  origin = await listenOnLoopback(dp);
});

afterAll(async () => {
  await browser?.close();
  await dp?.close();
});

describe('sign-in and the account page in a real browser', () => {
  it('a buyer registers, sees the account page, adds an address, signs out and signs in again', async () => {
    const context = await newContext();
    const page = await context.newPage();
    const email = newEmail();
    await page.goto(`${origin}/`);
    await page.getByTestId('account-link').click();
    await page.waitForURL(`${origin}/login?next=/account`);
    await page.getByRole('link', { name: 'New here? Create an account' }).click();
    await page.waitForURL(`${origin}/register`);
    await registerThroughPage(page, email);
    await page.waitForURL(`${origin}/account`);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Your account');
    expect(await page.getByTestId('signed-in-as').textContent()).toBe(`Signed in as ${email}`);
    expect(await page.getByTestId('orders-empty').isVisible()).toBe(true);
    const session = (await context.cookies()).find((cookie) => cookie.name === '__Host-sid');
    expect(session).toMatchObject({ httpOnly: true, secure: true, sameSite: 'Lax' });

    await page.getByLabel('Recipient’s name').fill('Sara Ahmadi');
    await page.getByLabel('Street and number').fill('1 Main Street');
    await page.getByLabel('City').fill('Tehran');
    await page.getByLabel('Country code').fill('IR');
    await page.getByRole('button', { name: 'Save address' }).click();
    await page.waitForURL(`${origin}/account?done=address-added#addresses`);
    expect(await page.getByTestId('account-notice').textContent()).toBe('Address saved.');
    await expect.poll(() => page.getByTestId('account-address').count()).toBe(1);
    expect(await page.getByTestId('account-address').textContent()).toContain('1 Main Street');

    await page.getByTestId('logout').click();
    await page.waitForURL(`${origin}/`);
    expect((await context.cookies()).some((cookie) => cookie.name === '__Host-sid')).toBe(false);
    await page.goto(`${origin}/account`);
    await page.waitForURL(`${origin}/login?next=/account`);

    // A wrong password first: the summary names the problem and links to the field.
    await page.getByLabel('Email', { exact: true }).fill(email);
    await page.getByLabel('Password', { exact: true }).fill('not my password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${origin}/login`);
    expect(await page.getByRole('alert').textContent()).toContain('The email or password is wrong.');
    expect(await page.getByLabel('Email', { exact: true }).inputValue()).toBe(email);
    expect(await page.getByLabel('Password', { exact: true }).inputValue()).toBe('');
    await page.getByRole('alert').getByRole('link').click();
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('login-password');

    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${origin}/account`);
    expect(await page.getByTestId('account-address').textContent()).toContain('1 Main Street');
    await context.close();
  });

  it('works with JavaScript off: register, add an address, sign out', async () => {
    const context = await newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    await registerThroughPage(page, newEmail());
    await page.waitForURL(`${origin}/account`);
    await page.getByLabel('Recipient’s name').fill('Ana');
    await page.getByRole('button', { name: 'Save address' }).click();
    // Street, city and country are missing: the form comes back with the name kept.
    await page.waitForURL(`${origin}/account/addresses`);
    expect(await page.getByRole('alert').textContent()).toContain('There are 3 problems');
    expect(await page.getByLabel('Recipient’s name').inputValue()).toBe('Ana');
    await page.getByLabel('Street and number').fill('2 Side Street');
    await page.getByLabel('City').fill('Shiraz');
    await page.getByLabel('Country code').fill('ir');
    await page.getByRole('button', { name: 'Save address' }).click();
    await page.waitForURL(/\/account\?done=address-added/);
    expect(await page.getByTestId('account-address').count()).toBe(1);
    await page.getByRole('button', { name: /^Delete/ }).click();
    await page.waitForURL(/\/account\?done=address-deleted/);
    expect(await page.getByTestId('account-address').count()).toBe(0);
    await page.getByTestId('logout').click();
    await page.waitForURL(`${origin}/`);
    await context.close();
  });

  it('axe-core finds no serious or critical violations on login, register and account, en and fa', async () => {
    const context = await newContext();
    const page = await context.newPage();
    const found: string[] = [];
    const check = async (label: string) => {
      const violations = await seriousAccessibilityViolations(page);
      if (violations.length > 0) found.push(`${label}\n${describeViolations(violations)}`);
    };
    for (const lang of ['en', 'fa']) {
      for (const path of ['/login', '/register']) {
        await page.goto(`${origin}${path}?lang=${lang}`);
        await check(`${path}?lang=${lang}`);
      }
      // The register form with its errors shown.
      await page.locator('#register-email').fill('not-an-email');
      await page.locator('form.account-form button[type="submit"]').click();
      await page.waitForURL(`${origin}/register`);
      expect(await page.getByRole('alert').count()).toBe(1);
      await check(`/register with errors, ${lang}`);
    }
    await signInAsShopper(page);
    for (const lang of ['en', 'fa']) {
      await page.goto(`${origin}/account?lang=${lang}`);
      expect(await page.getByTestId('account-order').count()).toBe(2);
      await check(`/account?lang=${lang}`);
    }
    expect(found.join('\n\n')).toBe('');
    await context.close();
  });

  it('screenshots: login, register and account, en and fa, desktop and phone, no sideways scrolling', async () => {
    const viewports = {
      desktop: { width: 1280, height: 800 },
      phone: { width: 390, height: 844 },
    };
    for (const [device, viewport] of Object.entries(viewports)) {
      const context = await newContext({ viewport, isMobile: device === 'phone' });
      const page = await context.newPage();
      for (const lang of ['en', 'fa']) {
        for (const name of ['login', 'register', 'account']) {
          // Signed-in buyers are sent on from /login and /register: those are shown signed out.
          if (name === 'account') await signInAsShopper(page);
          else await context.clearCookies({ name: '__Host-sid' });
          await page.goto(`${origin}/${name}?lang=${lang}`);
          expect(new URL(page.url()).pathname).toBe(`/${name}`);
          expect(await page.locator('html').getAttribute('dir')).toBe(lang === 'fa' ? 'rtl' : 'ltr');
          const overflow = await page.evaluate(
            () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
          );
          expect(overflow, `${name} ${lang} ${device}`).toBeLessThanOrEqual(0);
          const file = await saveScreenshot(page, `account-${name}-${lang}-${device}`);
          expect((await stat(file)).size).toBeGreaterThan(1000);
        }
      }
      await context.close();
    }
  });

  it('the registered buyer’s journey: browse, search, item, variant, cart, register, escrow checkout, order, account', async () => {
    const context = await newContext();
    const page = await context.newPage();
    await page.goto(`${origin}/`);
    await page.getByLabel('Search', { exact: true }).fill('mug');
    await page.getByRole('button', { name: 'Show products' }).click();
    await page.waitForURL(/\/\?q=mug/);
    await page.getByRole('link', { name: /Blue mug/ }).click();
    await page.waitForURL(`${origin}/items/blue-mug`);
    await page.getByRole('radio', { name: /size: L\b/ }).check();
    await page.getByLabel('Quantity', { exact: true }).fill('2');
    await page.getByTestId('add-to-cart').click();
    await expect.poll(() => page.getByTestId('cart-count').textContent()).toBe('2');
    await page.getByTestId('cart-link').click();
    await page.waitForURL(`${origin}/cart`);
    await expect.poll(() => page.getByTestId('cart-line').count()).toBe(1);

    // Checking out as a new account: register and come back to the checkout.
    const email = newEmail();
    await registerThroughPage(page, email, '/checkout');
    await page.waitForURL(/\/checkout/);
    await expect.poll(() => page.getByTestId('checkout-line').count()).toBe(1);
    expect(await page.getByTestId('signed-in-email').textContent()).toBe(`Signed in as ${email}`);
    expect(await page.getByTestId('checkout-total').textContent()).toBe('$30.00');
    await page.getByLabel('Full name').fill('Sara Ahmadi');
    await page.getByLabel('Street and number').fill('1 Main Street');
    await page.getByLabel('City', { exact: true }).fill('Tehran');
    await page.getByLabel('Country code').fill('IR');
    await page.getByRole('radio', { name: 'Escrow protection' }).check();
    const [placed] = await Promise.all([
      page.waitForResponse(
        (response) =>
          response.request().method() === 'POST' && new URL(response.url()).pathname === '/checkout',
      ),
      page.getByTestId('place-order').click(),
    ]);
    expect(placed.status(), placed.status() === 303 ? '' : await placed.text()).toBe(303);
    await page.waitForURL(/\/orders\/[0-9a-f-]{36}/);
    const orderId = new URL(page.url()).pathname.split('/')[2] as string;
    expect(await page.getByTestId('order-status').getAttribute('data-status')).toBe('pending_payment');
    expect(await page.getByTestId('order-status').textContent()).toBe('Waiting for payment');
    expect(await page.getByTestId('order-rail').textContent()).toBe('Escrow protection');

    await page.getByTestId('account-link').click();
    await page.waitForURL(`${origin}/account`);
    const listed = page.getByTestId('account-order');
    expect(await listed.count()).toBe(1);
    expect(await listed.getAttribute('data-order-id')).toBe(orderId);
    expect(await page.getByTestId('account-order-status').textContent()).toBe('Waiting for payment');
    await listed.getByRole('link').click();
    await page.waitForURL(`${origin}/orders/${orderId}`);
    await context.close();
  }, 60_000);
});
