import { randomBytes } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '@amanat/kit/config/env';
import { type LocalMailbox, type StoredMail, startLocalMailbox } from '@amanat/kit/mail/local-mailbox';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDataPlaneConfig } from '../config.ts';
import { connect } from '../db/client.ts';
import { startDataPlane } from '../main.ts';
import { createBuyer, createVariant, newKey, placeOrder } from '../orders/fixtures.ts';
import { orders } from '../orders/schema.ts';
import { railDisclosures } from '../settings/rails.ts';
import { startTestDataPlane, type TestDataPlane } from '../testing/harness.ts';
import { emailMessages } from './schema.ts';
import { type SendOptions, sendDueEmails, smtpErrorText } from './sender.ts';

/**
 * The order confirmation end to end on a real PostgreSQL and over real SMTP: checkout queues
 * it in its own statement, the sender renders and sends it to a local SMTP server on
 * loopback (smtp-server), and the test reads what arrived (mailparser).
 */

const PLATFORM = /amanat/i;
const MAIL_FROM = 'orders@tea.example';

let mailbox: LocalMailbox;
let dp: TestDataPlane;
let variant: string;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const guestEmail = () => `guest-${randomBytes(4).toString('hex')}@example.com`;

async function mailTo(box: LocalMailbox, address: string): Promise<StoredMail[]> {
  const listed = (await box.list()).filter((mail) => mail.to.includes(address));
  return Promise.all(listed.map(async (mail) => (await box.get(mail.id)) as StoredMail));
}

const rowOf = async (d: TestDataPlane, orderId: string) =>
  (await d.db.select().from(emailMessages).where(eq(emailMessages.orderId, orderId)))[0];

/** The link the message carries to the order page, from its text part. */
const orderLink = (mail: StoredMail) => /https:\/\/\S+\/orders\/\S+/.exec(mail.text)?.[0] ?? '';

async function patchSettings(d: TestDataPlane, payload: Record<string, unknown>) {
  const response = await d.app.inject({
    method: 'PATCH',
    url: '/api/admin/settings',
    headers: await d.staffHeaders('owner'),
    payload,
  });
  expect(response.statusCode, response.body).toBe(200);
}

beforeAll(async () => {
  mailbox = await startLocalMailbox({ dir: await mkdtemp(join(tmpdir(), 'shop-mailbox-')) });
  dp = await startTestDataPlane({ env: { SMTP_URL: mailbox.url, MAIL_FROM } });
  await patchSettings(dp, {
    brand: {
      display_name: 'Tea House',
      tagline: 'Loose leaf',
      primary_color: '#1f6f4a',
      accent_color: '#f2c14e',
    },
  });
  variant = await createVariant(dp, { priceMinor: 2500, stock: 1000 });
});
afterAll(async () => {
  await dp?.close();
  await mailbox?.stop();
});

