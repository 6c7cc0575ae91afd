import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog } from '../audit/schema.ts';
import { stockMovements } from '../catalog/schema.ts';
import { outboxEvents } from '../events/schema.ts';
import { ledgerEntries, ledgerTransactions } from '../ledger/schema.ts';
import {
  adminPost,
  createVariant,
  evidenceRequest,
  payEvidence,
  placeOrder,
  stockRow,
} from '../orders/fixtures.ts';
import { orders, orderTransitions } from '../orders/schema.ts';
import { startTestDataPlane, type TestDataPlane } from '../testing/harness.ts';
import { signEvidence } from './adapters.ts';
import { paymentEvidence, payments } from './schema.ts';

let dp: TestDataPlane;
beforeAll(async () => {
  dp = await startTestDataPlane();
});
afterAll(() => dp.close());

const tables = [
  orders,
  orderTransitions,
  payments,
  paymentEvidence,
  ledgerTransactions,
  ledgerEntries,
  stockMovements,
  outboxEvents,
  auditLog,
];
const counts = () => Promise.all(tables.map((table) => dp.rowCount(table)));

async function order(rail: string, quantity = 2) {
  const variant = await createVariant(dp, { priceMinor: 1200, stock: 20 });
  return { variant, order: await placeOrder(dp, { lines: [{ variant_id: variant, quantity }], rail }) };
}

describe('payment evidence from the platform scanner', () => {
  it('amn_escrow: signed evidence funds escrow, commits the reservation, balances the ledger', async () => {
    const { variant, order: placed } = await order('amn_escrow');
    const auditBefore = await dp.rowCount(auditLog);
    const response = await evidenceRequest(dp, payEvidence(placed));
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      order_id: placed.id,
      status: 'escrow_funded',
      rail: 'amn_escrow',
      escrow: { currency: 'USD', funded_minor: 2400, released_minor: 0, refunded_minor: 0, held_minor: 2400 },
    });
    expect(await stockRow(dp, variant)).toMatchObject({ onHand: 18, reserved: 0 });
    expect(await dp.rowCount(auditLog)).toBe(auditBefore + 1);
    const entries = await dp.db.select().from(ledgerEntries).where(eq(ledgerEntries.orderId, placed.id));
    expect(entries.reduce((sum, e) => sum + e.amountMinor, 0)).toBe(0);
    const events = await dp.db.select().from(outboxEvents).where(eq(outboxEvents.aggregateId, placed.id));
    expect(events.map((e) => e.type)).toEqual(['order.created', 'order.paid', 'escrow.funded']);
  });

  it('amn_direct: evidence marks the order paid_direct with no ledger entries', async () => {
    const { order: placed } = await order('amn_direct');
    const ledgerBefore = await dp.rowCount(ledgerEntries);
    const response = await evidenceRequest(dp, payEvidence(placed));
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ status: 'paid_direct', escrow: null });
    expect(await dp.rowCount(ledgerEntries)).toBe(ledgerBefore);
  });

  const forgeries: [
    string,
    (placed: Record<string, unknown>) => Promise<Awaited<ReturnType<typeof evidenceRequest>>>,
    number,
    string,
  ][] = [
    [
      'signed with another secret',
      (o) => evidenceRequest(dp, payEvidence(o as never), { secret: 'x'.repeat(40) }),
      401,
      'unauthorized',
    ],
    [
      'a signature over another body',
      (o) => {
        const body = payEvidence(o as never);
        const ts = Math.floor(Date.now() / 1000);
        return evidenceRequest(dp, body, {
          timestamp: ts,
          signature: signEvidence(
            dp.config.PAYMENT_EVIDENCE_SECRET,
            ts,
            JSON.stringify({ ...body, amount_minor: 1 }),
          ),
        });
      },
      401,
      'unauthorized',
    ],
    [
      'no signature',
      (o) => evidenceRequest(dp, payEvidence(o as never), { signature: '' }),
      401,
      'unauthorized',
    ],
    [
      'a timestamp 10 minutes old',
      (o) => evidenceRequest(dp, payEvidence(o as never), { timestamp: Math.floor(Date.now() / 1000) - 600 }),
      401,
      'stale-signature',
    ],
    [
      'a timestamp 10 minutes ahead',
      (o) => evidenceRequest(dp, payEvidence(o as never), { timestamp: Math.floor(Date.now() / 1000) + 600 }),
      401,
      'stale-signature',
    ],
    [
      'a wrong amount',
      (o) => evidenceRequest(dp, { ...payEvidence(o as never), amount_minor: 1 }),
      422,
      'evidence-mismatch',
    ],
    [
      'a wrong currency',
      (o) => evidenceRequest(dp, { ...payEvidence(o as never), currency: 'EUR' }),
      422,
      'evidence-mismatch',
    ],
    [
      'a wrong rail',
      (o) => evidenceRequest(dp, { ...payEvidence(o as never), rail: 'amn_direct' }),
      422,
      'evidence-mismatch',
    ],
    [
      'an unknown order',
      (o) =>
        evidenceRequest(dp, { ...payEvidence(o as never), order_id: '00000000-0000-4000-8000-000000000000' }),
      404,
      'not-found',
    ],
    [
      'an unknown field',
      (o) => evidenceRequest(dp, { ...payEvidence(o as never), paid: true }),
      400,
      'validation',
    ],
  ];

  it.each(forgeries)('%s → %i, nothing written', async (_name, send, status, type) => {
    const { variant, order: placed } = await order('amn_escrow');
    const before = await counts();
    const response = await send(placed);
    expect(response.statusCode).toBe(status);
    expect(response.json().type).toBe(`/problems/${type}`);
    expect(await counts()).toEqual(before);
    expect(await stockRow(dp, variant)).toMatchObject({ onHand: 20, reserved: 2 });
  });

  it('a replayed evidence (same id, freshly signed) → 409, nothing written', async () => {
    const { order: placed } = await order('amn_escrow');
    const evidence = payEvidence(placed);
    expect((await evidenceRequest(dp, evidence)).statusCode).toBe(200);
    const before = await counts();
    const replay = await evidenceRequest(dp, evidence);
    expect(replay.statusCode).toBe(409);
    expect(replay.json().type).toBe('/problems/evidence-replayed');
    expect(await counts()).toEqual(before);
  });

  it('new evidence for an order already paid → 409 with the current status, nothing written', async () => {
    const { order: placed } = await order('amn_direct');
    expect((await evidenceRequest(dp, payEvidence(placed))).statusCode).toBe(200);
    const before = await counts();
    const again = await evidenceRequest(dp, payEvidence(placed));
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({
      type: '/problems/illegal-transition',
      current_status: 'paid_direct',
    });
    expect(await counts()).toEqual(before);
  });

  it('the scanner cannot settle a manual_invoice order', async () => {
    const { order: placed } = await order('manual_invoice');
    const before = await counts();
    const response = await evidenceRequest(dp, { ...payEvidence(placed), rail: 'amn_direct' });
    expect(response.statusCode).toBe(409);
    expect(response.json().type).toBe('/problems/wrong-rail');
    expect(await counts()).toEqual(before);
  });
});

