import { randomUUID } from 'node:crypto';
import { withAdminClient } from '@amanat/kit/postgres/test-databases';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type MoveStep, moveTenant } from './move.ts';
import type { Credentials, Provisioner } from './provisioner.ts';
import { summarizeTenant } from './tenant-data.ts';
import { asLogin, newTenant, openTestProvisioner } from './testing.ts';

let harness: Awaited<ReturnType<typeof openTestProvisioner>>;
let provisioner: Provisioner;

beforeAll(async () => {
  harness = await openTestProvisioner();
  provisioner = harness.provisioner;
});
afterAll(() => harness.cleanup());

/** Writes a category, a product, stock and an audit row through the tenant's own login. */
async function writeShopData(url: string, tenantId: string, label: string): Promise<void> {
  await asLogin(url, async (client) => {
    const category = randomUUID();
    await client.query(`INSERT INTO categories (id, tenant_id, name, slug) VALUES ($1, $2, $3, $4)`, [
      category,
      tenantId,
      `Category ${label}`,
      `cat-${label}`,
    ]);
    await client.query(
      `INSERT INTO audit_log (tenant_id, actor_type, action, target_type, target_id)
       VALUES ($1, 'staff', $2, 'category', $3)`,
      [tenantId, `category.created.${label}`, category],
    );
  });
}

async function categorySlugs(url: string): Promise<string[]> {
  return asLogin(url, async (client) => {
    const rows = await client.query<{ slug: string }>('SELECT slug FROM categories ORDER BY slug');
    return rows.rows.map((row) => row.slug);
  });
}

it('moves a tenant up every tier, keeping rows written during the copy, and removes the old copy', async () => {
  const tenant = newTenant();
  const first = await provisioner.provision(tenant, 'shared');
  let url = (first.credentials as Credentials).url;
  for (let i = 0; i < 5; i++) await writeShopData(url, tenant.id, `a${i}`);
  const sharedDatabase = first.placement.database;

  const steps: MoveStep[] = [];
  let switched: Credentials | undefined;
  const toSchema = await moveTenant(provisioner, tenant.id, 'schema', {
    onSwitch: async (credentials) => {
      switched = credentials;
    },
    onStep: async (step) => {
      steps.push(step);
      // The shop keeps taking writes while its rows are copied; the final sync must catch them.
      if (step === 'copied') await writeShopData(url, tenant.id, 'during-copy');
      if (step === 'paused') {
        await expect(writeShopData(url, tenant.id, 'while-paused')).rejects.toThrow(/permission denied/);
        expect(await categorySlugs(url)).toContain('cat-during-copy');
      }
    },
  });
  expect(steps).toEqual(['prepared-target', 'copied', 'verified', 'paused', 'synced', 'switched', 'cleaned']);
  expect(toSchema.actions.join('\n')).toMatch(/copied again 2 tables written during the copy/);
  expect(switched?.url).toBe(toSchema.credentials?.url);
  url = (toSchema.credentials as Credentials).url;
  expect(await categorySlugs(url)).toEqual([
    'cat-a0',
    'cat-a1',
    'cat-a2',
    'cat-a3',
    'cat-a4',
    'cat-during-copy',
  ]);
  expect((await provisioner.locate(tenant.id))?.mode).toBe('schema');
  await withAdminClient(provisioner.servers.adminUrl('default', sharedDatabase), async (client) => {
    const left = await summarizeTenant(client, 'public', tenant.id);
    expect(left.filter((table) => table.rows > 0)).toEqual([]);
  });
  // New ids keep coming from the sequences after the copied rows.
  await writeShopData(url, tenant.id, 'after-move');

  const toDatabase = await moveTenant(provisioner, tenant.id, 'database', {
    onSwitch: async () => undefined,
  });
  url = (toDatabase.credentials as Credentials).url;
  expect(await categorySlugs(url)).toContain('cat-after-move');
  expect(toDatabase.placement.mode).toBe('database');
  await expect(
    asLogin((toSchema.credentials as Credentials).url, (c) => c.query('SELECT 1')),
  ).rejects.toThrow();
});

it.each(['prepared-target', 'copied', 'verified', 'paused', 'synced'] as const)(
  'a failure after %s leaves the tenant serving, with writes, from where it was',
  async (failAt) => {
    const tenant = newTenant();
    const first = await provisioner.provision(tenant, 'shared');
    const url = (first.credentials as Credentials).url;
    await writeShopData(url, tenant.id, 'before');
    await expect(
      moveTenant(provisioner, tenant.id, 'schema', {
        onSwitch: async () => {
          throw new Error('must not switch');
        },
        onStep: (step) => {
          if (step === failAt) throw new Error(`injected failure at ${step}`);
        },
      }),
    ).rejects.toThrow(`injected failure at ${failAt}`);
    expect((await provisioner.locate(tenant.id))?.mode).toBe('shared');
    await writeShopData(url, tenant.id, 'after');
    expect(await categorySlugs(url)).toEqual(['cat-after', 'cat-before']);
    await withAdminClient(
      provisioner.servers.adminUrl('default', harness.databases.schemas),
      async (client) => {
        const schemas = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [
          `t_${tenant.id.replaceAll('-', '')}`,
        ]);
        expect(schemas.rowCount).toBe(0);
      },
    );
    // And the move can simply be tried again.
    const moved = await moveTenant(provisioner, tenant.id, 'schema', { onSwitch: async () => undefined });
    expect(await categorySlugs((moved.credentials as Credentials).url)).toEqual(['cat-after', 'cat-before']);
  },
);

it('refuses to move down or sideways', async () => {
  const tenant = newTenant();
  await provisioner.provision(tenant, 'schema');
  await expect(
    moveTenant(provisioner, tenant.id, 'shared', { onSwitch: async () => undefined }),
  ).rejects.toThrow(/only move up/);
  await expect(
    moveTenant(provisioner, tenant.id, 'schema', { onSwitch: async () => undefined }),
  ).rejects.toThrow(/only move up/);
});
