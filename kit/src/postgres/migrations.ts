import { readFile } from 'node:fs/promises';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import { quoteIdent } from './test-databases.ts';

export interface MigrateOptions {
  /** Advisory lock taken for the run: one number, or a (class, object) pair such as (service, tenant). */
  lockKey: number | readonly [number, number];
  /** Schema holding drizzle's `__drizzle_migrations` table; `drizzle` unless given. */
  migrationsSchema?: string;
  /**
   * Runs on the connection before migrating, after the lock: for example `SET ROLE` to the
   * role that must own what the migrations create, and `SET search_path` to the target schema.
   */
  prepare?: (client: pg.Client) => Promise<void>;
}

function lockArguments(key: MigrateOptions['lockKey']): { sql: string; values: number[] } {
  return typeof key === 'number' ? { sql: '$1', values: [key] } : { sql: '$1, $2', values: [...key] };
}

/**
 * Applies a service's pending drizzle migrations under a PostgreSQL advisory lock, so
 * replicas or provisioners starting together take turns instead of racing.
 */
export async function migrateUnderLock(
  url: string,
  migrationsFolder: string,
  options: MigrateOptions,
): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const lock = lockArguments(options.lockKey);
  try {
    await client.query(`SELECT pg_advisory_lock(${lock.sql})`, lock.values);
    await options.prepare?.(client);
    await migrate(drizzle(client), {
      migrationsFolder,
      ...(options.migrationsSchema ? { migrationsSchema: options.migrationsSchema } : {}),
    });
  } finally {
    await client.query('RESET ROLE').catch(() => undefined);
    await client.query(`SELECT pg_advisory_unlock(${lock.sql})`, lock.values).catch(() => undefined);
    await client.end();
  }
}

export interface MigrationEntry {
  /** drizzle's migration timestamp; `__drizzle_migrations.created_at` records it once applied. */
  when: number;
  tag: string;
}

/** The migrations of a drizzle migrations folder, oldest first, from its journal. */
export async function migrationJournal(migrationsFolder: string): Promise<MigrationEntry[]> {
  const journal = JSON.parse(await readFile(`${migrationsFolder}/meta/_journal.json`, 'utf8')) as {
    entries: MigrationEntry[];
  };
  return journal.entries;
}

/** The `when` of the newest migration in a drizzle migrations folder (0 for none). */
export async function latestMigration(migrationsFolder: string): Promise<number> {
  return (await migrationJournal(migrationsFolder)).at(-1)?.when ?? 0;
}

/**
 * True when the newest migration in the folder's journal has been applied to this database.
 * `migrationsSchema` is where the migrations table lives; without it the table is found
 * through the connection's search_path.
 */
export async function migrationsAreCurrent(
  queryable: pg.Pool | pg.Client,
  migrationsFolder: string,
  migrationsSchema?: string,
): Promise<boolean> {
  const latest = await latestMigration(migrationsFolder);
  if (latest === 0) return true;
  const table = migrationsSchema
    ? `${quoteIdent(migrationsSchema)}.__drizzle_migrations`
    : '__drizzle_migrations';
  const exists = await queryable.query<{ found: string | null }>('SELECT to_regclass($1)::text AS found', [
    table,
  ]);
  if (!exists.rows[0]?.found) return false;
  const result = await queryable.query<{ created_at: string | null }>(
    `SELECT max(created_at)::text AS created_at FROM ${table}`,
  );
  return Number(result.rows[0]?.created_at ?? 0) >= latest;
}
