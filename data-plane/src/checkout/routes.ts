import { ProblemError } from '@amanat/kit/http/problem';
import { errorResponses, Strict, Uuid } from '@amanat/kit/http/schemas';
import type { App } from '@amanat/kit/http/types';
import { Type } from 'typebox';
import { currentBuyer } from '../buyers/session.ts';
import type { ServiceContext } from '../context.ts';
import { AddressSchema, CheckoutResponse, RailSchema } from '../orders/views.ts';
import { checkout } from './service.ts';

export const MAX_CHECKOUT_LINES = 100;
export const MAX_CHECKOUT_QUANTITY = 1000;

export const CheckoutBodySchema = Strict({
  lines: Type.Array(
    Strict({
      variant_id: Uuid,
      quantity: Type.Integer({ minimum: 1, maximum: MAX_CHECKOUT_QUANTITY }),
    }),
    { minItems: 1, maxItems: MAX_CHECKOUT_LINES },
  ),
  email: Type.Optional(
    Type.String({
      format: 'email',
      maxLength: 254,
      description: 'guests, and signed-in buyers whose account has no email (Telegram sign-in)',
    }),
  ),
  rail: Type.Optional(RailSchema),
  shipping_address: Type.Optional(AddressSchema),
  address_id: Type.Optional(Uuid),
  note: Type.Optional(Type.String({ maxLength: 1000 })),
});

export const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.String({
    pattern: '^[!-~]{8,255}$',
    description: 'a fresh random key per checkout (8-255 printable characters); a retry reuses it',
  }),
});

export async function checkoutRoutes(app: App, ctx: ServiceContext) {
  app.post(
    '/api/storefront/checkout',
    {
      // Before validation: a suspended shop refuses every checkout, well-formed or not, as
      // its pages all say it is unavailable.
      preValidation: async () => {
        if (ctx.config.SHOP_SUSPENDED) {
          throw new ProblemError(
            503,
            'shop-unavailable',
            'Service unavailable',
            'This shop is not taking orders.',
          );
        }
      },
      schema: {
        tags: ['storefront'],
        summary: 'Place an order: server-side prices, payment policy, stock reservation, idempotent',
        description:
          'Signed-in buyers check out with their session; guests send an email and get an access token once. Every price comes from the catalog; a price field in the request is refused.',
        headers: IdempotencyHeaders,
        body: CheckoutBodySchema,
        response: { 201: CheckoutResponse, ...errorResponses },
      },
    },
    async (request, reply) => {
      const buyer = await currentBuyer(ctx, request);
      const result = await checkout(ctx, {
        buyer,
        idempotencyKey: request.headers['idempotency-key'],
        body: request.body,
        requestId: request.id,
      });
      if (result.replayed) reply.header('idempotent-replayed', 'true');
      return reply.code(201).send(result.body);
    },
  );
}
