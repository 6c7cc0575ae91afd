import { ProblemError, problem } from '@amanat/kit/http/problem';
import { hashPassword, verifyPassword } from '@amanat/kit/passwords';
import { and, asc, count, eq, gt, isNull, min, ne, sql } from 'drizzle-orm';
import { type Actor, recordAudit } from '../audit/record.ts';
import type { ServiceContext } from '../context.ts';
import type { Queryable } from '../db/client.ts';
import { emitEvent } from '../events/emit.ts';
import { buyerAddresses, buyerLoginFailures, buyerSessions, buyers } from './schema.ts';
import { hashSessionToken, newSessionToken } from './session.ts';

export type BuyerRow = typeof buyers.$inferSelect;
export type AddressRow = typeof buyerAddresses.$inferSelect;

export const MAX_FAILURES_PER_HOUR = 10;
export const MAX_ADDRESSES_PER_BUYER = 20;
const HOUR_MS = 3600_000;

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** The buyer as they see themselves (`GET /api/storefront/account/me`). */
export function publicBuyer(row: BuyerRow) {
  return {
    id: row.id,
    email: row.email,
    display_name: row.displayName,
    marketing_opt_in: row.marketingOptIn,
    marketing_opted_in_at: row.marketingOptedInAt?.toISOString() ?? null,
    marketing_opted_out_at: row.marketingOptedOutAt?.toISOString() ?? null,
    created_at: row.createdAt.toISOString(),
  };
}

/** Audit snapshots never carry the email or the password hash. */
function auditBuyer(row: BuyerRow) {
  return {
    id: row.id,
    display_name: row.displayName,
    marketing_opt_in: row.marketingOptIn,
    disabled: row.disabledAt !== null,
  };
}

export interface SessionContext {
  ip: string;
  userAgent: string | undefined;
}

export interface IssuedSession {
  token: string;
  expiresAt: Date;
}

/** Starts a session for the buyer in `tx`: every way of signing in ends here. */
export async function openSession(
  ctx: ServiceContext,
  tx: Queryable,
  buyerId: string,
  client: SessionContext,
): Promise<{ id: string; issued: IssuedSession }> {
  const token = newSessionToken();
  const expiresAt = new Date(Date.now() + ctx.config.BUYER_SESSION_TTL_SECONDS * 1000);
  const [session] = await tx
    .insert(buyerSessions)
    .values({
      tenantId: ctx.tenantId,
      buyerId,
      tokenHash: hashSessionToken(token),
      expiresAt,
      ip: client.ip,
      userAgent: client.userAgent?.slice(0, 512) ?? null,
    })
    .returning({ id: buyerSessions.id });
  return { id: (session as { id: string }).id, issued: { token, expiresAt } };
}

/** Creates a buyer account and signs it in. Buyers exist only through this. */
export async function registerBuyer(
  ctx: ServiceContext,
  requestId: string,
  client: SessionContext,
  input: { email: string; password: string; display_name?: string; marketing_opt_in?: boolean },
): Promise<{ buyer: BuyerRow; session: IssuedSession }> {
  const passwordHash = await hashPassword(input.password);
  const optIn = input.marketing_opt_in === true;
  return ctx.db.transaction(async (tx) => {
    const now = new Date();
    const [buyer] = await tx
      .insert(buyers)
      .values({
        tenantId: ctx.tenantId,
        email: normalizeEmail(input.email),
        passwordHash,
        displayName: input.display_name?.trim() || null,
        marketingOptIn: optIn,
        marketingOptedInAt: optIn ? now : null,
        lastActiveAt: now,
      })
      .onConflictDoNothing()
      .returning();
    if (!buyer) throw problem.conflict('email-taken', 'An account with this email already exists.');
    const { issued } = await openSession(ctx, tx, buyer.id, client);
    await recordRegistration(ctx, tx, requestId, buyer, 'email');
    return { buyer, session: issued };
  });
}

/** The audit row and the `customer.registered` event of a new buyer, in its creating transaction. */
export async function recordRegistration(
  ctx: ServiceContext,
  tx: Queryable,
  requestId: string,
  buyer: BuyerRow,
  via: 'email' | 'telegram',
): Promise<void> {
  const actor: Actor = { type: 'buyer', id: buyer.id, role: null, requestId };
  await recordAudit(tx, ctx.tenantId, actor, {
    action: 'buyer.registered',
    targetType: 'buyer',
    targetId: buyer.id,
    after: { ...auditBuyer(buyer), via },
  });
  await emitEvent(tx, ctx.tenantId, {
    type: 'customer.registered',
    aggregateType: 'buyer',
    aggregateId: buyer.id,
    payload: {
      customer_id: buyer.id,
      marketing_opt_in: buyer.marketingOptIn,
      registered_at: buyer.createdAt.toISOString(),
    },
  });
}

