import type { Provisioner } from '../provisioning/provisioner.ts';
import { backupPrefix, backupTakenAt } from './backup.ts';
import { openBackupLog } from './log.ts';
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
  const log = await openBackupLog(provisioner.registry, tenantId.toLowerCase(), 'prune', null);
  const result = await pruneBackups(store, backupPrefix(tenantId.toLowerCase()), now, {
    takenAt: (object) => backupTakenAt(object.key),
  }).catch(async (error: unknown) => {
    await log.failed(error);
    throw error;
  });
  await log.succeeded({
    detail: { kept: result.kept.length, deleted: result.deleted.map((object) => object.key) },
  });
  return {
    kept: result.kept.map((object) => object.key),
    deleted: result.deleted.map((object) => object.key),
  };
}
