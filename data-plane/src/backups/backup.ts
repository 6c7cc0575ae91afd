import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { migrationJournal } from '@amanat/kit/postgres/migrations';
import type pg from 'pg';
import { dataPlaneMigrationsFolder } from '../db/migrate.ts';
import type { Provisioner } from '../provisioning/provisioner.ts';
import { stripRecord } from '../provisioning/provisioner.ts';
import type { PlacementRecord } from '../provisioning/registry.ts';
import { quoteIdent } from '../provisioning/servers.ts';
import { copyOut, summarizeTable, tableColumns, withSnapshot } from '../provisioning/tenant-data.ts';
import { tenantTables } from '../provisioning/tenant-tables.ts';
import {
  ARCHIVE_FORMAT,
  type ArchivedTable,
  type BackupManifest,
  tableFile,
  writeArchive,
} from './archive.ts';
import { openBackupLog } from './log.ts';
import type { ObjectStore } from './object-store.ts';

export interface BackupResult {
  key: string;
  sizeBytes: number;
  rows: number;
  manifest: BackupManifest;
  /** The longest time any one tenant table was held (ACCESS SHARE) by the backup, in ms. */
  longestTableLockMs: number;
}

/** Object keys of a tenant's backups: one folder per tenant, names sortable by time. */
export function backupPrefix(tenantId: string): string {
  return `tenants/${tenantId}/`;
}

export function backupKey(tenantId: string, takenAt: Date): string {
  return `${backupPrefix(tenantId)}${takenAt.toISOString().replaceAll(':', '-')}.tar.gz`;
}

/** The time a backup was taken, read back from its key; null for keys that are not backups. */
export function backupTakenAt(key: string): Date | null {
  const match = /\/(\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3}Z)\.tar\.gz$/.exec(key);
  if (!match?.[1]) return null;
  const date = new Date(match[1].replace(/T(\d\d)-(\d\d)-(\d\d)/, 'T$1:$2:$3'));
  return Number.isNaN(date.getTime()) ? null : date;
}

async function currentSchemaVersion(client: pg.Client, schema: string) {
  const journal = await migrationJournal(dataPlaneMigrationsFolder);
  const result = await client.query<{ when: string | null }>(
    `SELECT max(created_at)::text AS when FROM ${quoteIdent(schema)}.__drizzle_migrations`,
  );
  const when = Number(result.rows[0]?.when ?? 0);
  const tag = journal.find((entry) => entry.when === when)?.tag ?? 'unknown';
  return { when, tag };
}

/**
 * Streams the bytes through, counting them and hashing them: the COPY text of a table goes
 * to disk once and its sha256 is known when it lands.
 */
function measure() {
  const hash = createHash('sha256');
  let bytes = 0;
  const stream = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      bytes += chunk.length;
      callback(null, chunk);
    },
  });
  return { stream, sha256: () => hash.digest('hex'), bytes: () => bytes };
}

/**
 * A logical backup of exactly one tenant, in every isolation mode the same: each tenant
 * table exported with COPY, filtered by tenant_id, from one consistent snapshot (see
 * withSnapshot: each table's lock lasts only as long as that table's export), packed with
 * its manifest and written to the object store. Every run leaves a `backup_logs` row.
 */
export async function takeBackup(
  provisioner: Provisioner,
  store: ObjectStore,
  tenantId: string,
  options: { now?: Date; placement?: PlacementRecord; reason?: string } = {},
): Promise<BackupResult> {
  const placement = options.placement ?? (await provisioner.locate(tenantId));
  if (!placement) throw new Error(`tenant ${tenantId} is not provisioned; there is nothing to back up`);
  const takenAt = options.now ?? new Date();
  const key = backupKey(placement.tenantId, takenAt);
  const log = await openBackupLog(provisioner.registry, placement.tenantId, 'backup', key);
  const dir = await mkdtemp(join(tmpdir(), 'amanat-backup-'));
  try {
    await mkdir(join(dir, 'tables'));
    const connect = () => provisioner.servers.connectAdmin(placement.server, placement.database);
    let longestTableLockMs = 0;
    const { tables, schemaVersion } = await withSnapshot(connect, async (inSnapshot) => {
      const schemaVersion = await inSnapshot((client) => currentSchemaVersion(client, placement.schema));
      const tables: ArchivedTable[] = [];
      for (const { name } of tenantTables) {
        const started = performance.now();
        tables.push(
          await inSnapshot(async (client) => {
            const columns = await tableColumns(client, placement.schema, name);
            const file = tableFile(name);
            const measured = measure();
            await pipeline(
              copyOut(client, placement.schema, name, columns, placement.tenantId),
              measured.stream,
              createWriteStream(join(dir, file)),
            );
            const summary = await summarizeTable(client, placement.schema, name, columns, placement.tenantId);
            return {
              name,
              columns,
              rows: summary.rows,
              checksum: summary.checksum,
              sha256: measured.sha256(),
              file,
            };
          }),
        );
        longestTableLockMs = Math.max(longestTableLockMs, performance.now() - started);
      }
      return { tables, schemaVersion };
    });
    const manifest: BackupManifest = {
      format: ARCHIVE_FORMAT,
      tenant: { id: placement.tenantId, slug: placement.slug },
      takenAt: takenAt.toISOString(),
      source: stripRecord(placement),
      schemaVersion,
      tables,
    };
    const counted = measure();
    const body = new PassThrough();
    await Promise.all([
      store.put(key, body.pipe(counted.stream)),
      writeArchive(dir, manifest, body).catch((error: unknown) => {
        body.destroy(error as Error);
        throw error;
      }),
    ]);
    const rows = tables.reduce((sum, table) => sum + table.rows, 0);
    await log.succeeded({ sizeBytes: counted.bytes(), rows, detail: { reason: options.reason ?? 'manual' } });
    return { key, sizeBytes: counted.bytes(), rows, manifest, longestTableLockMs };
  } catch (error) {
    await log.failed(error);
    throw error;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
