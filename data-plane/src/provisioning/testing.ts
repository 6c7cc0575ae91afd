import '@amanat/kit/postgres/vitest-context';
import { randomBytes, randomUUID } from 'node:crypto';
import { withAdminClient } from '@amanat/kit/postgres/test-databases';
import pg from 'pg';
import { inject } from 'vitest';
import type { TenantRef } from './names.ts';
import { Provisioner } from './provisioner.ts';
import { quoteIdent } from './servers.ts';

/**
 * A provisioner on the test server with its own fleet, shared and schemas databases, so test
 * files running in parallel never see each other's tenants. `cleanup` drops the databases
 * and every role its tenants left behind.
 */
export async function openTestProvisioner() {
  const suffix = randomBytes(4).toString('hex');
  const adminUrl = inject('pgAdminUrl');
  const databases = { fleet: `fleet_${suffix}`, shared: `shared_${suffix}`, schemas: `schemas_${suffix}` };
  const provisioner = await Provisioner.open({ adminUrl, databases });

  async function cleanup() {
    const tenants = await provisioner.list();
    await provisioner.close();
    await withAdminClient(adminUrl, async (client) => {
      const databaseNames = [
        ...Object.values(databases),
        ...tenants.filter((t) => t.mode === 'database').map((t) => t.database),
      ];
      for (const name of databaseNames)
        await client.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
      const roles = await client.query<{ rolname: string }>(
        `SELECT rolname FROM pg_roles WHERE rolname = ANY($1) OR rolname ~ $2`,
        [
          [`${databases.shared}_owner`, `${databases.shared}_tenants`],
          `^t_(${tenants.map((t) => t.tenantId.replaceAll('-', '')).join('|') || 'none'})_`,
        ],
      );
      for (const { rolname } of roles.rows) {
        await client.query(`DROP OWNED BY ${quoteIdent(rolname)}`).catch(() => undefined);
        await client.query(`DROP ROLE IF EXISTS ${quoteIdent(rolname)}`);
      }
    });
  }
  return { provisioner, databases, adminUrl, cleanup };
}

export function newTenant(slug = `shop-${randomBytes(3).toString('hex')}`): TenantRef {
  return { id: randomUUID(), slug };
}

/** Connects with a data plane's credentials and runs `fn`; the connection is always closed. */
export async function asLogin<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}
