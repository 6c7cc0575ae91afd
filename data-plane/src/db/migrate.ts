import { fileURLToPath } from 'node:url';
import { migrateUnderLock, migrationsAreCurrent } from '@amanat/kit/postgres/migrations';
import type pg from 'pg';

export const dataPlaneMigrationsFolder = fileURLToPath(new URL('../../drizzle', import.meta.url));
/** Fixed key: concurrent migrators of one data-plane database take turns on it. */
const MIGRATION_LOCK_KEY = 727_002;

export function migrateDataPlane(url: string): Promise<void> {
  return migrateUnderLock(url, dataPlaneMigrationsFolder, MIGRATION_LOCK_KEY);
}

export function dataPlaneMigrationsAreCurrent(pool: pg.Pool): Promise<boolean> {
  return migrationsAreCurrent(pool, dataPlaneMigrationsFolder);
}
