import { randomUUID } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemActor } from '../audit/record.ts';
import { createVariant, placeOrder } from '../orders/fixtures.ts';
import { lockOrder } from '../orders/service.ts';
import { startTestDataPlane, type TestDataPlane } from '../testing/harness.ts';
import { ledgerEntries, ledgerTransactions } from './schema.ts';
import { accountBalances, escrowBalances, postLedger } from './service.ts';

let dp: TestDataPlane;
let variant: string;
beforeAll(async () => {
  dp = await startTestDataPlane();
  variant = await createVariant(dp, { priceMinor: 1000, stock: 10_000 });
});
afterAll(() => dp.close());

const actor = systemActor('ledger-test');

/** The database's own message, under drizzle's "Failed query" wrapper. */
async function databaseError(work: Promise<unknown>): Promise<string> {
  try {
    await work;
  } catch (error) {
    const cause = (error as { cause?: { message?: string } }).cause;
    return cause?.message ?? (error as Error).message;
  }
  return 'no error';
}

async function newOrder() {
  return (await placeOrder(dp, { lines: [{ variant_id: variant, quantity: 1 }], rail: 'amn_escrow' }))
    .id as string;
}

async function post(orderId: string, kind: 'fund' | 'release' | 'refund', amount: number) {
  return dp.db.transaction(async (tx) => {
    const order = await lockOrder(tx, dp.tenantId, orderId);
    return postLedger(tx, order, kind, amount, actor);
  });
}

describe('escrow ledger', () => {
  it('random fund/release/refund sequences: every transaction sums to zero, released + refunded ≤ funded (fast-check)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.tuple(fc.constantFrom('fund', 'release', 'refund' as const), fc.integer({ min: -5, max: 1200 })),
          {
            minLength: 1,
            maxLength: 10,
          },
        ),
        async (steps) => {
          const orderId = await newOrder();
          for (const [kind, amount] of steps) {
            await post(orderId, kind as 'fund' | 'release' | 'refund', amount).catch((error) => {
              expect([400, 409]).toContain(error.status);
            });
          }
          const order = await dp.db.transaction((tx) => lockOrder(tx, dp.tenantId, orderId));
          const balances = await escrowBalances(dp.db, order);
          expect(balances.funded_minor).toBeLessThanOrEqual(order.totalMinor);
          expect(balances.released_minor + balances.refunded_minor).toBeLessThanOrEqual(
            balances.funded_minor,
          );
          expect(balances.held_minor).toBe(
            balances.funded_minor - balances.released_minor - balances.refunded_minor,
          );
          const accounts = await accountBalances(dp.db, dp.tenantId, orderId);
          expect(Object.values(accounts).reduce((a, b) => a + b, 0)).toBe(0);
          const unbalanced = await dp.db.execute(sql`
            SELECT transaction_id FROM ledger_entries WHERE tenant_id = ${dp.tenantId} AND order_id = ${orderId}
            GROUP BY transaction_id HAVING sum(amount_minor) <> 0`);
          expect(unbalanced.rows).toEqual([]);
        },
      ),
      { numRuns: 30 },
    );
  }, 120_000);

  it('is append-only: UPDATE and DELETE of entries and transactions are refused', async () => {
    const orderId = await newOrder();
    await post(orderId, 'fund', 1000);
    expect(
      await databaseError(
        dp.db.update(ledgerEntries).set({ amountMinor: 5 }).where(eq(ledgerEntries.orderId, orderId)),
      ),
    ).toMatch(/append-only/);
    expect(
      await databaseError(dp.db.delete(ledgerEntries).where(eq(ledgerEntries.orderId, orderId))),
    ).toMatch(/append-only/);
    expect(
      await databaseError(dp.db.delete(ledgerTransactions).where(eq(ledgerTransactions.orderId, orderId))),
    ).toMatch(/append-only/);
  });

  it('the database refuses an unbalanced transaction and an overdrawn escrow hold at commit', async () => {
    const orderId = await newOrder();
    await post(orderId, 'fund', 1000);
    const insertRaw = (entries: [string, number][], amount: number) =>
      dp.db.transaction(async (tx) => {
        const id = randomUUID();
        await tx.insert(ledgerTransactions).values({
          id,
          tenantId: dp.tenantId,
          orderId,
          kind: 'release',
          amountMinor: amount,
          currency: 'USD',
          actorType: 'system',
        });
        await tx.insert(ledgerEntries).values(
          entries.map(([account, amountMinor]) => ({
            tenantId: dp.tenantId,
            transactionId: id,
            orderId,
            account: account as 'escrow_hold',
            amountMinor,
            currency: 'USD',
          })),
        );
      });
    expect(
      await databaseError(
        insertRaw(
          [
            ['escrow_hold', -500],
            ['seller_payable', 400],
          ],
          400,
        ),
      ),
    ).toMatch(/does not balance/);
    expect(
      await databaseError(
        insertRaw(
          [
            ['escrow_hold', -1500],
            ['seller_payable', 1500],
          ],
          1500,
        ),
      ),
    ).toMatch(/negative/);
    expect(
      await databaseError(
        insertRaw(
          [
            ['escrow_hold', -500],
            ['seller_payable', 500],
          ],
          999,
        ),
      ),
    ).toMatch(/do not match/);
    const order = await dp.db.transaction((tx) => lockOrder(tx, dp.tenantId, orderId));
    expect(await escrowBalances(dp.db, order)).toMatchObject({ funded_minor: 1000, held_minor: 1000 });
  });

  it('the service refuses to release more than escrow holds', async () => {
    const orderId = await newOrder();
    await post(orderId, 'fund', 1000);
    await post(orderId, 'refund', 400);
    await expect(post(orderId, 'release', 601)).rejects.toMatchObject({
      status: 409,
      code: 'escrow-insufficient',
    });
    await expect(post(orderId, 'fund', 1)).rejects.toMatchObject({ status: 409, code: 'escrow-overfunded' });
    expect(await post(orderId, 'release', 600)).toMatchObject({
      held_minor: 0,
      released_minor: 600,
      refunded_minor: 400,
    });
  });
});
