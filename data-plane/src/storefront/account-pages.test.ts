import { randomUUID } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog } from '../audit/schema.ts';
import { buyerAddresses, buyers } from '../buyers/schema.ts';
import { createAddress, MAX_ADDRESSES_PER_BUYER } from '../buyers/service.ts';
import { BUYER_SESSION_COOKIE } from '../buyers/session.ts';
import { unsubscribePath } from '../buyers/unsubscribe.ts';
import { address, createBuyer, createVariant, placeOrder } from '../orders/fixtures.ts';
import { startTestDataPlane, type TestDataPlane } from '../testing/harness.ts';
import { safeNext } from './account-routes.tsx';

/**
 * The login, register, account and unsubscribe pages through fastify's inject, on a real
 * PostgreSQL: forms without JavaScript, errors at their fields, sessions, open redirects,
 * a buyer seeing only their own orders and addresses, and the signed unsubscribe link.
 */

let dp: TestDataPlane;
const ORIGIN = 'https://test-shop.localhost';
const PASSWORD = 'correct horse battery';
let ip = 0;
/** Each sign-in comes from its own address, so the per-IP throttle stays out of the way. */
const nextIp = () => `10.2.${Math.floor(++ip / 250)}.${ip % 250}`;

beforeAll(async () => {
  dp = await startTestDataPlane();
});
afterAll(() => dp.close());

const get = (url: string, cookie?: string) =>
  dp.app.inject({ method: 'GET', url, headers: cookie ? { cookie } : {} });

function postForm(
  url: string,
  form: Record<string, string>,
  options: { cookie?: string; headers?: Record<string, string>; remoteAddress?: string } = {},
) {
  return dp.app.inject({
    method: 'POST',
    url,
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      origin: ORIGIN,
      host: 'test-shop.localhost',
      ...(options.cookie ? { cookie: options.cookie } : {}),
      ...options.headers,
    },
    payload: new URLSearchParams(form).toString(),
    remoteAddress: options.remoteAddress ?? nextIp(),
  });
}

const sessionCookie = (response: LightMyRequestResponse) =>
  response.cookies.find((cookie) => cookie.name === BUYER_SESSION_COOKIE);
const cookieHeader = (response: LightMyRequestResponse) => {
  const session = sessionCookie(response);
  if (!session?.value)
    throw new Error(`no session cookie: ${response.statusCode} ${response.body.slice(0, 300)}`);
  return `${BUYER_SESSION_COOKIE}=${session.value}`;
};

function expectPage(response: LightMyRequestResponse, status: number, locale: 'en' | 'fa' = 'en') {
  expect(response.statusCode, response.body.slice(0, 400)).toBe(status);
  expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
  expect(response.headers['cache-control']).toBe('no-store');
  expect(response.body).toContain(`<html lang="${locale}" dir="${locale === 'fa' ? 'rtl' : 'ltr'}">`);
  expect(response.body).toContain('<meta name="robots" content="noindex"/>');
}

/** The error summary (role=alert) and the message shown at a field, tied to it by aria-describedby. */
function expectFieldError(body: string, form: string, field: string, message: string) {
  const id = `${form}-${field.replace(/_/g, '-')}`;
  expect(body).toMatch(/<div class="account-error-summary" role="alert"/);
  expect(body).toContain(`<a href="#${id}">${message}</a>`);
  expect(body).toContain(`<p class="account-field-error" id="${id}-error">${message}</p>`);
  expect(body).toMatch(
    new RegExp(`<input id="${id}"[^>]*aria-invalid="true"[^>]*aria-describedby="[^"]*${id}-error"`),
  );
}

async function register(form: Record<string, string> = {}) {
  const email = form.email ?? `${randomUUID()}@example.com`;
  const response = await postForm('/register', { email, password: PASSWORD, ...form });
  expect(response.statusCode, response.body.slice(0, 400)).toBe(303);
  const [row] = await dp.db.select().from(buyers).where(eq(buyers.email, email.toLowerCase()));
  return { email, id: row?.id as string, cookie: cookieHeader(response), response };
}

