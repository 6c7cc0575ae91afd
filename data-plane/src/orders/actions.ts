import { problem } from '@amanat/kit/http/problem';
import { type Actor, recordAudit } from '../audit/record.ts';
import type { ServiceContext } from '../context.ts';
import type { Tx } from '../db/client.ts';
import { type EventType, emitEvent } from '../events/emit.ts';
import { releaseReservation, restockOrder } from '../inventory/service.ts';
import { escrowBalances, postLedger } from '../ledger/service.ts';
import { setPaymentStatus } from '../payments/service.ts';
import { railEscrows } from '../settings/rails.ts';
import {
  applyTransition,
  linesOf,
  lockOrder,
  type OrderRow,
  orderAuditView,
  orderEventPayload,
  stockLinesOf,
} from './service.ts';

/**
 * Shop admin actions on one order. Each runs in one transaction with the order locked FOR
 * UPDATE, moves it through the state machine (409 when illegal), applies the side effects
 * (stock, ledger, payment record), emits its events and writes exactly one audit row.
 */
async function withLockedOrder(
  ctx: ServiceContext,
  orderId: string,
  work: (tx: Tx, order: OrderRow) => Promise<OrderRow>,
): Promise<OrderRow> {
  return ctx.db.transaction(async (tx) => work(tx, await lockOrder(tx, ctx.tenantId, orderId)));
}

async function emit(tx: Tx, order: OrderRow, types: EventType[], extra: Record<string, unknown> = {}) {
  for (const type of types) {
    await emitEvent(tx, order.tenantId, {
      type,
      aggregateType: 'order',
      aggregateId: order.id,
      payload: orderEventPayload(order, extra),
    });
  }
}

async function audit(tx: Tx, actor: Actor, action: string, before: OrderRow, after: OrderRow, extra = {}) {
  await recordAudit(tx, before.tenantId, actor, {
    action,
    targetType: 'order',
    targetId: before.id,
    before: orderAuditView(before),
    after: { ...orderAuditView(after), ...extra },
  });
}

/** Gives the buyer back what escrow still holds (escrow rail) and marks the payment refunded. */
async function refundMoney(tx: Tx, order: OrderRow, actor: Actor): Promise<number> {
  let refunded = order.totalMinor;
  if (railEscrows[order.rail]) {
    const { held_minor } = await escrowBalances(tx, order);
    refunded = held_minor;
    if (held_minor > 0) await postLedger(tx, order, 'refund', held_minor, actor);
  }
  await setPaymentStatus(tx, order, 'refunded');
  return refunded;
}

/**
 * Cancels an order. Unpaid: its reservation is released. Paid but not yet delivered: the
 * money goes back (escrow refunded on the ledger) and the goods are restocked.
 */
export function cancelOrder(ctx: ServiceContext, actor: Actor, orderId: string, reason: string | null) {
  return withLockedOrder(ctx, orderId, async (tx, order) => {
    const cancelled = await applyTransition(tx, order, 'cancel', actor, reason);
    const lines = stockLinesOf(await linesOf(tx, ctx.tenantId, order.id));
    const unpaid = order.status === 'draft' || order.status === 'pending_payment';
    let refunded = 0;
    if (unpaid) {
      await releaseReservation(tx, ctx.tenantId, actor, order.id, lines);
      await setPaymentStatus(tx, order, 'cancelled');
    } else {
      refunded = await refundMoney(tx, cancelled, actor);
      await restockOrder(tx, ctx.tenantId, actor, order.id, lines);
    }
    await emit(tx, cancelled, ['order.cancelled'], { reason });
    if (!unpaid) {
      await emit(tx, cancelled, ['order.refunded'], { refunded_minor: refunded });
      if (railEscrows[order.rail]) await emit(tx, cancelled, ['escrow.refunded'], { amount_minor: refunded });
    }
    await audit(tx, actor, 'order.cancelled', order, cancelled, { reason, refunded_minor: refunded });
    return cancelled;
  });
}

/**
 * Refunds a paid order without restocking (the goods may be with the buyer). A disputed
 * escrow order is resolved in the buyer's favour; the order ends cancelled.
 */
export function refundOrder(ctx: ServiceContext, actor: Actor, orderId: string, reason: string | null) {
  return withLockedOrder(ctx, orderId, async (tx, order) => {
    const action = order.status === 'disputed' ? 'resolve_refund' : 'refund';
    const refundedOrder = await applyTransition(tx, order, action, actor, reason);
    const refunded = await refundMoney(tx, refundedOrder, actor);
    await emit(tx, refundedOrder, ['order.refunded'], { refunded_minor: refunded, reason });
    if (railEscrows[order.rail])
      await emit(tx, refundedOrder, ['escrow.refunded'], { amount_minor: refunded });
    await audit(tx, actor, 'order.refunded', order, refundedOrder, { reason, refunded_minor: refunded });
    return refundedOrder;
  });
}

export function openDispute(ctx: ServiceContext, actor: Actor, orderId: string, reason: string) {
  return withLockedOrder(ctx, orderId, async (tx, order) => {
    const disputed = await applyTransition(tx, order, 'open_dispute', actor, reason);
    await emit(tx, disputed, ['order.disputed'], { reason });
    await audit(tx, actor, 'order.disputed', order, disputed, { reason });
    return disputed;
  });
}

/**
 * Releases what escrow holds to the seller: a delivered escrow order completes, a disputed
 * one is resolved in the seller's favour.
 */
export function releaseEscrow(ctx: ServiceContext, actor: Actor, orderId: string, note: string | null) {
  return withLockedOrder(ctx, orderId, async (tx, order) => {
    if (!railEscrows[order.rail]) {
      throw problem.conflict(
        'not-escrow',
        `This order is paid by ${order.rail}; there is no escrow to release.`,
        {
          current_status: order.status,
          rail: order.rail,
        },
      );
    }
    const completed = await applyTransition(
      tx,
      order,
      order.status === 'disputed' ? 'resolve_release' : 'complete',
      actor,
      note,
    );
    const { held_minor } = await escrowBalances(tx, order);
    if (held_minor > 0) await postLedger(tx, completed, 'release', held_minor, actor);
    await emit(tx, completed, ['escrow.released'], { amount_minor: held_minor });
    await emit(tx, completed, ['order.completed']);
    await audit(tx, actor, 'escrow.released', order, completed, { released_minor: held_minor, note });
    return completed;
  });
}

/** Completes a delivered order that holds no escrow (escrow orders complete by releasing it). */
export function completeOrder(ctx: ServiceContext, actor: Actor, orderId: string, note: string | null) {
  return withLockedOrder(ctx, orderId, async (tx, order) => {
    if (railEscrows[order.rail]) {
      throw problem.conflict(
        'escrow-release-required',
        'An escrow order completes when its escrow is released (release-escrow, permission escrow.settle).',
        { current_status: order.status, rail: order.rail },
      );
    }
    const completed = await applyTransition(tx, order, 'complete', actor, note);
    await emit(tx, completed, ['order.completed']);
    await audit(tx, actor, 'order.completed', order, completed, { note });
    return completed;
  });
}
