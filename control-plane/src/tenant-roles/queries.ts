import { and, asc, eq } from 'drizzle-orm';
import { users } from '../accounts/schema.ts';
import type { Queryable } from '../db/client.ts';
import { type TenantRole, tenantMembers } from './schema.ts';

export type MemberRow = typeof tenantMembers.$inferSelect;

export async function findMembership(db: Queryable, tenantId: string, userId: string) {
  const [row] = await db
    .select()
    .from(tenantMembers)
    .where(and(eq(tenantMembers.tenantId, tenantId), eq(tenantMembers.userId, userId)));
  return row;
}

export async function listMembers(db: Queryable, tenantId: string) {
  return db
    .select({ member: tenantMembers, email: users.email, displayName: users.displayName })
    .from(tenantMembers)
    .innerJoin(users, eq(users.id, tenantMembers.userId))
    .where(eq(tenantMembers.tenantId, tenantId))
    .orderBy(asc(tenantMembers.createdAt), asc(tenantMembers.userId));
}

export async function insertMember(
  db: Queryable,
  values: typeof tenantMembers.$inferInsert,
): Promise<MemberRow> {
  const [row] = await db.insert(tenantMembers).values(values).returning();
  return row as MemberRow;
}

export async function setMemberRole(db: Queryable, tenantId: string, userId: string, role: TenantRole) {
  const [row] = await db
    .update(tenantMembers)
    .set({ role })
    .where(and(eq(tenantMembers.tenantId, tenantId), eq(tenantMembers.userId, userId)))
    .returning();
  return row as MemberRow;
}

export async function deleteMember(db: Queryable, tenantId: string, userId: string): Promise<void> {
  await db
    .delete(tenantMembers)
    .where(and(eq(tenantMembers.tenantId, tenantId), eq(tenantMembers.userId, userId)));
}
