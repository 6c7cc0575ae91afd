import { randomBytes } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { migrateControlPlane } from './control-plane/src/db/migrate.ts';
import { migrateDataPlane } from './data-plane/src/db/migrate.ts';
import { type EmbeddedPostgresHandle, startEmbeddedPostgres } from './kit/src/postgres/embedded.ts';
import { createTemplateDatabase, dropDatabase } from './kit/src/postgres/test-databases.ts';

import { provideTestDatabases } from './kit/src/postgres/vitest-context.ts';

/**
 * One PostgreSQL server for the whole run: the embedded one, or the server DATABASE_URL
 * names. Each service's migrations build one template database; test files clone it.
 */
export default async function setup(project: TestProject) {
  let server: EmbeddedPostgresHandle | undefined;
  let adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) {
    server = await startEmbeddedPostgres({
      dataDir: await mkdtemp(join(tmpdir(), 'amanat-test-pg-')),
      persistent: false,
    });
    adminUrl = server.adminUrl;
  }
  const runId = randomBytes(4).toString('hex');
  const templates = { controlPlane: `tpl_control_plane_${runId}`, dataPlane: `tpl_data_plane_${runId}` };
  await createTemplateDatabase(adminUrl, templates.controlPlane, migrateControlPlane);
  await createTemplateDatabase(adminUrl, templates.dataPlane, migrateDataPlane);

  provideTestDatabases(project, adminUrl, templates);

  return async () => {
    if (server) await server.stop();
    else for (const template of Object.values(templates)) await dropDatabase(adminUrl, template);
  };
}
