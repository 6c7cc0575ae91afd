// Brings in the cookie helpers' types on request and reply.

import { problem } from '@amanat/kit/http/problem';
import { Empty, errorResponses, Strict, Timestamp, Uuid } from '@amanat/kit/http/schemas';
import type { App } from '@amanat/kit/http/types';
import type {} from '@fastify/cookie';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { ServiceContext } from '../context.ts';
import {
  createAddress,
  deleteAddress,
  getBuyer,
  type IssuedSession,
  listAddresses,
  loginBuyer,
  logoutBuyer,
  publicAddress,
  publicBuyer,
  registerBuyer,
  updateAddress,
  updateMe,
} from './service.ts';
import { BUYER_SESSION_COOKIE, buyerActor, requireBuyer, sessionTokenOf, signedInBuyer } from './session.ts';

export const Email = Type.String({ format: 'email', maxLength: 254 });
export const Password = Type.String({ minLength: 10, maxLength: 256 });
const Nullable = <T extends ReturnType<typeof Type.String>>(schema: T) => Type.Union([schema, Type.Null()]);

export const Buyer = Strict({
  id: Uuid,
  email: Type.Union([Type.String(), Type.Null()], {
    description: 'null for a buyer who has only signed in through Telegram',
  }),
  display_name: Type.Union([Type.String(), Type.Null()]),
  marketing_opt_in: Type.Boolean(),
  marketing_opted_in_at: Type.Union([Timestamp, Type.Null()]),
  marketing_opted_out_at: Type.Union([Timestamp, Type.Null()]),
  created_at: Timestamp,
});

export const addressFields = {
  label: Type.Optional(Nullable(Type.String({ minLength: 1, maxLength: 60 }))),
  recipient_name: Type.String({ minLength: 1, maxLength: 120 }),
  line1: Type.String({ minLength: 1, maxLength: 200 }),
  line2: Type.Optional(Nullable(Type.String({ maxLength: 200 }))),
  city: Type.String({ minLength: 1, maxLength: 120 }),
  region: Type.Optional(Nullable(Type.String({ maxLength: 120 }))),
  postal_code: Type.Optional(Nullable(Type.String({ pattern: '^[A-Za-z0-9 -]{1,16}$' }))),
  country: Type.String({ pattern: '^[A-Za-z]{2}$', description: 'ISO 3166-1 alpha-2 country code' }),
  phone: Type.Optional(Nullable(Type.String({ pattern: '^\\+?[0-9 ()-]{4,32}$' }))),
  is_default: Type.Optional(Type.Boolean()),
};

const Address = Strict({
  id: Uuid,
  label: Type.Union([Type.String(), Type.Null()]),
  recipient_name: Type.String(),
  line1: Type.String(),
  line2: Type.Union([Type.String(), Type.Null()]),
  city: Type.String(),
  region: Type.Union([Type.String(), Type.Null()]),
  postal_code: Type.Union([Type.String(), Type.Null()]),
  country: Type.String(),
  phone: Type.Union([Type.String(), Type.Null()]),
  is_default: Type.Boolean(),
  created_at: Timestamp,
  updated_at: Timestamp,
});

const AddressParams = Strict({ id: Uuid });
const tags = ['storefront'];
const security = [{ buyer: [] }];

export function setSessionCookie(reply: FastifyReply, session: IssuedSession) {
  // No Domain attribute: host-only, so the cookie belongs to the shop's own host.
  reply.setCookie(BUYER_SESSION_COOKIE, session.token, {
    path: '/',
    httpOnly: true,
    secure: true,
    sameSite: 'lax',
    expires: session.expiresAt,
  });
}

export const clientOf = (request: FastifyRequest) => ({
  ip: request.ip,
  userAgent: request.headers['user-agent'],
});

