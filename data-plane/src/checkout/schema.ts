import { integer, jsonb, pgTable, primaryKey, text, uuid } from 'drizzle-orm/pg-core';
import { createdAt, tenantId } from '../db/columns.ts';

/**
 * Idempotency keys: a client's `Idempotency-Key` per tenant and scope, with a fingerprint of
 * the request it first came with and the response it got. The row is inserted (ON CONFLICT
 * DO NOTHING) in the same transaction that does the work, so concurrent requests with one
 * key wait for the first and then read its response; a failed attempt leaves no row.
 */
export const idempotencyKeys = pgTable(
  'idempotency_keys',
  {
    tenantId: tenantId(),
    scope: text('scope').notNull(),
    key: text('key').notNull(),
    /** SHA-256 of the canonical request (body and who sent it). */
    fingerprint: text('fingerprint').notNull(),
    orderId: uuid('order_id'),
    responseStatus: integer('response_status'),
    responseBody: jsonb('response_body'),
    /** A guest's order access token, sealed with the keyring, to repeat it on a retry. */
    sealedSecret: text('sealed_secret'),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ name: 'idempotency_keys_pk', columns: [t.tenantId, t.scope, t.key] })],
);
