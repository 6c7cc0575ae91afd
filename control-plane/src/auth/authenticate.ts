// Brings in the cookie helpers' types on request and reply.

import { problem } from '@amanat/kit/http/problem';
import type { App } from '@amanat/kit/http/types';
import type {} from '@fastify/cookie';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { findLiveSessionByAccessHash, type SessionRow, type UserRow } from '../accounts/queries.ts';
import { hashToken } from '../accounts/tokens.ts';
import type { Actor } from '../audit/record.ts';
import type { ServiceContext } from '../context.ts';

export const SESSION_COOKIE = '__Host-session';
export const REFRESH_COOKIE = '__Host-refresh';

export interface AuthState {
  user: UserRow;
  session: SessionRow;
  /** The account has MFA enrolled and this session has not passed the challenge yet. */
  mfaPending: boolean;
}

declare module 'fastify' {
  interface FastifyRequest {
    auth: AuthState | null;
  }
  interface FastifyContextConfig {
    /** The route works for a session that still owes its MFA challenge. */
    allowMfaPending?: boolean;
  }
}

function presentedToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (header?.startsWith('Bearer ')) return header.slice('Bearer '.length).trim();
  return request.cookies[SESSION_COOKIE];
}

/** Resolves the bearer token or session cookie to an account before any guard runs. */
export function registerAuthentication(app: App, ctx: ServiceContext): void {
  app.decorateRequest('auth', null);
  app.addHook('onRequest', async (request) => {
    const token = presentedToken(request);
    if (!token) return;
    const found = await findLiveSessionByAccessHash(ctx.db, hashToken(token));
    if (!found) return;
    request.auth = {
      user: found.user,
      session: found.session,
      mfaPending: found.user.totpSecret !== null && found.session.mfaVerifiedAt === null,
    };
  });
}

export function actorOf(request: FastifyRequest): Actor {
  return {
    userId: request.auth?.user.id ?? null,
    role: request.auth?.user.role ?? null,
    requestId: request.id,
    ip: request.ip,
  };
}

export function authOf(request: FastifyRequest): AuthState {
  if (!request.auth) throw problem.unauthorized();
  return request.auth;
}

export async function requireUser(request: FastifyRequest, _reply: FastifyReply): Promise<void> {
  const auth = authOf(request);
  if (auth.mfaPending && !request.routeOptions.config.allowMfaPending) {
    throw problem.forbidden('mfa-required', 'Pass the MFA challenge (POST /auth/mfa/challenge) first.');
  }
}

/** Platform-admin operations need the admin role and an MFA check within the configured age. */
export function requirePlatformAdmin(ctx: ServiceContext) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    await requireUser(request, reply);
    assertRecentAdminMfa(ctx, authOf(request));
  };
}

export function assertRecentAdminMfa(ctx: ServiceContext, auth: AuthState): void {
  if (auth.user.role !== 'admin') throw problem.forbidden('admin-only', 'Only platform admins may do this.');
  const verifiedAt = auth.session.mfaVerifiedAt?.getTime() ?? 0;
  if (Date.now() - verifiedAt > ctx.config.ADMIN_MFA_MAX_AGE_SECONDS * 1000) {
    throw problem.forbidden(
      'mfa-required',
      `Platform-admin operations need an MFA check within the last ${ctx.config.ADMIN_MFA_MAX_AGE_SECONDS} s; POST /auth/mfa/challenge.`,
    );
  }
}
