import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { latestMigration } from '@amanat/kit/postgres/migrations';
import type pg from 'pg';
import { DATA_PLANE_MIGRATION_LOCK, dataPlaneMigrationsFolder, migrateDataPlane } from '../db/migrate.ts';
import {
  grantDml,
  type Placement,
  searchPath,
  sharedRoles,
  terminateSessions,
} from '../provisioning/modes.ts';
import { type IsolationMode, isTenantId, tenantLockKey, tenantObjectNames } from '../provisioning/names.ts';
import {
  type Credentials,
  ProvisionError,
  type Provisioner,
  stripRecord,
} from '../provisioning/provisioner.ts';
import { inTransaction, quoteIdent, schemaExists } from '../provisioning/servers.ts';
import { advanceSequences, copyIn, summarizeTable } from '../provisioning/tenant-data.ts';
import { tenantTables } from '../provisioning/tenant-tables.ts';
import { type BackupManifest, readArchive } from './archive.ts';
import { openBackupLog } from './log.ts';
import type { ObjectStore } from './object-store.ts';

export interface RestoreReport {
  tenantId: string;
  key: string;
  placement: Placement;
  /** Names the set-aside copy of the data the restore replaced; pass it to undoRestore or discardAside. */
  restoreId: string;
  rows: number;
  actions: string[];
  /** Present when the tenant had to be provisioned first (it had been deprovisioned). */
  credentials?: Credentials;
}

