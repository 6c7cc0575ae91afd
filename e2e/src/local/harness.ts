import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPlatformAdmin } from '@amanat/control-plane/accounts/service';
import { currentTotpCode, newTotpSecret } from '@amanat/control-plane/accounts/totp';
import { loadConfig } from '@amanat/control-plane/config';
import { generateSigningKeyJson } from '@amanat/control-plane/data-plane-access/signing';
import { type LocalPlatform, startLocalPlatform } from '@amanat/control-plane/local-runtime/platform';
import { type EmbeddedPostgresHandle, freePort, startEmbeddedPostgres } from '@amanat/kit/postgres/embedded';
import { databaseUrl, withAdminClient } from '@amanat/kit/postgres/test-databases';
import { Keyring } from '@amanat/kit/secrets/keyring';
import { until as waitUntil } from '../wait.ts';

export const PASSWORD = 'correct horse battery staple';

/** `until` with this suite's defaults. */
export const until = <T>(
  what: string,
  check: () => Promise<T | undefined | false | null>,
  timeoutMs = 30_000,
  everyMs = 50,
) => waitUntil(what, check, timeoutMs, everyMs);

export interface Answer {
  status: number;
  text: string;
}

/**
 * A request through the router with the Host a browser would send (fetch may not set Host);
 * a body is sent as JSON. A refused or reset connection answers status 0, so pollers can retry.
 */
export function throughRouter(
  routerUrl: string,
  host: string,
  path = '/',
  init: { method?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<Answer> {
  return new Promise((resolve) => {
    const headers = {
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...init.headers,
      host,
    };
    const options = { method: init.method ?? 'GET', headers, timeout: 5_000 };
    const request = httpRequest(`${routerUrl}${path}`, options, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        text += chunk;
      });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, text }));
      response.on('error', () => resolve({ status: 0, text }));
    });
    request.on('timeout', () => request.destroy(new Error('timeout')));
    request.on('error', (error) => resolve({ status: 0, text: error.message }));
    request.end(init.body === undefined ? undefined : JSON.stringify(init.body));
  });
}

/** Every process whose environment names one of these tenants: a data plane or its watchdog. */
export function processesOfTenants(tenantIds: string[]): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let environ: string;
    try {
      environ = readFileSync(`/proc/${entry}/environ`, 'utf8');
    } catch {
      continue;
    }
    if (tenantIds.some((id) => environ.includes(`TENANT_ID=${id}\0`))) found.push(Number(entry));
  }
  return found;
}

export interface ApiAnswer<T> {
  status: number;
  json: T;
}

export interface TenantView {
  id: string;
  slug: string;
  status: string;
  cluster: {
    phase: string | null;
    conditions: { type: string; status: string; reason: string; message: string }[];
  } | null;
}

export interface LocalTestPlatform {
  platform: LocalPlatform;
  postgres: EmbeddedPostgresHandle;
  dataDir: string;
  routerUrl: string;
  /** The router's port, for `<slug>.localhost:<port>` URLs. */
  routerPort: number;
  demoPassword: string;
  /** A control-plane API call as the platform admin (signed in, MFA passed). */
  asAdmin<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<ApiAnswer<T>>;
  /** A control-plane API call with a bearer token (or none). */
  call<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
    token?: string,
  ): Promise<ApiAnswer<T>>;
  /** The tenant as the admin API shows it, with the runtime's status. */
  tenant(id: string): Promise<TenantView>;
  get(host: string, path?: string): Promise<Answer>;
  /** A JSON POST through the router. */
  post(host: string, path: string, body: unknown, headers?: Record<string, string>): Promise<Answer>;
  /** Stops the platform and PostgreSQL and removes the data directory; once, however often called. */
  stop(): Promise<void>;
}

/**
 * The local platform as `npm start` runs it — embedded PostgreSQL, control plane, local
 * runtime, router — on a fresh PostgreSQL in a temporary data directory, with free ports
 * (the router's on port 0), and a platform admin signed in through the API with MFA.
 */
export async function startLocalTestPlatform(options: { seedDemo: boolean }): Promise<LocalTestPlatform> {
  // A directory of its own: PostgreSQL may run as another user, who cannot enter a 0700 temp dir.
  const postgres = await startEmbeddedPostgres({
    dataDir: await mkdtemp(join(tmpdir(), 'amanat-local-pg-')),
    persistent: false,
  });
  const dataDir = await mkdtemp(join(tmpdir(), 'amanat-local-'));
  await withAdminClient(postgres.adminUrl, (client) => client.query('CREATE DATABASE amanat_control_plane'));
  const config = loadConfig({
    DATABASE_URL: databaseUrl(postgres.adminUrl, 'amanat_control_plane'),
    SECRETS_KEYS: Keyring.generateSpec('e2e1'),
    DATA_PLANE_SIGNING_KEY: await generateSigningKeyJson('e2e1'),
    PORT: String(await freePort()),
    SHOPS_DOMAIN: 'localhost',
    LOG_LEVEL: 'silent',
  });
  const demoPassword = 'demo-password-for-e2e';
  let platform: LocalPlatform;
  try {
    platform = await startLocalPlatform({
      config,
      provisionerAdminUrl: postgres.adminUrl,
      dataDir,
      router: { host: '127.0.0.1', port: 0 },
      seedDemo: options.seedDemo,
      demoPassword,
    });
  } catch (error) {
    await postgres.stop();
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
  const routerUrl = platform.routerUrl;

  const call = async <T>(
    method: string,
    path: string,
    body?: unknown,
    token?: string,
  ): Promise<ApiAnswer<T>> => {
    const response = await fetch(`${platform.controlPlaneUrl}${path}`, {
      method,
      headers: {
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, json: (text ? JSON.parse(text) : null) as T };
  };

  const totpSecret = newTotpSecret();
  const adminEmail = 'admin@shops.localhost';
  await createPlatformAdmin(platform.ctx, {
    email: adminEmail,
    password: PASSWORD,
    display_name: 'Platform admin',
    totpSecret,
  });
  const login = await call<{ access_token: string }>('POST', '/auth/login', {
    email: adminEmail,
    password: PASSWORD,
  });
  if (login.status !== 200) throw new Error(`admin login: ${JSON.stringify(login.json)}`);
  const adminToken = login.json.access_token;
  const mfa = await call('POST', '/auth/mfa/challenge', { code: currentTotpCode(totpSecret) }, adminToken);
  if (mfa.status !== 204) throw new Error(`admin MFA: ${JSON.stringify(mfa.json)}`);

  let stopped: Promise<void> | undefined;
  return {
    platform,
    postgres,
    dataDir,
    routerUrl,
    routerPort: Number(new URL(routerUrl).port),
    demoPassword,
    call,
    asAdmin: (method, path, body) => call(method, path, body, adminToken),
    async tenant(id) {
      // Platform admins read any tenant through the list; the one-tenant route asks them for a reason.
      const page = await call<{ items: TenantView[] }>(
        'GET',
        '/admin/tenants?limit=100',
        undefined,
        adminToken,
      );
      const found = page.json.items.find((item) => item.id === id);
      if (!found) throw new Error(`tenant ${id} is not in the registry`);
      return found;
    },
    get: (host, path) => throughRouter(routerUrl, host, path),
    post: (host, path, body, headers) =>
      throughRouter(routerUrl, host, path, { method: 'POST', body, headers }),
    stop() {
      stopped ??= (async () => {
        await platform.stop();
        await postgres.stop();
        await rm(dataDir, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
}
