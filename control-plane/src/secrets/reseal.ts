import { eq, isNotNull, or } from 'drizzle-orm';
import { users } from '../accounts/schema.ts';
import type { ServiceContext } from '../context.ts';

/**
 * After a new key is put first in SECRETS_KEYS, re-seals every stored secret still sealed
 * by an older key, so the old key can then be dropped. Row by row, each in its own short
 * transaction with the row locked, so it is safe to run while the service is live and to
 * run again after an interruption.
 */
export async function resealSecrets(ctx: ServiceContext): Promise<{ checked: number; resealed: number }> {
  const { keyring } = ctx.config;
  const candidates = await ctx.db
    .select({ id: users.id })
    .from(users)
    .where(or(isNotNull(users.totpSecret), isNotNull(users.totpPendingSecret)));
  let resealed = 0;
  for (const { id } of candidates) {
    const changed = await ctx.db.transaction(async (tx) => {
      const [user] = await tx.select().from(users).where(eq(users.id, id)).for('update');
      if (!user) return false;
      const reseal = (sealed: string | null) =>
        sealed && keyring.needsReseal(sealed) ? keyring.seal(keyring.open(sealed, id), id) : sealed;
      const totpSecret = reseal(user.totpSecret);
      const totpPendingSecret = reseal(user.totpPendingSecret);
      if (totpSecret === user.totpSecret && totpPendingSecret === user.totpPendingSecret) return false;
      await tx.update(users).set({ totpSecret, totpPendingSecret }).where(eq(users.id, id));
      return true;
    });
    if (changed) resealed += 1;
  }
  return { checked: candidates.length, resealed };
}
