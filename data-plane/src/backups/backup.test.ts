import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync, gzipSync } from 'node:zlib';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ISOLATION_MODES, type TenantRef } from '../provisioning/names.ts';
import type { Credentials, Provisioner } from '../provisioning/provisioner.ts';
import { backupLogs } from '../provisioning/registry-schema.ts';
import { asLogin, newTenant, openTestProvisioner } from '../provisioning/testing.ts';
import { readArchive } from './archive.ts';
import { backupKey, backupTakenAt, takeBackup } from './backup.ts';
import { FileObjectStore } from './object-store.ts';
import { pruneTenantBackups } from './prune.ts';
import { asideSchema, restoreBackup, undoRestore } from './restore.ts';

let harness: Awaited<ReturnType<typeof openTestProvisioner>>;
let provisioner: Provisioner;
let store: FileObjectStore;
let storeDir: string;

beforeAll(async () => {
  harness = await openTestProvisioner();
  provisioner = harness.provisioner;
  storeDir = await mkdtemp(join(tmpdir(), 'amanat-backups-'));
  store = new FileObjectStore(storeDir);
});
afterAll(() => harness.cleanup());

async function addCategory(url: string, tenantId: string, slug: string) {
  await asLogin(url, (client) =>
    client.query(`INSERT INTO categories (id, tenant_id, name, slug) VALUES ($1, $2, $3, $4)`, [
      randomUUID(),
      tenantId,
      `Name of ${slug}`,
      slug,
    ]),
  );
}

async function addAudit(url: string, tenantId: string, action: string) {
  await asLogin(url, (client) =>
    client.query(
      `INSERT INTO audit_log (tenant_id, actor_type, action, target_type) VALUES ($1, 'staff', $2, 'shop')`,
      [tenantId, action],
    ),
  );
}

async function slugs(url: string): Promise<string[]> {
  return asLogin(url, async (client) => {
    const rows = await client.query<{ slug: string }>('SELECT slug FROM categories ORDER BY slug');
    return rows.rows.map((row) => row.slug);
  });
}

async function provisionWithData(mode: (typeof ISOLATION_MODES)[number], marker: string) {
  const tenant = newTenant();
  const report = await provisioner.provision(tenant, mode);
  const url = (report.credentials as Credentials).url;
  await addCategory(url, tenant.id, `${marker}-1`);
  await addCategory(url, tenant.id, `${marker}-2`);
  await addAudit(url, tenant.id, `${marker}.audit`);
  return { tenant, url };
}

describe.each(ISOLATION_MODES)('%s mode', (mode) => {
  it('backs up exactly one tenant, restores it with the previous data set aside, and can undo', async () => {
    const a = await provisionWithData(mode, 'alpha');
    const b = await provisionWithData(mode, 'bravo');

    const backup = await takeBackup(provisioner, store, a.tenant.id);
    expect(backup.rows).toBe(3);
    expect(backup.manifest.tables.find((t) => t.name === 'categories')?.rows).toBe(2);
    expect(backup.manifest.tenant).toEqual(a.tenant);
    const archive = await readFile(join(storeDir, backup.key));
    expect(archive.length).toBe(backup.sizeBytes);
    // Nothing of the other tenant is in the archive, in any mode.
    const unpacked = await mkdtemp(join(tmpdir(), 'amanat-unpacked-'));
    const manifest = await readArchive(Readable.from(archive), unpacked);
    const categories = await readFile(join(unpacked, 'tables/categories.copy'), 'utf8');
    expect(categories).toContain('alpha-1');
    expect(categories).not.toContain('bravo');
    expect(manifest.schemaVersion.when).toBeGreaterThan(0);
    const [log] = await provisioner.registry.select().from(backupLogs).where(eq(backupLogs.path, backup.key));
    expect(log).toMatchObject({ status: 'succeeded', sizeBytes: backup.sizeBytes, rows: 3, kind: 'backup' });

    await addCategory(a.url, a.tenant.id, 'alpha-after-backup');
    const restored = await restoreBackup(provisioner, store, { tenantId: a.tenant.id, key: backup.key });
    expect(restored.rows).toBe(3);
    expect(await slugs(a.url)).toEqual(['alpha-1', 'alpha-2']);
    expect(await slugs(b.url)).toEqual(['bravo-1', 'bravo-2']);
    // The restored tenant keeps working: new rows get fresh ids after the restored ones.
    await addAudit(a.url, a.tenant.id, 'alpha.after-restore');
    await addCategory(a.url, a.tenant.id, 'alpha-3');

    await undoRestore(provisioner, a.tenant.id, restored.restoreId);
    expect(await slugs(a.url)).toEqual(['alpha-1', 'alpha-2', 'alpha-after-backup']);
    expect(await slugs(b.url)).toEqual(['bravo-1', 'bravo-2']);
    await expect(undoRestore(provisioner, a.tenant.id, restored.restoreId)).rejects.toThrow(
      /no set-aside data/,
    );
    expect(asideSchema(a.tenant.id, restored.restoreId)).toMatch(/^aside_[0-9a-f]{32}_\d{14}$/);
  });
});