describe('the order confirmation', () => {
  it('a guest gets one email from the shop, with the order, and a link with the token that opens the order page', async () => {
    const email = guestEmail();
    const order = await placeOrder(dp, {
      lines: [{ variant_id: variant, quantity: 2 }],
      email,
      rail: 'amn_escrow',
    });
    const queued = await rowOf(dp, order.id);
    expect(queued).toMatchObject({
      kind: 'order_confirmation',
      toAddress: email,
      status: 'queued',
      attempts: 0,
    });
    expect(queued?.sealedToken?.startsWith('v1.')).toBe(true);
    expect(queued?.sealedToken).not.toContain(order.access_token);

    expect(await sendDueEmails(dp.ctx)).toMatchObject({ claimed: 1, sent: 1, retrying: 0, failed: 0 });
    const received = await mailTo(mailbox, email);
    expect(received).toHaveLength(1);
    const [mail] = received as [StoredMail];
    expect(mail.from).toBe(`"Tea House" <${MAIL_FROM}>`);
    expect(mail.to).toEqual([email]);
    expect(mail.subject).toContain('Tea House');
    expect(mail.subject).toContain(order.id);
    expect(mail.text).toContain(order.id);
    expect(mail.text).toContain('$50.00');
    expect(mail.text).toContain(railDisclosures.amn_escrow);
    expect(mail.html).toContain('dir="ltr"');
    expect(mail.html).toContain('Tea House');

    const link = new URL(orderLink(mail));
    expect(link.origin).toBe('https://test-shop.localhost');
    expect(link.pathname).toBe(`/orders/${order.id}`);
    expect(link.searchParams.get('token')).toBe(order.access_token);
    const page = await dp.app.inject({ url: `${link.pathname}${link.search}` });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain(order.id);

    const row = await rowOf(dp, order.id);
    expect(mail.messageId).toBe(`<${row?.id}@test-shop.localhost>`);
    expect(row).toMatchObject({
      status: 'sent',
      attempts: 1,
      lastError: null,
      sealedToken: null,
      smtpMessageId: mail.messageId,
    });
    expect(row?.sentAt).toBeInstanceOf(Date);
    expect(row?.smtpResponse).toMatch(/^250/);
    // White label: the platform's name nowhere, not in a header (X-Mailer included), not in a part.
    expect(mail.raw).not.toMatch(PLATFORM);
    expect(`${mail.text}${mail.html}${JSON.stringify(mail.headers)}`).not.toMatch(PLATFORM);
    expect(mail.headers['x-mailer'] ?? '').not.toMatch(/amanat|\bamn\b/i);
    // Sent once: nothing more is due.
    expect((await sendDueEmails(dp.ctx)).claimed).toBe(0);
  });

  it('a signed-in buyer gets the plain order link, which opens the page for them', async () => {
    const buyer = await createBuyer(dp);
    const order = await placeOrder(dp, {
      lines: [{ variant_id: variant, quantity: 1 }],
      cookie: buyer.cookie,
    });
    await sendDueEmails(dp.ctx);
    const [mail, ...more] = await mailTo(mailbox, buyer.email);
    expect(more).toHaveLength(0);
    const link = orderLink(mail as StoredMail);
    expect(link).toBe(`https://test-shop.localhost/orders/${order.id}`);
    expect(mail?.raw).not.toContain('token=');
    const page = await dp.app.inject({ url: `/orders/${order.id}`, headers: { cookie: buyer.cookie } });
    expect(page.statusCode).toBe(200);
    expect((await rowOf(dp, order.id))?.sealedToken).toBeNull();
  });

  it('an idempotent replay of the checkout queues nothing more: still one email', async () => {
    const email = guestEmail();
    const key = newKey();
    const first = await placeOrder(dp, { lines: [{ variant_id: variant, quantity: 1 }], email, key });
    const replay = await placeOrder(dp, { lines: [{ variant_id: variant, quantity: 1 }], email, key });
    expect(replay.id).toBe(first.id);
    expect(await dp.db.select().from(emailMessages).where(eq(emailMessages.orderId, first.id))).toHaveLength(
      1,
    );
    await sendDueEmails(dp.ctx);
    await placeOrder(dp, { lines: [{ variant_id: variant, quantity: 1 }], email, key });
    await sendDueEmails(dp.ctx);
    expect(await mailTo(mailbox, email)).toHaveLength(1);
  });

  it('in a Persian shop: right-to-left HTML with Persian digits, Persian subject', async () => {
    await patchSettings(dp, { default_locale: 'fa', locales: ['fa', 'en'] });
    try {
      const email = guestEmail();
      const order = await placeOrder(dp, { lines: [{ variant_id: variant, quantity: 2 }], email });
      await sendDueEmails(dp.ctx);
      const [mail] = (await mailTo(mailbox, email)) as [StoredMail];
      expect(mail.headers['content-language']).toBe('fa');
      expect(mail.html).toMatch(/<html lang="fa" dir="rtl">/);
      expect(mail.html).toContain('<body dir="rtl"');
      expect(mail.subject).toContain('سفارش شما');
      expect(mail.subject).toContain(order.id);
      expect(mail.html).toContain('۵۰٫۰۰');
      expect(mail.text).toContain('جمع کل');
      expect(mail.raw).not.toMatch(PLATFORM);
    } finally {
      await patchSettings(dp, { default_locale: 'en', locales: ['en', 'fa'] });
    }
  });

  it('two senders racing over one queue send each email exactly once', async () => {
    const addresses = Array.from({ length: 12 }, guestEmail);
    for (const email of addresses)
      await placeOrder(dp, { lines: [{ variant_id: variant, quantity: 1 }], email });
    // Another replica: its own connection pool.
    const other = connect(dp.config.DATABASE_URL, 5);
    const claimed = { a: 0, b: 0 };
    try {
      for (let round = 0; round < 20; round += 1) {
        const [a, b] = await Promise.all([
          sendDueEmails(dp.ctx, { batchSize: 3 }),
          sendDueEmails({ ...dp.ctx, db: other.db }, { batchSize: 3 }),
        ]);
        expect(Math.max(a.claimed, b.claimed)).toBeLessThanOrEqual(3);
        claimed.a += a.claimed;
        claimed.b += b.claimed;
        if (a.claimed + b.claimed === 0) break;
      }
    } finally {
      await other.pool.end();
    }
    expect(claimed.a).toBeGreaterThan(0);
    expect(claimed.b).toBeGreaterThan(0);
    expect(claimed.a + claimed.b).toBe(12);
    const received = (await mailbox.list()).filter((mail) => addresses.includes(mail.to[0] ?? ''));
    expect(received).toHaveLength(12);
    expect(new Set(received.map((mail) => mail.to[0])).size).toBe(12);
    const rows = await dp.db.select().from(emailMessages).where(eq(emailMessages.status, 'queued'));
    expect(rows).toEqual([]);
  });
});

