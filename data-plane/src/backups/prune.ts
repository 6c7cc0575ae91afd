import { sql } from 'drizzle-orm';
import type { Provisioner } from '../provisioning/provisioner.ts';
import { backupLogs } from '../provisioning/registry-schema.ts';
import { backupPrefix, backupTakenAt } from './backup.ts';
import type { ObjectStore } from './object-store.ts';
import { pruneBackups } from './retention.ts';

/**
 * Applies the retention policy to one tenant's backups (times read from the keys, not the
 * store's modification times, so a copied bucket keeps its history) and logs the run.
 */
export async function pruneTenantBackups(
  provisioner: Provisioner,
  store: ObjectStore,
  tenantId: string,
  now = new Date(),
) {
  const result = await pruneBackups(store, backupPrefix(tenantId.toLowerCase()), now, {
    takenAt: (object) => backupTakenAt(object.key),
  });
  await provisioner.registry.insert(backupLogs).values({
    tenantId: tenantId.toLowerCase(),
    kind: 'prune',
    status: 'succeeded',
    finishedAt: sql`now()`,
    detail: { kept: result.kept.length, deleted: result.deleted.map((object) => object.key) },
  });
  return {
    kept: result.kept.map((object) => object.key),
    deleted: result.deleted.map((object) => object.key),
  };
}