function stamp(now: Date): string {
  return now.toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

/** The schema holding what a restore set aside: per tenant, since a shared database holds many. */
export function asideSchema(tenantId: string, restoreId: string): string {
  return `aside_${tenantId.replaceAll('-', '')}_${restoreId}`;
}

function stagingSchema(tenantId: string, restoreId: string): string {
  return `restore_${tenantId.replaceAll('-', '')}_${restoreId}`;
}

function ownerOf(provisioner: Provisioner, placement: Placement, tenantId: string): string {
  return placement.mode === 'shared'
    ? sharedRoles(provisioner.databases.shared).owner
    : tenantObjectNames(tenantId).owner;
}

/** Older backups restore into newer schemas (columns map by name); a backup from a newer data plane does not. */
async function checkCompatible(manifest: BackupManifest): Promise<void> {
  const latest = await latestMigration(dataPlaneMigrationsFolder);
  if (manifest.schemaVersion.when > latest) {
    throw new ProvisionError(
      `the backup was taken at schema ${manifest.schemaVersion.tag}, newer than this provisioner's; restore it with a newer release`,
      'bad-input',
    );
  }
  const known = new Set(tenantTables.map((table) => table.name));
  const unknown = manifest.tables.filter((table) => !known.has(table.name)).map((table) => table.name);
  if (unknown.length > 0) {
    throw new ProvisionError(
      `the backup holds tables this data plane does not have: ${unknown.join(', ')}`,
      'bad-input',
    );
  }
}

/**
 * Restores one tenant from a backup (a platform-admin operation). The archive is checked
 * (format, sha256 of every table), loaded into a staging schema migrated to the current
 * data-plane schema, and verified by row counts and checksums. Then, in one transaction,
 * the tenant's current data is set aside — its schema renamed, or in shared mode its rows
 * moved into an aside schema — and the restored data takes its place. Nothing is deleted:
 * `undoRestore` puts the set-aside data back, `discardAside` drops it.
 *
 * A tenant that is not provisioned (deprovisioned, or restored onto a new server) is
 * provisioned first in `mode`, by default the mode the backup was taken in: a backup
 * restores into any mode, since every mode stores the same rows.
 */
export async function restoreBackup(
  provisioner: Provisioner,
  store: ObjectStore,
  request: { tenantId: string; key: string; mode?: IsolationMode; server?: string; now?: Date },
): Promise<RestoreReport> {
  const tenantId = request.tenantId.toLowerCase();
  if (!isTenantId(tenantId)) {
    throw new ProvisionError(`tenant id ${JSON.stringify(request.tenantId)} is not a uuid`, 'bad-input');
  }
  const dir = await mkdtemp(join(tmpdir(), 'amanat-restore-'));
  const actions: string[] = [];
  const log = await openBackupLog(provisioner.registry, tenantId, 'restore', request.key);
  try {
    const manifest = await readArchive(await store.get(request.key), dir);
    if (manifest.tenant.id !== tenantId) {
      throw new ProvisionError(
        `backup ${request.key} belongs to tenant ${manifest.tenant.id}, not ${tenantId}`,
        'bad-input',
      );
    }
    await checkCompatible(manifest);
    let record = await provisioner.locate(tenantId);
    let credentials: Credentials | undefined;
    if (record && request.mode && record.mode !== request.mode) {
      throw new ProvisionError(
        `tenant ${record.slug} is in ${record.mode} mode; restore into its mode, or move it first`,
        'mode-mismatch',
      );
    }
    if (!record) {
      const provisioned = await provisioner.provision(
        manifest.tenant,
        request.mode ?? manifest.source.mode,
        request.server ? { server: request.server } : {},
      );
      credentials = provisioned.credentials;
      actions.push(...provisioned.actions);
      record = await provisioner.locate(tenantId);
      if (!record) throw new Error('the tenant vanished while being provisioned');
    }
    const placement = stripRecord(record);
    const restoreId = stamp(request.now ?? new Date());
    const rows = await provisioner.withTenantLock(tenantId, async () => {
      const staged = await stage(provisioner, placement, tenantId, restoreId, manifest, dir);
      actions.push(`loaded ${staged} rows into a staging schema and verified them`);
      await swapIn(provisioner, placement, tenantId, restoreId);
      actions.push(
        `set the previous data aside in ${asideSchema(tenantId, restoreId)} and switched to the restored data`,
      );
      return staged;
    });
    await log.succeeded({ rows, detail: { restoreId, mode: placement.mode } });
    return {
      tenantId,
      key: request.key,
      placement,
      restoreId,
      rows,
      actions,
      ...(credentials ? { credentials } : {}),
    };
  } catch (error) {
    await log.failed(error);
    throw error;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Creates and migrates the staging schema, loads every table and checks it against the manifest. */
async function stage(
  provisioner: Provisioner,
  placement: Placement,
  tenantId: string,
  restoreId: string,
  manifest: BackupManifest,
  dir: string,
): Promise<number> {
  const staging = stagingSchema(tenantId, restoreId);
  const owner = ownerOf(provisioner, placement, tenantId);
  const { servers } = provisioner;
  await servers.withAdmin(placement.server, placement.database, (client) =>
    client.query(`CREATE SCHEMA ${quoteIdent(staging)} AUTHORIZATION ${quoteIdent(owner)}`),
  );
  try {
    await migrateDataPlane(servers.adminUrl(placement.server, placement.database), {
      lockKey: tenantLockKey(DATA_PLANE_MIGRATION_LOCK, tenantId),
      migrationsSchema: staging,
      prepare: async (client) => {
        await client.query(`SET ROLE ${quoteIdent(owner)}`);
        await client.query(`SET search_path TO ${searchPath(staging)}`);
      },
    });
    return await servers.withAdmin(placement.server, placement.database, async (client) => {
      await inTransaction(client, async () => {
        await client.query('SET LOCAL session_replication_role = replica');
        for (const table of manifest.tables) {
          await pipeline(
            createReadStream(join(dir, table.file)),
            copyIn(client, staging, table.name, table.columns),
          );
        }
      });
      // Over the backup's own column list: a newer schema's extra columns are not in its checksum.
      for (const table of manifest.tables) {
        const loaded = await summarizeTable(client, staging, table.name, table.columns, tenantId);
        if (loaded.rows !== table.rows || loaded.checksum !== table.checksum) {
          throw new Error(
            `table ${table.name} does not match the backup after loading (${loaded.rows} of ${table.rows} rows, or a different checksum)`,
          );
        }
      }
      return manifest.tables.reduce((sum, table) => sum + table.rows, 0);
    });
  } catch (error) {
    await servers.withAdmin(placement.server, placement.database, (client) =>
      client.query(`DROP SCHEMA IF EXISTS ${quoteIdent(staging)} CASCADE`),
    );
    throw error;
  }
}

/** One transaction: the current data goes aside, the staged data becomes the tenant's. */
async function swapIn(provisioner: Provisioner, placement: Placement, tenantId: string, restoreId: string) {
  const staging = stagingSchema(tenantId, restoreId);
  const aside = asideSchema(tenantId, restoreId);
  const { app } = tenantObjectNames(tenantId);
  await provisioner.servers.withAdmin(placement.server, placement.database, async (client) => {
    await inTransaction(client, async () => {
      if (placement.mode === 'shared') {
        await moveSharedRows(client, tenantId, { from: 'public', into: aside, create: true });
        await moveSharedRows(client, tenantId, { from: staging, into: 'public', create: false });
        await client.query(`DROP SCHEMA ${quoteIdent(staging)} CASCADE`);
      } else {
        await renameLive(client, placement.schema, aside, staging, app);
      }
      await advanceSequences(client, placement.schema);
    });
    await terminateSessions(client, app, placement.database);
  });
}

/** Schema and database modes: the live schema is renamed aside and the staged one renamed live. */
async function renameLive(client: pg.Client, live: string, aside: string, replacement: string, app: string) {
  await client.query(`ALTER SCHEMA ${quoteIdent(live)} RENAME TO ${quoteIdent(aside)}`);
  await client.query(`REVOKE ALL ON ALL TABLES IN SCHEMA ${quoteIdent(aside)} FROM ${quoteIdent(app)}`);
  await client.query(`REVOKE ALL ON SCHEMA ${quoteIdent(aside)} FROM ${quoteIdent(app)}`);
  await client.query(`ALTER SCHEMA ${quoteIdent(replacement)} RENAME TO ${quoteIdent(live)}`);
  await grantDml(client, live, app);
}

/**
 * Shared mode: moves one tenant's rows between the shared tables and a side schema, with
 * triggers off (the append-only history refuses deletes by design; this is a restore).
 */
async function moveSharedRows(
  client: pg.Client,
  tenantId: string,
  how: { from: string; into: string; create: boolean },
) {
  await client.query('SET LOCAL session_replication_role = replica');
  if (how.create) await client.query(`CREATE SCHEMA ${quoteIdent(how.into)}`);
  for (const { name } of tenantTables) {
    const from = `${quoteIdent(how.from)}.${quoteIdent(name)}`;
    const into = `${quoteIdent(how.into)}.${quoteIdent(name)}`;
    if (how.create) await client.query(`CREATE TABLE ${into} (LIKE ${from} INCLUDING DEFAULTS)`);
    const columns = await client.query<{ column_name: string }>(
      `SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2
        ORDER BY ordinal_position`,
      [how.from, name],
    );
    const list = columns.rows.map((row) => quoteIdent(row.column_name)).join(', ');
    await client.query(`DELETE FROM ${into} WHERE tenant_id = $1`, [tenantId]);
    await client.query(`INSERT INTO ${into} (${list}) SELECT ${list} FROM ${from} WHERE tenant_id = $1`, [
      tenantId,
    ]);
    await client.query(`DELETE FROM ${from} WHERE tenant_id = $1`, [tenantId]);
  }
}

/** Puts the data a restore set aside back in place; the restored data is dropped. */
export async function undoRestore(
  provisioner: Provisioner,
  tenantId: string,
  restoreId: string,
): Promise<void> {
  const record = await provisioner.require(tenantId);
  const placement = stripRecord(record);
  const aside = asideSchema(record.tenantId, restoreId);
  const { app } = tenantObjectNames(record.tenantId);
  await provisioner.withTenantLock(record.tenantId, () =>
    provisioner.servers.withAdmin(placement.server, placement.database, async (client) => {
      if (!(await schemaExists(client, aside))) {
        throw new ProvisionError(`there is no set-aside data for restore ${restoreId}`, 'bad-input');
      }
      await inTransaction(client, async () => {
        if (placement.mode === 'shared') {
          await moveSharedRows(client, record.tenantId, { from: aside, into: 'public', create: false });
          await client.query(`DROP SCHEMA ${quoteIdent(aside)} CASCADE`);
        } else {
          const discarded = `discard_${record.tenantId.replaceAll('-', '')}_${restoreId}`;
          await client.query(
            `ALTER SCHEMA ${quoteIdent(placement.schema)} RENAME TO ${quoteIdent(discarded)}`,
          );
          await client.query(`ALTER SCHEMA ${quoteIdent(aside)} RENAME TO ${quoteIdent(placement.schema)}`);
          await grantDml(client, placement.schema, app);
          await client.query(`DROP SCHEMA ${quoteIdent(discarded)} CASCADE`);
        }
        await advanceSequences(client, placement.schema);
      });
      await terminateSessions(client, app, placement.database);
    }),
  );
}

/** Drops what a restore set aside, once the restored data is known to be good. */
export async function discardAside(
  provisioner: Provisioner,
  tenantId: string,
  restoreId: string,
): Promise<void> {
  const record = await provisioner.require(tenantId);
  await provisioner.servers.withAdmin(record.server, record.database, (client) =>
    client.query(`DROP SCHEMA IF EXISTS ${quoteIdent(asideSchema(record.tenantId, restoreId))} CASCADE`),
  );
}
