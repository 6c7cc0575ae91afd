import { eq } from 'drizzle-orm';
import type { Queryable } from '../db/client.ts';
import type { TenantRow } from '../tenants/queries.ts';
import { tenants } from '../tenants/schema.ts';

export async function findTenantBySlug(db: Queryable, slug: string): Promise<TenantRow | undefined> {
  const [row] = await db.select().from(tenants).where(eq(tenants.slug, slug));
  return row;
}

/** Every tenant, closed ones included: the periodic comparison with the cluster needs the whole registry. */
export function allTenants(db: Queryable): Promise<TenantRow[]> {
  return db.select().from(tenants);
}

/**
 * Inserts a tenant adopted from the cluster under the id its resource already carries; a
 * concurrent adoption of the same resource (another replica) makes this a no-op.
 */
export async function insertAdoptedTenant(
  db: Queryable,
  values: typeof tenants.$inferInsert & { id: string },
): Promise<TenantRow | undefined> {
  const [row] = await db.insert(tenants).values(values).onConflictDoNothing().returning();
  return row;
}
