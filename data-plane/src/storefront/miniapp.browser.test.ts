import { randomBytes } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { launchBrowser, saveScreenshot } from '@amanat/kit/testing/browser';
import { sign } from '@telegram-apps/init-data-node';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buyers } from '../buyers/schema.ts';
import { BUYER_SESSION_COOKIE } from '../buyers/session.ts';
import { createProduct } from '../catalog/testing.ts';
import { startTestDataPlane, type TestDataPlane } from '../testing/harness.ts';
import { type Browser, TEST_BRAND as brand, listenOnLoopback, loopbackContext } from './browser-testing.ts';
import { foregroundOn, PAGE_BACKGROUND } from './theme.ts';

/**
 * The storefront as a Telegram Mini App in a real browser (Debian's Chromium through
 * playwright-core). A fake Telegram mobile client is installed before any page script runs:
 * the webview proxy records every method the page calls, and the test plays Telegram's side
 * by calling `Telegram.WebView.receiveEvent`. initData is signed with the shop's bot token,
 * exactly as Telegram signs it.
 */

type Context = Awaited<ReturnType<Browser['newContext']>>;
type Page = Awaited<ReturnType<Context['newPage']>>;
interface TelegramEvent {
  eventType: string;
  eventData: Record<string, unknown> | string;
}
type TelegramWindow = Window & {
  __telegramEvents: TelegramEvent[];
  Telegram: { WebView: { receiveEvent(eventType: string, eventData?: unknown): void } };
};

const BOT_TOKEN = `${100_000 + Math.floor(Math.random() * 900_000)}:${randomBytes(26).toString('base64url')}`;
const MAX_AGE = 600;
const SESSION_URL = '/api/storefront/telegram/session';

let dp: TestDataPlane;
let browser: Browser;
let origin: string;
let mug: Awaited<ReturnType<typeof createProduct>>;

let nextUserId = 8_000_000_000;
const newUser = () => ({ id: ++nextUserId, first_name: 'Sara', last_name: 'Ahmadi', language_code: 'fa' });

/** initData as Telegram builds it for a Mini App launch. */
function initData(
  user: { id: number; first_name: string },
  options: { token?: string; authDate?: Date } = {},
): string {
  return sign(
    { user, query_id: `AAH${randomBytes(8).toString('base64url')}`, chat_type: 'private' },
    options.token ?? BOT_TOKEN,
    options.authDate ?? new Date(),
  );
}

/** The URL Telegram opens: the page with the launch parameters in its hash. */
const launchUrl = (path: string, data: string) =>
  `${origin}${path}#${new URLSearchParams({
    tgWebAppData: data,
    tgWebAppVersion: '8.0',
    tgWebAppPlatform: 'ios',
    tgWebAppThemeParams: JSON.stringify({ bg_color: '#ffffff', text_color: '#000000' }),
  })}`;

/** Telegram's mobile client as the page sees it: a webview proxy, recording every call. */
function installFakeTelegram() {
  const target = window as unknown as TelegramWindow & { TelegramWebviewProxy: unknown };
  target.__telegramEvents = [];
  target.TelegramWebviewProxy = {
    postEvent(eventType: string, eventData: string) {
      target.__telegramEvents.push({ eventType, eventData: JSON.parse(eventData) });
    },
  };
}

/** A fresh browser profile on loopback only, inside Telegram unless told otherwise. */
async function newContext(
  options: { telegram?: boolean; viewport?: { width: number; height: number } } = {},
) {
  const context = await loopbackContext(
    browser,
    origin,
    options.viewport ? { viewport: options.viewport, isMobile: true } : {},
  );
  if (options.telegram !== false) await context.addInitScript(installFakeTelegram);
  return context;
}

/** The methods the current page has called, in order. */
const events = (page: Page) => page.evaluate(() => (window as unknown as TelegramWindow).__telegramEvents);

/** The data of the last call of `eventType` on the current page. */
async function lastCall(page: Page, eventType: string) {
  return (await events(page)).filter((event) => event.eventType === eventType).at(-1)?.eventData;
}

const telegramSends = (page: Page, eventType: string) =>
  page.evaluate(
    (type) => (window as unknown as TelegramWindow).Telegram.WebView.receiveEvent(type),
    eventType,
  );

const sessionCookie = async (context: Context) =>
  (await context.cookies()).find((cookie) => cookie.name === BUYER_SESSION_COOKIE);

