import { type MigrateOptions, migrateUnderLock, migrationsAreCurrent } from '@amanat/kit/postgres/migrations';
import type pg from 'pg';
import { runtimeFile } from '../runtime-files.ts';

export const dataPlaneMigrationsFolder = runtimeFile('migrations');
/** Advisory lock class of data-plane migrations; a tenant's own migrations add its id as the object. */
export const DATA_PLANE_MIGRATION_LOCK = 727_002;

/**
 * Migrates a data-plane database whose tables live in `public` (standalone, shared and
 * database modes). The migrations table sits next to the tables it describes, so the data
 * plane finds it through its search_path in every isolation mode.
 */
export function migrateDataPlane(url: string, options: Partial<MigrateOptions> = {}): Promise<void> {
  return migrateUnderLock(url, dataPlaneMigrationsFolder, {
    lockKey: DATA_PLANE_MIGRATION_LOCK,
    migrationsSchema: 'public',
    ...options,
  });
}

/** Through the search_path: `public`, or the tenant's own schema in schema mode. */
export function dataPlaneMigrationsAreCurrent(pool: pg.Pool): Promise<boolean> {
  return migrationsAreCurrent(pool, dataPlaneMigrationsFolder);
}
