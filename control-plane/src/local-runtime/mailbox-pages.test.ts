import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LocalMailbox, startLocalMailbox } from '@amanat/kit/mail/local-mailbox';
import { createTransport } from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestControlPlane, type TestControlPlane } from '../testing/harness.ts';
import { mailboxRoutes } from './mailbox-pages.ts';

/**
 * The mailbox pages on a control plane built as the local platform builds it, over a real
 * local mailbox that nodemailer sends to over SMTP. What a browser makes of the sandbox and the
 * policy is in mailbox-pages.browser.test.ts.
 */

let dir: string;
let mailbox: LocalMailbox;
let cp: TestControlPlane;
let rich: { id: string };
let plain: { id: string };

/** A request as the router forwards one for `admin.localhost:8080`. */
const get = (url: string, headers: Record<string, string> = {}) =>
  cp.app.inject({ method: 'GET', url, headers: { host: 'admin.localhost:8080', ...headers } });

const HOSTILE_HTML =
  '<p style="color:#c00">Hello <b>Sara</b></p><script>parent.document.title="pwned"</script>' +
  '<img src="x" onerror="alert(1)">';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'amanat-mailbox-pages-'));
  mailbox = await startLocalMailbox({ dir });
  cp = await startTestControlPlane(
    {},
    { localRoutes: (app) => mailboxRoutes(app, mailbox, { adminHost: 'admin.localhost' }) },
  );
  const transport = createTransport(mailbox.url);
  await transport.sendMail({
    from: '"Tea <House>" <orders@tea.localhost>',
    to: 'sara@example.com',
    subject: 'Your order <b>#1042</b>',
    text: 'Thank you! Your order: http://tea.localhost:8080/orders/42?token=a&b=c. See you soon.',
    html: HOSTILE_HTML,
  });
  await transport.sendMail({
    from: 'orders@tea.localhost',
    to: ['a@example.com', 'b@example.com'],
    subject: 'Shipped',
    text: 'On its way.',
  });
  const [second, first] = await mailbox.list();
  if (!first || !second) throw new Error('the mailbox did not keep both messages');
  rich = first;
  plain = second;
});

