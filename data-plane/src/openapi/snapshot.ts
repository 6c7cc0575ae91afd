// Brings in app.swagger()'s type.

import { fileURLToPath } from 'node:url';
import { Keyring } from '@amanat/kit/secrets/keyring';
import type {} from '@fastify/swagger';
import { buildDataPlaneApp } from '../app.ts';
import { loadDataPlaneConfig } from '../config.ts';
import { connect } from '../db/client.ts';

export const snapshotPath = fileURLToPath(new URL('../../openapi.json', import.meta.url));

/** The OpenAPI document as the routes generate it; building it needs no live database. */
export async function openApiDocument(): Promise<unknown> {
  const tenantId = '00000000-0000-4000-8000-000000000000';
  const config = loadDataPlaneConfig({
    TENANT_ID: tenantId,
    TENANT_SLUG: 'snapshot',
    DATABASE_URL: 'postgres://unused@127.0.0.1:1/unused',
    PUBLIC_HOSTS: 'snapshot.localhost',
    CONTROL_PLANE_URL: 'http://127.0.0.1:1',
    CONTROL_PLANE_JWKS: JSON.stringify({
      keys: [
        { kty: 'OKP', crv: 'Ed25519', x: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', kid: 'snapshot' },
      ],
    }),
    PAYMENT_EVIDENCE_SECRET: 'snapshot-secret-snapshot-secret-snapshot',
    DELIVERY_LINK_SECRET: 'snapshot-secret-snapshot-secret-snapshot',
    SECRETS_KEYS: Keyring.generateSpec(),
    LOG_LEVEL: 'silent',
  });
  const { db, pool } = connect(config.DATABASE_URL);
  const app = await buildDataPlaneApp({ db, pool, config, tenantId });
  await app.ready();
  const document = app.swagger();
  await app.close();
  await pool.end();
  return document;
}
