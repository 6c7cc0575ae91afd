import '@amanat/kit/postgres/vitest-context';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { databaseUrl, dropDatabase, withAdminClient } from '@amanat/kit/postgres/test-databases';
import { type StartedProcess, startProcess } from '@amanat/kit/process/child';
import { freePort } from '@amanat/kit/process/processes';
import { Keyring } from '@amanat/kit/secrets/keyring';
import { exportJWK, generateKeyPair } from 'jose';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { DATA_PLANE_BUNDLE, dataPlaneCommand } from './launch.ts';
import { runtimeFile } from './runtime-files.ts';

const HOST = 'bundle-shop.localhost';
let dataPlane: StartedProcess | undefined;
let database: string | undefined;

afterAll(async () => {
  await dataPlane?.stop(5_000);
  if (database) await dropDatabase(inject('pgAdminUrl'), database);
});

describe('the data-plane launcher', () => {
  it('runs the bundle with plain node: it migrates a fresh database, gets ready and serves pages with their assets', async () => {
    const launch = dataPlaneCommand();
    expect(launch.args.at(-1)).toBe(DATA_PLANE_BUNDLE);
    expect(launch.args).not.toContain('tsx');

    database = `test_bundle_${randomBytes(5).toString('hex')}`;
    const adminUrl = inject('pgAdminUrl');
    await withAdminClient(adminUrl, (client) => client.query(`CREATE DATABASE ${database}`));
    const { publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
    const port = await freePort();
    const logFile = join(await mkdtemp(join(tmpdir(), 'amanat-bundle-')), 'data-plane.log');
    dataPlane = startProcess({
      name: 'bundled-data-plane',
      ...launch,
      env: {
        PATH: process.env.PATH,
        TENANT_ID: randomUUID(),
        TENANT_SLUG: 'bundle-shop',
        DATABASE_URL: databaseUrl(adminUrl, database),
        PUBLIC_HOSTS: HOST,
        CONTROL_PLANE_URL: 'http://127.0.0.1:1',
        CONTROL_PLANE_JWKS: JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'test' }] }),
        PAYMENT_EVIDENCE_SECRET: 'test-payment-evidence-secret-0123456789',
        DELIVERY_LINK_SECRET: 'test-delivery-link-secret-0123456789abcdef',
        SECRETS_KEYS: Keyring.generateSpec(),
        PORT: String(port),
        MIGRATE_ON_START: 'true',
        LOG_LEVEL: 'warn',
      },
      logFile,
      lifetime: 'tied',
    });
    const base = `http://127.0.0.1:${port}`;

    await expect
      .poll(
        async () => {
          if (!dataPlane?.isRunning())
            throw new Error(`the bundle exited:\n${readFileSync(logFile, 'utf8')}`);
          return (await fetch(`${base}/readyz`).catch(() => null))?.status;
        },
        { timeout: 20_000, interval: 100 },
      )
      .toBe(200);

    const page = await fetch(`${base}/`, { headers: { host: HOST } });
    expect(page.status).toBe(200);
    const stylesheet = /href="(\/assets\/storefront\.[0-9a-f]+\.css)"/.exec(await page.text())?.[1];
    expect(stylesheet).toBeDefined();
    const css = await fetch(`${base}${stylesheet}`, { headers: { host: HOST } });
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toMatch(/^text\/css/);
    expect(await css.text()).toBe(readFileSync(runtimeFile('storefrontAssets', 'storefront.css'), 'utf8'));
  });

  it('builds one ASCII module, so V8 holds its source at one byte a character', () => {
    dataPlaneCommand();
    const bundle = readFileSync(DATA_PLANE_BUNDLE);
    const firstNonAscii = bundle.findIndex((byte) => byte > 0x7f);
    expect(
      firstNonAscii,
      `non-ASCII near: ${bundle.subarray(Math.max(0, firstNonAscii - 40), firstNonAscii + 10).toString('utf8')}`,
    ).toBe(-1);
  });
});
