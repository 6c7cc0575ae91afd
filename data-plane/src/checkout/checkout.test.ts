import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog } from '../audit/schema.ts';
import { stockMovements } from '../catalog/schema.ts';
import { outboxEvents } from '../events/schema.ts';
import {
  checkoutRequest,
  createBuyer,
  createCategory,
  createVariant,
  newKey,
  placeOrder,
  setPolicy,
  stockRow,
} from '../orders/fixtures.ts';
import { orderLines, orders, orderTransitions } from '../orders/schema.ts';
import { payments } from '../payments/schema.ts';
import { startTestDataPlane, type TestDataPlane } from '../testing/harness.ts';
import { idempotencyKeys } from './schema.ts';

let dp: TestDataPlane;
beforeAll(async () => {
  dp = await startTestDataPlane();
});
afterAll(() => dp.close());

const tables = [
  orders,
  orderLines,
  orderTransitions,
  payments,
  idempotencyKeys,
  stockMovements,
  outboxEvents,
  auditLog,
];
async function counts() {
  return Promise.all(tables.map((table) => dp.rowCount(table)));
}

describe('checkout', () => {
  it('a guest places an order: server prices, disclosure, instructions, reservation, one audit row, token once', async () => {
    const variant = await createVariant(dp, { priceMinor: 2500, stock: 10 });
    const other = await createVariant(dp, { priceMinor: 100, stock: 10 });
    const auditBefore = await dp.rowCount(auditLog);
    const response = await checkoutRequest(dp, {
      lines: [
        { variant_id: variant, quantity: 2 },
        { variant_id: other, quantity: 3 },
      ],
      rail: 'amn_escrow',
    });
    expect(response.statusCode).toBe(201);
    const body = response.json();
    expect(body).toMatchObject({
      status: 'pending_payment',
      rail: 'amn_escrow',
      currency: 'USD',
      subtotal_minor: 5300,
      total_minor: 5300,
      item_count: 5,
      email: 'guest@example.com',
    });
    expect(body.disclosure).toMatch(/escrow/i);
    expect(body.lines.map((l: { line_total_minor: number }) => l.line_total_minor)).toEqual([5000, 300]);
    expect(body.payment_instructions).toMatchObject({
      method: 'amn_escrow',
      amount_minor: 5300,
      reference: body.id,
    });
    expect(body.access_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(new Date(body.expires_at).getTime() - Date.now()).toBeGreaterThan(1700_000);
    expect((await stockRow(dp, variant))?.reserved).toBe(2);
    expect(await dp.rowCount(auditLog)).toBe(auditBefore + 1);
    const [stored] = await dp.db.select().from(orders).where(eq(orders.id, body.id));
    expect(stored?.accessTokenHash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(stored)).not.toContain(body.access_token);
    const transitions = await dp.db
      .select()
      .from(orderTransitions)
      .where(eq(orderTransitions.orderId, body.id));
    expect(transitions.map((t) => [t.fromStatus, t.toStatus, t.actorType])).toEqual([
      ['draft', 'pending_payment', 'guest'],
    ]);
    const events = await dp.db.select().from(outboxEvents).where(eq(outboxEvents.aggregateId, body.id));
    expect(events.map((e) => e.type)).toEqual(['order.created']);
  });

  it('a signed-in buyer checks out with their account; no token is issued', async () => {
    const buyer = await createBuyer(dp);
    const variant = await createVariant(dp);
    const body = await placeOrder(dp, {
      lines: [{ variant_id: variant, quantity: 1 }],
      cookie: buyer.cookie,
    });
    expect(body.email).toBe(buyer.email);
    expect(body.access_token).toBeUndefined();
    expect(body.rail).toBe('amn_escrow'); // the shop's default rail
  });

  it('a guest without an email is refused, naming the field', async () => {
    const variant = await createVariant(dp);
    const response = await dp.app.inject({
      method: 'POST',
      url: '/api/storefront/checkout',
      headers: { 'idempotency-key': newKey() },
      payload: { lines: [{ variant_id: variant, quantity: 1 }] },
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().errors[0].field).toBe('body.email');
  });
});

describe('idempotency', () => {
  it('the same key 10× in parallel makes exactly one order and one response', async () => {
    const variant = await createVariant(dp, { stock: 100 });
    const key = newKey();
    const before = await dp.rowCount(orders);
    const responses = await Promise.all(
      Array.from({ length: 10 }, () =>
        checkoutRequest(dp, { lines: [{ variant_id: variant, quantity: 1 }], key }),
      ),
    );
    expect(responses.map((r) => r.statusCode)).toEqual(Array(10).fill(201));
    const ids = new Set(responses.map((r) => r.json().id));
    expect(ids.size).toBe(1);
    expect(new Set(responses.map((r) => r.json().access_token)).size).toBe(1);
    expect(responses.filter((r) => r.headers['idempotent-replayed'] === 'true')).toHaveLength(9);
    expect(await dp.rowCount(orders)).toBe(before + 1);
    expect((await stockRow(dp, variant))?.reserved).toBe(1);
  });

  it('the same key with a different body → 422, nothing written', async () => {
    const variant = await createVariant(dp);
    const key = newKey();
    await placeOrder(dp, { lines: [{ variant_id: variant, quantity: 1 }], key });
    const before = await counts();
    const response = await checkoutRequest(dp, { lines: [{ variant_id: variant, quantity: 2 }], key });
    expect(response.statusCode).toBe(422);
    expect(response.json().type).toBe('/problems/idempotency-key-reused');
    expect(await counts()).toEqual(before);
  });

  it('a missing Idempotency-Key → 400 naming the header', async () => {
    const variant = await createVariant(dp);
    const response = await dp.app.inject({
      method: 'POST',
      url: '/api/storefront/checkout',
      payload: { lines: [{ variant_id: variant, quantity: 1 }], email: 'a@example.com' },
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().errors[0].field).toBe('headers.idempotency-key');
  });

  it('a refused checkout leaves no key behind: the retry can succeed', async () => {
    const variant = await createVariant(dp, { stock: 1 });
    const key = newKey();
    const refused = await checkoutRequest(dp, { lines: [{ variant_id: variant, quantity: 2 }], key });
    expect(refused.statusCode).toBe(409);
    expect(refused.json().type).toBe('/problems/out-of-stock');
    const retried = await checkoutRequest(dp, {
      lines: [{ variant_id: variant, quantity: 2 }],
      key,
      extra: {},
    });
    expect(retried.statusCode).toBe(409);
  });
});

describe('tampering and policy', () => {
  it.each([
    [
      'a client-sent unit price',
      (v: string) => ({ lines: [{ variant_id: v, quantity: 1, unit_price_minor: 1 }] }),
      'body.lines.0.unit_price_minor',
    ],
    [
      'a client-sent total',
      (v: string) => ({ lines: [{ variant_id: v, quantity: 1 }], total_minor: 1 }),
      'body.total_minor',
    ],
    [
      'a zero quantity',
      (v: string) => ({ lines: [{ variant_id: v, quantity: 0 }] }),
      'body.lines.0.quantity',
    ],
    [
      'a negative quantity',
      (v: string) => ({ lines: [{ variant_id: v, quantity: -3 }] }),
      'body.lines.0.quantity',
    ],
    [
      'a fractional quantity',
      (v: string) => ({ lines: [{ variant_id: v, quantity: 1.5 }] }),
      'body.lines.0.quantity',
    ],
    [
      'a huge quantity',
      (v: string) => ({ lines: [{ variant_id: v, quantity: 1001 }] }),
      'body.lines.0.quantity',
    ],
    ['no lines', () => ({ lines: [] }), 'body.lines'],
    [
      'a repeated variant',
      (v: string) => ({
        lines: [
          { variant_id: v, quantity: 1 },
          { variant_id: v, quantity: 1 },
        ],
      }),
      'body.lines.1.variant_id',
    ],
    [
      'an unknown rail',
      (v: string) => ({ lines: [{ variant_id: v, quantity: 1 }], rail: 'free' }),
      'body.rail',
    ],
    [
      'an unknown variant',
      () => ({ lines: [{ variant_id: randomUUID(), quantity: 1 }] }),
      'body.lines.0.variant_id',
    ],
  ])('%s → 400 naming %s, nothing written', async (_name, makeBody, field) => {
    const variant = await createVariant(dp);
    const before = await counts();
    const response = await dp.app.inject({
      method: 'POST',
      url: '/api/storefront/checkout',
      headers: { 'idempotency-key': newKey() },
      payload: { email: 'g@example.com', ...makeBody(variant) },
    });
    expect(response.statusCode).toBe(400);
    expect(response.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(response.json().errors.map((e: { field: string }) => e.field)).toContain(field);
    expect(await counts()).toEqual(before);
  });

  it("another tenant's variant is refused like an unknown one; nothing written", async () => {
    const foreign = await createVariant(dp, { tenantId: randomUUID(), stock: 10 });
    const before = await counts();
    const response = await checkoutRequest(dp, { lines: [{ variant_id: foreign, quantity: 1 }] });
    expect(response.statusCode).toBe(400);
    expect(response.json().errors[0]).toEqual({
      field: 'body.lines.0.variant_id',
      message: 'is not an item this shop currently sells',
    });
    expect(await counts()).toEqual(before);
  });

  it('a rail the shop does not allow → 422 naming body.rail; nothing written', async () => {
    const variant = await createVariant(dp);
    await setPolicy(dp, { allowed_rails: ['amn_escrow', 'amn_direct'] });
    try {
      const before = await counts();
      for (const rail of ['manual_invoice', 'external_provider']) {
        const response = await checkoutRequest(dp, { lines: [{ variant_id: variant, quantity: 1 }], rail });
        expect(response.statusCode).toBe(422);
        expect(response.json()).toMatchObject({
          type: '/problems/rail-not-allowed',
          errors: [{ field: 'body.rail' }],
        });
      }
      expect(await counts()).toEqual(before);
    } finally {
      await setPolicy(dp, { allowed_rails: ['amn_escrow', 'amn_direct', 'manual_invoice'] });
    }
  });

  it('escrow is required above the policy amount and for listed categories (and their subcategories)', async () => {
    const parent = await createCategory(dp);
    const child = await createCategory(dp, parent);
    const cheap = await createVariant(dp, { priceMinor: 100 });
    const guarded = await createVariant(dp, { priceMinor: 100, categoryId: child });
    await setPolicy(dp, { escrow_required_above_minor: 1000, escrow_required_category_ids: [parent] });
    try {
      const before = await counts();
      const big = await checkoutRequest(dp, {
        lines: [{ variant_id: cheap, quantity: 10 }],
        rail: 'amn_direct',
      });
      expect(big.statusCode).toBe(422);
      expect(big.json()).toMatchObject({
        type: '/problems/escrow-required',
        errors: [{ field: 'body.rail' }],
      });
      const category = await checkoutRequest(dp, {
        lines: [{ variant_id: guarded, quantity: 1 }],
        rail: 'amn_direct',
      });
      expect(category.statusCode).toBe(422);
      expect(await counts()).toEqual(before);
      const small = await checkoutRequest(dp, {
        lines: [{ variant_id: cheap, quantity: 9 }],
        rail: 'amn_direct',
      });
      expect(small.statusCode).toBe(201);
      const defaulted = await placeOrder(dp, { lines: [{ variant_id: guarded, quantity: 1 }] });
      expect(defaulted.rail).toBe('amn_escrow');
    } finally {
      await setPolicy(dp, { escrow_required_above_minor: null, escrow_required_category_ids: [] });
    }
  });

  it('a cart mixing currencies → 422', async () => {
    const usd = await createVariant(dp);
    const eur = await createVariant(dp, { currency: 'EUR' });
    const response = await checkoutRequest(dp, {
      lines: [
        { variant_id: usd, quantity: 1 },
        { variant_id: eur, quantity: 1 },
      ],
    });
    expect(response.statusCode).toBe(422);
    expect(response.json().type).toBe('/problems/mixed-currencies');
  });
});

describe('concurrency', () => {
  it('200 parallel checkouts for a variant with stock 50 → exactly 50 orders, never oversold', async () => {
    const variant = await createVariant(dp, { stock: 50 });
    const before = await dp.rowCount(orders);
    const responses = await Promise.all(
      Array.from({ length: 200 }, () =>
        checkoutRequest(dp, { lines: [{ variant_id: variant, quantity: 1 }] }),
      ),
    );
    const statuses = responses.map((r) => r.statusCode);
    expect(statuses.filter((s) => s === 201)).toHaveLength(50);
    expect(statuses.filter((s) => s === 409)).toHaveLength(150);
    expect(await dp.rowCount(orders)).toBe(before + 50);
    const stock = await stockRow(dp, variant);
    expect(stock).toMatchObject({ onHand: 50, reserved: 50 });
  }, 60_000);

  it('overlapping multi-line carts across buyers: no deadlock, no oversell', async () => {
    const ids = await Promise.all([10, 10, 10, 10].map((stock) => createVariant(dp, { stock })));
    const carts = Array.from({ length: 80 }, (_, i) => {
      // Each cart takes two or three variants, listed in different orders.
      const picks = [ids[i % 4], ids[(i + 1) % 4], ...(i % 3 === 0 ? [ids[(i + 2) % 4]] : [])] as string[];
      const ordered = i % 2 === 0 ? picks : [...picks].reverse();
      return ordered.map((variant_id) => ({ variant_id, quantity: 1 + (i % 2) }));
    });
    const responses = await Promise.all(carts.map((lines) => checkoutRequest(dp, { lines })));
    expect(responses.every((r) => r.statusCode === 201 || r.statusCode === 409)).toBe(true);
    const placed = responses.filter((r) => r.statusCode === 201).map((r) => r.json());
    expect(placed.length).toBeGreaterThan(0);
    for (const id of ids) {
      const stock = await stockRow(dp, id);
      const wanted = placed
        .flatMap((order) => order.lines)
        .filter((line: { variant_id: string }) => line.variant_id === id)
        .reduce((sum: number, line: { quantity: number }) => sum + line.quantity, 0);
      expect(stock?.reserved).toBe(wanted);
      expect(stock?.reserved).toBeLessThanOrEqual(10);
    }
  }, 60_000);
});
