import { and, eq, sql } from 'drizzle-orm';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog } from '../audit/schema.ts';
import { outboxEvents } from '../events/schema.ts';
import { ledgerEntries } from '../ledger/schema.ts';
import { startTestDataPlane, type TestDataPlane } from '../testing/harness.ts';
import { expireOverdueOrders } from './expiry.ts';
import { adminPost, createBuyer, createVariant, payOrder, placeOrder, stockRow } from './fixtures.ts';
import { orders, orderTransitions } from './schema.ts';
import { nextOrderStatus, terminalStatuses } from './state-machine.ts';

let dp: TestDataPlane;
beforeAll(async () => {
  dp = await startTestDataPlane();
});
afterAll(() => dp.close());

const readOrder = (id: string, headers: Record<string, string> = {}, query = '') =>
  dp.app.inject({ method: 'GET', url: `/api/storefront/orders/${id}${query}`, headers });

describe('reading orders on the storefront', () => {
  it('buyer A reads their own order; buyer B, a guest and a stranger get 404', async () => {
    const variant = await createVariant(dp);
    const [a, b] = [await createBuyer(dp), await createBuyer(dp)];
    const order = await placeOrder(dp, { lines: [{ variant_id: variant, quantity: 1 }], cookie: a.cookie });
    const own = await readOrder(order.id, { cookie: a.cookie });
    expect(own.statusCode).toBe(200);
    expect(own.json()).toMatchObject({ id: order.id, status: 'pending_payment', email: a.email });
    expect((await readOrder(order.id, { cookie: b.cookie })).statusCode).toBe(404);
    expect((await readOrder(order.id)).statusCode).toBe(404);
  });

  it('a guest reads with the order token (header or query); a wrong token → 404', async () => {
    const variant = await createVariant(dp);
    const order = await placeOrder(dp, { lines: [{ variant_id: variant, quantity: 1 }] });
    const other = await placeOrder(dp, { lines: [{ variant_id: variant, quantity: 1 }] });
    expect((await readOrder(order.id, { 'x-order-token': order.access_token })).statusCode).toBe(200);
    expect((await readOrder(order.id, {}, `?token=${order.access_token}`)).statusCode).toBe(200);
    expect((await readOrder(order.id, { 'x-order-token': other.access_token })).statusCode).toBe(404);
    expect((await readOrder(order.id)).statusCode).toBe(404);
    const buyer = await createBuyer(dp);
    expect((await readOrder(order.id, { cookie: buyer.cookie })).statusCode).toBe(404);
  });
});

