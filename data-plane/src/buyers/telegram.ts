import { ProblemError, problem } from '@amanat/kit/http/problem';
import {
  isAuthDateInvalidError,
  isExpiredError,
  isSignatureInvalidError,
  isSignatureMissingError,
  parse,
  validate,
} from '@telegram-apps/init-data-node';
import { and, eq, lt } from 'drizzle-orm';
import type { ServiceContext } from '../context.ts';
import type { Queryable } from '../db/client.ts';
import { buyers, telegramInitDataUses } from './schema.ts';
import {
  accountDisabled,
  type BuyerRow,
  type IssuedSession,
  openSession,
  recordLogin,
  recordRegistration,
  type SessionContext,
} from './service.ts';

/** What a Mini App's initData proves, once its signature and age have been checked. */
interface VerifiedInitData {
  /** The payload's `hash`; the replay guard remembers it. */
  hash: string;
  authDate: Date;
  user: { id: number; firstName: string; lastName: string | null };
}

/**
 * How long a used initData is remembered: the largest TELEGRAM_INIT_DATA_MAX_AGE_SECONDS
 * config.ts allows (a test keeps the two equal).
 */
export const REPLAY_MEMORY_SECONDS = 86_400;

const refused = (code: 'forged' | 'stale' | 'replayed', detail: string) =>
  new ProblemError(401, `telegram-init-data-${code}`, 'Unauthorized', detail);

const malformed = (detail: string) => problem.badRequest('telegram-init-data-malformed', detail);

export const noTelegramBot = () => problem.notFound('This shop has no Telegram bot.');

/**
 * Checks initData as Telegram specifies: HMAC-SHA256 of the sorted `key=value` lines under
 * HMAC-SHA256("WebAppData", bot token), and `auth_date` no older than `maxAgeSeconds`.
 * The library checks the age before the signature, so a forged payload that is also old is
 * called stale; either way it is refused.
 */
function verifyInitData(initData: string, botToken: string, maxAgeSeconds: number): VerifiedInitData {
  try {
    validate(initData, botToken, { expiresIn: maxAgeSeconds });
  } catch (error) {
    if (isExpiredError(error)) {
      throw refused(
        'stale',
        `Telegram sign-in data older than ${maxAgeSeconds} s is refused; reopen the app.`,
      );
    }
    if (isSignatureInvalidError(error)) {
      throw refused('forged', "The Telegram sign-in data is not signed with this shop's bot.");
    }
    if (isSignatureMissingError(error) || isAuthDateInvalidError(error)) {
      throw malformed('The Telegram sign-in data has no hash or no valid auth_date.');
    }
    throw error;
  }
  const data = parseLaunch(initData);
  if (!data.user) throw malformed('The Telegram sign-in data names no user.');
  return {
    hash: data.hash,
    authDate: data.auth_date,
    user: { id: data.user.id, firstName: data.user.first_name, lastName: data.user.last_name ?? null },
  };
}

/** Signed by Telegram, but it must still have the shape a Mini App launch gives it. */
function parseLaunch(initData: string) {
  try {
    return parse(initData);
  } catch {
    throw malformed('The Telegram sign-in data is not a Mini App launch payload.');
  }
}

const displayNameOf = (user: VerifiedInitData['user']) =>
  [user.firstName, user.lastName].filter(Boolean).join(' ').trim().slice(0, 120) || null;

/** The buyer linked to this Telegram user, created on their first sign-in. */
async function findOrCreateBuyer(
  ctx: ServiceContext,
  tx: Queryable,
  user: VerifiedInitData['user'],
): Promise<{ buyer: BuyerRow; created: boolean }> {
  const linked = and(eq(buyers.tenantId, ctx.tenantId), eq(buyers.telegramUserId, user.id));
  const [existing] = await tx.select().from(buyers).where(linked);
  if (existing) return { buyer: existing, created: false };
  // A concurrent first sign-in of the same user may win the unique index; then use its row.
  const [created] = await tx
    .insert(buyers)
    .values({
      tenantId: ctx.tenantId,
      telegramUserId: user.id,
      displayName: displayNameOf(user),
      lastActiveAt: new Date(),
    })
    .onConflictDoNothing()
    .returning();
  if (created) return { buyer: created, created: true };
  const [winner] = await tx.select().from(buyers).where(linked);
  return { buyer: winner as BuyerRow, created: false };
}

/**
 * Signs a buyer in from the shop's Telegram Mini App: verifies the initData, refuses one
 * already used, finds or creates the buyer linked to the Telegram user and opens a normal
 * session. A refusal writes nothing.
 */
export async function signInWithTelegram(
  ctx: ServiceContext,
  requestId: string,
  client: SessionContext,
  initData: string,
): Promise<{ buyer: BuyerRow; session: IssuedSession; created: boolean }> {
  const botToken = ctx.config.TELEGRAM_BOT_TOKEN;
  if (!botToken) throw noTelegramBot();
  const maxAge = ctx.config.TELEGRAM_INIT_DATA_MAX_AGE_SECONDS;
  const verified = verifyInitData(initData, botToken, maxAge);
  return ctx.db.transaction(async (tx) => {
    // The primary key makes a concurrent second use wait for the first and then find its row.
    const [fresh] = await tx
      .insert(telegramInitDataUses)
      .values({ tenantId: ctx.tenantId, hash: verified.hash, authDate: verified.authDate })
      .onConflictDoNothing()
      .returning({ hash: telegramInitDataUses.hash });
    if (!fresh)
      throw refused('replayed', 'This Telegram sign-in data has been used already; reopen the app.');

    const { buyer, created } = await findOrCreateBuyer(ctx, tx, verified.user);
    // Thrown inside the transaction, so the initData is not spent on a refusal.
    if (buyer.disabledAt) throw accountDisabled();
    const { id: sessionId, issued } = await openSession(ctx, tx, buyer.id, client);
    if (created) {
      await recordRegistration(ctx, tx, requestId, buyer, 'telegram');
    } else {
      await recordLogin(ctx, tx, requestId, buyer.id, sessionId, 'telegram');
    }
    // A row is needed while its initData could pass the age check. Kept for the largest age
    // the configuration allows, not the current one, so raising it never readmits a payload.
    await tx
      .delete(telegramInitDataUses)
      .where(
        and(
          eq(telegramInitDataUses.tenantId, ctx.tenantId),
          lt(telegramInitDataUses.authDate, new Date(Date.now() - REPLAY_MEMORY_SECONDS * 1000)),
        ),
      );
    return { buyer, session: issued, created };
  });
}
