import type { Queryable } from '../db/client.ts';
import { outboxEvents } from './schema.ts';

export const eventTypes = [
  'order.created',
  'order.paid',
  'order.cancelled',
  'order.expired',
  'order.fulfillment_started',
  'order.delivered',
  'order.completed',
  'order.disputed',
  'order.refunded',
  'escrow.funded',
  'escrow.released',
  'escrow.refunded',
  'stock.low',
  'customer.registered',
] as const;
export type EventType = (typeof eventTypes)[number];

/** Records a domain event in the outbox; call it inside the transaction that makes the change. */
export async function emitEvent(
  db: Queryable,
  tenant: string,
  event: { type: EventType; aggregateType: string; aggregateId: string; payload: Record<string, unknown> },
): Promise<void> {
  await db.insert(outboxEvents).values({
    tenantId: tenant,
    type: event.type,
    aggregateType: event.aggregateType,
    aggregateId: event.aggregateId,
    payload: event.payload,
  });
}
