import { errorResponses, literals, Strict, Timestamp, Uuid } from '@amanat/kit/http/schemas';
import type { App } from '@amanat/kit/http/types';
import { type TSchema, Type } from 'typebox';
import { requirePermission, type StaffIdentity, staffActor } from '../auth/staff.ts';
import type { ServiceContext } from '../context.ts';
import { adminDetailOf } from '../orders/queries.ts';
import { OrderParams } from '../orders/routes.ts';
import { AdminOrder, EscrowBalancesSchema, OrderStatusSchema, RailSchema } from '../orders/views.ts';
import {
  type PaymentAdapter,
  platformScannerAdapter,
  type ScannerEvidenceBody,
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
} from './adapters.ts';
import { confirmManualPayment, settlePayment } from './service.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The request body exactly as received, for signature checks (payment adapter routes only). */
    rawBody?: string;
  }
}

const Currency = Type.String({ pattern: '^[A-Z]{3}$' });
const Amount = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });

const SettlementResponse = Strict({
  order_id: Uuid,
  status: OrderStatusSchema,
  rail: RailSchema,
  escrow: Type.Union([EscrowBalancesSchema, Type.Null()]),
});

/**
 * Registers an evidence endpoint for one adapter. The body's raw bytes are kept for the
 * signature; the adapter authenticates before the body is even validated.
 */
async function evidenceEndpoint<Body>(
  app: App,
  ctx: ServiceContext,
  url: string,
  adapter: PaymentAdapter<Body>,
  body: TSchema,
  summary: string,
) {
  await app.register(async (scoped) => {
    const parseJson = scoped.getDefaultJsonParser('error', 'error');
    scoped.removeContentTypeParser('application/json');
    scoped.addContentTypeParser('application/json', { parseAs: 'string' }, (request, raw, done) => {
      request.rawBody = raw as string;
      parseJson(request, raw as string, done);
    });
    scoped.post(
      url,
      {
        preValidation: async (request) => {
          adapter.authenticate({ headers: request.headers, rawBody: request.rawBody ?? '' }, new Date());
        },
        schema: {
          tags: ['payments'],
          summary,
          description: `HMAC-SHA256 signed: ${TIMESTAMP_HEADER} (Unix seconds, within ±5 minutes) and ${SIGNATURE_HEADER}: sha256=<hex> over "<timestamp>.<raw body>". An evidence id is accepted once.`,
          body,
          response: { 200: SettlementResponse, ...errorResponses },
        },
      },
      async (request) => {
        const evidence = adapter.evidence(request.body as Body);
        const { order, escrow } = await settlePayment(ctx, adapter.rails, evidence, {
          type: 'payment_adapter',
          id: adapter.source,
          role: null,
          requestId: request.id,
        });
        return { order_id: order.id, status: order.status, rail: order.rail, escrow };
      },
    );
  });
}

export async function paymentRoutes(
  app: App,
  ctx: ServiceContext,
  verifyStaff: (token: string) => Promise<StaffIdentity>,
) {
  await evidenceEndpoint<ScannerEvidenceBody>(
    app,
    ctx,
    '/api/payments/evidence',
    platformScannerAdapter(ctx.config.PAYMENT_EVIDENCE_SECRET),
    Strict({
      evidence_id: Type.String({ pattern: '^[A-Za-z0-9_.:-]{1,128}$' }),
      order_id: Uuid,
      rail: literals(['amn_direct', 'amn_escrow']),
      amount_minor: Amount,
      currency: Currency,
      paid_at: Type.Optional(Timestamp),
      reference: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    }),
    'Payment evidence from the platform scanner (amn_direct, amn_escrow)',
  );

  app.post(
    '/api/admin/orders/:id/confirm-payment',
    {
      preValidation: requirePermission(verifyStaff, 'payments.confirm'),
      schema: {
        tags: ['admin'],
        summary: 'Staff confirm a manual_invoice payment with an evidence note',
        params: OrderParams,
        body: Strict({
          note: Type.String({ minLength: 1, maxLength: 2000, description: 'what proves the payment' }),
          reference: Type.Optional(
            Type.String({
              pattern: '^[!-~]{1,120}$',
              description: 'bank or invoice reference; counted once',
            }),
          ),
          amount_minor: Amount,
          currency: Currency,
        }),
        response: { 200: AdminOrder, ...errorResponses },
      },
    },
    async (request) => {
      const { order } = await confirmManualPayment(
        ctx,
        staffActor(request),
        request.params.id.toLowerCase(),
        request.body,
      );
      return adminDetailOf(ctx, order);
    },
  );
}
