import '@amanat/kit/postgres/vitest-context';
import type { App } from '@amanat/kit/http/types';
import { cloneDatabase } from '@amanat/kit/postgres/test-databases';
import { Keyring } from '@amanat/kit/secrets/keyring';
import type { KubeConfig } from '@kubernetes/client-node';
import { count } from 'drizzle-orm';
import type { PgTable } from 'drizzle-orm/pg-core';
import { inject } from 'vitest';
import { createPlatformAdmin } from '../accounts/service.ts';
import { currentTotpCode, newTotpSecret } from '../accounts/totp.ts';
import { type AppDependencies, buildApp } from '../app.ts';
import { auditLog } from '../audit/schema.ts';
import { type Config, loadConfig } from '../config.ts';
import { generateSigningKeyJson } from '../data-plane-access/signing.ts';
import { connect } from '../db/client.ts';

export interface SignedIn {
  id: string;
  email: string;
  token: string;
  headers: { authorization: string };
}

let emailCounter = 0;
export function uniqueEmail(prefix = 'user'): string {
  emailCounter += 1;
  return `${prefix}-${process.pid}-${emailCounter}@example.com`;
}

export const PASSWORD = 'correct horse battery staple';

/**
 * A control plane on its own fresh database (cloned from the migrated template the global
 * setup built), served in-process through fastify's inject. With `KUBERNETES_SYNC=true` in
 * `env`, its Tenant sync talks to the cluster of `options.kubeConfig`; `options.localRoutes`
 * adds a runtime's own routes, as the local platform does.
 */
export async function startTestControlPlane(
  env: Record<string, string> = {},
  options: { kubeConfig?: KubeConfig; localRoutes?: AppDependencies['localRoutes'] } = {},
) {
  const database = await cloneDatabase(inject('pgAdminUrl'), inject('templates').controlPlane as string);
  const config: Config = loadConfig({
    DATABASE_URL: database.url,
    SECRETS_KEYS: Keyring.generateSpec(),
    DATA_PLANE_SIGNING_KEY: await generateSigningKeyJson('cp-test'),
    LOG_LEVEL: 'silent',
    ...env,
  });
  const { db, pool } = connect(config.DATABASE_URL);
  const app: App = await buildApp({ db, pool, config, ...options });
  await app.ready();
  const ctx = { db, config };

  async function register(prefix = 'seller'): Promise<SignedIn> {
    const email = uniqueEmail(prefix);
    const created = await app.inject({
      method: 'POST',
      url: '/auth/register',
      payload: { email, password: PASSWORD, display_name: prefix },
    });
    if (created.statusCode !== 201) throw new Error(`register failed: ${created.body}`);
    return login(email);
  }

  async function login(email: string, password = PASSWORD): Promise<SignedIn> {
    const response = await app.inject({ method: 'POST', url: '/auth/login', payload: { email, password } });
    if (response.statusCode !== 200) throw new Error(`login failed: ${response.body}`);
    const body = response.json();
    return {
      id: body.user.id,
      email,
      token: body.access_token,
      headers: { authorization: `Bearer ${body.access_token}` },
    };
  }

  /** A platform admin whose session has just passed the MFA challenge. */
  async function admin(): Promise<SignedIn & { totpSecret: string }> {
    const totpSecret = newTotpSecret();
    const email = uniqueEmail('admin');
    await createPlatformAdmin(ctx, { email, password: PASSWORD, display_name: 'Admin', totpSecret });
    const signedIn = await login(email);
    const challenge = await app.inject({
      method: 'POST',
      url: '/auth/mfa/challenge',
      headers: signedIn.headers,
      payload: { code: currentTotpCode(totpSecret) },
    });
    if (challenge.statusCode !== 204) throw new Error(`MFA challenge failed: ${challenge.body}`);
    return { ...signedIn, totpSecret };
  }

  /** An active tenant owned by `owner`, requested by them and approved by `approver`. */
  async function activeTenant(
    owner: SignedIn,
    approver: SignedIn,
    slug = `shop-${uniqueEmail('t').split('@')[0]}`,
  ) {
    const requested = await app.inject({
      method: 'POST',
      url: '/tenants',
      headers: owner.headers,
      payload: { slug: slug.toLowerCase().slice(0, 40), display_name: 'Test shop', tier: 'white_label' },
    });
    if (requested.statusCode !== 201) throw new Error(`tenant request failed: ${requested.body}`);
    const tenant = requested.json();
    const approved = await app.inject({
      method: 'POST',
      url: `/admin/tenants/${tenant.id}/approve`,
      headers: approver.headers,
    });
    if (approved.statusCode !== 200) throw new Error(`approve failed: ${approved.body}`);
    return approved.json() as { id: string; slug: string; status: string };
  }

  /** Gives `member` a role in the tenant, as the tenant's owner. */
  async function grant(tenantId: string, owner: SignedIn, member: SignedIn, role: string) {
    const response = await app.inject({
      method: 'POST',
      url: `/tenants/${tenantId}/members`,
      headers: owner.headers,
      payload: { email: member.email, role },
    });
    if (response.statusCode !== 201) throw new Error(`grant failed: ${response.body}`);
  }

  async function rowCount(table: PgTable): Promise<number> {
    const [row] = await db.select({ n: count() }).from(table);
    return row?.n ?? 0;
  }

  return {
    app,
    db,
    pool,
    config,
    ctx,
    register,
    login,
    admin,
    activeTenant,
    grant,
    rowCount,
    auditCount: () => rowCount(auditLog),
    async close() {
      await app.close();
      await pool.end();
      await database.drop();
    },
  };
}

export type TestControlPlane = Awaited<ReturnType<typeof startTestControlPlane>>;