describe('an unreachable SMTP server', () => {
  let port: number;
  let down: TestDataPlane;
  let later: LocalMailbox | undefined;
  const password = 'pa55:w/rd';
  const warnings: unknown[] = [];
  const log = {
    warn: (...args: unknown[]) => warnings.push(args),
    error: (...args: unknown[]) => warnings.push(args),
    info: () => {},
    debug: () => {},
  } as unknown as NonNullable<SendOptions['log']>;

  beforeAll(async () => {
    port = await freePort();
    down = await startTestDataPlane({
      env: { SMTP_URL: `smtp://shop-user:${encodeURIComponent(password)}@127.0.0.1:${port}` },
    });
  });
  afterAll(async () => {
    await later?.stop();
    await down?.close();
  });

  it('records each attempt and backs off exponentially, then delivers once the server is up', async () => {
    const v = await createVariant(down);
    const email = guestEmail();
    const order = await placeOrder(down, { lines: [{ variant_id: v, quantity: 1 }], email });
    const options = { baseDelayMs: 60_000, maxAttempts: 5, log };
    const t0 = Date.now() + 1000;
    const at = (ms: number) => ({ ...options, now: () => new Date(t0 + ms) });

    expect(await sendDueEmails(down.ctx, at(0))).toMatchObject({ claimed: 1, retrying: 1 });
    let row = await rowOf(down, order.id);
    expect(row).toMatchObject({ status: 'queued', attempts: 1 });
    expect(row?.lastError).toMatch(/ECONNREFUSED/);
    expect(row?.nextAttemptAt.getTime()).toBe(t0 + 60_000);
    // Not due yet: nothing is tried.
    expect((await sendDueEmails(down.ctx, at(59_000))).claimed).toBe(0);

    expect(await sendDueEmails(down.ctx, at(60_000))).toMatchObject({ claimed: 1, retrying: 1 });
    row = await rowOf(down, order.id);
    expect(row?.attempts).toBe(2);
    expect(row?.nextAttemptAt.getTime()).toBe(t0 + 60_000 + 120_000);

    later = await startLocalMailbox({ dir: await mkdtemp(join(tmpdir(), 'shop-mailbox-')), port });
    expect(await sendDueEmails(down.ctx, at(180_000))).toMatchObject({ claimed: 1, sent: 1 });
    row = await rowOf(down, order.id);
    expect(row).toMatchObject({ status: 'sent', attempts: 3, lastError: null });
    expect(await mailTo(later, email)).toHaveLength(1);
    expect(JSON.stringify(warnings)).not.toContain('pa55');
    expect(JSON.stringify(warnings)).not.toContain('shop-user');
    await later.stop();
    later = undefined;
  });

  it('gives up after the last attempt: failed, with an error that holds no credentials', async () => {
    const v = await createVariant(down);
    const order = await placeOrder(down, { lines: [{ variant_id: v, quantity: 1 }], email: guestEmail() });
    const options = { baseDelayMs: 1000, maxAttempts: 3, log };
    const reports = [];
    for (let round = 0; round < 4; round += 1) {
      reports.push(
        await sendDueEmails(down.ctx, { ...options, now: () => new Date(Date.now() + round * 3_600_000) }),
      );
    }
    expect(reports.map((r) => [r.claimed, r.retrying, r.failed])).toEqual([
      [1, 1, 0],
      [1, 1, 0],
      [1, 0, 1],
      [0, 0, 0],
    ]);
    const row = await rowOf(down, order.id);
    expect(row).toMatchObject({ status: 'failed', attempts: 3, sentAt: null });
    expect(row?.lastError).toMatch(/ECONNREFUSED/);
    expect(row?.lastError).not.toContain('pa55');
    expect(JSON.stringify(warnings)).not.toContain('pa55');
  });
});

describe('SMTP credentials', () => {
  it('are cut out of error texts, raw and percent-encoded, with the URL itself', () => {
    const url = 'smtps://mailer%40shop.example:s3cr%2Ft@smtp.example:465';
    const error = Object.assign(
      new Error(`Invalid login for mailer@shop.example with s3cr/t and s3cr%2Ft at ${url}`),
      { code: 'EAUTH' },
    );
    const text = smtpErrorText(error, url);
    expect(text).toBe('Invalid login for [redacted] with [redacted] and [redacted] at [redacted] (EAUTH)');
  });
});

