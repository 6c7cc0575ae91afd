import { ProblemError, problem } from '@amanat/kit/http/problem';
import { hashPassword, verifyPassword } from '@amanat/kit/passwords';
import type { Actor } from '../audit/record.ts';
import { recordAudit } from '../audit/record.ts';
import type { ServiceContext } from '../context.ts';
import type { Queryable } from '../db/client.ts';
import {
  clearFailures,
  countRecentFailures,
  findUserByEmail,
  findUserById,
  insertFailure,
  insertSession,
  insertUser,
  lockSessionByRefreshHash,
  lockThrottleKeys,
  lockUser,
  type SessionRow,
  type UserRow,
  updateSession,
  updateUser,
} from './queries.ts';
import { hashToken, newToken } from './tokens.ts';
import { matchTotpStep, newTotpSecret, totpUri } from './totp.ts';

export const MAX_FAILURES_PER_HOUR = 10;
const HOUR_MS = 3600_000;

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

export interface IssuedTokens {
  accessToken: string;
  accessExpiresAt: Date;
  refreshToken: string;
  refreshExpiresAt: Date;
}

function issueTokens(ctx: ServiceContext, now = Date.now()) {
  const tokens: IssuedTokens = {
    accessToken: newToken('cpat'),
    accessExpiresAt: new Date(now + ctx.config.ACCESS_TOKEN_TTL_SECONDS * 1000),
    refreshToken: newToken('cprt'),
    refreshExpiresAt: new Date(now + ctx.config.REFRESH_TOKEN_TTL_SECONDS * 1000),
  };
  const columns = {
    accessTokenHash: hashToken(tokens.accessToken),
    accessExpiresAt: tokens.accessExpiresAt,
    refreshTokenHash: hashToken(tokens.refreshToken),
    refreshExpiresAt: tokens.refreshExpiresAt,
  };
  return { tokens, columns };
}

export function publicUser(user: UserRow) {
  return {
    id: user.id,
    email: user.email,
    display_name: user.displayName,
    role: user.role,
    mfa_enrolled: user.totpSecret !== null,
    created_at: user.createdAt.toISOString(),
  };
}

export async function register(
  ctx: ServiceContext,
  actor: Actor,
  input: { email: string; password: string; display_name: string },
): Promise<UserRow> {
  const passwordHash = await hashPassword(input.password);
  return ctx.db.transaction(async (tx) => {
    const user = await insertUser(tx, {
      email: normalizeEmail(input.email),
      displayName: input.display_name.trim(),
      passwordHash,
      role: 'seller',
    });
    if (!user) throw problem.conflict('email-taken', 'An account with this email already exists.');
    await recordAudit(tx, actor, {
      action: 'account.registered',
      targetType: 'user',
      targetId: user.id,
      actorId: user.id,
      actorRole: user.role,
      after: publicUser(user),
    });
    return user;
  });
}

/**
 * Refuses the attempt when the account or the IP has had MAX_FAILURES_PER_HOUR failures
 * in the last hour. Runs under advisory locks on both keys, so concurrent attempts cannot
 * slip past the count.
 */
async function assertNotThrottled(tx: Queryable, kind: 'password' | 'totp', email: string, ip: string) {
  await lockThrottleKeys(tx, [`${kind}:email:${email}`, `${kind}:ip:${ip}`]);
  const since = new Date(Date.now() - HOUR_MS);
  for (const [column, value] of [
    ['email', email],
    ['ip', ip],
  ] as const) {
    const { failures, oldest } = await countRecentFailures(tx, column, value, since);
    if (failures >= MAX_FAILURES_PER_HOUR) {
      const retryAfter = Math.max(
        1,
        Math.ceil(((oldest?.getTime() ?? Date.now()) + HOUR_MS - Date.now()) / 1000),
      );
      throw problem.tooManyRequests(
        `Too many failed attempts for this ${column === 'email' ? 'account' : 'address'}; try again in ${retryAfter} s.`,
        retryAfter,
      );
    }
  }
}

const invalidCredentials = () =>
  new ProblemError(401, 'invalid-credentials', 'Unauthorized', 'The email or password is wrong.');

export async function login(
  ctx: ServiceContext,
  actor: Actor,
  input: { email: string; password: string; userAgent: string | undefined },
): Promise<{ user: UserRow; session: SessionRow; tokens: IssuedTokens }> {
  const email = normalizeEmail(input.email);
  const outcome = await ctx.db.transaction(async (tx) => {
    await assertNotThrottled(tx, 'password', email, actor.ip);
    const user = await findUserByEmail(tx, email);
    if (!(await verifyPassword(user?.passwordHash, input.password))) {
      await insertFailure(tx, { kind: 'password', email, ip: actor.ip });
      await recordAudit(tx, actor, {
        action: 'auth.login_failed',
        targetType: 'user',
        targetId: user?.id ?? null,
        actorId: null,
      });
      return null;
    }
    const verified = user as UserRow;
    await clearFailures(tx, email, 'password');
    const { tokens, columns } = issueTokens(ctx);
    const session = await insertSession(tx, {
      userId: verified.id,
      ...columns,
      ip: actor.ip,
      userAgent: input.userAgent?.slice(0, 512) ?? null,
    });
    await recordAudit(tx, actor, {
      action: 'auth.login',
      targetType: 'session',
      targetId: session.id,
      actorId: verified.id,
      actorRole: verified.role,
    });
    return { user: verified, session, tokens };
  });
  // The failure is committed above before we refuse, so it counts toward the limit.
  if (!outcome) throw invalidCredentials();
  return outcome;
}