async function setLoginMethods(methods: string[]) {
  const response = await dp.app.inject({
    method: 'PATCH',
    url: '/api/admin/settings',
    headers: await dp.staffHeaders('owner'),
    payload: { features: { login_methods: methods, disclose_platform: false } },
  });
  expect(response.statusCode, response.body).toBe(200);
}

const marketingOf = async (buyerId: string) =>
  (await dp.db.select().from(buyers).where(eq(buyers.id, buyerId)))[0]?.marketingOptIn;

describe('register', () => {
  it('creates the account and signs in: a host-only HttpOnly Secure SameSite session cookie and 303', async () => {
    const page = await get('/register');
    expectPage(page, 200);
    expect(page.body).toContain('<form class="account-form" method="post" action="/register"');
    // The marketing box is there and unchecked.
    expect(page.body).toMatch(
      /<input id="register-marketing" name="marketing_opt_in" type="checkbox" value="on"(?! checked)/,
    );

    const email = `New.Buyer-${randomUUID()}@Example.com`;
    const response = await postForm('/register', { email, password: PASSWORD, display_name: 'Ana' });
    expect(response.statusCode).toBe(303);
    expect(response.headers.location).toBe('/account');
    const raw = [response.headers['set-cookie']].flat().join('\n');
    expect(raw).toMatch(/^__Host-sid=[A-Za-z0-9_-]{43};/m);
    expect(raw).toMatch(/; HttpOnly/);
    expect(raw).toMatch(/; Secure/);
    expect(raw).toMatch(/; SameSite=Lax/);
    expect(raw).not.toMatch(/Domain=/i);
    const [row] = await dp.db.select().from(buyers).where(eq(buyers.email, email.toLowerCase()));
    expect(row).toMatchObject({ displayName: 'Ana', marketingOptIn: false });

    const account = await get('/account', cookieHeader(response));
    expectPage(account, 200);
    expect(account.body).toContain('Signed in as Ana');
  });

  it('records the marketing opt-in when the box is ticked, and goes on to a safe next', async () => {
    const email = `${randomUUID()}@example.com`;
    const response = await postForm('/register', {
      email,
      password: PASSWORD,
      marketing_opt_in: 'on',
      next: '/checkout',
    });
    expect(response.statusCode).toBe(303);
    expect(response.headers.location).toBe('/checkout');
    const [row] = await dp.db.select().from(buyers).where(eq(buyers.email, email));
    expect(row?.marketingOptIn).toBe(true);
    expect(row?.marketingOptedInAt).toBeInstanceOf(Date);
  });

  it('a bad email and a short password come back (400) at their fields, the email kept, no password echoed', async () => {
    const before = await dp.rowCount(buyers);
    const response = await postForm('/register', {
      email: 'not-an-email',
      password: 'short-pw',
      marketing_opt_in: 'on',
    });
    expectPage(response, 400);
    expectFieldError(response.body, 'register', 'email', 'Enter an email address like name@example.com.');
    expectFieldError(response.body, 'register', 'password', 'Use at least 10 characters.');
    expect(response.body).toContain('There are 2 problems');
    expect(response.body).toContain('value="not-an-email"');
    expect(response.body).not.toContain('short-pw');
    expect(response.body).toMatch(/name="marketing_opt_in" type="checkbox" value="on" checked/);
    expect(sessionCookie(response)).toBeUndefined();
    expect(await dp.rowCount(buyers)).toBe(before);
  });

  it('an email already registered (in any letter case) is 409 with the error at the email', async () => {
    const { email } = await register();
    const before = await dp.rowCount(buyers);
    const response = await postForm('/register', { email: email.toUpperCase(), password: `${PASSWORD}!` });
    expectPage(response, 409);
    expectFieldError(
      response.body,
      'register',
      'email',
      'An account with this email already exists. Sign in instead.',
    );
    expect(response.body).toContain(`value="${email.toUpperCase()}"`);
    expect(response.body).not.toContain(`${PASSWORD}!`);
    expect(sessionCookie(response)).toBeUndefined();
    expect(await dp.rowCount(buyers)).toBe(before);
  });
});

