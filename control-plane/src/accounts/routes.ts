// Brings in the cookie helpers' types on request and reply.

import { problem } from '@amanat/kit/http/problem';
import { Empty, errorResponses, literals, Strict, Timestamp, Uuid } from '@amanat/kit/http/schemas';
import type { App } from '@amanat/kit/http/types';
import type {} from '@fastify/cookie';
import type { FastifyReply } from 'fastify';
import { Type } from 'typebox';
import { actorOf, authOf, REFRESH_COOKIE, requireUser, SESSION_COOKIE } from '../auth/authenticate.ts';
import type { ServiceContext } from '../context.ts';
import { platformRoles } from './schema.ts';
import {
  confirmMfaEnrolment,
  type IssuedTokens,
  login,
  logout,
  passMfaChallenge,
  publicUser,
  refreshSession,
  register,
  startMfaEnrolment,
} from './service.ts';

const Email = Type.String({ format: 'email', maxLength: 254 });
const Password = Type.String({ minLength: 12, maxLength: 256 });
const TotpCode = Type.String({ pattern: '^[0-9]{6}$', description: 'six-digit TOTP code' });

export const User = Strict({
  id: Uuid,
  email: Type.String(),
  display_name: Type.String(),
  role: literals(platformRoles),
  mfa_enrolled: Type.Boolean(),
  created_at: Timestamp,
});

const Tokens = Strict({
  token_type: Type.Literal('Bearer'),
  access_token: Type.String(),
  expires_at: Timestamp,
  refresh_token: Type.String(),
  refresh_expires_at: Timestamp,
});

const tags = ['auth'];

function sendTokens(reply: FastifyReply, tokens: IssuedTokens) {
  reply.setCookie(SESSION_COOKIE, tokens.accessToken, {
    path: '/',
    httpOnly: true,
    secure: true,
    sameSite: 'lax',
    expires: tokens.accessExpiresAt,
  });
  reply.setCookie(REFRESH_COOKIE, tokens.refreshToken, {
    path: '/',
    httpOnly: true,
    secure: true,
    sameSite: 'strict',
    expires: tokens.refreshExpiresAt,
  });
  return {
    token_type: 'Bearer' as const,
    access_token: tokens.accessToken,
    expires_at: tokens.accessExpiresAt.toISOString(),
    refresh_token: tokens.refreshToken,
    refresh_expires_at: tokens.refreshExpiresAt.toISOString(),
  };
}

export async function accountRoutes(app: App, ctx: ServiceContext) {
  app.post(
    '/auth/register',
    {
      schema: {
        tags,
        summary: 'Create a seller account',
        body: Strict({
          email: Email,
          password: Password,
          display_name: Type.String({ minLength: 1, maxLength: 120 }),
        }),
        response: { 201: Strict({ user: User }), ...errorResponses },
      },
    },
    async (request, reply) => {
      const user = await register(ctx, actorOf(request), request.body);
      return reply.code(201).send({ user: publicUser(user) });
    },
  );

  app.post(
    '/auth/login',
    {
      schema: {
        tags,
        summary: 'Sign in with email and password',
        description:
          'Returns a bearer access token (at most one hour) and a refresh token, and sets them as HttpOnly, Secure, SameSite cookies. After 10 failures in an hour for an account or an IP, attempts are refused with 429.',
        body: Strict({ email: Email, password: Type.String({ minLength: 1, maxLength: 256 }) }),
        response: {
          200: Strict({ ...Tokens.properties, mfa_required: Type.Boolean(), user: User }),
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const { user, tokens } = await login(ctx, actorOf(request), {
        ...request.body,
        userAgent: request.headers['user-agent'],
      });
      return { ...sendTokens(reply, tokens), mfa_required: user.totpSecret !== null, user: publicUser(user) };
    },
  );

  app.post(
    '/auth/refresh',
    {
      schema: {
        tags,
        summary: 'Exchange a refresh token for new tokens (the old pair stops working)',
        body: Strict({ refresh_token: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })) }),
        response: { 200: Tokens, ...errorResponses },
      },
    },
    async (request, reply) => {
      const token = request.body.refresh_token ?? request.cookies[REFRESH_COOKIE];
      if (!token) throw problem.unauthorized('Send a refresh_token in the body or the refresh cookie.');
      const { tokens } = await refreshSession(ctx, actorOf(request), token);
      return sendTokens(reply, tokens);
    },
  );

  app.post(
    '/auth/logout',
    {
      preValidation: requireUser,
      config: { allowMfaPending: true },
      schema: { tags, summary: 'End this session', response: { 204: Empty, ...errorResponses } },
    },
    async (request, reply) => {
      await logout(ctx, actorOf(request), authOf(request).session);
      reply.clearCookie(SESSION_COOKIE, { path: '/' }).clearCookie(REFRESH_COOKIE, { path: '/' });
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/auth/me',
    {
      preValidation: requireUser,
      config: { allowMfaPending: true },
      schema: {
        tags,
        summary: 'The signed-in account and its session',
        response: {
          200: Strict({
            user: User,
            session: Strict({
              id: Uuid,
              expires_at: Timestamp,
              mfa_pending: Type.Boolean(),
              mfa_verified_at: Type.Union([Timestamp, Type.Null()]),
            }),
          }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const { user, session, mfaPending } = authOf(request);
      return {
        user: publicUser(user),
        session: {
          id: session.id,
          expires_at: session.accessExpiresAt.toISOString(),
          mfa_pending: mfaPending,
          mfa_verified_at: session.mfaVerifiedAt?.toISOString() ?? null,
        },
      };
    },
  );

  app.post(
    '/auth/mfa/enrol',
    {
      preValidation: requireUser,
      schema: {
        tags,
        summary: 'Start TOTP enrolment',
        description: 'Returns a new secret; it takes effect once a code from it is confirmed.',
        response: { 200: Strict({ secret: Type.String(), otpauth_uri: Type.String() }), ...errorResponses },
      },
    },
    async (request) => startMfaEnrolment(ctx, actorOf(request), authOf(request).user),
  );

  app.post(
    '/auth/mfa/enrol/confirm',
    {
      preValidation: requireUser,
      schema: {
        tags,
        summary: 'Confirm TOTP enrolment with a current code',
        body: Strict({ code: TotpCode }),
        response: { 204: Empty, ...errorResponses },
      },
    },
    async (request, reply) => {
      await confirmMfaEnrolment(ctx, actorOf(request), authOf(request).session, request.body.code);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/auth/mfa/challenge',
    {
      preValidation: requireUser,
      config: { allowMfaPending: true },
      schema: {
        tags,
        summary: 'Pass the TOTP challenge for this session',
        description: 'Marks the session MFA-verified now; platform-admin operations need a recent check.',
        body: Strict({ code: TotpCode }),
        response: { 204: Empty, ...errorResponses },
      },
    },
    async (request, reply) => {
      await passMfaChallenge(ctx, actorOf(request), authOf(request).session, request.body.code);
      return reply.code(204).send(null);
    },
  );
}
