import { withAdminClient } from '@amanat/kit/postgres/test-databases';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ISOLATION_MODES, tenantObjectNames } from './names.ts';
import type { Provisioner } from './provisioner.ts';
import { tenantTables } from './tenant-tables.ts';
import { asLogin, newTenant, openTestProvisioner } from './testing.ts';

let harness: Awaited<ReturnType<typeof openTestProvisioner>>;
let provisioner: Provisioner;

beforeAll(async () => {
  harness = await openTestProvisioner();
  provisioner = harness.provisioner;
});
afterAll(() => harness.cleanup());

describe.each(ISOLATION_MODES)('%s mode', (mode) => {
  it('provisions a tenant whose login can use, and only use, its own tables', async () => {
    const tenant = newTenant();
    const report = await provisioner.provision(tenant, mode);
    expect(report.credentials?.username).toBe(tenantObjectNames(tenant.id).app);
    expect(report.actions.join('\n')).toContain(`created login ${tenantObjectNames(tenant.id).app}`);
    const url = report.credentials?.url as string;
    await asLogin(url, async (client) => {
      const flags = await client.query(
        `SELECT rolsuper, rolcreaterole, rolcreatedb, rolbypassrls FROM pg_roles WHERE rolname = current_user`,
      );
      expect(flags.rows[0]).toEqual({
        rolsuper: false,
        rolcreaterole: false,
        rolcreatedb: false,
        rolbypassrls: false,
      });
      // The data plane's own write path, through its login.
      await client.query(`INSERT INTO categories (tenant_id, name, slug) VALUES ($1, 'Shoes', 'shoes')`, [
        tenant.id,
      ]);
      const rows = await client.query('SELECT name FROM categories');
      expect(rows.rows).toEqual([{ name: 'Shoes' }]);
      const owners = await client.query(
        `SELECT count(*)::int AS n FROM pg_tables WHERE tableowner = current_user`,
      );
      expect(owners.rows[0].n).toBe(0);
      await expect(client.query('CREATE TABLE intruder (id int)')).rejects.toThrow(/permission denied/);
      const current = await client.query('SELECT max(created_at) > 0 AS migrated FROM __drizzle_migrations');
      expect(current.rows[0].migrated).toBe(true);
    });
  });

  it('is idempotent: provisioning again changes nothing and keeps the password', async () => {
    const tenant = newTenant();
    const first = await provisioner.provision(tenant, mode);
    const again = await provisioner.provision(tenant, mode);
    expect(again.actions).toEqual([]);
    expect(again.credentials).toBeUndefined();
    expect(again.placement).toEqual(first.placement);
    await asLogin(first.credentials?.url as string, (client) => client.query('SELECT 1'));
  });

  it('rotates credentials: the old password stops working, the new one works', async () => {
    const tenant = newTenant();
    const first = await provisioner.provision(tenant, mode);
    const rotated = await provisioner.rotateCredentials(tenant.id);
    expect(rotated.credentials?.password).not.toBe(first.credentials?.password);
    await expect(asLogin(first.credentials?.url as string, (c) => c.query('SELECT 1'))).rejects.toThrow(
      /password authentication failed/,
    );
    await asLogin(rotated.credentials?.url as string, (c) => c.query('SELECT 1'));
  });

  it('repairs what is missing', async () => {
    const tenant = newTenant();
    const first = await provisioner.provision(tenant, mode);
    const { app } = tenantObjectNames(tenant.id);
    // Someone revoked the login's rights on a table by hand.
    await withAdminClient(provisioner.servers.adminUrl('default', first.placement.database), (client) =>
      client.query(
        `REVOKE ALL ON ${first.placement.schema === 'public' ? 'public' : `"${first.placement.schema}"`}.orders FROM ${mode === 'shared' ? `${harness.databases.shared}_tenants` : app}`,
      ),
    );
    await provisioner.provision(tenant, mode);
    await asLogin(first.credentials?.url as string, (client) => client.query('SELECT count(*) FROM orders'));
  });

  it('deprovisions after a final backup: roles and data are gone', async () => {
    const tenant = newTenant();
    const report = await provisioner.provision(tenant, mode);
    await asLogin(report.credentials?.url as string, (client) =>
      client.query(`INSERT INTO categories (tenant_id, name, slug) VALUES ($1, 'Hats', 'hats')`, [tenant.id]),
    );
    const backedUp: string[] = [];
    const result = await provisioner.deprovision(tenant.id, async (placement) => {
      backedUp.push(placement.tenantId);
    });
    expect(backedUp).toEqual([tenant.id]);
    expect(result.actions[0]).toBe('took a final backup');
    expect(await provisioner.locate(tenant.id)).toBeNull();
    await withAdminClient(harness.adminUrl, async (client) => {
      const roles = await client.query('SELECT rolname FROM pg_roles WHERE rolname LIKE $1', [
        `t_${tenant.id.replaceAll('-', '')}%`,
      ]);
      expect(roles.rows).toEqual([]);
      const databases = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [
        tenantObjectNames(tenant.id).database,
      ]);
      expect(databases.rowCount).toBe(0);
    });
    if (mode !== 'database') {
      await withAdminClient(
        provisioner.servers.adminUrl('default', report.placement.database),
        async (client) => {
          const schema = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [
            tenantObjectNames(tenant.id).schema,
          ]);
          expect(schema.rowCount).toBe(0);
          for (const { name } of tenantTables) {
            if (mode !== 'shared') break;
            const left = await client.query(
              `SELECT count(*)::int AS n FROM public."${name}" WHERE tenant_id = $1`,
              [tenant.id],
            );
            expect(left.rows[0].n, name).toBe(0);
          }
        },
      );
    }
  });
});