export async function refreshSession(
  ctx: ServiceContext,
  actor: Actor,
  refreshToken: string,
): Promise<{ session: SessionRow; tokens: IssuedTokens }> {
  return ctx.db.transaction(async (tx) => {
    const session = await lockSessionByRefreshHash(tx, hashToken(refreshToken));
    if (!session || session.revokedAt || session.refreshExpiresAt.getTime() <= Date.now()) {
      throw problem.unauthorized('The refresh token is unknown, used, revoked or expired; sign in again.');
    }
    const { tokens, columns } = issueTokens(ctx);
    const updated = await updateSession(tx, session.id, columns);
    const user = await findUserById(tx, session.userId);
    await recordAudit(tx, actor, {
      action: 'auth.token_refreshed',
      targetType: 'session',
      targetId: session.id,
      actorId: session.userId,
      actorRole: user?.role ?? null,
    });
    return { session: updated, tokens };
  });
}

export async function logout(ctx: ServiceContext, actor: Actor, session: SessionRow): Promise<void> {
  await ctx.db.transaction(async (tx) => {
    await updateSession(tx, session.id, { revokedAt: new Date() });
    await recordAudit(tx, actor, { action: 'auth.logout', targetType: 'session', targetId: session.id });
  });
}

/** Starts TOTP enrolment: a new secret is kept pending until a code from it is confirmed. */
export async function startMfaEnrolment(
  ctx: ServiceContext,
  actor: Actor,
  user: UserRow,
): Promise<{ secret: string; otpauth_uri: string }> {
  const secret = newTotpSecret();
  await ctx.db.transaction(async (tx) => {
    await updateUser(tx, user.id, { totpPendingSecret: ctx.config.keyring.seal(secret, user.id) });
    await recordAudit(tx, actor, { action: 'mfa.enrolment_started', targetType: 'user', targetId: user.id });
  });
  return { secret, otpauth_uri: totpUri(secret, user.email) };
}

/**
 * Verifies a TOTP code (replay-safe, throttled like passwords) and, in the same
 * transaction, marks the session MFA-verified and — when confirming enrolment — makes the
 * pending secret the account's secret.
 */
async function verifyTotpForSession(
  ctx: ServiceContext,
  actor: Actor,
  session: SessionRow,
  code: string,
  purpose: 'confirm-enrolment' | 'challenge',
): Promise<void> {
  const which = purpose === 'confirm-enrolment' ? 'totpPendingSecret' : 'totpSecret';
  const passed = await ctx.db.transaction(async (tx) => {
    const user = await lockUser(tx, session.userId);
    if (!user) throw problem.unauthorized();
    const sealed = user[which];
    if (!sealed) {
      throw purpose === 'challenge'
        ? problem.conflict('mfa-not-enrolled', 'This account has no MFA enrolled; enrol first.')
        : problem.conflict('mfa-enrolment-not-started', 'Start MFA enrolment before confirming it.');
    }
    await assertNotThrottled(tx, 'totp', user.email, actor.ip);
    const step = matchTotpStep(ctx.config.keyring.open(sealed, user.id), code);
    // Replay is judged against the secret that produced the last accepted code: a pending
    // secret is new, and is consumed by its first good code.
    const replayed =
      purpose === 'challenge' && user.totpLastStep !== null && step !== null && step <= user.totpLastStep;
    if (step === null || replayed) {
      await insertFailure(tx, { kind: 'totp', email: user.email, ip: actor.ip });
      await recordAudit(tx, actor, { action: 'mfa.failed', targetType: 'user', targetId: user.id });
      return false;
    }
    await clearFailures(tx, user.email, 'totp');
    await updateUser(
      tx,
      user.id,
      purpose === 'confirm-enrolment'
        ? { totpSecret: sealed, totpPendingSecret: null, totpLastStep: step }
        : { totpLastStep: step },
    );
    await updateSession(tx, session.id, { mfaVerifiedAt: new Date() });
    await recordAudit(
      tx,
      actor,
      purpose === 'confirm-enrolment'
        ? { action: 'mfa.enabled', targetType: 'user', targetId: user.id }
        : { action: 'mfa.verified', targetType: 'session', targetId: session.id },
    );
    return true;
  });
  if (!passed) {
    throw new ProblemError(
      401,
      'invalid-mfa-code',
      'Unauthorized',
      'The MFA code is wrong, expired or already used.',
    );
  }
}

export function confirmMfaEnrolment(ctx: ServiceContext, actor: Actor, session: SessionRow, code: string) {
  return verifyTotpForSession(ctx, actor, session, code, 'confirm-enrolment');
}

export function passMfaChallenge(ctx: ServiceContext, actor: Actor, session: SessionRow, code: string) {
  return verifyTotpForSession(ctx, actor, session, code, 'challenge');
}

/** Creates a platform admin with MFA already enrolled; used by the CLI and local seeding. */
export async function createPlatformAdmin(
  ctx: ServiceContext,
  input: { email: string; password: string; display_name: string; totpSecret: string },
): Promise<UserRow> {
  const passwordHash = await hashPassword(input.password);
  return ctx.db.transaction(async (tx) => {
    const email = normalizeEmail(input.email);
    const inserted = await insertUser(tx, {
      email,
      displayName: input.display_name,
      passwordHash,
      role: 'admin',
    });
    if (!inserted) throw problem.conflict('email-taken', `An account with email ${email} already exists.`);
    const user = await updateUser(tx, inserted.id, {
      totpSecret: ctx.config.keyring.seal(input.totpSecret, inserted.id),
    });
    await recordAudit(
      tx,
      { userId: null, role: null, requestId: 'cli', ip: '127.0.0.1' },
      {
        action: 'account.admin_created',
        targetType: 'user',
        targetId: user.id,
        after: publicUser(user),
      },
    );
    return user;
  });
}
