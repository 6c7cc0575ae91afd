import { createHmac, timingSafeEqual } from 'node:crypto';
import { problem } from '@amanat/kit/http/problem';
import { and, asc, eq } from 'drizzle-orm';
import { type Actor, recordAudit } from '../audit/record.ts';
import type { ServiceContext } from '../context.ts';
import type { Queryable, Tx } from '../db/client.ts';
import { emitEvent } from '../events/emit.ts';
import { type OrderStatus, orders } from '../orders/schema.ts';
import {
  applyTransition,
  lockOrder,
  type OrderRow,
  orderAuditView,
  orderEventPayload,
} from '../orders/service.ts';
import { orderTrackingEvents, type TrackingStatus } from './schema.ts';

/** A signed download link stays valid this long. */
export const DOWNLOAD_LINK_TTL_SECONDS = 24 * 3600;
/** Statuses in which the buyer may receive goods: paid and not cancelled. */
const shippable: readonly OrderStatus[] = ['paid_direct', 'escrow_funded', 'fulfillment', 'delivered'];
const downloadable: readonly OrderStatus[] = [...shippable, 'completed', 'disputed'];

export interface ShipmentInput {
  carrier?: string | undefined;
  tracking_number?: string | undefined;
  note?: string | undefined;
}

export interface TrackingInput {
  status: TrackingStatus;
  description: string;
  location?: string | undefined;
  carrier?: string | undefined;
  tracking_number?: string | undefined;
  occurred_at?: string | undefined;
}

async function addTracking(
  tx: Tx,
  order: OrderRow,
  actor: Actor,
  input: TrackingInput,
  carrier: string | null,
  trackingNumber: string | null,
) {
  await tx.insert(orderTrackingEvents).values({
    tenantId: order.tenantId,
    orderId: order.id,
    status: input.status,
    description: input.description,
    location: input.location ?? null,
    carrier,
    trackingNumber,
    occurredAt: input.occurred_at ? new Date(input.occurred_at) : new Date(),
    actorType: actor.type,
    actorId: actor.id,
  });
}

async function setShipment(tx: Tx, order: OrderRow, carrier: string | null, trackingNumber: string | null) {
  const [row] = await tx
    .update(orders)
    .set({ carrier, trackingNumber, updatedAt: new Date() })
    .where(and(eq(orders.tenantId, order.tenantId), eq(orders.id, order.id)))
    .returning();
  return row ?? order;
}

/** Staff start fulfilling a paid order, optionally with the carrier and tracking number. */
export function startFulfillment(ctx: ServiceContext, actor: Actor, orderId: string, input: ShipmentInput) {
  return ctx.db.transaction(async (tx) => {
    const order = await lockOrder(tx, ctx.tenantId, orderId);
    let next = await applyTransition(tx, order, 'start_fulfillment', actor, input.note ?? null);
    const carrier = input.carrier ?? order.carrier;
    const trackingNumber = input.tracking_number ?? order.trackingNumber;
    if (input.carrier !== undefined || input.tracking_number !== undefined) {
      next = await setShipment(tx, next, carrier, trackingNumber);
    }
    await addTracking(
      tx,
      next,
      actor,
      {
        status: carrier || trackingNumber ? 'label_created' : 'note',
        description: input.note ?? 'Preparing your order',
      },
      carrier,
      trackingNumber,
    );
    await emitEvent(tx, ctx.tenantId, {
      type: 'order.fulfillment_started',
      aggregateType: 'order',
      aggregateId: order.id,
      payload: orderEventPayload(next, { carrier, tracking_number: trackingNumber }),
    });
    await recordAudit(tx, ctx.tenantId, actor, {
      action: 'order.fulfillment_started',
      targetType: 'order',
      targetId: order.id,
      before: orderAuditView(order),
      after: orderAuditView(next),
    });
    return next;
  });
}

/** Staff confirm delivery: the order becomes delivered and the timeline says so. */
export function markDelivered(ctx: ServiceContext, actor: Actor, orderId: string, note: string | null) {
  return ctx.db.transaction(async (tx) => {
    const order = await lockOrder(tx, ctx.tenantId, orderId);
    const next = await applyTransition(tx, order, 'mark_delivered', actor, note);
    await addTracking(
      tx,
      next,
      actor,
      { status: 'delivered', description: note ?? 'Delivered' },
      next.carrier,
      next.trackingNumber,
    );
    await emitEvent(tx, ctx.tenantId, {
      type: 'order.delivered',
      aggregateType: 'order',
      aggregateId: order.id,
      payload: orderEventPayload(next),
    });
    await recordAudit(tx, ctx.tenantId, actor, {
      action: 'order.delivered',
      targetType: 'order',
      targetId: order.id,
      before: orderAuditView(order),
      after: orderAuditView(next),
    });
    return next;
  });
}

