import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LocalMailbox, startLocalMailbox } from '@amanat/kit/mail/local-mailbox';
import { launchBrowser } from '@amanat/kit/testing/browser';
import { createTransport } from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestControlPlane, type TestControlPlane } from '../testing/harness.ts';
import { mailboxRoutes } from './mailbox-pages.ts';

/**
 * The mailbox pages in Debian's Chromium: the sender's HTML part renders with its inline
 * styles but its script never runs, and the page's own styles pass its policy.
 */

let dir: string;
let mailbox: LocalMailbox;
let cp: TestControlPlane;
let browser: Awaited<ReturnType<typeof launchBrowser>>;
let origin: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'amanat-mailbox-browser-'));
  mailbox = await startLocalMailbox({ dir });
  cp = await startTestControlPlane(
    {},
    { localRoutes: (app) => mailboxRoutes(app, mailbox, { adminHost: 'admin.localhost' }) },
  );
  origin = await cp.app.listen({ host: '127.0.0.1', port: 0 });
  browser = await launchBrowser();
  await createTransport(mailbox.url).sendMail({
    from: 'orders@tea.localhost',
    to: 'sara@example.com',
    subject: 'Your order',
    text: 'Hello Sara',
    html:
      '<p id="greeting" style="color: rgb(204, 0, 0)">Hello <b>Sara</b></p>' +
      "<script>document.body.setAttribute('data-ran', 'yes'); parent.document.title = 'pwned'</script>",
  });
});

afterAll(async () => {
  await browser?.close();
  await cp?.close();
  await mailbox?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('the local mailbox in a real browser', () => {
  it('opens a message from the list; its HTML part renders styled, and its script does not run', async () => {
    const page = await browser.newPage();
    const messages: string[] = [];
    page.on('console', (message) => messages.push(message.text()));
    await page.goto(`${origin}/mailbox`);
    expect(await page.title()).toBe('Local mailbox');
    await page.getByRole('link', { name: 'Your order' }).click();
    await page.waitForURL(/\/mailbox\/[0-9a-f-]{36}$/);

    const frame = await (await page.locator('iframe').elementHandle())?.contentFrame();
    if (!frame) throw new Error('the message page has no HTML part frame');
    await frame.waitForSelector('#greeting');
    // Playwright reads the frame from an isolated world of its own, which the sandbox does not
    // stop; string expressions because this package compiles without the DOM's types.
    expect(await frame.evaluate<string>("getComputedStyle(document.getElementById('greeting')).color")).toBe(
      'rgb(204, 0, 0)',
    );
    expect(await frame.locator('body').getAttribute('data-ran')).toBeNull();
    expect(await page.title()).toBe('Your order');
    expect(await page.evaluate<string>("getComputedStyle(document.querySelector('pre')).whiteSpace")).toBe(
      'pre-wrap',
    );
    expect(messages.filter((line) => /Content Security Policy/.test(line))).toEqual([]);
    expect(messages.some((line) => /Blocked script execution in 'about:srcdoc'/.test(line))).toBe(true);
    await page.close();
  });
});