it('refuses to provision a tenant into another mode than the one it is in', async () => {
  const tenant = newTenant();
  await provisioner.provision(tenant, 'shared');
  await expect(provisioner.provision(tenant, 'schema')).rejects.toThrow(/tier move/);
});

it('refuses malformed tenant ids and slugs before touching the server', async () => {
  await expect(provisioner.provision({ id: 'nope', slug: 'ok' }, 'shared')).rejects.toThrow(/not a uuid/);
  await expect(provisioner.provision({ ...newTenant(), slug: 'Bad Slug' }, 'shared')).rejects.toThrow(
    /DNS label/,
  );
});

it('never passes the plaintext password to the server', async () => {
  const tenant = newTenant();
  const report = await provisioner.provision(tenant, 'schema');
  await withAdminClient(harness.adminUrl, async (client) => {
    const stored = await client.query('SELECT rolpassword FROM pg_authid WHERE rolname = $1', [
      report.credentials?.username,
    ]);
    expect(stored.rows[0].rolpassword).toMatch(/^SCRAM-SHA-256\$4096:/);
  });
});

it('migrates the fleet resumably, reporting progress', async () => {
  const tenants = [newTenant(), newTenant(), newTenant()];
  for (const [index, tenant] of tenants.entries()) {
    await provisioner.provision(tenant, index === 2 ? 'database' : 'schema');
  }
  const progress: number[] = [];
  const run = await provisioner.migrateFleet((step) => progress.push(step.done));
  expect(run.failed).toBe(0);
  expect(run.done).toBe(run.total);
  expect(run.total).toBeGreaterThanOrEqual(3);
  expect(progress.at(-1)).toBe(run.total);
  // Resuming a finished run starts a new one only when there is something new to apply.
  const again = await provisioner.migrateFleet();
  expect(again.failed).toBe(0);
});

it('provisions tenants concurrently on a fresh server without racing on the shared setup', async () => {
  const fresh = await openTestProvisioner();
  try {
    const tenants = Array.from({ length: 6 }, () => newTenant());
    const reports = await Promise.all(
      tenants.map((tenant, index) =>
        fresh.provisioner.provision(tenant, index % 2 === 0 ? 'shared' : 'schema'),
      ),
    );
    for (const report of reports) {
      await asLogin(report.credentials?.url as string, (client) =>
        client.query('SELECT count(*) FROM orders'),
      );
    }
    // Exactly one of them created each shared object.
    const created = reports
      .flatMap((report) => report.actions)
      .filter((action) => action.startsWith('created database'));
    expect(created.sort()).toEqual([
      `created database ${fresh.databases.schemas}`,
      `created database ${fresh.databases.shared}`,
    ]);
  } finally {
    await fresh.cleanup();
  }
});

it('resumes an interrupted fleet migration with the tenants it had not reached', async () => {
  const fresh = await openTestProvisioner();
  try {
    for (let i = 0; i < 4; i++) await fresh.provisioner.provision(newTenant(), 'schema');
    // Empty every tenant's schema, so the run has every migration to apply (without tying this
    // test to what any one migration does); then crash the run after two tenants.
    await withAdminClient(
      fresh.provisioner.servers.adminUrl('default', fresh.databases.schemas),
      async (client) => {
        const schemas = await client.query<{ nspname: string; owner: string }>(
          `SELECT nspname, pg_get_userbyid(nspowner) AS owner FROM pg_namespace WHERE nspname ~ '^t_[0-9a-f]{32}$'`,
        );
        for (const { nspname, owner } of schemas.rows) {
          await client.query(`DROP SCHEMA "${nspname}" CASCADE`);
          await client.query(`CREATE SCHEMA "${nspname}" AUTHORIZATION "${owner}"`);
        }
      },
    );
    const first: string[] = [];
    await expect(
      fresh.provisioner.migrateFleet((step) => {
        first.push(step.tenantId);
        if (first.length === 2) throw new Error('the operator pod was evicted');
      }),
    ).rejects.toThrow('evicted');
    const second: { tenantId: string; done: number; total: number }[] = [];
    const resumed = await fresh.provisioner.migrateFleet((step) => second.push(step));
    expect(resumed.total).toBe(4);
    expect(resumed.failed).toBe(0);
    expect(second.map((step) => step.tenantId)).toEqual(
      (await fresh.provisioner.list()).map((t) => t.tenantId).filter((id) => !first.includes(id)),
    );
    expect(second.map((step) => step.done)).toEqual([3, 4]);
    for (const tenant of await fresh.provisioner.list()) {
      const report = await fresh.provisioner.migrate(tenant.tenantId);
      expect(report.actions).toEqual([]);
    }
  } finally {
    await fresh.cleanup();
  }
});