/** The storefront's buyer account API: register, sign in and out, profile, saved addresses. */
export async function buyerRoutes(app: App, ctx: ServiceContext) {
  const guard = requireBuyer(ctx);

  app.post(
    '/api/storefront/account/register',
    {
      schema: {
        tags,
        summary: 'Create a buyer account for this shop and sign in (sets the session cookie)',
        body: Strict({
          email: Email,
          password: Password,
          display_name: Type.Optional(Type.String({ minLength: 1, maxLength: 120 })),
          marketing_opt_in: Type.Optional(
            Type.Boolean({ description: 'consent to marketing email; default false' }),
          ),
        }),
        response: { 201: Strict({ buyer: Buyer }), ...errorResponses },
      },
    },
    async (request, reply) => {
      const { buyer, session } = await registerBuyer(ctx, request.id, clientOf(request), request.body);
      setSessionCookie(reply, session);
      return reply.code(201).send({ buyer: publicBuyer(buyer) });
    },
  );

  app.post(
    '/api/storefront/account/login',
    {
      schema: {
        tags,
        summary: 'Sign in with email and password (sets the session cookie)',
        description: 'Ten failed attempts an hour per email or per client address are refused with 429.',
        body: Strict({ email: Email, password: Type.String({ minLength: 1, maxLength: 256 }) }),
        response: { 200: Strict({ buyer: Buyer }), ...errorResponses },
      },
    },
    async (request, reply) => {
      const { buyer, session } = await loginBuyer(ctx, request.id, clientOf(request), request.body);
      setSessionCookie(reply, session);
      return { buyer: publicBuyer(buyer) };
    },
  );

  app.post(
    '/api/storefront/account/logout',
    {
      schema: {
        tags,
        security,
        summary: 'End the current session and clear its cookie',
        response: { 204: Empty, ...errorResponses },
      },
    },
    async (request, reply) => {
      const token = sessionTokenOf(request);
      if (token) await logoutBuyer(ctx, request.id, token);
      reply.clearCookie(BUYER_SESSION_COOKIE, { path: '/', httpOnly: true, secure: true, sameSite: 'lax' });
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/api/storefront/account/me',
    {
      preValidation: guard,
      schema: {
        tags,
        security,
        summary: 'The signed-in buyer',
        response: { 200: Buyer, ...errorResponses },
      },
    },
    async (request) => {
      const buyer = await getBuyer(ctx.db, ctx.tenantId, signedInBuyer(request).id);
      if (!buyer) throw problem.unauthorized();
      return publicBuyer(buyer);
    },
  );

  app.patch(
    '/api/storefront/account/me',
    {
      preValidation: guard,
      schema: {
        tags,
        security,
        summary: 'Change the display name or marketing consent (opting out is recorded with its time)',
        body: Type.Object(
          {
            display_name: Type.Optional(Nullable(Type.String({ minLength: 1, maxLength: 120 }))),
            marketing_opt_in: Type.Optional(Type.Boolean()),
          },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: { 200: Buyer, ...errorResponses },
      },
    },
    async (request) => {
      const me = signedInBuyer(request);
      return publicBuyer(await updateMe(ctx, buyerActor(request), me.id, request.body));
    },
  );

  app.get(
    '/api/storefront/account/addresses',
    {
      preValidation: guard,
      schema: {
        tags,
        security,
        summary: "The signed-in buyer's saved addresses",
        response: { 200: Strict({ items: Type.Array(Address) }), ...errorResponses },
      },
    },
    async (request) => ({
      items: (await listAddresses(ctx, signedInBuyer(request).id)).map(publicAddress),
    }),
  );

  app.post(
    '/api/storefront/account/addresses',
    {
      preValidation: guard,
      schema: {
        tags,
        security,
        summary: 'Save an address (the first one becomes the default)',
        body: Strict(addressFields),
        response: { 201: Address, ...errorResponses },
      },
    },
    async (request, reply) => {
      const row = await createAddress(ctx, buyerActor(request), signedInBuyer(request).id, request.body);
      return reply.code(201).send(publicAddress(row));
    },
  );

  app.patch(
    '/api/storefront/account/addresses/:id',
    {
      preValidation: guard,
      schema: {
        tags,
        security,
        summary: 'Change one of your saved addresses',
        params: AddressParams,
        body: Type.Partial(Strict(addressFields), { additionalProperties: false, minProperties: 1 }),
        response: { 200: Address, ...errorResponses },
      },
    },
    async (request) => {
      const row = await updateAddress(
        ctx,
        buyerActor(request),
        signedInBuyer(request).id,
        request.params.id,
        request.body,
      );
      return publicAddress(row);
    },
  );

  app.delete(
    '/api/storefront/account/addresses/:id',
    {
      preValidation: guard,
      schema: {
        tags,
        security,
        summary: 'Delete one of your saved addresses',
        params: AddressParams,
        response: { 204: Empty, ...errorResponses },
      },
    },
    async (request, reply) => {
      await deleteAddress(ctx, buyerActor(request), signedInBuyer(request).id, request.params.id);
      return reply.code(204).send(null);
    },
  );
}
