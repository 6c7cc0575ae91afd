import { readFile } from 'node:fs/promises';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';

/**
 * Applies a service's pending drizzle migrations under a PostgreSQL advisory lock, so
 * replicas starting together take turns instead of racing.
 */
export async function migrateUnderLock(
  url: string,
  migrationsFolder: string,
  lockKey: number,
): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [lockKey]);
    await migrate(drizzle(client), { migrationsFolder });
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [lockKey]).catch(() => undefined);
    await client.end();
  }
}

interface Journal {
  entries: { when: number; tag: string }[];
}

/** True when the newest migration in the folder's journal has been applied to this database. */
export async function migrationsAreCurrent(queryable: pg.Pool | pg.Client, migrationsFolder: string) {
  const journal = JSON.parse(await readFile(`${migrationsFolder}/meta/_journal.json`, 'utf8')) as Journal;
  const latest = journal.entries.at(-1);
  if (!latest) return true;
  const result = await queryable.query<{ created_at: string | null }>(
    'SELECT max(created_at)::text AS created_at FROM drizzle.__drizzle_migrations',
  );
  return Number(result.rows[0]?.created_at ?? 0) >= latest.when;
}