afterAll(async () => {
  await cp?.close();
  await mailbox?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('the local mailbox pages', () => {
  it('lists the messages newest first, escaped, each linking to its page', async () => {
    const response = await get('/mailbox');
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(response.headers['content-security-policy']).toContain("default-src 'none'");
    const body = response.body;
    expect(body).toContain(mailbox.url);
    expect(body.indexOf(`href="/mailbox/${plain.id}"`)).toBeGreaterThan(0);
    expect(body.indexOf(`href="/mailbox/${plain.id}"`)).toBeLessThan(
      body.indexOf(`href="/mailbox/${rich.id}"`),
    );
    expect(body).toContain('Your order &lt;b&gt;#1042&lt;/b&gt;');
    expect(body).toContain('&quot;Tea &lt;House&gt;&quot; &lt;orders@tea.localhost&gt;');
    expect(body).toContain('a@example.com, b@example.com');
    expect(body).not.toContain('<b>');
    expect(body).toMatch(
      /<time datetime="\d{4}-\d\d-\d\dT[\d:.]+Z">\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC<\/time>/,
    );
  });

  it('shows a message: its headers, its text with links, its HTML part only in a script-less sandbox', async () => {
    const response = await get(`/mailbox/${rich.id}`);
    expect(response.statusCode).toBe(200);
    const policy = response.headers['content-security-policy'] as string;
    expect(policy.split('; ')).toEqual(
      expect.arrayContaining([
        "default-src 'none'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
      ]),
    );
    expect(policy).not.toMatch(/script-src|unsafe-eval/);
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    const body = response.body;
    const iframes = body.match(/<iframe[^>]*>/g) ?? [];
    expect(iframes).toHaveLength(1);
    expect(iframes[0]).toContain(' sandbox="" ');
    const srcdoc = /srcdoc="([^"]*)"/.exec(iframes[0] as string)?.[1] ?? '';
    // The sender's markup is only in the srcdoc attribute, escaped, never the page's own.
    expect(body.replace(srcdoc, '')).not.toMatch(/<script|onerror|<img/i);
    const decoded = srcdoc
      .replaceAll('&lt;', '<')
      .replaceAll('&gt;', '>')
      .replaceAll('&quot;', '"')
      .replaceAll('&#39;', "'")
      .replaceAll('&amp;', '&');
    expect(decoded).toBe(HOSTILE_HTML);
    expect(body).toContain(
      '<a href="http://tea.localhost:8080/orders/42?token=a&amp;b=c" rel="noreferrer">http://tea.localhost:8080/orders/42?token=a&amp;b=c</a>. See you soon.',
    );
    expect(body).toContain('<th>message-id</th>');
    expect(body).toContain(`href="/mailbox/${rich.id}.eml"`);
    expect(body).toContain(`href="/mailbox/${rich.id}.json"`);

    const textOnly = await get(`/mailbox/${plain.id}`);
    expect(textOnly.statusCode).toBe(200);
    expect(textOnly.body).not.toContain('<iframe');
    expect(textOnly.body).toContain('On its way.');
  });

  it('serves the raw message as inert text', async () => {
    const response = await get(`/mailbox/${rich.id}.eml`);
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(response.headers['content-security-policy']).toBe("default-src 'none'; sandbox");
    expect(response.body).toBe((await mailbox.get(rich.id))?.raw);
    expect(response.body).toMatch(/^Subject: /m);
  });

  it('answers JSON for tests and scripts', async () => {
    const list = await get('/mailbox.json');
    expect(list.statusCode).toBe(200);
    expect(list.json().items).toEqual([
      {
        id: plain.id,
        received_at: expect.any(String),
        from: 'orders@tea.localhost',
        to: ['a@example.com', 'b@example.com'],
        subject: 'Shipped',
      },
      {
        id: rich.id,
        received_at: expect.any(String),
        from: '"Tea <House>" <orders@tea.localhost>',
        to: ['sara@example.com'],
        subject: 'Your order <b>#1042</b>',
      },
    ]);
    const one = await get(`/mailbox/${rich.id}.json`);
    expect(one.statusCode).toBe(200);
    expect(one.json()).toMatchObject({
      id: rich.id,
      subject: 'Your order <b>#1042</b>',
      html: HOSTILE_HTML,
      text: expect.stringContaining('http://tea.localhost:8080/orders/42?token=a&b=c'),
      message_id: expect.stringMatching(/^<.+@.+>$/),
      headers: expect.objectContaining({ subject: 'Your order <b>#1042</b>' }),
    });
    expect((await get(`/mailbox/${plain.id}.json`)).json().html).toBeNull();
  });

  it('answers an unknown id with 404 and a malformed one with 400: pages for the browser, problems for JSON', async () => {
    const unknown = randomUUID();
    for (const path of [`/mailbox/${unknown}`, `/mailbox/${unknown}.eml`]) {
      const response = await get(path);
      expect(response.statusCode, path).toBe(404);
      expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(response.headers['content-security-policy']).toContain("default-src 'none'");
    }
    const unknownJson = await get(`/mailbox/${unknown}.json`);
    expect(unknownJson.statusCode).toBe(404);
    expect(unknownJson.headers['content-type']).toMatch(/^application\/problem\+json/);

    for (const path of ['/mailbox/not-an-id', '/mailbox/%3Cscript%3E.eml']) {
      const response = await get(path);
      expect(response.statusCode, path).toBe(400);
      expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(response.body).not.toContain('<script>');
    }
    const badJson = await get('/mailbox/not-an-id.json');
    expect(badJson.statusCode).toBe(400);
    expect(badJson.json().errors).toContainEqual(expect.objectContaining({ field: 'params.id' }));
  });

  it('answers loopback peers that name a local host only', async () => {
    for (const host of ['127.0.0.1:3000', 'localhost:3000', 'ADMIN.localhost']) {
      expect((await get('/mailbox.json', { host })).statusCode, host).toBe(200);
    }
    // A page on another site whose name now resolves to 127.0.0.1 (DNS rebinding).
    const rebound = await get('/mailbox.json', { host: 'attacker.example:3000' });
    expect(rebound.statusCode).toBe(403);
    expect(rebound.json().type).toBe('/problems/mailbox-local-only');
    const remote = await cp.app.inject({
      method: 'GET',
      url: `/mailbox/${rich.id}`,
      headers: { host: 'admin.localhost' },
      remoteAddress: '192.0.2.7',
    });
    expect(remote.statusCode).toBe(403);
  });

  it('is registered only by the local platform: not in the control plane’s own OpenAPI document', async () => {
    const production = await startTestControlPlane();
    try {
      expect((await production.app.inject({ method: 'GET', url: '/mailbox' })).statusCode).toBe(404);
      const paths = Object.keys(
        (await production.app.inject({ method: 'GET', url: '/openapi.json' })).json().paths,
      );
      expect(paths.filter((path) => path.startsWith('/mailbox'))).toEqual([]);
    } finally {
      await production.close();
    }
    const local = Object.keys((await get('/openapi.json')).json().paths);
    expect(local.filter((path) => path.startsWith('/mailbox')).sort()).toEqual([
      '/mailbox.json',
      '/mailbox/{id}.json',
    ]);
  });
});