describe('shop admin orders', () => {
  it('lists with filters (status, rail, email, dates), sort and paging; orders.read needed', async () => {
    const variant = await createVariant(dp, { priceMinor: 700 });
    const tag = `filter-${Date.now()}`;
    const placed = [];
    for (const [rail, quantity] of [
      ['amn_escrow', 1],
      ['amn_direct', 3],
      ['manual_invoice', 2],
    ] as const) {
      placed.push(
        await placeOrder(dp, {
          lines: [{ variant_id: variant, quantity }],
          rail,
          email: `${tag}-${rail}@example.com`,
        }),
      );
    }
    await payOrder(dp, placed[1]);
    const list = async (query: string, role: 'owner' | 'support' | 'developer' = 'owner') =>
      dp.app.inject({
        method: 'GET',
        url: `/api/admin/orders?${query}`,
        headers: await dp.staffHeaders(role),
      });

    const all = (await list(`q=${tag}`)).json();
    expect(all.total).toBe(3);
    expect(all.items.map((o: { id: string }) => o.id)).toEqual(placed.map((o) => o.id).reverse());
    expect((await list(`q=${tag}&status=paid_direct`)).json().items.map((o: { id: string }) => o.id)).toEqual(
      [placed[1].id],
    );
    expect((await list(`q=${tag}&rail=amn_escrow&rail=manual_invoice`)).json().total).toBe(2);
    expect(
      (await list(`q=${tag}&sort=total_minor&order=asc`))
        .json()
        .items.map((o: { total_minor: number }) => o.total_minor),
    ).toEqual([700, 1400, 2100]);
    const paged = (await list(`q=${tag}&limit=2&page=2`)).json();
    expect(paged).toMatchObject({ page: 2, limit: 2, total: 3 });
    expect(paged.items).toHaveLength(1);
    expect(
      (await list(`q=${tag}&from=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`)).json()
        .total,
    ).toBe(0);
    expect((await list(`q=${tag}`, 'support')).statusCode).toBe(200);
    expect((await list(`q=${tag}`, 'developer')).statusCode).toBe(403);
    expect((await dp.app.inject({ method: 'GET', url: '/api/admin/orders' })).statusCode).toBe(401);
  });

  it('escrow lifecycle: fund → fulfil → deliver → release; detail shows transitions, tracking and ledger', async () => {
    const variant = await createVariant(dp, { priceMinor: 5000, stock: 5 });
    const order = await placeOrder(dp, { lines: [{ variant_id: variant, quantity: 1 }], rail: 'amn_escrow' });
    await payOrder(dp, order);
    const auditBefore = await dp.rowCount(auditLog);
    expect(
      (
        await adminPost(
          dp,
          order.id,
          'start-fulfillment',
          { carrier: 'DHL', tracking_number: 'JD0001' },
          'support',
        )
      ).statusCode,
    ).toBe(200);
    expect((await adminPost(dp, order.id, 'confirm-delivery', {}, 'support')).statusCode).toBe(200);
    // Completing an escrow order means releasing money: not for support, and not via /complete.
    expect((await adminPost(dp, order.id, 'release-escrow', {}, 'support')).statusCode).toBe(403);
    expect((await adminPost(dp, order.id, 'complete', {}, 'owner')).statusCode).toBe(409);
    const released = await adminPost(dp, order.id, 'release-escrow', { note: 'buyer happy' }, 'finance');
    expect(released.statusCode).toBe(200);
    expect(await dp.rowCount(auditLog)).toBe(auditBefore + 3);
    const detail = released.json();
    expect(detail.status).toBe('completed');
    expect(detail.escrow).toEqual({
      currency: 'USD',
      funded_minor: 5000,
      released_minor: 5000,
      refunded_minor: 0,
      held_minor: 0,
    });
    expect(detail.transitions.map((t: { action: string }) => t.action)).toEqual([
      'submit',
      'fund_escrow',
      'start_fulfillment',
      'mark_delivered',
      'complete',
    ]);
    expect(detail.tracking).toMatchObject({ carrier: 'DHL', tracking_number: 'JD0001' });
    expect(detail.tracking.events.map((e: { status: string }) => e.status)).toEqual([
      'label_created',
      'delivered',
    ]);
    expect((await adminPost(dp, order.id, 'cancel', { reason: 'late' })).json()).toMatchObject({
      status: 409,
      current_status: 'completed',
    });
    const events = await dp.db.select().from(outboxEvents).where(eq(outboxEvents.aggregateId, order.id));
    expect(events.map((e) => e.type)).toEqual([
      'order.created',
      'order.paid',
      'escrow.funded',
      'order.fulfillment_started',
      'order.delivered',
      'escrow.released',
      'order.completed',
    ]);
  });

  it('dispute then refund: escrow goes back to the buyer and the order ends cancelled', async () => {
    const variant = await createVariant(dp, { priceMinor: 3000 });
    const order = await placeOrder(dp, { lines: [{ variant_id: variant, quantity: 1 }], rail: 'amn_escrow' });
    await payOrder(dp, order);
    expect(
      (await adminPost(dp, order.id, 'dispute', { reason: 'item not as described' }, 'support')).json()
        .status,
    ).toBe('disputed');
    const refunded = await adminPost(dp, order.id, 'refund', { reason: 'seller agreed' }, 'finance');
    expect(refunded.json()).toMatchObject({
      status: 'cancelled',
      escrow: { funded_minor: 3000, refunded_minor: 3000, held_minor: 0 },
      payment: { status: 'refunded' },
    });
  });

  it('a direct order cannot be disputed', async () => {
    const variant = await createVariant(dp);
    const order = await placeOrder(dp, { lines: [{ variant_id: variant, quantity: 1 }], rail: 'amn_direct' });
    await payOrder(dp, order);
    const response = await adminPost(dp, order.id, 'dispute', { reason: 'x' });
    expect(response.statusCode).toBe(409);
    expect(response.json()).toMatchObject({
      type: '/problems/illegal-transition',
      current_status: 'paid_direct',
    });
  });

  it('cancel: an unpaid order releases its reservation; a paid escrow order is refunded and restocked', async () => {
    const variant = await createVariant(dp, { priceMinor: 1000, stock: 10 });
    const unpaid = await placeOrder(dp, { lines: [{ variant_id: variant, quantity: 3 }] });
    expect(await stockRow(dp, variant)).toMatchObject({ onHand: 10, reserved: 3 });
    expect(
      (await adminPost(dp, unpaid.id, 'cancel', { reason: 'buyer asked' }, 'manager')).json().status,
    ).toBe('cancelled');
    expect(await stockRow(dp, variant)).toMatchObject({ onHand: 10, reserved: 0 });

    const paid = await placeOrder(dp, { lines: [{ variant_id: variant, quantity: 4 }], rail: 'amn_escrow' });
    await payOrder(dp, paid);
    expect(await stockRow(dp, variant)).toMatchObject({ onHand: 6, reserved: 0 });
    expect((await adminPost(dp, paid.id, 'cancel', { reason: 'x' }, 'support')).statusCode).toBe(403);
    const cancelled = (await adminPost(dp, paid.id, 'cancel', { reason: 'out of business' })).json();
    expect(cancelled).toMatchObject({ status: 'cancelled', escrow: { refunded_minor: 4000, held_minor: 0 } });
    expect(await stockRow(dp, variant)).toMatchObject({ onHand: 10, reserved: 0 });
  });

  it('an unknown order → 404 on every action; a foreign tenant cannot be reached', async () => {
    const id = '00000000-0000-4000-8000-000000000000';
    expect((await adminPost(dp, id, 'cancel', { reason: 'x' })).statusCode).toBe(404);
    expect(
      (
        await dp.app.inject({
          method: 'GET',
          url: `/api/admin/orders/${id}`,
          headers: await dp.staffHeaders(),
        })
      ).statusCode,
    ).toBe(404);
  });
});