describe('staff confirm manual_invoice payments', () => {
  it('finance confirms with an evidence note; the order is paid_direct and the evidence kept', async () => {
    const { variant, order: placed } = await order('manual_invoice');
    const response = await adminPost(
      dp,
      placed.id,
      'confirm-payment',
      { note: 'Bank transfer seen on statement', reference: 'TRX-1', amount_minor: 2400, currency: 'USD' },
      'finance',
    );
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body.status).toBe('paid_direct');
    expect(body.evidence).toMatchObject([
      { source: 'staff', evidence_id: 'reference:TRX-1', note: 'Bank transfer seen on statement' },
    ]);
    expect(body.transitions.at(-1)).toMatchObject({
      action: 'pay_direct',
      actor_type: 'staff',
      actor_role: 'finance',
    });
    expect(await stockRow(dp, variant)).toMatchObject({ onHand: 18, reserved: 0 });
  });

  it.each([
    ['a support role', 'support', {}, 403],
    ['a manager role', 'manager', {}, 403],
    ['a wrong amount', 'owner', { amount_minor: 1 }, 422],
    ['no note', 'owner', { note: undefined }, 400],
  ] as const)('%s → %i, nothing written', async (_name, role, change, status) => {
    const { order: placed } = await order('manual_invoice');
    const before = await counts();
    const response = await adminPost(
      dp,
      placed.id,
      'confirm-payment',
      { note: 'paid', amount_minor: 2400, currency: 'USD', ...change },
      role,
    );
    expect(response.statusCode).toBe(status);
    expect(await counts()).toEqual(before);
  });

  it('an escrow order cannot be confirmed by staff', async () => {
    const { order: placed } = await order('amn_escrow');
    const response = await adminPost(dp, placed.id, 'confirm-payment', {
      note: 'x',
      amount_minor: 2400,
      currency: 'USD',
    });
    expect(response.statusCode).toBe(409);
    expect(response.json().type).toBe('/problems/wrong-rail');
  });
});