describe('login and logout', () => {
  it('a wrong password is 401 with the error, no session cookie; the right one signs in (303)', async () => {
    const { email } = await register();
    const wrong = await postForm('/login', { email, password: 'wrong password!' });
    expectPage(wrong, 401);
    expectFieldError(wrong.body, 'login', 'password', 'The email or password is wrong.');
    expect(wrong.body).toContain(`value="${email}"`);
    expect(wrong.body).not.toContain('wrong password!');
    expect(sessionCookie(wrong)).toBeUndefined();

    const right = await postForm('/login', { email: email.toUpperCase(), password: PASSWORD, next: '/cart' });
    expect(right.statusCode).toBe(303);
    expect(right.headers.location).toBe('/cart');
    expect((await get('/account', cookieHeader(right))).statusCode).toBe(200);
  });

  it('missing fields are named at their fields (400) without asking the buyer service', async () => {
    const response = await postForm('/login', { email: '', password: '' });
    expectPage(response, 400);
    expectFieldError(response.body, 'login', 'email', 'Enter an email address like name@example.com.');
    expectFieldError(response.body, 'login', 'password', 'Enter your password.');
  });

  it('next may only be a path on this shop: open-redirect attempts go to /account', async () => {
    const { email } = await register();
    for (const next of [
      '//evil.example',
      'https://evil.example',
      '/\\evil.example',
      '/\t/evil.example',
      '\\\\evil.example',
      'javascript:alert(1)',
      '',
    ]) {
      const response = await postForm('/login', { email, password: PASSWORD, next });
      expect(response.statusCode, next).toBe(303);
      expect(response.headers.location, next).toBe('/account');
    }
    const fromQuery = await get('/login?next=//evil.example');
    expect(fromQuery.body).toContain('<input type="hidden" name="next" value="/account"/>');
    expect(safeNext('/checkout?step=2#pay')).toBe('/checkout?step=2#pay');
    expect(safeNext('/items/../../account')).toBe('/account');
    expect(safeNext(['/checkout'])).toBe('/account');
  });

  it('the checkout sends buyers to /login?next=/checkout, which keeps next on its way and back', async () => {
    const page = await get('/login?next=/checkout');
    expectPage(page, 200);
    expect(page.body).toContain('<input type="hidden" name="next" value="/checkout"/>');
    expect(page.body).toContain('href="/register?next=%2Fcheckout"');
    // A buyer already signed in goes straight on.
    const { cookie } = await register();
    const signedIn = await get('/login?next=/checkout', cookie);
    expect(signedIn.statusCode).toBe(303);
    expect(signedIn.headers.location).toBe('/checkout');
  });

  it('a disabled buyer cannot sign in: 403 with the reason, no session', async () => {
    const { email, id } = await register();
    const disable = await dp.app.inject({
      method: 'POST',
      url: `/api/admin/customers/${id}/disable`,
      headers: await dp.staffHeaders('owner'),
      payload: {},
    });
    expect(disable.statusCode).toBe(200);
    const response = await postForm('/login', { email, password: PASSWORD });
    expectPage(response, 403);
    expect(response.body).toContain('This account has been disabled by the shop.');
    expect(sessionCookie(response)).toBeUndefined();
  });

  it('after ten failures an hour the throttle answers 429 with Retry-After, even for the right password', async () => {
    const { email } = await register();
    const remoteAddress = '10.3.0.1';
    for (let i = 0; i < 10; i++) {
      expect(
        (await postForm('/login', { email, password: `wrong-${i}-password` }, { remoteAddress })).statusCode,
      ).toBe(401);
    }
    const locked = await postForm('/login', { email, password: PASSWORD });
    expectPage(locked, 429);
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);
    expect(locked.body).toMatch(/Too many failed attempts\. Try again in 60 minutes\./);
    expect(sessionCookie(locked)).toBeUndefined();
  });

  it('logout revokes the session: the old cookie no longer opens the account or the API', async () => {
    const { cookie } = await register();
    expect((await get('/account', cookie)).statusCode).toBe(200);
    const out = await postForm('/logout', {}, { cookie });
    expect(out.statusCode).toBe(303);
    expect(out.headers.location).toBe('/');
    expect(sessionCookie(out)?.value).toBe('');
    const after = await get('/account', cookie);
    expect(after.statusCode).toBe(303);
    expect(after.headers.location).toBe('/login?next=/account');
    expect((await get('/api/storefront/account/me', cookie)).statusCode).toBe(401);
  });

  it('a sign-in form posted from another site is refused (403) before anything is checked', async () => {
    const { email } = await register();
    const response = await postForm(
      '/login',
      { email, password: PASSWORD },
      { headers: { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' } },
    );
    expect(response.statusCode).toBe(403);
    expect(sessionCookie(response)).toBeUndefined();
  });

  it('a shop without email sign-in explains it, offers no form, and refuses the posts (403)', async () => {
    await setLoginMethods(['telegram']);
    try {
      for (const path of ['/login', '/register']) {
        const page = await get(path);
        expectPage(page, 200);
        expect(page.body).toContain('This shop does not offer signing in with an email and password.');
        expect(page.body).toContain('To sign in, open the shop in Telegram.');
        expect(page.body).not.toContain('<form class="account-form"');
      }
      const before = await dp.rowCount(buyers);
      const refused = await postForm('/register', {
        email: `${randomUUID()}@example.com`,
        password: PASSWORD,
      });
      expectPage(refused, 403);
      expect(sessionCookie(refused)).toBeUndefined();
      expect(await dp.rowCount(buyers)).toBe(before);
    } finally {
      await setLoginMethods(['email_password']);
    }
  });
});

describe('the account page', () => {
  it('is for signed-in buyers only: guests go to /login?next=/account', async () => {
    const response = await get('/account');
    expect(response.statusCode).toBe(303);
    expect(response.headers.location).toBe('/login?next=/account');
    const post = await postForm('/account/addresses', address);
    expect(post.statusCode).toBe(303);
    expect(post.headers.location).toBe('/login?next=/account');
  });

  it('lists only the buyer’s own orders, newest first, each linking to its order page', async () => {
    const variant = await createVariant(dp, { priceMinor: 1500 });
    const ana = await createBuyer(dp);
    const ben = await createBuyer(dp);
    const first = await placeOrder(dp, { lines: [{ variant_id: variant, quantity: 1 }], cookie: ana.cookie });
    const second = await placeOrder(dp, {
      lines: [{ variant_id: variant, quantity: 2 }],
      cookie: ana.cookie,
    });
    const bens = await placeOrder(dp, { lines: [{ variant_id: variant, quantity: 1 }], cookie: ben.cookie });
    const guest = await placeOrder(dp, { lines: [{ variant_id: variant, quantity: 1 }], email: ana.email });

    const page = await get('/account', ana.cookie);
    expectPage(page, 200);
    const listed = [...page.body.matchAll(/data-testid="account-order" data-order-id="([^"]+)"/g)].map(
      (m) => m[1],
    );
    expect(listed).toEqual([second.id, first.id]);
    expect(page.body).toContain(
      `<a href="/orders/${second.id}">Order ${second.id.slice(0, 8).toUpperCase()}</a>`,
    );
    expect(page.body).not.toContain(bens.id);
    expect(page.body).not.toContain(guest.id);
    expect(page.body).toContain('Waiting for payment');
    expect(page.body).toContain('2 items');
    expect(page.body).toContain('$30.00');

    const api = await get('/api/storefront/account/orders?limit=1', ana.cookie);
    expect(api.statusCode).toBe(200);
    expect(api.json()).toEqual({
      items: [
        {
          id: second.id,
          status: 'pending_payment',
          rail: second.rail,
          currency: 'USD',
          total_minor: 3000,
          item_count: 2,
          created_at: second.created_at,
        },
      ],
      page: 1,
      limit: 1,
      total: 2,
    });
    const pageTwo = (await get('/api/storefront/account/orders?limit=1&page=2', ana.cookie)).json();
    expect(pageTwo.items.map((order: { id: string }) => order.id)).toEqual([first.id]);
    expect((await get('/api/storefront/account/orders')).statusCode).toBe(401);
    expect((await get('/api/storefront/account/orders?limit=51', ana.cookie)).statusCode).toBe(400);
  });

  it('pages the orders ten at a time', async () => {
    const variant = await createVariant(dp, { priceMinor: 100 });
    const buyer = await createBuyer(dp);
    for (let i = 0; i < 11; i++) {
      await placeOrder(dp, { lines: [{ variant_id: variant, quantity: 1 }], cookie: buyer.cookie });
    }
    const one = await get('/account', buyer.cookie);
    expect(one.body.match(/data-testid="account-order"/g)).toHaveLength(10);
    expect(one.body).toContain('Page 1 of 2');
    expect(one.body).toContain('<a rel="next" href="/account?page=2">');
    const two = await get('/account?page=2', buyer.cookie);
    expect(two.body.match(/data-testid="account-order"/g)).toHaveLength(1);
    expect(two.body).toContain('<a rel="prev" href="/account?page=1">');
  });

  it('adds and deletes addresses through forms, and sees only its own', async () => {
    const ana = await register();
    const ben = await register();
    const added = await postForm(
      '/account/addresses',
      {
        label: 'Home',
        recipient_name: 'Ana Buyer',
        line1: '1 Main St',
        city: 'Tehran',
        country: 'ir',
        postal_code: '۱۲۳۴۵',
        phone: '',
      },
      { cookie: ana.cookie },
    );
    expect(added.statusCode).toBe(303);
    expect(added.headers.location).toBe('/account?done=address-added#addresses');
    const [row] = await dp.db.select().from(buyerAddresses).where(eq(buyerAddresses.buyerId, ana.id));
    expect(row).toMatchObject({
      label: 'Home',
      country: 'IR',
      postalCode: '12345',
      phone: null,
      isDefault: true,
    });

    const page = await get('/account?done=address-added', ana.cookie);
    expect(page.body).toContain(
      '<p class="account-notice" role="status" data-testid="account-notice">Address saved.</p>',
    );
    expect(page.body).toContain(`data-address-id="${row?.id}"`);
    expect(page.body).toContain('1 Main St');
    expect(page.body).toContain(`action="/account/addresses/${row?.id}/delete"`);
    const bens = await get('/account', ben.cookie);
    expect(bens.body).not.toContain('1 Main St');

    // Ben cannot delete Ana's address: 404, and it stays.
    const stolen = await postForm(`/account/addresses/${row?.id}/delete`, {}, { cookie: ben.cookie });
    expect(stolen.statusCode).toBe(404);
    expect(await dp.db.select().from(buyerAddresses).where(eq(buyerAddresses.buyerId, ana.id))).toHaveLength(
      1,
    );
    expect(
      (await postForm('/account/addresses/not-an-id/delete', {}, { cookie: ana.cookie })).statusCode,
    ).toBe(404);

    const deleted = await postForm(`/account/addresses/${row?.id}/delete`, {}, { cookie: ana.cookie });
    expect(deleted.statusCode).toBe(303);
    expect(deleted.headers.location).toBe('/account?done=address-deleted#addresses');
    expect(await dp.db.select().from(buyerAddresses).where(eq(buyerAddresses.buyerId, ana.id))).toHaveLength(
      0,
    );
  });

  it('an address with mistakes comes back (400) with each named at its field and the input kept', async () => {
    const { cookie, id } = await register();
    const response = await postForm(
      '/account/addresses',
      { recipient_name: 'Ana', line1: '', city: 'Tehran', country: 'Iran', phone: 'call me' },
      { cookie },
    );
    expectPage(response, 400);
    expectFieldError(response.body, 'address', 'line1', 'Fill in this field.');
    expectFieldError(response.body, 'address', 'country', 'Enter a two-letter country code, like IR or US.');
    expectFieldError(
      response.body,
      'address',
      'phone',
      'Use digits, spaces, brackets and dashes, with an optional + in front.',
    );
    expect(response.body).toContain('There are 3 problems');
    expect(response.body).toContain('value="Iran"');
    expect(response.body).toContain('value="call me"');
    expect(await dp.db.select().from(buyerAddresses).where(eq(buyerAddresses.buyerId, id))).toHaveLength(0);
  });

  it(`keeps at most ${MAX_ADDRESSES_PER_BUYER} addresses: one more is 409 with the service's limit`, async () => {
    const { cookie, id } = await register();
    const actor = { type: 'buyer' as const, id, role: null, requestId: 'test' };
    for (let i = 0; i < MAX_ADDRESSES_PER_BUYER; i++) await createAddress(dp.ctx, actor, id, address);
    const response = await postForm('/account/addresses', address, { cookie });
    expectPage(response, 409);
    expect(response.body).toContain(
      `<li>Your account keeps at most ${MAX_ADDRESSES_PER_BUYER} addresses. Delete one to add another.</li>`,
    );
    expect(response.body).toContain(`value="${address.line1}"`);
    expect(await dp.db.select().from(buyerAddresses).where(eq(buyerAddresses.buyerId, id))).toHaveLength(
      MAX_ADDRESSES_PER_BUYER,
    );
  });

  it('turns marketing email off and on, each change audited as the buyer', async () => {
    const { cookie, id } = await register({ marketing_opt_in: 'on' });
    const page = await get('/account', cookie);
    expect(page.body).toContain('You receive news and offers by email.');
    const off = await postForm('/account/marketing', { marketing_opt_in: 'false' }, { cookie });
    expect(off.statusCode).toBe(303);
    expect(off.headers.location).toBe('/account?done=marketing-off#marketing');
    expect(await marketingOf(id)).toBe(false);
    const [audit] = await dp.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.targetId, id), eq(auditLog.action, 'buyer.marketing_opted_out')));
    expect(audit).toMatchObject({ actorType: 'buyer', actorId: id });
    expect((await get('/account', cookie)).body).toContain('You do not receive news or offers by email.');
    await postForm('/account/marketing', { marketing_opt_in: 'true' }, { cookie });
    expect(await marketingOf(id)).toBe(true);
    const bad = await postForm('/account/marketing', { marketing_opt_in: 'maybe' }, { cookie });
    expect(bad.statusCode).toBe(400);
    expect(await marketingOf(id)).toBe(true);
  });

  it('in Persian: right to left, Persian digits in prices, dates and counts', async () => {
    const variant = await createVariant(dp, { priceMinor: 1500 });
    const buyer = await createBuyer(dp);
    await placeOrder(dp, { lines: [{ variant_id: variant, quantity: 2 }], cookie: buyer.cookie });
    const page = await get('/account?lang=fa', buyer.cookie);
    expectPage(page, 200, 'fa');
    expect(page.body).toContain('حساب کاربری شما');
    expect(page.body).toContain('در انتظار پرداخت');
    expect(page.body).toMatch(/<strong>[^<]*۳۰٫۰۰[^<]*<\/strong>/);
    expect(page.body).toContain('۲ کالا');
    const login = await get('/login?lang=fa');
    expectPage(login, 200, 'fa');
    const errors = await postForm(
      '/register',
      { email: 'x', password: 'x' },
      { headers: { cookie: 'lang=fa' } },
    );
    expectPage(errors, 400, 'fa');
    expect(errors.body).toContain('دست‌کم ۱۰ نویسه به کار ببرید.');
  });

  it('every page links to /account in its header, the same for guests and buyers', async () => {
    const { cookie } = await register();
    const guest = await get('/');
    const buyer = await get('/', cookie);
    for (const response of [guest, buyer]) {
      expect(response.body).toContain('<a href="/account" data-testid="account-link">Account</a>');
    }
  });
});