describe('payment window', () => {
  it('expireOverdueOrders expires unpaid orders past their window and releases their stock', async () => {
    const variant = await createVariant(dp, { stock: 10 });
    const overdue = await placeOrder(dp, { lines: [{ variant_id: variant, quantity: 2 }] });
    const paid = await placeOrder(dp, { lines: [{ variant_id: variant, quantity: 1 }], rail: 'amn_direct' });
    await payOrder(dp, paid);
    const fresh = await placeOrder(dp, { lines: [{ variant_id: variant, quantity: 1 }] });
    await dp.db
      .update(orders)
      .set({ expiresAt: new Date(Date.now() - 1000) })
      .where(and(eq(orders.tenantId, dp.tenantId), sql`${orders.id} IN (${overdue.id}, ${paid.id})`));
    expect(await stockRow(dp, variant)).toMatchObject({ onHand: 9, reserved: 3 });
    const expired = await expireOverdueOrders(dp.ctx, new Date(), 1);
    expect(expired).toBe(1);
    expect(await stockRow(dp, variant)).toMatchObject({ onHand: 9, reserved: 1 });
    const statuses = await dp.db
      .select({ id: orders.id, status: orders.status })
      .from(orders)
      .where(sql`${orders.id} IN (${overdue.id}, ${paid.id}, ${fresh.id})`);
    expect(Object.fromEntries(statuses.map((s) => [s.id, s.status]))).toEqual({
      [overdue.id]: 'expired',
      [paid.id]: 'paid_direct',
      [fresh.id]: 'pending_payment',
    });
    expect(await expireOverdueOrders(dp.ctx)).toBe(0);
    // Evidence arriving after expiry is refused: the order is no longer waiting for payment.
    const late = await payOrder(dp, overdue).catch((error: Error) => error.message);
    expect(late).toMatch(/409/);
  });
});

