import { fileURLToPath } from 'node:url';
import { migrateUnderLock, migrationsAreCurrent } from '@amanat/kit/postgres/migrations';
import type pg from 'pg';

const migrationsFolder = fileURLToPath(new URL('../../drizzle', import.meta.url));
/** Arbitrary but fixed: every control-plane replica serialises its migrations on it. */
const MIGRATION_LOCK_KEY = 727_001;

export function migrateControlPlane(url: string): Promise<void> {
  return migrateUnderLock(url, migrationsFolder, { lockKey: MIGRATION_LOCK_KEY });
}

export function controlPlaneMigrationsAreCurrent(pool: pg.Pool): Promise<boolean> {
  return migrationsAreCurrent(pool, migrationsFolder, 'drizzle');
}
