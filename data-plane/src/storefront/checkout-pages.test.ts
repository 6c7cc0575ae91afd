import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCategory, createProduct } from '../catalog/testing.ts';
import { idempotencyKeys } from '../checkout/schema.ts';
import { adminPost, createBuyer, payOrder, setPolicy, stockRow } from '../orders/fixtures.ts';
import { orders } from '../orders/schema.ts';
import { railDisclosures } from '../settings/rails.ts';
import { paymentRails } from '../settings/schema.ts';
import { startTestDataPlane, type TestDataPlane } from '../testing/harness.ts';
import { i18n } from './i18n/index.ts';

/**
 * The checkout and order pages through fastify's inject, on a real PostgreSQL: the form post
 * places orders through the checkout service (idempotently), refusals come back as the form
 * with messages and write nothing, and the order page opens only for its buyer or its token.
 */

let dp: TestDataPlane;
let mug: { id: string; variants: { id: string; sku: string }[] };
let teapot: { id: string; variants: { id: string; sku: string }[] };
let small: string;
let large: string;
let pot: string;

const address = {
  recipient_name: 'Sara Ahmadi',
  line1: '1 Main Street',
  city: 'Tehran',
  country: 'ir',
};

const setCookies = (response: LightMyRequestResponse) => [response.headers['set-cookie'] ?? []].flat();
const cookieValue = (response: LightMyRequestResponse, name: string) =>
  setCookies(response)
    .find((cookie) => cookie.startsWith(`${name}=`))
    ?.split(';')[0]
    ?.slice(name.length + 1);

const get = (url: string, cookie?: string) =>
  dp.app.inject({ method: 'GET', url, headers: cookie ? { cookie } : {} });

function postForm(form: Record<string, string>, cookie?: string) {
  return dp.app.inject({
    method: 'POST',
    url: '/checkout',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(cookie ? { cookie } : {}) },
    payload: new URLSearchParams(form).toString(),
  });
}

/** The hidden fields the checkout page rendered (key and lines), as a form to post. */
function renderedForm(body: string): Record<string, string> {
  const form: Record<string, string> = {};
  for (const match of body.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)) {
    form[match[1] as string] = match[2] as string;
  }
  return form;
}

/** A guest's complete form for the given cart cookie, as the GET rendered it. */
async function guestForm(cart: string, extra: Record<string, string> = {}): Promise<Record<string, string>> {
  const page = await get('/checkout', `cart=${cart}`);
  expect(page.statusCode, page.body.slice(0, 300)).toBe(200);
  return { ...renderedForm(page.body), email: 'guest@example.com', rail: 'amn_escrow', ...address, ...extra };
}

const orderCount = () => dp.rowCount(orders);
const text = (html: string) => html.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ');
const testIdText = (body: string, testId: string) =>
  new RegExp(`data-testid="${testId}"[^>]*>([^<]*)<`).exec(body)?.[1];

beforeAll(async () => {
  dp = await startTestDataPlane();
  const settings = await dp.app.inject({
    method: 'PATCH',
    url: '/api/admin/settings',
    headers: await dp.staffHeaders('owner'),
    payload: { locales: ['en', 'fa'], default_locale: 'en', currency: 'USD', timezone: 'Asia/Tehran' },
  });
  expect(settings.statusCode, settings.body).toBe(200);
  const kitchen = await createCategory(dp, { name: 'Kitchen', slug: 'kitchen' });
  mug = await createProduct(dp, {
    slug: 'blue-mug',
    title: 'Blue mug',
    category_id: kitchen.id,
    variants: [
      { sku: 'MUG-S', options: { size: 'S' }, price_minor: 1250, stock: 50 },
      { sku: 'MUG-L', options: { size: 'L' }, price_minor: 1500, stock: 50 },
    ],
  });
  teapot = await createProduct(dp, {
    slug: 'teapot',
    title: 'Clay teapot',
    variants: [{ sku: 'POT-1', price_minor: 4200, stock: 2 }],
  });
  const sku = (code: string) => mug.variants.find((variant) => variant.sku === code)?.id as string;
  [small, large] = [sku('MUG-S'), sku('MUG-L')];
  pot = teapot.variants[0]?.id as string;
});