describe('random admin action sequences against the database (fast-check)', () => {
  const actions = [
    'pay',
    'start-fulfillment',
    'confirm-delivery',
    'complete',
    'release-escrow',
    'dispute',
    'refund',
    'cancel',
    'expire',
  ] as const;

  it('never reach a status the machine forbids; ledger and stock stay consistent', async () => {
    const variant = await createVariant(dp, { priceMinor: 999, stock: 100_000 });
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('amn_escrow', 'amn_direct', 'manual_invoice'),
        fc.array(fc.constantFrom(...actions), { minLength: 1, maxLength: 7 }),
        async (rail, steps) => {
          const order = await placeOrder(dp, { lines: [{ variant_id: variant, quantity: 2 }], rail });
          let status = 'pending_payment';
          for (const step of steps) {
            let code: number;
            if (step === 'pay') {
              code =
                rail === 'manual_invoice'
                  ? (
                      await adminPost(dp, order.id, 'confirm-payment', {
                        note: 'paid',
                        amount_minor: 1998,
                        currency: 'USD',
                      })
                    ).statusCode
                  : await payOrder(dp, order).then(
                      () => 200,
                      () => 409,
                    );
            } else if (step === 'expire') {
              await dp.db
                .update(orders)
                .set({ expiresAt: new Date(0) })
                .where(eq(orders.id, order.id));
              await expireOverdueOrders(dp.ctx);
              code = 200;
            } else {
              code = (
                await adminPost(
                  dp,
                  order.id,
                  step,
                  ['dispute', 'cancel', 'refund'].includes(step) ? { reason: 'r' } : {},
                )
              ).statusCode;
            }
            expect([200, 409]).toContain(code);
            const [row] = await dp.db.select().from(orders).where(eq(orders.id, order.id));
            if (code === 409) expect(row?.status).toBe(status);
            status = row?.status as string;
          }
          // The recorded history is a chain of legal transitions from draft.
          const history = await dp.db
            .select()
            .from(orderTransitions)
            .where(eq(orderTransitions.orderId, order.id))
            .orderBy(orderTransitions.id);
          let previous = 'draft';
          for (const t of history) {
            expect(t.fromStatus).toBe(previous);
            expect(nextOrderStatus(t.fromStatus, t.action as never, rail)).toBe(t.toStatus);
            expect(terminalStatuses).not.toContain(t.fromStatus);
            previous = t.toStatus;
          }
          expect(previous).toBe(status);
          const entries = await dp.db.select().from(ledgerEntries).where(eq(ledgerEntries.orderId, order.id));
          expect(entries.reduce((sum, e) => sum + e.amountMinor, 0)).toBe(0);
          const hold = entries
            .filter((e) => e.account === 'escrow_hold')
            .reduce((sum, e) => sum + e.amountMinor, 0);
          expect(hold).toBeGreaterThanOrEqual(0);
          if (rail !== 'amn_escrow') expect(entries).toHaveLength(0);
          if (terminalStatuses.includes(status as never)) expect(hold).toBe(0);
        },
      ),
      { numRuns: 40 },
    );
    const stock = await stockRow(dp, variant);
    expect(stock?.reserved).toBeGreaterThanOrEqual(0);
    expect(stock?.onHand).toBeGreaterThanOrEqual(stock?.reserved ?? 0);
  }, 180_000);
});
