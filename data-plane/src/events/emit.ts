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

export interface DomainEvent {
  type: EventType;
  aggregateType: string;
  aggregateId: string;
  payload: Record<string, unknown>;
}

/** Records a domain event in the outbox; call it inside the transaction that makes the change. */
export async function emitEvent(db: Queryable, tenant: string, event: DomainEvent): Promise<void> {
  await eventInsert(db, tenant, event);
}

/** The outbox insert emitEvent runs, unexecuted: for composing into one statement with other writes. */
export function eventInsert(db: Queryable, tenant: string, event: DomainEvent) {
  return db.insert(outboxEvents).values({
    tenantId: tenant,
    type: event.type,
    aggregateType: event.aggregateType,
    aggregateId: event.aggregateId,
    payload: event.payload,
  });
}
