import { sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  check,
  foreignKey,
  index,
  pgTable,
  text,
  unique,
  uuid,
} from 'drizzle-orm/pg-core';
import { actorTypes } from '../audit/schema.ts';
import { createdAt, tenantId } from '../db/columns.ts';
import { orders } from '../orders/schema.ts';

/**
 * Per-order escrow accounts. Amounts are signed: money flows from an account (negative) to
 * another (positive). buyer_funding goes negative as the buyer pays in, escrow_hold holds,
 * seller_payable and buyer_refund receive.
 */
export const ledgerAccounts = ['buyer_funding', 'escrow_hold', 'seller_payable', 'buyer_refund'] as const;
export type LedgerAccount = (typeof ledgerAccounts)[number];
export const ledgerKinds = ['fund', 'release', 'refund'] as const;
export type LedgerKind = (typeof ledgerKinds)[number];

/** A group of entries that sum to zero. Append-only. */
export const ledgerTransactions = pgTable(
  'ledger_transactions',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tenantId: tenantId(),
    orderId: uuid('order_id').notNull(),
    kind: text('kind', { enum: ledgerKinds }).notNull(),
    amountMinor: bigint('amount_minor', { mode: 'number' }).notNull(),
    currency: text('currency').notNull(),
    actorType: text('actor_type', { enum: actorTypes }).notNull(),
    actorId: text('actor_id'),
    createdAt: createdAt(),
  },
  (t) => [
    unique('ledger_transactions_tenant_id_unique').on(t.tenantId, t.id),
    index('ledger_transactions_order_idx').on(t.tenantId, t.orderId),
    foreignKey({
      name: 'ledger_transactions_order_fk',
      columns: [t.tenantId, t.orderId],
      foreignColumns: [orders.tenantId, orders.id],
    }),
    check('ledger_transactions_amount_positive', sql`${t.amountMinor} > 0`),
  ],
);

/**
 * Double-entry lines. Append-only; a deferred constraint trigger refuses, at commit, a
 * transaction whose entries do not sum to zero or an escrow hold that would go negative.
 */
export const ledgerEntries = pgTable(
  'ledger_entries',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    tenantId: tenantId(),
    transactionId: uuid('transaction_id').notNull(),
    orderId: uuid('order_id').notNull(),
    account: text('account', { enum: ledgerAccounts }).notNull(),
    amountMinor: bigint('amount_minor', { mode: 'number' }).notNull(),
    currency: text('currency').notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    index('ledger_entries_order_idx').on(t.tenantId, t.orderId, t.account),
    index('ledger_entries_transaction_idx').on(t.tenantId, t.transactionId),
    foreignKey({
      name: 'ledger_entries_transaction_fk',
      columns: [t.tenantId, t.transactionId],
      foreignColumns: [ledgerTransactions.tenantId, ledgerTransactions.id],
    }),
    check('ledger_entries_amount_non_zero', sql`${t.amountMinor} <> 0`),
  ],
);