/** A manual tracking update (and, when given, a new carrier or tracking number) on a paid order. */
export function addTrackingEvent(ctx: ServiceContext, actor: Actor, orderId: string, input: TrackingInput) {
  return ctx.db.transaction(async (tx) => {
    const order = await lockOrder(tx, ctx.tenantId, orderId);
    if (!shippable.includes(order.status)) {
      throw problem.conflict(
        'order-not-shippable',
        `The order is ${order.status}; it has nothing to track.`,
        {
          current_status: order.status,
        },
      );
    }
    const carrier = input.carrier ?? order.carrier;
    const trackingNumber = input.tracking_number ?? order.trackingNumber;
    const next =
      carrier !== order.carrier || trackingNumber !== order.trackingNumber
        ? await setShipment(tx, order, carrier, trackingNumber)
        : order;
    await addTracking(tx, next, actor, input, carrier, trackingNumber);
    await recordAudit(tx, ctx.tenantId, actor, {
      action: 'order.tracking_added',
      targetType: 'order',
      targetId: order.id,
      before: orderAuditView(order),
      after: { ...orderAuditView(next), tracking_status: input.status },
    });
    return next;
  });
}

/** Attaches the digital goods (an https URL) to a paid order; the buyer gets a signed, expiring link. */
export function setDigitalDelivery(
  ctx: ServiceContext,
  actor: Actor,
  orderId: string,
  input: { url: string; note?: string | undefined },
) {
  return ctx.db.transaction(async (tx) => {
    const order = await lockOrder(tx, ctx.tenantId, orderId);
    if (!shippable.includes(order.status)) {
      throw problem.conflict('order-not-shippable', `The order is ${order.status}; it cannot be delivered.`, {
        current_status: order.status,
      });
    }
    const digitalDelivery = { url: input.url, note: input.note ?? null, set_at: new Date().toISOString() };
    const [next] = await tx
      .update(orders)
      .set({ digitalDelivery, updatedAt: new Date() })
      .where(and(eq(orders.tenantId, ctx.tenantId), eq(orders.id, order.id)))
      .returning();
    await recordAudit(tx, ctx.tenantId, actor, {
      action: 'order.digital_delivery_set',
      targetType: 'order',
      targetId: order.id,
      before: { digital_delivery: order.digitalDelivery },
      after: { digital_delivery: digitalDelivery },
    });
    return next ?? order;
  });
}

export async function trackingOf(db: Queryable, tenantId: string, orderId: string) {
  return db
    .select()
    .from(orderTrackingEvents)
    .where(and(eq(orderTrackingEvents.tenantId, tenantId), eq(orderTrackingEvents.orderId, orderId)))
    .orderBy(asc(orderTrackingEvents.occurredAt), asc(orderTrackingEvents.createdAt));
}

function downloadSignature(secret: string, tenantId: string, orderId: string, expires: number): string {
  return createHmac('sha256', secret)
    .update(`download.${tenantId}.${orderId}.${expires}`)
    .digest('base64url');
}

/** A signed link to an order's digital goods, valid until `expires` (Unix seconds). */
export function signedDownloadLink(
  ctx: ServiceContext,
  orderId: string,
  now = new Date(),
): { path: string; expires_at: string } {
  const expires = Math.floor(now.getTime() / 1000) + DOWNLOAD_LINK_TTL_SECONDS;
  const sig = downloadSignature(ctx.config.DELIVERY_LINK_SECRET, ctx.tenantId, orderId, expires);
  return {
    path: `/api/storefront/orders/${orderId}/download?expires=${expires}&sig=${sig}`,
    expires_at: new Date(expires * 1000).toISOString(),
  };
}

/**
 * Checks a download link (constant-time) and returns the order's digital goods: 403 when the
 * signature is forged or the link has expired, 404 when there is nothing to download.
 */
export async function openDownload(
  ctx: ServiceContext,
  orderId: string,
  expires: number,
  sig: string,
  now = new Date(),
): Promise<{ url: string; note: string | null }> {
  const expected = Buffer.from(
    downloadSignature(ctx.config.DELIVERY_LINK_SECRET, ctx.tenantId, orderId, expires),
  );
  const given = Buffer.from(sig);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw problem.forbidden('bad-link', 'This download link is not valid.');
  }
  if (expires * 1000 <= now.getTime()) {
    throw problem.forbidden('link-expired', 'This download link has expired; open the order for a new one.');
  }
  const [order] = await ctx.db
    .select({ status: orders.status, digitalDelivery: orders.digitalDelivery })
    .from(orders)
    .where(and(eq(orders.tenantId, ctx.tenantId), eq(orders.id, orderId)));
  if (!order?.digitalDelivery || !downloadable.includes(order.status)) {
    throw problem.notFound('There is nothing to download for this order.');
  }
  return { url: order.digitalDelivery.url, note: order.digitalDelivery.note };
}

export const hasDownload = (order: OrderRow) =>
  order.digitalDelivery !== null && downloadable.includes(order.status);
