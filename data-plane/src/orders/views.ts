import { literals, Strict, Timestamp, Uuid } from '@amanat/kit/http/schemas';
import { Type } from 'typebox';
import type { ServiceContext } from '../context.ts';
import type { orderTrackingEvents } from '../delivery/schema.ts';
import { trackingStatuses } from '../delivery/schema.ts';
import { hasDownload, signedDownloadLink } from '../delivery/service.ts';
import { type EmailMessageRow, emailStatuses } from '../email/schema.ts';
import type { EscrowBalances } from '../ledger/service.ts';
import type { paymentEvidence, payments } from '../payments/schema.ts';
import { paymentRails } from '../settings/schema.ts';
import { orderStatuses, type orderTransitions } from './schema.ts';
import type { OrderLineRow, OrderRow } from './service.ts';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) =>
  Type.Union([schema, Type.Null()]);

export const OrderStatusSchema = literals(orderStatuses);
export const RailSchema = literals(paymentRails);
const Minor = Type.Integer({ minimum: 0 });
const Currency = Type.String({ pattern: '^[A-Z]{3}$' });

export const AddressSchema = Strict({
  recipient_name: Type.String({ minLength: 1, maxLength: 120 }),
  line1: Type.String({ minLength: 1, maxLength: 200 }),
  line2: Type.Optional(Nullable(Type.String({ maxLength: 200 }))),
  city: Type.String({ minLength: 1, maxLength: 120 }),
  region: Type.Optional(Nullable(Type.String({ maxLength: 120 }))),
  postal_code: Type.Optional(Nullable(Type.String({ maxLength: 32 }))),
  country: Type.String({ pattern: '^[A-Z]{2}$', description: 'ISO 3166-1 alpha-2' }),
  phone: Type.Optional(Nullable(Type.String({ pattern: '^\\+?[0-9 ()-]{4,32}$' }))),
});

const LineView = Strict({
  variant_id: Uuid,
  product_id: Uuid,
  sku: Type.String(),
  title: Type.String(),
  options: Type.Record(Type.String(), Type.String()),
  unit_price_minor: Minor,
  quantity: Type.Integer({ minimum: 1 }),
  line_total_minor: Minor,
});

const PaymentInstructions = Strict({
  method: RailSchema,
  reference: Type.String(),
  amount_minor: Minor,
  currency: Currency,
  pay_before: Timestamp,
  text: Type.String(),
});

const TrackingEventView = Strict({
  status: literals(trackingStatuses),
  description: Type.String(),
  location: Nullable(Type.String()),
  carrier: Nullable(Type.String()),
  tracking_number: Nullable(Type.String()),
  occurred_at: Timestamp,
});

const storefrontFields = {
  id: Uuid,
  status: OrderStatusSchema,
  rail: RailSchema,
  disclosure: Type.String({ description: "what the buyer was told about the rail's protection" }),
  currency: Currency,
  subtotal_minor: Minor,
  total_minor: Minor,
  item_count: Type.Integer({ minimum: 1 }),
  lines: Type.Array(LineView),
  email: Type.String(),
  shipping_address: Nullable(AddressSchema),
  note: Nullable(Type.String()),
  payment_instructions: Nullable(PaymentInstructions),
  expires_at: Timestamp,
  created_at: Timestamp,
  tracking: Strict({
    carrier: Nullable(Type.String()),
    tracking_number: Nullable(Type.String()),
    events: Type.Array(TrackingEventView),
  }),
  digital_delivery: Nullable(Strict({ path: Type.String(), expires_at: Timestamp })),
};

export const StorefrontOrder = Strict(storefrontFields);
export const CheckoutResponse = Strict({
  ...storefrontFields,
  access_token: Type.Optional(
    Type.String({ description: 'guests only, shown once: send it as x-order-token to read the order' }),
  ),
});

export const AdminOrderSummary = Strict({
  id: Uuid,
  status: OrderStatusSchema,
  rail: RailSchema,
  email: Type.String(),
  buyer_id: Nullable(Uuid),
  currency: Currency,
  total_minor: Minor,
  item_count: Type.Integer(),
  created_at: Timestamp,
  updated_at: Timestamp,
  expires_at: Timestamp,
});

export const EscrowBalancesSchema = Strict({
  currency: Currency,
  funded_minor: Minor,
  released_minor: Minor,
  refunded_minor: Minor,
  held_minor: Minor,
});

export const AdminOrder = Strict({
  ...storefrontFields,
  buyer_id: Nullable(Uuid),
  updated_at: Timestamp,
  digital_delivery: Nullable(
    Strict({
      url: Type.String(),
      note: Nullable(Type.String()),
      set_at: Timestamp,
      path: Type.String(),
      expires_at: Timestamp,
    }),
  ),
  payment: Nullable(
    Strict({
      status: Type.String(),
      amount_minor: Minor,
      currency: Currency,
      paid_at: Nullable(Timestamp),
      refunded_at: Nullable(Timestamp),
    }),
  ),
  evidence: Type.Array(
    Strict({
      source: Type.String(),
      evidence_id: Type.String(),
      amount_minor: Minor,
      currency: Currency,
      note: Nullable(Type.String()),
      actor_id: Nullable(Type.String()),
      received_at: Timestamp,
    }),
  ),
  transitions: Type.Array(
    Strict({
      action: Type.String(),
      from_status: OrderStatusSchema,
      to_status: OrderStatusSchema,
      actor_type: Type.String(),
      actor_id: Nullable(Type.String()),
      actor_role: Nullable(Type.String()),
      note: Nullable(Type.String()),
      at: Timestamp,
    }),
  ),
  escrow: Nullable(EscrowBalancesSchema),
  confirmation_email: Nullable(
    Strict(
      {
        id: Uuid,
        status: literals(emailStatuses),
        attempts: Type.Integer({ minimum: 0 }),
        sent_at: Nullable(Timestamp),
      },
      'the order confirmation sent to the buyer (details: GET /api/admin/emails?order_id=); null when the shop sends no email',
    ),
  ),
});