it('restores a deprovisioned tenant into another mode from its final backup', async () => {
  const a = await provisionWithData('shared', 'charlie');
  let finalKey = '';
  await provisioner.deprovision(a.tenant.id, async (placement) => {
    finalKey = (await takeBackup(provisioner, store, placement.tenantId, { placement, reason: 'final' })).key;
  });
  expect(await provisioner.locate(a.tenant.id)).toBeNull();
  const restored = await restoreBackup(provisioner, store, {
    tenantId: a.tenant.id,
    key: finalKey,
    mode: 'database',
  });
  expect(restored.placement.mode).toBe('database');
  expect(await slugs((restored.credentials as Credentials).url)).toEqual(['charlie-1', 'charlie-2']);
});

it('refuses a tampered archive, another tenant’s backup, and a missing key, changing nothing', async () => {
  const a = await provisionWithData('schema', 'delta');
  const other = await provisionWithData('schema', 'echo');
  const backup = await takeBackup(provisioner, store, a.tenant.id);
  const path = join(storeDir, backup.key);
  await addCategory(a.url, a.tenant.id, 'delta-later');

  const tamperedKey = backup.key.replace('.tar.gz', '-tampered.tar.gz');
  const tar = gunzipSync(await readFile(path));
  const at = tar.indexOf('delta-1');
  expect(at).toBeGreaterThan(0);
  tar.write('DELTA-1', at);
  await writeFile(join(storeDir, tamperedKey), gzipSync(tar));
  await expect(
    restoreBackup(provisioner, store, { tenantId: a.tenant.id, key: tamperedKey }),
  ).rejects.toThrow(/does not match its sha256/);
  await expect(
    restoreBackup(provisioner, store, { tenantId: other.tenant.id, key: backup.key }),
  ).rejects.toThrow(/belongs to tenant/);
  await expect(
    restoreBackup(provisioner, store, { tenantId: a.tenant.id, key: backupKey(a.tenant.id, new Date(0)) }),
  ).rejects.toThrow();
  expect(await slugs(a.url)).toEqual(['delta-1', 'delta-2', 'delta-later']);
  const failed = await provisioner.registry
    .select()
    .from(backupLogs)
    .where(eq(backupLogs.tenantId, a.tenant.id));
  expect(failed.filter((row) => row.kind === 'restore' && row.status === 'failed')).toHaveLength(2);
});

it('reads the time a backup was taken back from its key', () => {
  const tenant: TenantRef = newTenant();
  const at = new Date('2026-11-22T02:00:00.123Z');
  expect(backupTakenAt(backupKey(tenant.id, at))).toEqual(at);
  expect(backupTakenAt('tenants/x/notes.txt')).toBeNull();
});

it('prunes a tenant’s backups by the retention policy and logs the run', async () => {
  const a = await provisionWithData('shared', 'foxtrot');
  const now = new Date('2026-11-22T03:00:00.000Z');
  const days = [0, 0.05, 1, 2, 40, 41, 400, 2000];
  for (const ago of days) {
    await takeBackup(provisioner, store, a.tenant.id, { now: new Date(now.getTime() - ago * 86_400_000) });
  }
  const result = await pruneTenantBackups(provisioner, store, a.tenant.id, now);
  const key = (ago: number) => backupKey(a.tenant.id, new Date(now.getTime() - ago * 86_400_000));
  // Two backups today (the newer stays); 40 and 41 days back are Tuesday and Monday of one ISO
  // week (the newer stays); 2,000 days back is past three years.
  expect([...result.deleted].sort()).toEqual([key(0.05), key(41), key(2000)].sort());
  expect(result.kept.length + result.deleted.length).toBe(days.length);
  const left = await store.list(`tenants/${a.tenant.id}/`);
  expect(left.map((object) => object.key).sort()).toEqual([...result.kept].sort());
  const logs = await provisioner.registry
    .select()
    .from(backupLogs)
    .where(eq(backupLogs.tenantId, a.tenant.id));
  expect(logs.filter((row) => row.kind === 'prune' && row.status === 'succeeded')).toHaveLength(1);
});
