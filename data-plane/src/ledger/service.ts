import { problem } from '@amanat/kit/http/problem';
import { and, eq, sql } from 'drizzle-orm';
import type { Actor } from '../audit/record.ts';
import type { Queryable } from '../db/client.ts';
import type { OrderRow } from '../orders/service.ts';
import {
  type LedgerAccount,
  type LedgerKind,
  ledgerAccounts,
  ledgerEntries,
  ledgerTransactions,
} from './schema.ts';

/** Every figure derives from the entries alone. */
export interface EscrowBalances {
  currency: string;
  funded_minor: number;
  released_minor: number;
  refunded_minor: number;
  /** funded − released − refunded: what escrow still holds for the order. */
  held_minor: number;
}

/** Each kind moves money from one account to another. */
const flows: Record<LedgerKind, { from: LedgerAccount; to: LedgerAccount }> = {
  fund: { from: 'buyer_funding', to: 'escrow_hold' },
  release: { from: 'escrow_hold', to: 'seller_payable' },
  refund: { from: 'escrow_hold', to: 'buyer_refund' },
};

export async function accountBalances(
  db: Queryable,
  tenantId: string,
  orderId: string,
): Promise<Record<LedgerAccount, number>> {
  const rows = await db
    .select({ account: ledgerEntries.account, total: sql<string>`sum(${ledgerEntries.amountMinor})` })
    .from(ledgerEntries)
    .where(and(eq(ledgerEntries.tenantId, tenantId), eq(ledgerEntries.orderId, orderId)))
    .groupBy(ledgerEntries.account);
  const balances = Object.fromEntries(ledgerAccounts.map((account) => [account, 0])) as Record<
    LedgerAccount,
    number
  >;
  for (const row of rows) balances[row.account] = Number(row.total);
  return balances;
}

export async function escrowBalances(db: Queryable, order: OrderRow): Promise<EscrowBalances> {
  const accounts = await accountBalances(db, order.tenantId, order.id);
  return {
    currency: order.currency,
    funded_minor: 0 - accounts.buyer_funding,
    released_minor: accounts.seller_payable,
    refunded_minor: accounts.buyer_refund,
    held_minor: accounts.escrow_hold,
  };
}

/**
 * Posts one balanced ledger transaction (two entries summing to zero) for an order the
 * caller has locked FOR UPDATE. Refuses to fund beyond the order total and to release or
 * refund more than escrow holds; the database's deferred trigger checks the same at commit.
 */
export async function postLedger(
  tx: Queryable,
  order: OrderRow,
  kind: LedgerKind,
  amountMinor: number,
  actor: Actor,
): Promise<EscrowBalances> {
  if (!Number.isSafeInteger(amountMinor) || amountMinor <= 0) {
    throw problem.validation('amount_minor must be a positive integer', [
      { field: 'body.amount_minor', message: 'must be a positive integer' },
    ]);
  }
  const before = await escrowBalances(tx, order);
  if (kind === 'fund' && before.funded_minor + amountMinor > order.totalMinor) {
    throw problem.conflict(
      'escrow-overfunded',
      `Escrow for this order already holds ${before.funded_minor} of ${order.totalMinor} ${order.currency}.`,
      { balances: before },
    );
  }
  if (kind !== 'fund' && amountMinor > before.held_minor) {
    throw problem.conflict(
      'escrow-insufficient',
      `Escrow holds ${before.held_minor} ${order.currency} for this order; it cannot ${kind} ${amountMinor}.`,
      { balances: before },
    );
  }
  const [transaction] = await tx
    .insert(ledgerTransactions)
    .values({
      tenantId: order.tenantId,
      orderId: order.id,
      kind,
      amountMinor,
      currency: order.currency,
      actorType: actor.type,
      actorId: actor.id,
    })
    .returning({ id: ledgerTransactions.id });
  if (!transaction) throw new Error('ledger transaction insert returned nothing');
  const { from, to } = flows[kind];
  const entries = [
    { account: from, amountMinor: -amountMinor },
    { account: to, amountMinor },
  ];
  if (entries.reduce((sum, entry) => sum + entry.amountMinor, 0) !== 0) throw new Error('unbalanced entries');
  await tx.insert(ledgerEntries).values(
    entries.map((entry) => ({
      tenantId: order.tenantId,
      transactionId: transaction.id,
      orderId: order.id,
      account: entry.account,
      amountMinor: entry.amountMinor,
      currency: order.currency,
    })),
  );
  const after = { ...before };
  if (kind === 'fund') {
    after.funded_minor += amountMinor;
    after.held_minor += amountMinor;
  } else {
    after.held_minor -= amountMinor;
    if (kind === 'release') after.released_minor += amountMinor;
    else after.refunded_minor += amountMinor;
  }
  return after;
}