afterAll(() => dp?.close());

describe('the checkout page', () => {
  it('renders the cookie cart with server prices, the rails with their disclosures, in English', async () => {
    const response = await get('/checkout', `cart=${small}:2|${pot}:1`);
    expect(response.statusCode).toBe(200);
    expect(response.headers['cache-control']).toBe('no-store');
    // Under no-referrer a browser would post the form with `Origin: null`, refused as cross-site.
    expect(response.headers['referrer-policy']).toBe('strict-origin-when-cross-origin');
    const body = response.body;
    expect(body).toContain('<meta name="robots" content="noindex"/>');
    expect(body).toContain('<h1>Checkout</h1>');
    expect(body).toContain('<form class="checkout-form" method="post" action="/checkout" data-checkout>');
    expect(body).toContain('data-checkout-sync');
    expect(body.match(/data-testid="checkout-line"/g)).toHaveLength(2);
    expect(body).toContain(`name="line.${small}" value="2"`);
    expect(body).toContain(`name="line.${pot}" value="1"`);
    // 2 × $12.50 + $42.00, computed on the server.
    expect(testIdText(body, 'checkout-total')).toBe('$67.00');
    expect(renderedForm(body).idempotency_key).toMatch(/^[A-Za-z0-9_-]{32}$/);
    // The default policy's rails, the default (escrow) checked, each described by its disclosure.
    expect(body.match(/data-testid="rail-option"/g)).toHaveLength(3);
    expect(body).toMatch(/id="checkout-rail-amn_escrow" name="rail" value="amn_escrow" checked/);
    for (const rail of ['amn_escrow', 'amn_direct', 'manual_invoice'] as const) {
      expect(body).toContain(`aria-describedby="checkout-rail-${rail}-disclosure"`);
      expect(body).toContain(`>${railDisclosures[rail]}</p>`);
    }
    expect(body).toMatch(/<input type="email" id="checkout-email" name="email"[^>]* required/);
    expect(body).toMatch(/<label for="checkout-country">Country code<\/label>/);
    // A guest may sign in first and come back here.
    expect(body).toContain('href="/login?next=%2Fcheckout" data-testid="checkout-sign-in"');
    expect(body).not.toMatch(/amanat/i);
    // A GET never hands out the same key twice.
    const again = await get('/checkout', `cart=${small}:2`);
    expect(renderedForm(again.body).idempotency_key).not.toBe(renderedForm(body).idempotency_key);
  });

  it('renders in Persian: right to left, Persian digits and labels, translated disclosures', async () => {
    const response = await get(`/checkout?lang=fa&cart=${encodeURIComponent(`${large}:3`)}`);
    expect(response.statusCode).toBe(200);
    const body = response.body;
    expect(body).toContain('<html lang="fa" dir="rtl">');
    expect(body).toContain('<h1>تکمیل خرید</h1>');
    const total = testIdText(body, 'checkout-total') ?? '';
    expect(total).toMatch(/۴۵/);
    expect(total).not.toMatch(/[0-9]/);
    expect(body).toContain(i18n('fa').t('rail.amn_escrow.disclosure'));
    expect(body).toContain('ثبت سفارش');
    // Lines from `?cart=` (the script's) are not the cookie's, so not marked for adoption.
    expect(body).not.toContain('data-cart-line');
  });

  it('the English disclosures are word for word the ones an order records', () => {
    for (const rail of paymentRails) {
      expect(i18n('en').t(`rail.${rail}.disclosure`)).toBe(railDisclosures[rail]);
    }
  });

  it('an empty cart says so and links to the catalog', async () => {
    const response = await get('/checkout');
    expect(response.statusCode).toBe(200);
    expect(response.body).toContain('data-testid="checkout-empty"');
    expect(response.body).toContain('<a href="/">Browse the catalog</a>');
    expect(response.body).not.toContain('data-checkout>');
  });

  it('only the rails the shop allows are offered, its default checked', async () => {
    await setPolicy(dp, { allowed_rails: ['amn_direct', 'manual_invoice'], default_rail: 'manual_invoice' });
    try {
      const body = (await get('/checkout', `cart=${small}:1`)).body;
      expect(body.match(/data-testid="rail-option"/g)).toHaveLength(2);
      expect(body).not.toContain('value="amn_escrow"');
      expect(body).toMatch(/value="manual_invoice" checked/);
    } finally {
      await setPolicy(dp, {
        allowed_rails: ['amn_escrow', 'amn_direct', 'manual_invoice'],
        default_rail: 'amn_escrow',
      });
    }
  });
});

