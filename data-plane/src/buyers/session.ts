// Brings in the cookie helpers' types on request and reply.

import { createHash, randomBytes } from 'node:crypto';
import { problem } from '@amanat/kit/http/problem';
import type {} from '@fastify/cookie';
import { and, eq, gt, isNull, lt, or, sql } from 'drizzle-orm';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Actor } from '../audit/record.ts';
import type { ServiceContext } from '../context.ts';
import type { Queryable } from '../db/client.ts';
import { buyerSessions, buyers } from './schema.ts';

/**
 * The buyer's session cookie. `__Host-` makes browsers insist on Secure, Path=/ and no
 * Domain, so the cookie belongs to the shop's own host only. The name says nothing about
 * the platform.
 */
export const BUYER_SESSION_COOKIE = '__Host-sid';

/** How stale last_active_at / last_seen_at may get before a request refreshes them. */
const ACTIVITY_RESOLUTION_MS = 5 * 60_000;

/** The signed-in buyer as routes see them. */
export interface CurrentBuyer {
  id: string;
  /** Null for a buyer who has only signed in through Telegram. */
  email: string | null;
  displayName: string | null;
  sessionId: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by requireBuyer (or optionalBuyer): the signed-in buyer, or null. */
    buyer?: CurrentBuyer | null;
  }
}

/** Opaque session secret; only its SHA-256 is stored, so a database leak yields no sessions. */
export function newSessionToken(): string {
  return randomBytes(32).toString('base64url');
}

export function hashSessionToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** The session token the request carries in its cookie, if any (format-checked only). */
export function sessionTokenOf(request: FastifyRequest): string | null {
  const token = request.cookies?.[BUYER_SESSION_COOKIE];
  return typeof token === 'string' && /^[A-Za-z0-9_-]{43}$/.test(token) ? token : null;
}

/** Per request, the buyer once resolved (so guards and handlers share one lookup). */
const resolved = new WeakMap<FastifyRequest, CurrentBuyer | null>();

/**
 * Resolves the buyer behind the request's session cookie: a live (not revoked, not
 * expired) session of this tenant whose buyer is not disabled. Returns null otherwise.
 * Also refreshes the buyer's last-active time, at most every few minutes.
 */
export async function currentBuyer(
  ctx: ServiceContext,
  request: FastifyRequest,
): Promise<CurrentBuyer | null> {
  if (resolved.has(request)) return resolved.get(request) ?? null;
  const buyer = await resolveBuyer(ctx, request);
  resolved.set(request, buyer);
  request.buyer = buyer;
  return buyer;
}

async function resolveBuyer(ctx: ServiceContext, request: FastifyRequest): Promise<CurrentBuyer | null> {
  const token = sessionTokenOf(request);
  if (!token) return null;
  const now = new Date();
  const [row] = await ctx.db
    .select({
      id: buyers.id,
      email: buyers.email,
      displayName: buyers.displayName,
      sessionId: buyerSessions.id,
      lastSeenAt: buyerSessions.lastSeenAt,
    })
    .from(buyerSessions)
    .innerJoin(buyers, and(eq(buyers.tenantId, buyerSessions.tenantId), eq(buyers.id, buyerSessions.buyerId)))
    .where(
      and(
        eq(buyerSessions.tenantId, ctx.tenantId),
        eq(buyerSessions.tokenHash, hashSessionToken(token)),
        isNull(buyerSessions.revokedAt),
        gt(buyerSessions.expiresAt, now),
        isNull(buyers.disabledAt),
      ),
    );
  if (!row) return null;
  if (now.getTime() - row.lastSeenAt.getTime() > ACTIVITY_RESOLUTION_MS) {
    await touchActivity(ctx, row.id, row.sessionId, now);
  }
  return { id: row.id, email: row.email, displayName: row.displayName, sessionId: row.sessionId };
}

async function touchActivity(ctx: ServiceContext, buyerId: string, sessionId: string, now: Date) {
  const stale = new Date(now.getTime() - ACTIVITY_RESOLUTION_MS);
  await ctx.db
    .update(buyerSessions)
    .set({ lastSeenAt: now })
    .where(and(eq(buyerSessions.tenantId, ctx.tenantId), eq(buyerSessions.id, sessionId)));
  await ctx.db
    .update(buyers)
    .set({ lastActiveAt: now })
    .where(
      and(
        eq(buyers.tenantId, ctx.tenantId),
        eq(buyers.id, buyerId),
        or(isNull(buyers.lastActiveAt), lt(buyers.lastActiveAt, stale)),
      ),
    );
}

/** Guard (run it as preValidation): a signed-in buyer is required (401 otherwise); sets `request.buyer`. */
export function requireBuyer(ctx: ServiceContext) {
  return async (request: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    const buyer = await currentBuyer(ctx, request);
    if (!buyer) throw problem.unauthorized('Sign in to your account first.');
  };
}

/** Guard (run it as preValidation): resolves the buyer when there is one (guests pass with `request.buyer = null`). */
export function optionalBuyer(ctx: ServiceContext) {
  return async (request: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    request.buyer = await currentBuyer(ctx, request);
  };
}

/** The buyer set by requireBuyer; throws if the route forgot the guard (a bug). */
export function signedInBuyer(request: FastifyRequest): CurrentBuyer {
  if (!request.buyer) throw new Error('route is missing the requireBuyer guard');
  return request.buyer;
}

/** The audit actor for a buyer's own action. */
export function buyerActor(request: FastifyRequest, buyerId = signedInBuyer(request).id): Actor {
  return { type: 'buyer', id: buyerId, role: null, requestId: request.id };
}

/** Revokes every live session of a buyer (used when staff disable the buyer). */
export async function revokeBuyerSessions(db: Queryable, tenantId: string, buyerId: string): Promise<number> {
  const revoked = await db
    .update(buyerSessions)
    .set({ revokedAt: sql`now()` })
    .where(
      and(
        eq(buyerSessions.tenantId, tenantId),
        eq(buyerSessions.buyerId, buyerId),
        isNull(buyerSessions.revokedAt),
      ),
    )
    .returning({ id: buyerSessions.id });
  return revoked.length;
}
