import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';

/** Debian's Chromium; `infra/test-tools/ensure.sh` installs it. playwright-core never downloads a browser. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

const INSTALL_HINT =
  'run `bash infra/test-tools/ensure.sh` as root (npm test does), or ' +
  '`apt-get update && apt-get install -y --no-install-recommends chromium fonts-noto-core fonts-dejavu-core`';

/**
 * Starts headless Chromium. `chromium.launch` gives the browser a fresh temporary profile
 * (`--user-data-dir`), removed on close, so runs share no cookies or storage; tests isolate
 * further with one `browser.newContext()` each. A missing browser fails the test with the
 * command that installs it: a skipped browser test would pass CI without testing anything.
 */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH))
    throw new Error(`Chromium is not installed at ${CHROMIUM_PATH}; ${INSTALL_HINT}`);
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    // No GPU here, and nothing may reach beyond loopback: background fetches, component
    // updates, sync and QUIC probes are switched off.
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-quic',
      '--no-first-run',
    ],
  });
}

const repoRoot = resolve(fileURLToPath(import.meta.url), '../../../..');

/** `artifacts/screenshots/` at the repository root (git-ignored), which CI keeps for people to look at. */
export function screenshotDir(): string {
  return join(repoRoot, 'artifacts', 'screenshots');
}

/** Writes a full-page PNG of `page` as `<screenshotDir>/<name>.png` and returns its path. */
export async function saveScreenshot(page: Page, name: string): Promise<string> {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) throw new Error(`unsafe screenshot name: ${name}`);
  const dir = screenshotDir();
  await mkdir(dir, { recursive: true });
  const path = join(dir, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
