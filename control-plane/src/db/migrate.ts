import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';

const migrationsFolder = fileURLToPath(new URL('../../drizzle', import.meta.url));
/** Arbitrary but fixed: every control-plane replica serialises its migrations on it. */
const MIGRATION_LOCK_KEY = 727_001;

/** Applies pending migrations under an advisory lock, so concurrent starts do not race. */
export async function migrateControlPlane(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    await migrate(drizzle(client), { migrationsFolder });
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
    await client.end();
  }
}

interface Journal {
  entries: { when: number; tag: string }[];
}

/** True when the newest committed migration has been applied to this database. */
export async function migrationsAreCurrent(pool: pg.Pool): Promise<boolean> {
  const journal = JSON.parse(await readFile(`${migrationsFolder}/meta/_journal.json`, 'utf8')) as Journal;
  const latest = journal.entries.at(-1);
  if (!latest) return true;
  const result = await pool.query<{ created_at: string }>(
    'SELECT max(created_at)::text AS created_at FROM drizzle.__drizzle_migrations',
  );
  return Number(result.rows[0]?.created_at ?? 0) >= latest.when;
}
