import '@amanat/kit/postgres/vitest-context';
import { randomUUID } from 'node:crypto';
import type { App } from '@amanat/kit/http/types';
import { cloneDatabase } from '@amanat/kit/postgres/test-databases';
import { Keyring } from '@amanat/kit/secrets/keyring';
import { count } from 'drizzle-orm';
import type { PgTable } from 'drizzle-orm/pg-core';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import type { DestinationStream } from 'pino';
import { inject } from 'vitest';
import { buildDataPlaneApp } from '../app.ts';
import type { TenantRole } from '../auth/permissions.ts';
import { STAFF_TOKEN_ISSUER, staffAudience } from '../auth/staff.ts';
import { type DataPlaneConfig, loadDataPlaneConfig } from '../config.ts';
import { connect } from '../db/client.ts';
import { ensureSettings } from '../settings/service.ts';

export const PAYMENT_EVIDENCE_SECRET = 'test-payment-evidence-secret-0123456789';

/**
 * One tenant's data plane on its own fresh database (cloned from the migrated template),
 * served in-process through fastify's inject. The test plays the control plane: it holds
 * the Ed25519 private key whose public half is in CONTROL_PLANE_JWKS.
 *
 * With `database`, the data plane joins a database another one already uses, as tenants do
 * in the shared isolation mode, or one the provisioner made (then pass its `tenantId` too:
 * a provisioned login only ever sees its own tenant's rows). That database is left for its
 * creator to drop, so close this data plane first.
 */
export async function startTestDataPlane(
  options: {
    env?: Record<string, string>;
    logStream?: DestinationStream;
    database?: { url: string };
    tenantId?: string;
  } = {},
) {
  const database = options.database
    ? { url: options.database.url, drop: async () => {} }
    : await cloneDatabase(inject('pgAdminUrl'), inject('templates').dataPlane as string);
  const tenantId = options.tenantId ?? randomUUID();
  const { publicKey, privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const kid = 'cp-test-1';
  const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'EdDSA', use: 'sig' }] };
  const config: DataPlaneConfig = loadDataPlaneConfig({
    TENANT_ID: tenantId,
    TENANT_SLUG: 'test-shop',
    DATABASE_URL: database.url,
    PUBLIC_HOSTS: 'test-shop.localhost,shop.example.com',
    CONTROL_PLANE_URL: 'http://127.0.0.1:1',
    CONTROL_PLANE_JWKS: JSON.stringify(jwks),
    PAYMENT_EVIDENCE_SECRET,
    DELIVERY_LINK_SECRET: 'test-delivery-link-secret-0123456789abcdef',
    SECRETS_KEYS: Keyring.generateSpec(),
    LOG_LEVEL: 'silent',
    ...options.env,
  });
  const { db, pool } = connect(config.DATABASE_URL);
  const ctx = { db, config, tenantId };
  await ensureSettings(ctx);
  const app: App = await buildDataPlaneApp({
    ...ctx,
    pool,
    ...(options.logStream ? { logStream: options.logStream } : {}),
  });
  await app.ready();

  /** A staff token as the control plane would issue it; override claims to forge bad ones. */
  async function staffToken(
    role: TenantRole,
    overrides: { audience?: string; expiresIn?: string; issuedAt?: number; userId?: string } = {},
  ): Promise<string> {
    return new SignJWT({ role })
      .setProtectedHeader({ alg: 'EdDSA', kid })
      .setIssuer(STAFF_TOKEN_ISSUER)
      .setAudience(overrides.audience ?? staffAudience(tenantId))
      .setSubject(overrides.userId ?? randomUUID())
      .setIssuedAt(overrides.issuedAt)
      .setExpirationTime(overrides.expiresIn ?? '5m')
      .sign(privateKey);
  }

  async function staffHeaders(role: TenantRole = 'owner') {
    return { authorization: `Bearer ${await staffToken(role)}` };
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
    tenantId,
    staffToken,
    staffHeaders,
    rowCount,
    async close() {
      await app.close();
      await pool.end();
      await database.drop();
    },
  };
}

export type TestDataPlane = Awaited<ReturnType<typeof startTestDataPlane>>;
