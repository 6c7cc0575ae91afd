import { randomUUID } from 'node:crypto';
import { type FieldError, ProblemError, problem } from '@amanat/kit/http/problem';
import { and, eq } from 'drizzle-orm';
import { type Actor, recordAudit } from '../audit/record.ts';
import type { ServiceContext } from '../context.ts';
import type { Queryable } from '../db/client.ts';
import { emitEvent } from '../events/emit.ts';
import { commitReservation } from '../inventory/service.ts';
import { type EscrowBalances, postLedger } from '../ledger/service.ts';
import {
  applyTransition,
  linesOf,
  lockOrder,
  type OrderRow,
  orderAuditView,
  orderEventPayload,
  stockLinesOf,
} from '../orders/service.ts';
import { railEscrows } from '../settings/rails.ts';
import type { PaymentRail } from '../settings/schema.ts';
import type { PaymentEvidenceInput } from './adapters.ts';
import { type PaymentStatus, paymentEvidence, payments } from './schema.ts';

export const unprocessable = (code: string, detail: string, errors: FieldError[] = []) =>
  new ProblemError(422, code, 'Unprocessable content', detail, errors.length > 0 ? { errors } : {});

export interface Settlement {
  order: OrderRow;
  escrow: EscrowBalances | null;
}

/**
 * Settles an order's payment from verified evidence, all in one transaction: the order is
 * locked, the evidence must fit it (rail, amount, currency) and be new (an evidence id counts
 * once per source), then the order becomes paid_direct or escrow_funded, its reservation is
 * committed, escrow is funded on the ledger, and the event and audit row are written. Any
 * refusal rolls everything back.
 */
export async function settlePayment(
  ctx: ServiceContext,
  adapterRails: readonly PaymentRail[],
  evidence: PaymentEvidenceInput,
  actor: Actor,
): Promise<Settlement> {
  return ctx.db.transaction(async (tx) => {
    const order = await lockOrder(tx, ctx.tenantId, evidence.orderId);
    if (!adapterRails.includes(order.rail)) {
      throw problem.conflict(
        'wrong-rail',
        `This order is paid by ${order.rail}; evidence from ${evidence.source} cannot settle it.`,
        { rail: order.rail },
      );
    }
    const mismatches: FieldError[] = [];
    if (evidence.rail && evidence.rail !== order.rail) {
      mismatches.push({ field: 'body.rail', message: `does not match the order's rail ${order.rail}` });
    }
    if (evidence.amountMinor !== order.totalMinor) {
      mismatches.push({
        field: 'body.amount_minor',
        message: `does not match the order total ${order.totalMinor}`,
      });
    }
    if (evidence.currency !== order.currency) {
      mismatches.push({
        field: 'body.currency',
        message: `does not match the order currency ${order.currency}`,
      });
    }
    if (mismatches.length > 0) {
      throw unprocessable(
        'evidence-mismatch',
        mismatches.map((m) => `${m.field} ${m.message}`).join('; '),
        mismatches,
      );
    }
    const [recorded] = await tx
      .insert(paymentEvidence)
      .values({
        tenantId: ctx.tenantId,
        source: evidence.source,
        evidenceId: evidence.evidenceId,
        orderId: order.id,
        amountMinor: evidence.amountMinor,
        currency: evidence.currency,
        note: evidence.note,
        actorId: evidence.actorId,
        payload: evidence.payload,
        occurredAt: evidence.occurredAt,
      })
      .onConflictDoNothing()
      .returning({ id: paymentEvidence.id });
    if (!recorded) {
      throw problem.conflict('evidence-replayed', `Evidence ${evidence.evidenceId} was already received.`, {
        current_status: order.status,
      });
    }
    const escrowed = railEscrows[order.rail];
    const paid = await applyTransition(tx, order, escrowed ? 'fund_escrow' : 'pay_direct', actor);
    await commitReservation(
      tx,
      ctx.tenantId,
      actor,
      order.id,
      stockLinesOf(await linesOf(tx, ctx.tenantId, order.id)),
    );
    const escrow = escrowed ? await postLedger(tx, paid, 'fund', paid.totalMinor, actor) : null;
    await setPaymentStatus(tx, paid, 'paid');
    await emitEvent(tx, ctx.tenantId, {
      type: 'order.paid',
      aggregateType: 'order',
      aggregateId: order.id,
      payload: orderEventPayload(paid, { source: evidence.source }),
    });
    if (escrow) {
      await emitEvent(tx, ctx.tenantId, {
        type: 'escrow.funded',
        aggregateType: 'order',
        aggregateId: order.id,
        payload: orderEventPayload(paid, { amount_minor: paid.totalMinor }),
      });
    }
    await recordAudit(tx, ctx.tenantId, actor, {
      action: escrowed ? 'order.escrow_funded' : 'order.paid',
      targetType: 'order',
      targetId: order.id,
      before: orderAuditView(order),
      after: { ...orderAuditView(paid), evidence_source: evidence.source, evidence_id: evidence.evidenceId },
    });
    return { order: paid, escrow };
  });
}

/** Staff confirm a manual_invoice payment with an evidence note (and, optionally, its reference). */
export async function confirmManualPayment(
  ctx: ServiceContext,
  actor: Actor,
  orderId: string,
  input: { note: string; reference?: string | undefined; amount_minor: number; currency: string },
): Promise<Settlement> {
  return settlePayment(
    ctx,
    ['manual_invoice'],
    {
      source: 'staff',
      evidenceId: input.reference ? `reference:${input.reference}` : `manual:${randomUUID()}`,
      orderId,
      amountMinor: input.amount_minor,
      currency: input.currency,
      rail: 'manual_invoice',
      occurredAt: null,
      note: input.note,
      actorId: actor.id,
      payload: null,
    },
    actor,
  );
}

export async function setPaymentStatus(tx: Queryable, order: OrderRow, status: PaymentStatus): Promise<void> {
  const now = new Date();
  await tx
    .update(payments)
    .set({
      status,
      updatedAt: now,
      ...(status === 'paid' ? { paidAt: now } : {}),
      ...(status === 'refunded' ? { refundedAt: now } : {}),
    })
    .where(and(eq(payments.tenantId, order.tenantId), eq(payments.orderId, order.id)));
}

export async function paymentOf(db: Queryable, tenantId: string, orderId: string) {
  const [row] = await db
    .select()
    .from(payments)
    .where(and(eq(payments.tenantId, tenantId), eq(payments.orderId, orderId)));
  return row ?? null;
}

export async function evidenceOf(db: Queryable, tenantId: string, orderId: string) {
  return db
    .select()
    .from(paymentEvidence)
    .where(and(eq(paymentEvidence.tenantId, tenantId), eq(paymentEvidence.orderId, orderId)));
}
