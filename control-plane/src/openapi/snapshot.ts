// Brings in app.swagger()'s type.

import { fileURLToPath } from 'node:url';
import { Keyring } from '@amanat/kit/secrets/keyring';
import type {} from '@fastify/swagger';
import { buildApp } from '../app.ts';
import { loadConfig } from '../config.ts';
import { generateSigningKeyJson } from '../data-plane-access/signing.ts';
import { connect } from '../db/client.ts';

export const snapshotPath = fileURLToPath(new URL('../../openapi.json', import.meta.url));

/** The OpenAPI document as the routes generate it; building it needs no live database. */
export async function openApiDocument(): Promise<unknown> {
  const config = loadConfig({
    DATABASE_URL: 'postgres://unused@127.0.0.1:1/unused',
    SECRETS_KEYS: Keyring.generateSpec(),
    DATA_PLANE_SIGNING_KEY: await generateSigningKeyJson('snapshot'),
    LOG_LEVEL: 'silent',
  });
  const { db, pool } = connect(config.DATABASE_URL);
  const app = await buildApp({ db, pool, config });
  await app.ready();
  const document = app.swagger();
  await app.close();
  await pool.end();
  return document;
}
