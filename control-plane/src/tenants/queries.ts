import { and, asc, count, desc, eq, ilike, inArray, or, type SQL } from 'drizzle-orm';
import type { Queryable } from '../db/client.ts';
import { tenantMembers } from '../tenant-roles/schema.ts';
import { type IsolationMode, type TenantStatus, type TenantTier, tenants } from './schema.ts';

export type TenantRow = typeof tenants.$inferSelect;

export async function findTenant(db: Queryable, id: string): Promise<TenantRow | undefined> {
  const [row] = await db.select().from(tenants).where(eq(tenants.id, id));
  return row;
}

/** Row lock: status changes and role limits are decided on a tenant no one else is changing. */
export async function lockTenant(db: Queryable, id: string): Promise<TenantRow | undefined> {
  const [row] = await db.select().from(tenants).where(eq(tenants.id, id)).for('update');
  return row;
}

export async function insertTenant(
  db: Queryable,
  values: typeof tenants.$inferInsert,
): Promise<TenantRow | undefined> {
  const [row] = await db
    .insert(tenants)
    .values(values)
    .onConflictDoNothing({ target: tenants.slug })
    .returning();
  return row;
}

export async function updateTenant(db: Queryable, id: string, values: Partial<typeof tenants.$inferInsert>) {
  const [row] = await db
    .update(tenants)
    .set({ ...values, updatedAt: new Date() })
    .where(eq(tenants.id, id))
    .returning();
  return row as TenantRow;
}

export interface TenantFilter {
  status?: TenantStatus;
  tier?: TenantTier;
  isolation_mode?: IsolationMode;
  owner_id?: string;
  q?: string;
  /** Only tenants where this user holds a role. */
  member_id?: string;
}

export const tenantSorts = [
  'created_at',
  '-created_at',
  'slug',
  '-slug',
  'display_name',
  '-display_name',
] as const;
export type TenantSort = (typeof tenantSorts)[number];

const sortColumns = { created_at: tenants.createdAt, slug: tenants.slug, display_name: tenants.displayName };

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

export async function listTenants(
  db: Queryable,
  filter: TenantFilter,
  page: { sort: TenantSort; limit: number; offset: number },
): Promise<{ items: TenantRow[]; total: number }> {
  const conditions: SQL[] = [];
  if (filter.status) conditions.push(eq(tenants.status, filter.status));
  if (filter.tier) conditions.push(eq(tenants.tier, filter.tier));
  if (filter.isolation_mode) conditions.push(eq(tenants.isolationMode, filter.isolation_mode));
  if (filter.owner_id) conditions.push(eq(tenants.ownerId, filter.owner_id));
  if (filter.q) {
    const pattern = `%${escapeLike(filter.q)}%`;
    conditions.push(or(ilike(tenants.slug, pattern), ilike(tenants.displayName, pattern)) as SQL);
  }
  if (filter.member_id) {
    conditions.push(
      inArray(
        tenants.id,
        db
          .select({ tenantId: tenantMembers.tenantId })
          .from(tenantMembers)
          .where(eq(tenantMembers.userId, filter.member_id)),
      ),
    );
  }
  const where = and(...conditions);
  const descending = page.sort.startsWith('-');
  const column = sortColumns[page.sort.replace(/^-/, '') as keyof typeof sortColumns];
  const order = [descending ? desc(column) : asc(column), asc(tenants.id)];

  const rows = await db
    .select()
    .from(tenants)
    .where(where)
    .orderBy(...order)
    .limit(page.limit)
    .offset(page.offset);
  const [totals] = await db.select({ total: count() }).from(tenants).where(where);
  return { items: rows, total: totals?.total ?? 0 };
}
