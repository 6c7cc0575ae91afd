import { problem } from '@amanat/kit/http/problem';
import { and, asc, eq } from 'drizzle-orm';
import type { Actor } from '../audit/record.ts';
import type { Queryable } from '../db/client.ts';
import type { StockLine } from '../inventory/service.ts';
import { orderLines, orders, orderTransitions } from './schema.ts';
import { type OrderAction, requireTransition } from './state-machine.ts';

export type OrderRow = typeof orders.$inferSelect;
export type OrderLineRow = typeof orderLines.$inferSelect;

/** Locks the order row (FOR UPDATE) for the rest of the transaction; 404 when it is not this tenant's. */
export async function lockOrder(tx: Queryable, tenantId: string, orderId: string): Promise<OrderRow> {
  const [row] = await tx
    .select()
    .from(orders)
    .where(and(eq(orders.tenantId, tenantId), eq(orders.id, orderId)))
    .for('update');
  if (!row) throw problem.notFound(`No order ${orderId} in this shop.`);
  return row;
}

export async function findOrder(db: Queryable, tenantId: string, orderId: string): Promise<OrderRow | null> {
  const [row] = await db
    .select()
    .from(orders)
    .where(and(eq(orders.tenantId, tenantId), eq(orders.id, orderId)));
  return row ?? null;
}

export async function linesOf(db: Queryable, tenantId: string, orderId: string): Promise<OrderLineRow[]> {
  return db
    .select()
    .from(orderLines)
    .where(and(eq(orderLines.tenantId, tenantId), eq(orderLines.orderId, orderId)))
    .orderBy(asc(orderLines.position));
}

export const stockLinesOf = (lines: readonly OrderLineRow[]): StockLine[] =>
  lines.map((line) => ({ variantId: line.variantId, quantity: line.quantity }));

/**
 * Moves a locked order through the state machine: a 409 when the action is illegal from its
 * status (or for its rail), otherwise updates the status and records the transition with its
 * actor and time. Call with the row lockOrder returned, in the same transaction.
 */
export async function applyTransition(
  tx: Queryable,
  order: OrderRow,
  action: OrderAction,
  actor: Actor,
  note: string | null = null,
): Promise<OrderRow> {
  const to = requireTransition(order.status, action, order.rail);
  const now = new Date();
  const [updated] = await tx
    .update(orders)
    .set({ status: to, updatedAt: now })
    .where(and(eq(orders.tenantId, order.tenantId), eq(orders.id, order.id), eq(orders.status, order.status)))
    .returning();
  // The row is locked by this transaction, so the guarded update cannot miss; if it does, it is a bug.
  if (!updated) throw new Error(`order ${order.id} changed under its lock`);
  await transitionInsert(tx, order, action, to, actor, note, now);
  return updated;
}

/** The order_transitions insert applyTransition runs, unexecuted: for composing into one statement. */
export function transitionInsert(
  db: Queryable,
  from: Pick<OrderRow, 'tenantId' | 'id' | 'status'>,
  action: OrderAction,
  to: OrderRow['status'],
  actor: Actor,
  note: string | null,
  at: Date,
) {
  return db.insert(orderTransitions).values({
    tenantId: from.tenantId,
    orderId: from.id,
    action,
    fromStatus: from.status,
    toStatus: to,
    actorType: actor.type,
    actorId: actor.id,
    actorRole: actor.role,
    note,
    requestId: actor.requestId,
    at,
  });
}

/** The order as events carry it: no personal data. */
export function orderEventPayload(order: OrderRow, extra: Record<string, unknown> = {}) {
  return {
    order_id: order.id,
    status: order.status,
    rail: order.rail,
    total_minor: order.totalMinor,
    currency: order.currency,
    buyer_id: order.buyerId,
    ...extra,
  };
}

/** The order as audit rows record it (before/after). */
export function orderAuditView(order: OrderRow) {
  return {
    status: order.status,
    rail: order.rail,
    total_minor: order.totalMinor,
    currency: order.currency,
    carrier: order.carrier,
    tracking_number: order.trackingNumber,
  };
}