/** What the buyer is asked to do while the order waits for payment. */
export function paymentInstructions(order: OrderRow) {
  if (order.status !== 'pending_payment') return null;
  const payBefore = order.expiresAt.toISOString();
  const texts: Record<OrderRow['rail'], string> = {
    amn_escrow: `Pay the order total into escrow quoting reference ${order.id} before ${payBefore}. The seller is paid only after delivery.`,
    amn_direct: `Pay the order total quoting reference ${order.id} before ${payBefore}.`,
    external_provider: `Complete the payment with the shop's payment provider before ${payBefore}.`,
    manual_invoice: `The shop will send you an invoice for the order total; quote reference ${order.id} when paying before ${payBefore}.`,
  };
  return {
    method: order.rail,
    reference: order.id,
    amount_minor: order.totalMinor,
    currency: order.currency,
    pay_before: payBefore,
    text: texts[order.rail],
  };
}

type TrackingRow = typeof orderTrackingEvents.$inferSelect;

export function storefrontOrderView(
  ctx: ServiceContext,
  order: OrderRow,
  lines: readonly OrderLineRow[],
  tracking: readonly TrackingRow[],
  now = new Date(),
) {
  return {
    id: order.id,
    status: order.status,
    rail: order.rail,
    disclosure: order.railDisclosure,
    currency: order.currency,
    subtotal_minor: order.subtotalMinor,
    total_minor: order.totalMinor,
    item_count: order.itemCount,
    lines: lines.map((line) => ({
      variant_id: line.variantId,
      product_id: line.productId,
      sku: line.sku,
      title: line.title,
      options: line.options,
      unit_price_minor: line.unitPriceMinor,
      quantity: line.quantity,
      line_total_minor: line.lineTotalMinor,
    })),
    email: order.email,
    shipping_address: order.shippingAddress,
    note: order.note,
    payment_instructions: paymentInstructions(order),
    expires_at: order.expiresAt.toISOString(),
    created_at: order.createdAt.toISOString(),
    tracking: {
      carrier: order.carrier,
      tracking_number: order.trackingNumber,
      events: tracking.map((event) => ({
        status: event.status,
        description: event.description,
        location: event.location,
        carrier: event.carrier,
        tracking_number: event.trackingNumber,
        occurred_at: event.occurredAt.toISOString(),
      })),
    },
    digital_delivery: hasDownload(order) ? signedDownloadLink(ctx, order.id, now) : null,
  };
}

export function adminOrderSummary(order: OrderRow) {
  return {
    id: order.id,
    status: order.status,
    rail: order.rail,
    email: order.email,
    buyer_id: order.buyerId,
    currency: order.currency,
    total_minor: order.totalMinor,
    item_count: order.itemCount,
    created_at: order.createdAt.toISOString(),
    updated_at: order.updatedAt.toISOString(),
    expires_at: order.expiresAt.toISOString(),
  };
}

export function adminOrderView(
  ctx: ServiceContext,
  order: OrderRow,
  parts: {
    lines: readonly OrderLineRow[];
    tracking: readonly TrackingRow[];
    payment: typeof payments.$inferSelect | null;
    evidence: readonly (typeof paymentEvidence.$inferSelect)[];
    transitions: readonly (typeof orderTransitions.$inferSelect)[];
    escrow: EscrowBalances | null;
    confirmationEmail: EmailMessageRow | null;
  },
) {
  const base = storefrontOrderView(ctx, order, parts.lines, parts.tracking);
  const link = hasDownload(order) ? signedDownloadLink(ctx, order.id) : null;
  return {
    ...base,
    buyer_id: order.buyerId,
    updated_at: order.updatedAt.toISOString(),
    digital_delivery: order.digitalDelivery && link ? { ...order.digitalDelivery, ...link } : null,
    payment: parts.payment
      ? {
          status: parts.payment.status,
          amount_minor: parts.payment.amountMinor,
          currency: parts.payment.currency,
          paid_at: parts.payment.paidAt?.toISOString() ?? null,
          refunded_at: parts.payment.refundedAt?.toISOString() ?? null,
        }
      : null,
    evidence: parts.evidence.map((row) => ({
      source: row.source,
      evidence_id: row.evidenceId,
      amount_minor: row.amountMinor,
      currency: row.currency,
      note: row.note,
      actor_id: row.actorId,
      received_at: row.receivedAt.toISOString(),
    })),
    transitions: parts.transitions.map((row) => ({
      action: row.action,
      from_status: row.fromStatus,
      to_status: row.toStatus,
      actor_type: row.actorType,
      actor_id: row.actorId,
      actor_role: row.actorRole,
      note: row.note,
      at: row.at.toISOString(),
    })),
    escrow: parts.escrow,
    confirmation_email: parts.confirmationEmail
      ? {
          id: parts.confirmationEmail.id,
          status: parts.confirmationEmail.status,
          attempts: parts.confirmationEmail.attempts,
          sent_at: parts.confirmationEmail.sentAt?.toISOString() ?? null,
        }
      : null,
  };
}