/** A returning buyer's sign-in: last activity and the audit row, in the session's transaction. */
export async function recordLogin(
  ctx: ServiceContext,
  tx: Queryable,
  requestId: string,
  buyerId: string,
  sessionId: string,
  via?: 'telegram',
): Promise<void> {
  await tx
    .update(buyers)
    .set({ lastActiveAt: new Date() })
    .where(and(eq(buyers.tenantId, ctx.tenantId), eq(buyers.id, buyerId)));
  await recordAudit(
    tx,
    ctx.tenantId,
    { type: 'buyer', id: buyerId, role: null, requestId },
    {
      action: 'buyer.login',
      targetType: 'buyer_session',
      targetId: sessionId,
      ...(via ? { after: { via } } : {}),
    },
  );
}

export const accountDisabled = () =>
  problem.forbidden('account-disabled', 'This account has been disabled by the shop.');

async function lockThrottleKeys(tx: Queryable, keys: string[]): Promise<void> {
  for (const key of [...keys].sort()) {
    await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtextextended(${key}, 0))`);
  }
}

/**
 * Refuses the attempt when the email or the IP has had MAX_FAILURES_PER_HOUR failed logins
 * in the last hour. Runs under advisory locks on both keys, so concurrent attempts cannot
 * slip past the count.
 */
async function assertNotThrottled(ctx: ServiceContext, tx: Queryable, email: string, ip: string) {
  await lockThrottleKeys(tx, [
    `buyer-login:${ctx.tenantId}:email:${email}`,
    `buyer-login:${ctx.tenantId}:ip:${ip}`,
  ]);
  const since = new Date(Date.now() - HOUR_MS);
  for (const [column, value] of [
    ['email', email],
    ['ip', ip],
  ] as const) {
    const [row] = await tx
      .select({ failures: count(), oldest: min(buyerLoginFailures.at) })
      .from(buyerLoginFailures)
      .where(
        and(
          eq(buyerLoginFailures.tenantId, ctx.tenantId),
          eq(buyerLoginFailures[column], value),
          gt(buyerLoginFailures.at, since),
        ),
      );
    if ((row?.failures ?? 0) >= MAX_FAILURES_PER_HOUR) {
      const oldest = row?.oldest?.getTime() ?? Date.now();
      const retryAfter = Math.max(1, Math.ceil((oldest + HOUR_MS - Date.now()) / 1000));
      throw problem.tooManyRequests(
        `Too many failed sign-in attempts for this ${column === 'email' ? 'account' : 'address'}; try again in ${retryAfter} s.`,
        retryAfter,
      );
    }
  }
}

const invalidCredentials = () =>
  new ProblemError(401, 'invalid-credentials', 'Unauthorized', 'The email or password is wrong.');

/**
 * Email + password sign-in, throttled per email and per IP. A disabled buyer is refused
 * (403) even with the right password; a wrong password never reveals whether the account
 * exists or is disabled.
 */
export async function loginBuyer(
  ctx: ServiceContext,
  requestId: string,
  client: SessionContext,
  input: { email: string; password: string },
): Promise<{ buyer: BuyerRow; session: IssuedSession }> {
  const email = normalizeEmail(input.email);
  const outcome = await ctx.db.transaction(async (tx) => {
    await assertNotThrottled(ctx, tx, email, client.ip);
    const [buyer] = await tx
      .select()
      .from(buyers)
      .where(and(eq(buyers.tenantId, ctx.tenantId), eq(buyers.email, email)));
    // Email and password come together (check buyers_sign_in_method): a buyer found here has a hash.
    if (!(await verifyPassword(buyer?.passwordHash ?? undefined, input.password))) {
      await tx.insert(buyerLoginFailures).values({ tenantId: ctx.tenantId, email, ip: client.ip });
      await recordAudit(
        tx,
        ctx.tenantId,
        { type: 'guest', id: null, role: null, requestId },
        {
          action: 'buyer.login_failed',
          targetType: 'buyer',
          targetId: buyer?.id ?? null,
        },
      );
      return 'invalid' as const;
    }
    const verified = buyer as BuyerRow;
    if (verified.disabledAt) return 'disabled' as const;
    await tx
      .delete(buyerLoginFailures)
      .where(and(eq(buyerLoginFailures.tenantId, ctx.tenantId), eq(buyerLoginFailures.email, email)));
    const { id, issued } = await openSession(ctx, tx, verified.id, client);
    await recordLogin(ctx, tx, requestId, verified.id, id);
    return { buyer: verified, session: issued };
  });
  // The failure is committed above before we refuse, so it counts toward the limit.
  if (outcome === 'invalid') throw invalidCredentials();
  if (outcome === 'disabled') throw accountDisabled();
  return outcome;
}

/** Ends the session the token belongs to (no-op when it is already gone). */
export async function logoutBuyer(ctx: ServiceContext, requestId: string, token: string): Promise<void> {
  await ctx.db.transaction(async (tx) => {
    const [session] = await tx
      .update(buyerSessions)
      .set({ revokedAt: new Date() })
      .where(
        and(
          eq(buyerSessions.tenantId, ctx.tenantId),
          eq(buyerSessions.tokenHash, hashSessionToken(token)),
          isNull(buyerSessions.revokedAt),
        ),
      )
      .returning({ id: buyerSessions.id, buyerId: buyerSessions.buyerId });
    if (!session) return;
    await recordAudit(
      tx,
      ctx.tenantId,
      { type: 'buyer', id: session.buyerId, role: null, requestId },
      {
        action: 'buyer.logout',
        targetType: 'buyer_session',
        targetId: session.id,
      },
    );
  });
}

export async function getBuyer(db: Queryable, tenantId: string, buyerId: string): Promise<BuyerRow | null> {
  const [row] = await db
    .select()
    .from(buyers)
    .where(and(eq(buyers.tenantId, tenantId), eq(buyers.id, buyerId)));
  return row ?? null;
}

/**
 * The buyer changes their own profile. Marketing consent changes record when they happened:
 * opting out sets marketing_opted_out_at, opting in sets marketing_opted_in_at.
 */
export async function updateMe(
  ctx: ServiceContext,
  actor: Actor,
  buyerId: string,
  patch: { display_name?: string | null; marketing_opt_in?: boolean },
): Promise<BuyerRow> {
  return ctx.db.transaction(async (tx) => {
    const [current] = await tx
      .select()
      .from(buyers)
      .where(and(eq(buyers.tenantId, ctx.tenantId), eq(buyers.id, buyerId)))
      .for('update');
    if (!current) throw problem.notFound('No such account.');
    const now = new Date();
    const consentChanged =
      patch.marketing_opt_in !== undefined && patch.marketing_opt_in !== current.marketingOptIn;
    const [updated] = await tx
      .update(buyers)
      .set({
        ...(patch.display_name !== undefined ? { displayName: patch.display_name?.trim() || null } : {}),
        ...(consentChanged
          ? patch.marketing_opt_in
            ? { marketingOptIn: true, marketingOptedInAt: now }
            : { marketingOptIn: false, marketingOptedOutAt: now }
          : {}),
        updatedAt: now,
      })
      .where(and(eq(buyers.tenantId, ctx.tenantId), eq(buyers.id, buyerId)))
      .returning();
    const after = updated as BuyerRow;
    await recordAudit(tx, ctx.tenantId, actor, {
      action: consentChanged
        ? after.marketingOptIn
          ? 'buyer.marketing_opted_in'
          : 'buyer.marketing_opted_out'
        : 'buyer.updated',
      targetType: 'buyer',
      targetId: buyerId,
      before: auditBuyer(current),
      after: auditBuyer(after),
    });
    return after;
  });
}

export interface AddressInput {
  label?: string | null;
  recipient_name: string;
  line1: string;
  line2?: string | null;
  city: string;
  region?: string | null;
  postal_code?: string | null;
  country: string;
  phone?: string | null;
  is_default?: boolean;
}

export function publicAddress(row: AddressRow) {
  return {
    id: row.id,
    label: row.label,
    recipient_name: row.recipientName,
    line1: row.line1,
    line2: row.line2,
    city: row.city,
    region: row.region,
    postal_code: row.postalCode,
    country: row.country,
    phone: row.phone,
    is_default: row.isDefault,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}

function addressColumns(input: Partial<AddressInput>) {
  const pick = <K extends keyof AddressInput>(key: K) => input[key] !== undefined;
  return {
    ...(pick('label') ? { label: input.label ?? null } : {}),
    ...(pick('recipient_name') ? { recipientName: input.recipient_name as string } : {}),
    ...(pick('line1') ? { line1: input.line1 as string } : {}),
    ...(pick('line2') ? { line2: input.line2 ?? null } : {}),
    ...(pick('city') ? { city: input.city as string } : {}),
    ...(pick('region') ? { region: input.region ?? null } : {}),
    ...(pick('postal_code') ? { postalCode: input.postal_code ?? null } : {}),
    ...(pick('country') ? { country: (input.country as string).toUpperCase() } : {}),
    ...(pick('phone') ? { phone: input.phone ?? null } : {}),
    ...(pick('is_default') ? { isDefault: input.is_default as boolean } : {}),
  };
}

const ownAddress = (tenantId: string, buyerId: string, addressId: string) =>
  and(
    eq(buyerAddresses.tenantId, tenantId),
    eq(buyerAddresses.buyerId, buyerId),
    eq(buyerAddresses.id, addressId),
  );

/** Locks the buyer row so concurrent address changes (count limit, single default) take turns. */
async function lockBuyer(tx: Queryable, tenantId: string, buyerId: string) {
  await tx
    .select({ id: buyers.id })
    .from(buyers)
    .where(and(eq(buyers.tenantId, tenantId), eq(buyers.id, buyerId)))
    .for('update');
}

async function clearDefault(tx: Queryable, tenantId: string, buyerId: string, except?: string) {
  await tx
    .update(buyerAddresses)
    .set({ isDefault: false })
    .where(
      and(
        eq(buyerAddresses.tenantId, tenantId),
        eq(buyerAddresses.buyerId, buyerId),
        eq(buyerAddresses.isDefault, true),
        ...(except ? [ne(buyerAddresses.id, except)] : []),
      ),
    );
}

export async function listAddresses(ctx: ServiceContext, buyerId: string): Promise<AddressRow[]> {
  return ctx.db
    .select()
    .from(buyerAddresses)
    .where(and(eq(buyerAddresses.tenantId, ctx.tenantId), eq(buyerAddresses.buyerId, buyerId)))
    .orderBy(asc(buyerAddresses.createdAt), asc(buyerAddresses.id));
}

/** A saved address of this buyer, or null (another buyer's address is "not found"). */
export async function findOwnAddress(
  db: Queryable,
  tenantId: string,
  buyerId: string,
  addressId: string,
): Promise<AddressRow | null> {
  const [row] = await db
    .select()
    .from(buyerAddresses)
    .where(ownAddress(tenantId, buyerId, addressId));
  return row ?? null;
}

export async function createAddress(
  ctx: ServiceContext,
  actor: Actor,
  buyerId: string,
  input: AddressInput,
): Promise<AddressRow> {
  return ctx.db.transaction(async (tx) => {
    await lockBuyer(tx, ctx.tenantId, buyerId);
    const [existing] = await tx
      .select({ n: count() })
      .from(buyerAddresses)
      .where(and(eq(buyerAddresses.tenantId, ctx.tenantId), eq(buyerAddresses.buyerId, buyerId)));
    const n = existing?.n ?? 0;
    if (n >= MAX_ADDRESSES_PER_BUYER) {
      throw problem.conflict(
        'too-many-addresses',
        `An account keeps at most ${MAX_ADDRESSES_PER_BUYER} addresses.`,
      );
    }
    // The first address becomes the default.
    const isDefault = input.is_default ?? n === 0;
    if (isDefault) await clearDefault(tx, ctx.tenantId, buyerId);
    const [row] = await tx
      .insert(buyerAddresses)
      .values({
        tenantId: ctx.tenantId,
        buyerId,
        recipientName: input.recipient_name,
        line1: input.line1,
        city: input.city,
        country: input.country.toUpperCase(),
        ...addressColumns(input),
        isDefault,
      })
      .returning();
    const created = row as AddressRow;
    await recordAudit(tx, ctx.tenantId, actor, {
      action: 'buyer.address_created',
      targetType: 'buyer_address',
      targetId: created.id,
      after: publicAddress(created),
    });
    return created;
  });
}

export async function updateAddress(
  ctx: ServiceContext,
  actor: Actor,
  buyerId: string,
  addressId: string,
  patch: Partial<AddressInput>,
): Promise<AddressRow> {
  return ctx.db.transaction(async (tx) => {
    await lockBuyer(tx, ctx.tenantId, buyerId);
    const current = await findOwnAddress(tx, ctx.tenantId, buyerId, addressId);
    if (!current) throw problem.notFound('No such address in your account.');
    if (patch.is_default === true) await clearDefault(tx, ctx.tenantId, buyerId, addressId);
    const [row] = await tx
      .update(buyerAddresses)
      .set({ ...addressColumns(patch), updatedAt: new Date() })
      .where(ownAddress(ctx.tenantId, buyerId, addressId))
      .returning();
    const updated = row as AddressRow;
    await recordAudit(tx, ctx.tenantId, actor, {
      action: 'buyer.address_updated',
      targetType: 'buyer_address',
      targetId: addressId,
      before: publicAddress(current),
      after: publicAddress(updated),
    });
    return updated;
  });
}

export async function deleteAddress(
  ctx: ServiceContext,
  actor: Actor,
  buyerId: string,
  addressId: string,
): Promise<void> {
  await ctx.db.transaction(async (tx) => {
    await lockBuyer(tx, ctx.tenantId, buyerId);
    const [deleted] = await tx
      .delete(buyerAddresses)
      .where(ownAddress(ctx.tenantId, buyerId, addressId))
      .returning();
    if (!deleted) throw problem.notFound('No such address in your account.');
    await recordAudit(tx, ctx.tenantId, actor, {
      action: 'buyer.address_deleted',
      targetType: 'buyer_address',
      targetId: addressId,
      before: publicAddress(deleted),
    });
  });
}