describe('unsubscribe by signed link', () => {
  it('opening the link changes nothing; its button (a POST to the same link) opts out, idempotently', async () => {
    const { id } = await register({ marketing_opt_in: 'on' });
    const link = unsubscribePath(dp.ctx, id);
    const open = await get(link);
    expectPage(open, 200);
    expect(open.body).toContain(`<form method="post" action="${link.replace(/&/g, '&amp;')}">`);
    expect(await marketingOf(id)).toBe(true);

    const auditBefore = await dp.rowCount(auditLog);
    const done = await postForm(link, {});
    expectPage(done, 200);
    expect(done.body).toContain('You are unsubscribed');
    expect(await marketingOf(id)).toBe(false);
    const [row] = await dp.db.select().from(buyers).where(eq(buyers.id, id));
    expect(row?.marketingOptedOutAt).toBeInstanceOf(Date);
    const audits = await dp.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.targetId, id), eq(auditLog.action, 'buyer.marketing_opted_out')));
    expect(audits).toHaveLength(1);
    expect(audits[0]).toMatchObject({ actorType: 'buyer', actorId: id });

    const again = await postForm(link, {});
    expectPage(again, 200);
    expect(await dp.rowCount(auditLog)).toBe(auditBefore + 1);
  });

  it('RFC 8058 one-click: a provider’s cross-site POST with List-Unsubscribe=One-Click opts out', async () => {
    const { id } = await register({ marketing_opt_in: 'on' });
    const link = unsubscribePath(dp.ctx, id);
    // Without the one-click body, a post from another site is still refused.
    const crossSite = { origin: 'https://mail.example', 'sec-fetch-site': 'cross-site' };
    const refused = await postForm(link, {}, { headers: crossSite });
    expect(refused.statusCode).toBe(403);
    expect(await marketingOf(id)).toBe(true);

    const oneClick = await postForm(link, { 'List-Unsubscribe': 'One-Click' }, { headers: crossSite });
    expect(oneClick.statusCode).toBe(200);
    expect(await marketingOf(id)).toBe(false);

    // Mail providers usually send no Origin at all, and no cookies.
    const other = await register({ marketing_opt_in: 'on' });
    const bare = await dp.app.inject({
      method: 'POST',
      url: unsubscribePath(dp.ctx, other.id),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'List-Unsubscribe=One-Click',
    });
    expect(bare.statusCode).toBe(200);
    expect(await marketingOf(other.id)).toBe(false);
  });

  it('a forged or tampered link is refused (400) and changes nothing; an unknown buyer is 404', async () => {
    const victim = await register({ marketing_opt_in: 'on' });
    const attacker = await register({ marketing_opt_in: 'on' });
    const own = new URL(unsubscribePath(dp.ctx, attacker.id), ORIGIN).searchParams.get('sig') as string;
    for (const url of [
      `/unsubscribe?b=${victim.id}&sig=${own}`,
      `/unsubscribe?b=${victim.id}&sig=${'A'.repeat(43)}`,
      `/unsubscribe?b=${victim.id}`,
      '/unsubscribe',
      `/unsubscribe?b=not-a-uuid&sig=${own}`,
    ]) {
      const open = await get(url);
      expectPage(open, 400);
      expect(open.body).toContain('This link does not work');
      expect(open.body).not.toContain('<form method="post" action="/unsubscribe');
      const post = await postForm(url, { 'List-Unsubscribe': 'One-Click' });
      expectPage(post, 400);
    }
    expect(await marketingOf(victim.id)).toBe(true);

    const gone = randomUUID();
    const unknown = await postForm(unsubscribePath(dp.ctx, gone), {});
    expectPage(unknown, 404);
    expect(unknown.body).toContain('This link is for an account the shop no longer has.');
  });
});