describe('a shop without SMTP_URL', () => {
  it('queues no email at checkout and starts no sender', async () => {
    const quiet = await startTestDataPlane();
    try {
      const v = await createVariant(quiet);
      const order = await placeOrder(quiet, { lines: [{ variant_id: v, quantity: 1 }], email: guestEmail() });
      expect(await quiet.rowCount(emailMessages)).toBe(0);
      const detail = await quiet.app.inject({
        url: `/api/admin/orders/${order.id}`,
        headers: await quiet.staffHeaders('owner'),
      });
      expect(detail.json().confirmation_email).toBeNull();
      const running = await startDataPlane(configLike(quiet));
      try {
        expect(running.emailSender).toBeNull();
      } finally {
        await running.stop();
      }
    } finally {
      await quiet.close();
    }
  });
});

/** A configuration for the program itself (main.ts) on a test data plane's database and tenant. */
function configLike(d: TestDataPlane, env: Record<string, string> = {}) {
  return loadDataPlaneConfig({
    TENANT_ID: d.tenantId,
    TENANT_SLUG: d.config.TENANT_SLUG,
    DATABASE_URL: d.config.DATABASE_URL,
    PUBLIC_HOSTS: d.config.PUBLIC_HOSTS,
    CONTROL_PLANE_URL: d.config.CONTROL_PLANE_URL,
    CONTROL_PLANE_JWKS: d.config.CONTROL_PLANE_JWKS,
    PAYMENT_EVIDENCE_SECRET: d.config.PAYMENT_EVIDENCE_SECRET,
    DELIVERY_LINK_SECRET: d.config.DELIVERY_LINK_SECRET,
    SECRETS_KEYS: d.config.SECRETS_KEYS,
    PORT: '0',
    LOG_LEVEL: 'silent',
    ...env,
  });
}

describe('the program with SMTP_URL', () => {
  it('runs the sender: an order placed is confirmed by email without anyone asking; it stops cleanly', async () => {
    const running = await startDataPlane(configLike(dp, { SMTP_URL: mailbox.url, MAIL_FROM }));
    try {
      expect(running.emailSender).not.toBeNull();
      const email = guestEmail();
      const order = await placeOrder(dp, { lines: [{ variant_id: variant, quantity: 1 }], email });
      const deadline = Date.now() + 10_000;
      while ((await mailTo(mailbox, email)).length === 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(await mailTo(mailbox, email)).toHaveLength(1);
      expect((await rowOf(dp, order.id))?.status).toBe('sent');
      const [stored] = await dp.db.select().from(orders).where(eq(orders.id, order.id));
      expect(stored?.email).toBe(email);
    } finally {
      await running.stop();
    }
  });
});

describe('configuration', () => {
  const base = () => ({
    TENANT_ID: dp.tenantId,
    TENANT_SLUG: 'tea-house',
    DATABASE_URL: dp.config.DATABASE_URL,
    PUBLIC_HOSTS: 'tea.example:8443,www.tea.example',
    CONTROL_PLANE_URL: 'http://127.0.0.1:1',
    CONTROL_PLANE_JWKS: dp.config.CONTROL_PLANE_JWKS,
    PAYMENT_EVIDENCE_SECRET: dp.config.PAYMENT_EVIDENCE_SECRET,
    DELIVERY_LINK_SECRET: dp.config.DELIVERY_LINK_SECRET,
    SECRETS_KEYS: dp.config.SECRETS_KEYS,
  });

  it('sends from orders@ the canonical host (port dropped) unless MAIL_FROM says otherwise', () => {
    expect(loadDataPlaneConfig(base()).mailFrom).toBe('orders@tea.example');
    expect(loadDataPlaneConfig({ ...base(), MAIL_FROM }).mailFrom).toBe(MAIL_FROM);
    expect(loadDataPlaneConfig(base()).SMTP_URL).toBeUndefined();
  });

  it('reads SMTP_URL from SMTP_URL_FILE, as every setting', async () => {
    const file = join(await mkdtemp(join(tmpdir(), 'smtp-url-')), 'smtp-url');
    await writeFile(file, 'smtps://user:secret@smtp.example:465\n');
    expect(loadDataPlaneConfig({ ...base(), SMTP_URL_FILE: file }).SMTP_URL).toBe(
      'smtps://user:secret@smtp.example:465',
    );
  });

  it.each([
    ['SMTP_URL', 'http://user:hunter22@smtp.example'],
    ['SMTP_URL', 'smtp://user:hunter22@'],
    ['SMTP_URL', 'smtp://user:hunter22 x@smtp.example'],
    ['MAIL_FROM', 'Tea House <orders@tea.example>'],
    ['MAIL_FROM', 'orders'],
  ])('refuses %s=%s with one line naming it, never echoing the value', (name, value) => {
    let error: unknown;
    try {
      loadDataPlaneConfig({ ...base(), [name]: value });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message.startsWith(`${name} is invalid`)).toBe(true);
    expect(message).not.toContain('\n');
    expect(message).not.toContain('hunter22');
  });
});
