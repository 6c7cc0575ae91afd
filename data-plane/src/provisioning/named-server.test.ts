import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type EmbeddedPostgresHandle, startEmbeddedPostgres } from '@amanat/kit/postgres/embedded';
import { withAdminClient } from '@amanat/kit/postgres/test-databases';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { moveTenant } from './move.ts';
import { tenantObjectNames } from './names.ts';
import { type Credentials, Provisioner } from './provisioner.ts';
import { asLogin, newTenant, openTestProvisioner } from './testing.ts';

let second: EmbeddedPostgresHandle;
let harness: Awaited<ReturnType<typeof openTestProvisioner>>;
let provisioner: Provisioner;

beforeAll(async () => {
  second = await startEmbeddedPostgres({
    dataDir: await mkdtemp(join(tmpdir(), 'amanat-second-pg-')),
    persistent: false,
  });
  harness = await openTestProvisioner();
  provisioner = await Provisioner.open({
    adminUrl: harness.adminUrl,
    databases: harness.databases,
    servers: { dedicated: { adminUrl: second.adminUrl } },
  });
});
afterAll(async () => {
  await provisioner.close();
  await harness.cleanup();
  await second.stop();
});

const roleOn = (adminUrl: string, role: string) =>
  withAdminClient(adminUrl, async (client) => {
    const found = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
    return found.rowCount === 1;
  });

it('places a database-mode tenant on a named server and removes it from there', async () => {
  const tenant = newTenant();
  const report = await provisioner.provision(tenant, 'database', { server: 'dedicated' });
  expect(report.placement).toMatchObject({ mode: 'database', server: 'dedicated' });
  const url = new URL((report.credentials as Credentials).url);
  expect(url.port).toBe(String(second.port));
  await asLogin(url.toString(), (client) => client.query('SELECT count(*) FROM orders'));
  const { app } = tenantObjectNames(tenant.id);
  expect(await roleOn(harness.adminUrl, app)).toBe(false);

  await provisioner.deprovision(tenant.id, async () => undefined);
  expect(await roleOn(second.adminUrl, app)).toBe(false);
  await withAdminClient(second.adminUrl, async (client) => {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [
      tenantObjectNames(tenant.id).database,
    ]);
    expect(found.rowCount).toBe(0);
  });
});

it('moves a shared tenant onto a dedicated server, leaving nothing of it on the default one', async () => {
  const tenant = newTenant();
  const first = await provisioner.provision(tenant, 'shared');
  await asLogin((first.credentials as Credentials).url, (client) =>
    client.query(`INSERT INTO categories (tenant_id, name, slug) VALUES ($1, 'Lamps', 'lamps')`, [tenant.id]),
  );
  const moved = await moveTenant(provisioner, tenant.id, 'database', {
    server: 'dedicated',
    onSwitch: async () => undefined,
  });
  const rows = await asLogin((moved.credentials as Credentials).url, (client) =>
    client.query<{ slug: string }>('SELECT slug FROM categories'),
  );
  expect(rows.rows).toEqual([{ slug: 'lamps' }]);
  expect(await roleOn(harness.adminUrl, tenantObjectNames(tenant.id).app)).toBe(false);
});

it('refuses a server that is not configured, and a named server for a mode that cannot use one', async () => {
  await expect(provisioner.provision(newTenant(), 'database', { server: 'elsewhere' })).rejects.toThrow(
    /no PostgreSQL server named "elsewhere"/,
  );
  await expect(provisioner.provision(newTenant(), 'schema', { server: 'dedicated' })).rejects.toThrow(
    /only database-mode tenants/,
  );
});
