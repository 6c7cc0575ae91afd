import { and, count, eq, gt, isNull, min, sql } from 'drizzle-orm';
import type { Queryable } from '../db/client.ts';
import { authFailures, sessions, users } from './schema.ts';

export type UserRow = typeof users.$inferSelect;
export type SessionRow = typeof sessions.$inferSelect;

export async function findUserByEmail(db: Queryable, email: string): Promise<UserRow | undefined> {
  const [row] = await db.select().from(users).where(eq(users.email, email));
  return row;
}

export async function findUserById(db: Queryable, id: string): Promise<UserRow | undefined> {
  const [row] = await db.select().from(users).where(eq(users.id, id));
  return row;
}

export async function lockUser(db: Queryable, id: string): Promise<UserRow | undefined> {
  const [row] = await db.select().from(users).where(eq(users.id, id)).for('update');
  return row;
}

export async function insertUser(
  db: Queryable,
  values: typeof users.$inferInsert,
): Promise<UserRow | undefined> {
  const [row] = await db
    .insert(users)
    .values(values)
    .onConflictDoNothing({ target: users.email })
    .returning();
  return row;
}

export async function updateUser(db: Queryable, id: string, values: Partial<typeof users.$inferInsert>) {
  const [row] = await db
    .update(users)
    .set({ ...values, updatedAt: new Date() })
    .where(eq(users.id, id))
    .returning();
  return row as UserRow;
}

export async function findLiveSessionByAccessHash(db: Queryable, accessTokenHash: string) {
  const [row] = await db
    .select({ session: sessions, user: users })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(
      and(
        eq(sessions.accessTokenHash, accessTokenHash),
        isNull(sessions.revokedAt),
        gt(sessions.accessExpiresAt, sql`now()`),
      ),
    );
  return row;
}

export async function lockSessionByRefreshHash(db: Queryable, refreshTokenHash: string) {
  const [row] = await db
    .select()
    .from(sessions)
    .where(eq(sessions.refreshTokenHash, refreshTokenHash))
    .for('update');
  return row;
}

export async function insertSession(
  db: Queryable,
  values: typeof sessions.$inferInsert,
): Promise<SessionRow> {
  const [row] = await db.insert(sessions).values(values).returning();
  return row as SessionRow;
}

export async function updateSession(
  db: Queryable,
  id: string,
  values: Partial<typeof sessions.$inferInsert>,
) {
  const [row] = await db.update(sessions).set(values).where(eq(sessions.id, id)).returning();
  return row as SessionRow;
}

/** Serialises concurrent sign-in attempts on the same keys for the rest of the transaction. */
export async function lockThrottleKeys(db: Queryable, keys: string[]): Promise<void> {
  for (const key of [...keys].sort()) {
    await db.execute(sql`SELECT pg_advisory_xact_lock(hashtextextended(${key}, 0))`);
  }
}

/** Failures within the window, and when the oldest of them leaves it. */
export async function countRecentFailures(
  db: Queryable,
  column: 'email' | 'ip',
  value: string,
  since: Date,
): Promise<{ failures: number; oldest: Date | null }> {
  const [row] = await db
    .select({ failures: count(), oldest: min(authFailures.at) })
    .from(authFailures)
    .where(and(eq(authFailures[column], value), gt(authFailures.at, since)));
  return { failures: row?.failures ?? 0, oldest: row?.oldest ?? null };
}

export async function insertFailure(db: Queryable, values: typeof authFailures.$inferInsert): Promise<void> {
  await db.insert(authFailures).values(values);
}

export async function clearFailures(db: Queryable, email: string, kind: 'password' | 'totp'): Promise<void> {
  await db.delete(authFailures).where(and(eq(authFailures.email, email), eq(authFailures.kind, kind)));
}