/** Opens the Mini App at `path` and returns the answer to its sign-in request. */
async function launch(page: Page, path: string, data: string) {
  const [response] = await Promise.all([
    page.waitForResponse((response) => response.url() === `${origin}${SESSION_URL}`),
    page.goto(launchUrl(path, data)),
  ]);
  return response;
}

beforeAll(async () => {
  [dp, browser] = await Promise.all([
    startTestDataPlane({
      env: { TELEGRAM_BOT_TOKEN: BOT_TOKEN, TELEGRAM_INIT_DATA_MAX_AGE_SECONDS: String(MAX_AGE) },
    }),
    launchBrowser(),
  ]);
  const settings = await dp.app.inject({
    method: 'PATCH',
    url: '/api/admin/settings',
    headers: await dp.staffHeaders('owner'),
    payload: {
      brand,
      features: { login_methods: ['telegram'], disclose_platform: false },
      locales: ['en', 'fa'],
      default_locale: 'en',
      currency: 'USD',
    },
  });
  expect(settings.statusCode, settings.body).toBe(200);
  mug = await createProduct(dp, {
    slug: 'blue-mug',
    title: 'Blue mug',
    images: [{ url: 'https://img.example.com/mug.jpg', alt: 'A blue mug on a wooden table' }],
    variants: [{ sku: 'MUG-1', price_minor: 1250, stock: 10 }],
  });
  await createProduct(dp, {
    slug: 'teapot',
    title: 'Clay teapot',
    images: [{ url: 'https://img.example.com/teapot.jpg', alt: 'A round clay teapot' }],
    variants: [{ sku: 'POT-1', price_minor: 4200, stock: 2 }],
  });
  origin = await listenOnLoopback(dp);
});

afterAll(async () => {
  await browser?.close();
  await dp?.close();
});

