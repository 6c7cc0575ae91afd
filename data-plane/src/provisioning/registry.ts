import { fileURLToPath } from 'node:url';
import { migrateUnderLock } from '@amanat/kit/postgres/migrations';
import { eq, sql } from 'drizzle-orm';
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import type { Placement } from './modes.ts';
import type { TenantRef } from './names.ts';
import * as schema from './registry-schema.ts';
import { ensureDatabase, quoteIdent, type Servers } from './servers.ts';

const fleetMigrationsFolder = fileURLToPath(new URL('../../drizzle-fleet', import.meta.url));
const FLEET_MIGRATION_LOCK = 727_003;

export type FleetDb = NodePgDatabase<typeof schema>;

export interface PlacementRecord extends Placement {
  tenantId: string;
  slug: string;
}

/** Creates (once) and migrates the fleet database, and opens a small pool on it. */
export async function openRegistry(
  servers: Servers,
  database: string,
): Promise<{ db: FleetDb; pool: pg.Pool }> {
  await servers.withAdmin('default', 'postgres', async (client) => {
    await ensureDatabase(client, database);
    await client.query(`REVOKE CONNECT, TEMPORARY ON DATABASE ${quoteIdent(database)} FROM PUBLIC`);
  });
  await migrateUnderLock(servers.adminUrl('default', database), fleetMigrationsFolder, {
    lockKey: FLEET_MIGRATION_LOCK,
  });
  const pool = new pg.Pool({ connectionString: servers.adminUrl('default', database), max: 4 });
  pool.on('error', () => undefined);
  return { db: drizzle(pool, { schema }), pool };
}

export async function findPlacement(db: FleetDb, tenantId: string): Promise<PlacementRecord | null> {
  const [row] = await db
    .select()
    .from(schema.tenantPlacements)
    .where(eq(schema.tenantPlacements.tenantId, tenantId));
  if (!row) return null;
  return {
    tenantId: row.tenantId,
    slug: row.slug,
    mode: row.mode,
    server: row.server,
    database: row.database,
    schema: row.schema,
  };
}

export async function savePlacement(db: FleetDb, tenant: TenantRef, placement: Placement): Promise<void> {
  await db
    .insert(schema.tenantPlacements)
    .values({ tenantId: tenant.id, slug: tenant.slug, ...placement })
    .onConflictDoUpdate({
      target: schema.tenantPlacements.tenantId,
      set: { ...placement, slug: tenant.slug, updatedAt: sql`now()` },
    });
}

export async function forgetPlacement(db: FleetDb, tenantId: string): Promise<void> {
  await db.delete(schema.tenantPlacements).where(eq(schema.tenantPlacements.tenantId, tenantId));
}

export async function listPlacements(db: FleetDb): Promise<PlacementRecord[]> {
  const rows = await db.select().from(schema.tenantPlacements).orderBy(schema.tenantPlacements.tenantId);
  return rows.map((row) => ({
    tenantId: row.tenantId,
    slug: row.slug,
    mode: row.mode,
    server: row.server,
    database: row.database,
    schema: row.schema,
  }));
}
