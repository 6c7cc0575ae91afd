import { readFile, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { dirname } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../postgres/embedded.ts';
import { describeViolations, seriousAccessibilityViolations } from './axe.ts';
import { launchBrowser, saveScreenshot, screenshotDir } from './browser.ts';

const square = `data:image/svg+xml,${encodeURIComponent(
  '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40"><rect width="40" height="40" fill="teal"/></svg>',
)}`;

const pages: Record<string, string> = {
  '/good': `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>A good page</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><main><h1>Hello</h1>
<img src="${square}" alt="A tiny picture" width="40" height="40">
<form><label for="q">Search</label> <input id="q" name="q"> <button type="submit">Search</button></form>
</main></body></html>`,
  // A picture without alt text and a button without a name: both critical for axe.
  '/bad': `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>A bad page</title></head>
<body><main><h1>Hello</h1>
<img src="${square}" width="40" height="40">
<button type="button"></button>
</main></body></html>`,
};

let server: Server;
let origin: string;
let browser: Browser;

beforeAll(async () => {
  const port = await freePort();
  server = createServer((request, response) => {
    const body = pages[request.url ?? ''];
    response.writeHead(body ? 200 : 404, { 'content-type': 'text/html; charset=utf-8' });
    response.end(body ?? 'not found');
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${port}`;
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => server?.close(resolve));
});

describe('the real browser', () => {
  it('loads a page from loopback and writes a screenshot where CI keeps it', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const response = await page.goto(`${origin}/good`);
    expect(response?.status()).toBe(200);
    expect(await page.title()).toBe('A good page');
    expect(await page.getByRole('button', { name: 'Search' }).isVisible()).toBe(true);

    const path = await saveScreenshot(page, 'kit-browser-smoke');
    expect(dirname(path)).toBe(screenshotDir());
    expect((await stat(path)).size).toBeGreaterThan(100);
    // The PNG signature: a real image, not an empty placeholder.
    expect((await readFile(path)).subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
    await context.close();
  });

  it('axe finds no serious violation on an accessible page and finds them on an inaccessible one', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${origin}/good`);
    const clean = await seriousAccessibilityViolations(page);
    expect(clean, describeViolations(clean)).toEqual([]);

    await page.goto(`${origin}/bad`);
    const found = await seriousAccessibilityViolations(page);
    expect(found.map((violation) => violation.id).sort()).toEqual(['button-name', 'image-alt']);
    expect(describeViolations(found)).toMatch(/^button-name \(critical\): button$/m);
    await context.close();
  });

  it('refuses an unsafe screenshot name', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await expect(saveScreenshot(page, '../escape')).rejects.toThrow(/unsafe screenshot name/);
    await context.close();
  });
});