describe('placing an order with the form', () => {
  it('a guest: order placed, stock reserved, cookie cart cleared, redirected to the order with its token', async () => {
    const before = await orderCount();
    const reservedBefore = (await stockRow(dp, small))?.reserved ?? 0;
    const form = await guestForm(`${small}:2`, { note: 'Ring twice', phone: '+98 ۹۱۲ 000 0000' });
    const response = await postForm(form, `cart=${small}:2`);
    expect(response.statusCode, response.body.slice(0, 500)).toBe(303);
    const location = response.headers.location as string;
    const match = /^\/orders\/([0-9a-f-]{36})\?token=([A-Za-z0-9_-]{43})$/.exec(location);
    expect(match).not.toBeNull();
    const [, orderId, token] = match as unknown as [string, string, string];
    expect(await orderCount()).toBe(before + 1);
    expect((await stockRow(dp, small))?.reserved).toBe(reservedBefore + 2);
    const [stored] = await dp.db.select().from(orders).where(eq(orders.id, orderId));
    expect(stored).toMatchObject({
      status: 'pending_payment',
      rail: 'amn_escrow',
      email: 'guest@example.com',
      totalMinor: 2500,
      note: 'Ring twice',
      railDisclosure: railDisclosures.amn_escrow,
      shippingAddress: expect.objectContaining({ country: 'IR', city: 'Tehran', phone: '+98 912 000 0000' }),
    });
    expect(setCookies(response).find((cookie) => cookie.startsWith('cart='))).toMatch(
      /^cart=;.*Expires=Thu, 01 Jan 1970/,
    );
    const placed = cookieValue(response, 'placed');
    expect(placed).toBe(orderId);

    // The order page with the token: status, rail, disclosure, instructions, the link to keep.
    const page = await get(location, `placed=${placed}`);
    expect(page.statusCode).toBe(200);
    expect(page.headers['cache-control']).toBe('no-store');
    expect(page.headers['referrer-policy']).toBe('no-referrer');
    expect(page.body).toContain('<meta name="robots" content="noindex"/>');
    expect(page.body).toContain('data-order-placed');
    expect(page.body).not.toMatch(/amanat/i);
    expect(page.body).toMatch(/data-status="pending_payment"[^>]*>Waiting for payment</);
    expect(testIdText(page.body, 'order-disclosure')).toBe(railDisclosures.amn_escrow);
    expect(testIdText(page.body, 'payment-instructions')).toMatch(
      new RegExp(`^Pay \\$25\\.00 into escrow quoting reference \u2068${orderId}\u2069 before `),
    );
    expect(page.body).toContain(`value="https://test-shop.localhost/orders/${orderId}?token=${token}"`);
    expect(page.body).toContain('data-testid="invoice-soon"');
    expect(page.body).toMatch(/<button type="button" class="button-secondary" disabled/);
    expect(page.body).toContain('Order placed');
    // The one-shot marker is spent: a reload leaves the next cart alone.
    expect(setCookies(page).some((cookie) => cookie.startsWith('placed=;'))).toBe(true);
    expect((await get(location)).body).not.toContain('data-order-placed');

    // Without the token, with a wrong one, or as someone else's session: the shop's 404.
    const stranger = await createBuyer(dp);
    for (const [url, cookie] of [
      [`/orders/${orderId}`, undefined],
      [`/orders/${orderId}?token=${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`, undefined],
      [`/orders/${orderId}?token=nope`, undefined],
      [`/orders/${orderId}`, stranger.cookie],
      [`/orders/${randomUUID()}?token=${token}`, undefined],
      ['/orders/not-a-uuid', undefined],
    ] as const) {
      const refused = await get(url, cookie);
      expect(refused.statusCode, url).toBe(404);
      expect(refused.body).toContain('<h1>Page not found</h1>');
      expect(refused.body).not.toContain('guest@example.com');
      expect(refused.body).not.toContain('data-status');
    }
  });

  it('a signed-in buyer: their email, a saved address, no token; the order page opens with the session', async () => {
    const buyer = await createBuyer(dp);
    const saved = await dp.app.inject({
      method: 'POST',
      url: '/api/storefront/account/addresses',
      headers: { cookie: buyer.cookie },
      payload: { ...address, country: 'IR', is_default: true },
    });
    expect(saved.statusCode, saved.body).toBe(201);
    const addressId = saved.json().id as string;
    const cookie = `${buyer.cookie}; cart=${pot}:1`;
    const page = await get('/checkout', cookie);
    expect(page.body).toContain(`Signed in as ${buyer.email}`);
    expect(page.body).not.toContain('data-testid="checkout-sign-in"');
    expect(page.body).not.toContain('name="email"');
    expect(page.body).toMatch(new RegExp(`name="address_id" value="${addressId}" checked`));
    const form = { ...renderedForm(page.body), address_id: addressId, rail: 'amn_direct' };
    const response = await postForm(form, cookie);
    expect(response.statusCode, response.body.slice(0, 500)).toBe(303);
    const location = response.headers.location as string;
    expect(location).toMatch(/^\/orders\/[0-9a-f-]{36}$/);
    const orderId = location.split('/')[2] as string;
    const [stored] = await dp.db.select().from(orders).where(eq(orders.id, orderId));
    expect(stored).toMatchObject({ buyerId: buyer.id, email: buyer.email, accessTokenHash: null });
    expect(stored?.shippingAddress).toMatchObject({ line1: address.line1, country: 'IR' });

    const own = await get(location, buyer.cookie);
    expect(own.statusCode).toBe(200);
    expect(own.body).toMatch(/data-status="pending_payment"/);
    expect(own.body).not.toContain('data-testid="order-link"');
    expect((await get(location)).statusCode).toBe(404);
    expect((await get(location, (await createBuyer(dp)).cookie)).statusCode).toBe(404);
  });

  it('a double submit (or a retried post) with the same key places one order', async () => {
    const before = await orderCount();
    const form = await guestForm(`${large}:1`);
    const [first, second] = await Promise.all([postForm(form), postForm(form)]);
    const third = await postForm(form);
    const locations = [first, second, third].map((response) => {
      expect(response.statusCode, response.body.slice(0, 300)).toBe(303);
      return response.headers.location;
    });
    expect(new Set(locations).size).toBe(1);
    expect(await orderCount()).toBe(before + 1);
    // The same key with a changed form is not a retry: the form comes back with a fresh key.
    const changed = await postForm({ ...form, email: 'someone-else@example.com' });
    expect(changed.statusCode).toBe(422);
    expect(changed.body).toContain('This form was already used to place a different order.');
    expect(renderedForm(changed.body).idempotency_key).not.toBe(form.idempotency_key);
    expect(await orderCount()).toBe(before + 1);
  });

  it('tampered or incomplete forms come back with 4xx, the problem named, the input kept, nothing written', async () => {
    const base = await guestForm(`${small}:1`);
    const { [`line.${small}`]: _line, ...withoutLine } = base;
    const cases: [string, Record<string, string>, number, string, string | null][] = [
      [
        'unknown variant',
        { ...withoutLine, [`line.${randomUUID()}`]: '1' },
        400,
        'An item in your cart is no longer sold',
        null,
      ],
      [
        'not a uuid',
        { ...withoutLine, 'line.nope': '1' },
        400,
        'An item in your cart is no longer sold',
        null,
      ],
      ['zero quantity', { ...base, [`line.${small}`]: '0' }, 400, 'Your cart could not be read', null],
      ['negative quantity', { ...base, [`line.${small}`]: '-2' }, 400, 'Your cart could not be read', null],
      ['no lines', withoutLine, 400, 'Your cart could not be read', null],
      [
        'disallowed rail',
        { ...base, rail: 'external_provider' },
        422,
        'Choose one of the payment methods',
        'rail',
      ],
      ['unknown rail', { ...base, rail: 'bitcoin' }, 400, 'Choose one of the payment methods', 'rail'],
      ['missing email', { ...base, email: '' }, 400, 'Enter an email address', 'email'],
      ['bad email', { ...base, email: 'not-an-email' }, 400, 'Enter an email address', 'email'],
      ['missing city', { ...base, city: '' }, 400, 'Enter the city', 'city'],
      ['bad country', { ...base, country: 'Iran' }, 400, 'two-letter code', 'country'],
      ['bad phone', { ...base, phone: 'call me' }, 400, 'Use digits, spaces', 'phone'],
      ['saved address as a guest', { ...base, address_id: randomUUID() }, 400, 'saved addresses', null],
      ['no idempotency key', { ...base, idempotency_key: '' }, 400, 'This form is out of date', null],
    ];
    const before = await orderCount();
    const keysBefore = await dp.rowCount(idempotencyKeys);
    for (const [name, form, status, message, field] of cases) {
      const response = await postForm(form);
      expect(response.statusCode, name).toBe(status);
      expect(response.headers['content-type'], name).toBe('text/html; charset=utf-8');
      expect(response.body, name).toMatch(/class="checkout-error-summary" role="alert"/);
      expect(text(response.body), name).toContain(message);
      if (field) {
        expect(response.body, name).toContain(`id="checkout-${field}-error"`);
        expect(response.body, name).toContain(`href="#checkout-${field}"`);
      }
      if (name === 'missing city') {
        // The buyer's input is kept.
        expect(response.body).toContain('value="guest@example.com"');
        expect(response.body).toMatch(/id="checkout-city" name="city" value [^>]*aria-invalid="true"/);
        expect(response.body).toContain('value="1 Main Street"');
      }
    }
    expect(await orderCount()).toBe(before);
    expect(await dp.rowCount(idempotencyKeys)).toBe(keysBefore);
  });

  it('escrow required by the policy: another rail is refused at the rail field', async () => {
    await setPolicy(dp, { escrow_required_above_minor: 1000 });
    try {
      const before = await orderCount();
      const response = await postForm(await guestForm(`${small}:1`, { rail: 'amn_direct' }));
      expect(response.statusCode).toBe(422);
      expect(response.body).toContain('id="checkout-rail-error"');
      expect(text(response.body)).toContain('This order can only be paid with escrow protection.');
      expect(await orderCount()).toBe(before);
    } finally {
      await setPolicy(dp, { escrow_required_above_minor: null });
    }
  });

  it('a sold-out line: 409, the line says how many are left, nothing reserved', async () => {
    const before = await orderCount();
    const reserved = (await stockRow(dp, pot))?.reserved ?? 0;
    const form = await guestForm(`${pot}:1`, { [`line.${pot}`]: '3' });
    const response = await postForm(form);
    expect(response.statusCode).toBe(409);
    expect(response.body).toContain(`id="checkout-line-${pot}-error"`);
    expect(text(response.body)).toContain(`Only ${2 - reserved} left in stock.`);
    expect(await orderCount()).toBe(before);
    expect((await stockRow(dp, pot))?.reserved).toBe(reserved);
  });

  it('Persian: a refused form speaks Persian', async () => {
    const form = await guestForm(`${small}:1`, { email: '' });
    const response = await dp.app.inject({
      method: 'POST',
      url: '/checkout',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: 'lang=fa' },
      payload: new URLSearchParams(form).toString(),
    });
    expect(response.statusCode).toBe(400);
    expect(response.body).toContain('<html lang="fa" dir="rtl">');
    expect(response.body).toContain('یک نشانی ایمیل وارد کنید');
  });

  it('a cross-site post is refused before anything is read', async () => {
    const before = await orderCount();
    const response = await dp.app.inject({
      method: 'POST',
      url: '/checkout',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        origin: 'https://evil.example',
        'sec-fetch-site': 'cross-site',
      },
      payload: new URLSearchParams(await guestForm(`${small}:1`)).toString(),
    });
    expect(response.statusCode).toBe(403);
    expect(await orderCount()).toBe(before);
  });
});