describe('the storefront as a Telegram Mini App', () => {
  it('signs the Telegram user in, paints the brand, and drives the Back and Main buttons', async () => {
    const context = await newContext();
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(error.message));
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) problems.push(message.text());
    });
    const signIns: string[] = [];
    page.on('request', (request) => {
      if (request.url() === `${origin}${SESSION_URL}`) signIns.push(request.postData() ?? '');
    });
    const user = newUser();
    const data = initData(user);

    const response = await launch(page, '/', data);
    expect(response.status()).toBe(201);
    expect(signIns).toEqual([JSON.stringify({ init_data: data })]);
    expect(await sessionCookie(context)).toMatchObject({ httpOnly: true, secure: true, sameSite: 'Lax' });
    const me = await page.evaluate(async () => {
      const answer = await fetch('/api/storefront/account/me');
      return { status: answer.status, body: await answer.json() };
    });
    expect(me).toMatchObject({ status: 200, body: { display_name: 'Sara Ahmadi', email: null } });
    const [buyer] = await dp.db.select().from(buyers).where(eq(buyers.id, me.body.id));
    expect(buyer?.telegramUserId).toBe(user.id);
    // The signed initData does not stay in the address.
    expect(page.url()).toBe(`${origin}/`);

    // The brand in Telegram's chrome, then ready and full height; no Back button on the catalog.
    expect((await events(page)).map((event) => event.eventType)).toEqual([
      'web_app_set_header_color',
      'web_app_set_background_color',
      'web_app_ready',
      'web_app_expand',
      'web_app_setup_main_button',
      'web_app_setup_back_button',
    ]);
    expect(await lastCall(page, 'web_app_set_header_color')).toEqual({ color: brand.primary_color });
    expect(await lastCall(page, 'web_app_set_background_color')).toEqual({ color: PAGE_BACKGROUND });
    expect(await lastCall(page, 'web_app_setup_main_button')).toEqual({ is_visible: false });
    expect(await lastCall(page, 'web_app_setup_back_button')).toEqual({ is_visible: false });

    // The next page has no hash: the launch parameters come from sessionStorage (the header
    // colour needs version 6.9, which only the stored parameters tell), and no second sign-in.
    await page.getByRole('link', { name: /Blue mug/ }).click();
    await page.waitForURL(`${origin}/items/blue-mug`);
    expect(await lastCall(page, 'web_app_set_header_color')).toEqual({ color: brand.primary_color });
    expect(await lastCall(page, 'web_app_setup_back_button')).toEqual({ is_visible: true });
    expect(await lastCall(page, 'web_app_setup_main_button')).toEqual({ is_visible: false });
    await page.getByTestId('add-to-cart').click();
    await expect.poll(() => page.getByTestId('cart-count').textContent()).toBe('1');

    await page.getByTestId('cart-link').click();
    await page.waitForURL(`${origin}/cart`);
    await expect.poll(() => page.getByTestId('cart-line').count()).toBe(1);
    expect(await lastCall(page, 'web_app_setup_main_button')).toEqual({
      is_visible: true,
      is_active: true,
      is_progress_visible: false,
      text: 'Checkout',
      color: brand.accent_color,
      text_color: foregroundOn(brand.accent_color),
    });
    await telegramSends(page, 'main_button_pressed');
    await page.waitForURL((url) => url.pathname === '/checkout');
    // The checkout page asks again with the localStorage cart, then shows its form.
    await page.locator('form[data-checkout]').waitFor();
    await expect
      .poll(() => lastCall(page, 'web_app_setup_main_button'))
      .toMatchObject({ is_visible: true, text: 'Place order', color: brand.accent_color });

    // Back goes back: to the cart, then (on the cart) to the item page.
    await telegramSends(page, 'back_button_pressed');
    await page.waitForURL(`${origin}/cart`);
    await telegramSends(page, 'back_button_pressed');
    await page.waitForURL(`${origin}/items/blue-mug`);
    expect(signIns).toHaveLength(1);

    // Removing the last line hides the MainButton.
    await page.goto(`${origin}/cart`);
    await expect.poll(() => page.getByTestId('cart-line').count()).toBe(1);
    await page.getByRole('button', { name: 'Remove' }).click();
    await expect.poll(() => lastCall(page, 'web_app_setup_main_button')).toEqual({ is_visible: false });
    expect(problems).toEqual([]);
    await context.close();
  });

  it('Back on a page opened straight from a chat goes to the catalog; the cart in Persian says so in Persian', async () => {
    const context = await newContext();
    const page = await context.newPage();
    expect((await launch(page, '/items/teapot?lang=fa', initData(newUser()))).status()).toBe(201);
    expect(await lastCall(page, 'web_app_setup_back_button')).toEqual({ is_visible: true });
    await page.getByTestId('add-to-cart').click();
    await expect.poll(() => page.getByTestId('cart-count').textContent()).toBe('۱');
    await telegramSends(page, 'back_button_pressed');
    await page.waitForURL(`${origin}/`);
    expect(await page.locator('html').getAttribute('lang')).toBe('fa');
    expect(await lastCall(page, 'web_app_setup_back_button')).toEqual({ is_visible: false });

    await page.getByTestId('cart-link').click();
    await page.waitForURL(`${origin}/cart`);
    await expect.poll(() => page.getByTestId('cart-line').count()).toBe(1);
    expect(await lastCall(page, 'web_app_setup_main_button')).toMatchObject({
      is_visible: true,
      text: 'تسویه حساب',
    });
    await context.close();
  });

  it('on the checkout page the MainButton places the order: the form is validated, then posted', async () => {
    const context = await newContext();
    // A line in the no-script cart cookie: the checkout page renders its form from it.
    await context.addCookies([{ name: 'cart', value: `${mug.variants[0]?.id}:1`, url: origin }]);
    const page = await context.newPage();
    expect((await launch(page, '/checkout', initData(newUser()))).status()).toBe(201);
    const form = page.locator('form[data-checkout]');
    await form.waitFor();
    await expect
      .poll(() => lastCall(page, 'web_app_setup_main_button'))
      .toMatchObject({ is_visible: true, is_active: true, text: 'Place order' });
    const posts: string[] = [];
    page.on('request', (request) => {
      if (request.method() === 'POST' && new URL(request.url()).pathname === '/checkout')
        posts.push(request.postData() ?? '');
    });

    // Required fields empty: the browser refuses the submit, as it would the page's own button.
    await form.evaluate((element) => {
      element.addEventListener('invalid', () => element.setAttribute('data-refused', ''), { capture: true });
    });
    await telegramSends(page, 'main_button_pressed');
    expect(await form.getAttribute('data-refused')).toBe('');
    expect(posts).toEqual([]);

    await form.evaluate((element) => {
      for (const control of element.querySelectorAll<HTMLInputElement>('input:invalid, textarea:invalid')) {
        if (control.type === 'radio') control.checked = true;
        else if (control.type === 'email') control.value = 'sara@example.com';
        else if (control.type === 'tel') control.value = '+989121234567';
        else control.value = 'Shiraz';
      }
    });
    const [posted] = await Promise.all([
      page.waitForRequest((request) => request.method() === 'POST' && request.url().includes('/checkout')),
      telegramSends(page, 'main_button_pressed'),
    ]);
    expect(new URLSearchParams(posted.postData() ?? '').get('email')).toBe('sara@example.com');
    await context.close();
  });

  it('opened into a page that depends on the buyer, it is reloaded once signed in', async () => {
    const context = await newContext();
    const page = await context.newPage();
    // A guest asking for the account is sent to the sign-in page; the hash goes along.
    expect((await launch(page, '/account', initData(newUser()))).status()).toBe(201);
    await page.waitForURL(`${origin}/account`);
    expect(await page.getByTestId('signed-in-as').textContent()).toContain('Sara Ahmadi');
    await context.close();
  });

  it('outside Telegram the script does nothing: no sign-in, no Telegram globals', async () => {
    const context = await newContext({ telegram: false });
    const page = await context.newPage();
    const signIns: string[] = [];
    page.on('request', (request) => {
      if (request.url().includes(SESSION_URL)) signIns.push(request.url());
    });
    await page.goto(`${origin}/`);
    await page.getByRole('link', { name: /Blue mug/ }).click();
    await page.waitForURL(`${origin}/items/blue-mug`);
    expect(await page.evaluate(() => 'Telegram' in window)).toBe(false);
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    expect(signIns).toEqual([]);
    await context.close();
  });

  describe('refused initData: no session, and the shop still works as a guest', () => {
    async function expectRefused(data: string, problem: string) {
      const context = await newContext();
      const page = await context.newPage();
      let signIns = 0;
      page.on('request', (request) => {
        if (request.url() === `${origin}${SESSION_URL}`) signIns++;
      });
      const response = await launch(page, '/', data);
      expect(response.status()).toBe(401);
      expect(await response.json()).toMatchObject({ type: `/problems/telegram-init-data-${problem}` });
      expect(await sessionCookie(context)).toBeUndefined();
      const me = await page.evaluate(() =>
        fetch('/api/storefront/account/me').then((answer) => answer.status),
      );
      expect(me).toBe(401);
      // Nothing broken: the page is ready in Telegram and browsable.
      expect((await events(page)).map((event) => event.eventType)).toContain('web_app_ready');
      await page.getByRole('link', { name: /Clay teapot/ }).click();
      await page.waitForURL(`${origin}/items/teapot`);
      expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Clay teapot');
      // Refused once, never asked again in this Mini App session.
      expect(signIns).toBe(1);
      expect(await sessionCookie(context)).toBeUndefined();
      await context.close();
    }

    it('signed with another bot token', async () => {
      const otherBot = `${100_000 + Math.floor(Math.random() * 900_000)}:${randomBytes(26).toString('base64url')}`;
      await expectRefused(initData(newUser(), { token: otherBot }), 'forged');
    });

    it('a field changed after signing', async () => {
      const params = new URLSearchParams(initData(newUser()));
      params.set('user', JSON.stringify({ id: 1, first_name: 'Mallory' }));
      await expectRefused(params.toString(), 'forged');
    });

    it(`older than TELEGRAM_INIT_DATA_MAX_AGE_SECONDS (${MAX_AGE} s)`, async () => {
      const authDate = new Date(Date.now() - (MAX_AGE + 60) * 1000);
      await expectRefused(initData(newUser(), { authDate }), 'stale');
    });

    it('used once already, then opened in a fresh browser', async () => {
      const data = initData(newUser());
      const first = await newContext();
      expect((await launch(await first.newPage(), '/', data)).status()).toBe(201);
      expect(await sessionCookie(first)).toBeDefined();
      await first.close();
      await expectRefused(data, 'replayed');
    });
  });

  it('screenshots: the Mini App home at phone width, en and fa', async () => {
    for (const lang of ['en', 'fa']) {
      const context = await newContext({ viewport: { width: 390, height: 844 } });
      const page = await context.newPage();
      expect((await launch(page, `/?lang=${lang}`, initData(newUser()))).status()).toBe(201);
      expect(await page.locator('html').getAttribute('lang')).toBe(lang);
      const overflow = await page.evaluate(
        () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
      );
      expect(overflow).toBeLessThanOrEqual(0);
      const file = await saveScreenshot(page, `miniapp-home-${lang}-phone`);
      expect((await stat(file)).size).toBeGreaterThan(1000);
      await context.close();
    }
  });
});
