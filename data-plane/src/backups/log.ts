import { eq, sql } from 'drizzle-orm';
import type { FleetDb } from '../provisioning/registry.ts';
import { backupLogs } from '../provisioning/registry-schema.ts';

type Kind = (typeof backupLogs.$inferInsert)['kind'];

/**
 * Opens a `backup_logs` row as `running` and returns how to close it, so every backup,
 * restore and prune run leaves one row whatever happens to it.
 */
export async function openBackupLog(registry: FleetDb, tenantId: string, kind: Kind, path: string | null) {
  const [row] = await registry
    .insert(backupLogs)
    .values({ tenantId, kind, status: 'running', path })
    .returning({ id: backupLogs.id });
  const id = row?.id as string;
  return {
    succeeded: (fields: { sizeBytes?: number; rows?: number; detail?: Record<string, unknown> }) =>
      registry
        .update(backupLogs)
        .set({ status: 'succeeded', finishedAt: sql`now()`, ...fields })
        .where(eq(backupLogs.id, id)),
    failed: (error: unknown) =>
      registry
        .update(backupLogs)
        .set({
          status: 'failed',
          finishedAt: sql`now()`,
          error: error instanceof Error ? error.message : String(error),
        })
        .where(eq(backupLogs.id, id)),
  };
}