describe('the order page over the order’s life', () => {
  it('payment adds to the timeline; fulfilment shows carrier, tracking and the download link; en and fa', async () => {
    const form = await guestForm(`${large}:2`);
    const placed = await postForm(form);
    const location = placed.headers.location as string;
    const orderId = location.split(/[/?]/)[2] as string;
    await payOrder(dp, { id: orderId, total_minor: 2 * 1500, currency: 'USD', rail: 'amn_escrow' });

    const paid = await get(location);
    expect(paid.body).toMatch(/data-status="escrow_funded"[^>]*>Paid into escrow</);
    expect(paid.body).not.toContain('data-testid="payment-instructions"');
    const timeline = /data-testid="order-timeline">(.*?)<\/ol>/s.exec(paid.body)?.[1] ?? '';
    expect(timeline.match(/<li /g)).toHaveLength(2);
    expect(text(timeline)).toMatch(/Order placed .*Paid into escrow/);
    expect(timeline).toMatch(/<time datetime="\d{4}-\d\d-\d\dT[^"]+">[^<]+<\/time>/);

    expect(
      (await adminPost(dp, orderId, 'start-fulfillment', { carrier: 'Post', tracking_number: 'RR123IR' }))
        .statusCode,
    ).toBe(200);
    const event = await adminPost(dp, orderId, 'tracking', {
      status: 'in_transit',
      description: 'Left the depot',
      location: 'Tehran',
      occurred_at: '2030-01-01T10:00:00Z',
    });
    expect(event.statusCode).toBe(200);
    const digital = await adminPost(dp, orderId, 'digital-delivery', {
      url: 'https://files.example.com/book.pdf',
    });
    expect(digital.statusCode, digital.body).toBe(200);

    const shipped = await get(location);
    const body = shipped.body;
    expect(body).toMatch(/data-status="fulfillment"/);
    expect(testIdText(body, 'order-carrier')).toBe('Post');
    expect(testIdText(body, 'order-tracking-number')).toBe('RR123IR');
    expect(text(body)).toMatch(/In transit .*Left the depot — Tehran/);
    const href = /href="([^"]+)" data-testid="order-download"/
      .exec(body)?.[1]
      ?.replaceAll('&amp;', '&') as string;
    expect(href).toMatch(new RegExp(`^/orders/${orderId}/download\\?expires=\\d+&sig=[A-Za-z0-9_-]{43}$`));
    const download = await get(href);
    expect(download.statusCode).toBe(303);
    expect(download.headers.location).toBe('https://files.example.com/book.pdf');
    expect(download.headers['referrer-policy']).toBe('no-referrer');
    expect((await get(href.replace(/sig=.*$/, `sig=${'A'.repeat(43)}`))).statusCode).toBe(404);

    const persian = await get(`${location}&lang=fa`);
    expect(persian.body).toContain('<html lang="fa" dir="rtl">');
    expect(persian.body).toContain('در حال آماده‌سازی');
    expect(persian.body).toContain('در مسیر');
    const times = [...persian.body.matchAll(/<time datetime="[^"]+">([^<]+)<\/time>/g)].map(
      (m) => m[1] ?? '',
    );
    expect(times.length).toBeGreaterThan(2);
    for (const time of times) {
      expect(time).toMatch(/[۰-۹]/);
      expect(time).not.toMatch(/[0-9]/);
    }
    // The solar hijri year of 2030-01-01 is 1408.
    expect(persian.body).toContain('۱۴۰۸');
    expect(persian.body).toContain(i18n('fa').t('rail.amn_escrow.disclosure'));
  });
});

describe('a suspended shop', () => {
  let suspended: TestDataPlane;
  beforeAll(async () => {
    suspended = await startTestDataPlane({ env: { SHOP_SUSPENDED: 'true' } });
  });
  afterAll(() => suspended?.close());

  it('serves the unavailable page for the checkout (GET and POST) and order pages', async () => {
    for (const [method, url] of [
      ['GET', '/checkout'],
      ['POST', '/checkout'],
      ['GET', `/orders/${randomUUID()}`],
    ] as const) {
      const response = await suspended.app.inject({
        method,
        url,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: method === 'POST' ? `line.${randomUUID()}=1&email=a%40example.com` : undefined,
      });
      expect(response.statusCode, `${method} ${url}`).toBe(503);
      expect(response.body).toContain('<h1>Shop unavailable</h1>');
    }
    expect(await suspended.rowCount(orders)).toBe(0);
  });
});
