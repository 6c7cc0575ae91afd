import { and, asc, eq, lt, lte } from 'drizzle-orm';
import { recordAudit, systemActor } from '../audit/record.ts';
import { idempotencyKeys } from '../checkout/schema.ts';
import type { ServiceContext } from '../context.ts';
import { emitEvent } from '../events/emit.ts';
import { releaseReservation } from '../inventory/service.ts';
import { setPaymentStatus } from '../payments/service.ts';
import { orders } from './schema.ts';
import { applyTransition, linesOf, orderAuditView, orderEventPayload, stockLinesOf } from './service.ts';

/** How long an Idempotency-Key is remembered. */
export const IDEMPOTENCY_KEY_TTL_MS = 24 * 3600_000;

/**
 * Expires every order still waiting for payment after its window closed, releasing its
 * stock. Works in batches of locked rows (FOR UPDATE SKIP LOCKED), so several workers — or a
 * payment settling the same order right now — never collide. Returns how many expired.
 */
export async function expireOverdueOrders(
  ctx: ServiceContext,
  now = new Date(),
  batchSize = 100,
): Promise<number> {
  const actor = systemActor('payment-window');
  let expired = 0;
  for (;;) {
    const count = await ctx.db.transaction(async (tx) => {
      const due = await tx
        .select()
        .from(orders)
        .where(
          and(
            eq(orders.tenantId, ctx.tenantId),
            eq(orders.status, 'pending_payment'),
            lte(orders.expiresAt, now),
          ),
        )
        .orderBy(asc(orders.expiresAt))
        .limit(batchSize)
        .for('update', { skipLocked: true });
      for (const order of due) {
        const next = await applyTransition(tx, order, 'expire', actor, 'payment window closed');
        await releaseReservation(
          tx,
          ctx.tenantId,
          actor,
          order.id,
          stockLinesOf(await linesOf(tx, ctx.tenantId, order.id)),
        );
        await setPaymentStatus(tx, order, 'expired');
        await emitEvent(tx, ctx.tenantId, {
          type: 'order.expired',
          aggregateType: 'order',
          aggregateId: order.id,
          payload: orderEventPayload(next),
        });
        await recordAudit(tx, ctx.tenantId, actor, {
          action: 'order.expired',
          targetType: 'order',
          targetId: order.id,
          before: orderAuditView(order),
          after: orderAuditView(next),
        });
      }
      return due.length;
    });
    expired += count;
    if (count < batchSize) return expired;
  }
}

/** Forgets Idempotency-Keys older than a day (their orders stay). */
export async function purgeIdempotencyKeys(ctx: ServiceContext, now = new Date()): Promise<number> {
  const removed = await ctx.db
    .delete(idempotencyKeys)
    .where(
      and(
        eq(idempotencyKeys.tenantId, ctx.tenantId),
        lt(idempotencyKeys.createdAt, new Date(now.getTime() - IDEMPOTENCY_KEY_TTL_MS)),
      ),
    )
    .returning({ key: idempotencyKeys.key });
  return removed.length;
}

export interface PaymentWindowWorker {
  /** Runs one pass now (also what the interval does). */
  runOnce(): Promise<void>;
  /** Stops the interval and waits for a pass in progress to finish. */
  stop(): Promise<void>;
}

/** Runs expireOverdueOrders (and the idempotency purge) every `intervalMs`. */
export function startPaymentWindowWorker(
  ctx: ServiceContext,
  log: { info(obj: object, msg: string): void; error(obj: object, msg: string): void },
  intervalMs = 15_000,
): PaymentWindowWorker {
  let running: Promise<void> | null = null;
  let stopped = false;
  const runOnce = (): Promise<void> => {
    if (running) return running;
    running = (async () => {
      try {
        const expired = await expireOverdueOrders(ctx);
        if (expired > 0) log.info({ expired }, 'expired unpaid orders');
        await purgeIdempotencyKeys(ctx);
      } catch (error) {
        log.error({ err: error }, 'payment-window pass failed');
      } finally {
        running = null;
      }
    })();
    return running;
  };
  const timer = setInterval(() => {
    if (!stopped) void runOnce();
  }, intervalMs);
  timer.unref();
  return {
    runOnce,
    async stop() {
      stopped = true;
      clearInterval(timer);
      if (running) await running;
    },
  };
}
