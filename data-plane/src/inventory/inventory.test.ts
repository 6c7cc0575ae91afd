import { randomUUID } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemActor } from '../audit/record.ts';
import { auditLog } from '../audit/schema.ts';
import { stockLevels, stockMovements } from '../catalog/schema.ts';
import { createProduct } from '../catalog/testing.ts';
import { outboxEvents } from '../events/schema.ts';
import { startTestDataPlane, type TestDataPlane } from '../testing/harness.ts';
import { releaseReservation, reserveStock, stockOf } from './service.ts';

let dp: TestDataPlane;
beforeAll(async () => {
  dp = await startTestDataPlane();
});
afterAll(() => dp.close());

async function newVariant(sku: string, stock = 0): Promise<string> {
  const product = await createProduct(dp, {
    slug: sku.toLowerCase(),
    title: `Item ${sku}`,
    variants: [{ sku, price_minor: 100, ...(stock ? { stock } : {}) }],
  });
  return product.variants[0]?.id as string;
}

async function adjust(variantId: string, body: Record<string, unknown>, headers?: Record<string, string>) {
  return dp.app.inject({
    method: 'POST',
    url: `/api/admin/inventory/${variantId}/adjustments`,
    headers: headers ?? (await dp.staffHeaders('owner')),
    payload: body,
  });
}

async function lowEvents(variantId: string) {
  return dp.db
    .select()
    .from(outboxEvents)
    .where(and(eq(outboxEvents.type, 'stock.low'), eq(outboxEvents.aggregateId, variantId)));
}

describe('stock adjustments', () => {
  it('records who, when and why as a movement and an audit row', async () => {
    const variantId = await newVariant('ADJ-1');
    const userId = randomUUID();
    const headers = { authorization: `Bearer ${await dp.staffToken('manager', { userId })}` };
    const response = await adjust(
      variantId,
      { delta: 12, reason: 'restock', note: 'supplier delivery #42' },
      headers,
    );
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json()).toMatchObject({ on_hand: 12, reserved: 0, available: 12, sku: 'ADJ-1' });
    expect(response.json().movements[0]).toMatchObject({
      reason: 'restock',
      on_hand_delta: 12,
      note: 'supplier delivery #42',
      actor_type: 'staff',
      actor_id: userId,
    });
    const [audit] = await dp.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.action, 'stock.adjusted'), eq(auditLog.targetId, variantId)));
    expect(audit).toMatchObject({ actorType: 'staff', actorId: userId, actorRole: 'manager' });
    expect(audit?.after).toMatchObject({ on_hand: 12, delta: 12, reason: 'restock' });

    const set = await adjust(variantId, { set: 7, reason: 'adjustment', note: 'stock count' });
    expect(set.json()).toMatchObject({ on_hand: 7 });
    expect(set.json().movements[0]).toMatchObject({ reason: 'adjustment', on_hand_delta: -5 });

    const movementsBefore = await dp.rowCount(stockMovements);
    const auditBefore = await dp.rowCount(auditLog);
    const same = await adjust(variantId, { set: 7, reason: 'adjustment' });
    expect(same.statusCode).toBe(200);
    expect(await dp.rowCount(stockMovements)).toBe(movementsBefore);
    expect(await dp.rowCount(auditLog)).toBe(auditBefore);

    const read = await dp.app.inject({
      url: `/api/admin/inventory/${variantId}`,
      headers: await dp.staffHeaders('finance'),
    });
    expect(read.statusCode).toBe(200);
    expect(read.json().movements.map((m: { reason: string }) => m.reason)).toEqual(['adjustment', 'restock']);
  });

  it('refuses to go below zero or below what orders hold, writing nothing', async () => {
    const variantId = await newVariant('ADJ-2', 5);
    await reserveStock(dp.db, dp.tenantId, systemActor(), randomUUID(), [{ variantId, quantity: 3 }]);
    const before = { movements: await dp.rowCount(stockMovements), audit: await dp.rowCount(auditLog) };
    const belowZero = await adjust(variantId, { delta: -6, reason: 'adjustment' });
    expect(belowZero.statusCode).toBe(409);
    expect(belowZero.json().type).toBe('/problems/stock-below-zero');
    const belowReserved = await adjust(variantId, { set: 2, reason: 'adjustment' });
    expect(belowReserved.statusCode).toBe(409);
    expect(belowReserved.json().type).toBe('/problems/stock-below-reserved');
    expect({ movements: await dp.rowCount(stockMovements), audit: await dp.rowCount(auditLog) }).toEqual(
      before,
    );
  });

  it.each([
    ['neither delta nor set', { reason: 'restock' }, 'body.delta'],
    ['both delta and set', { delta: 1, set: 1, reason: 'restock' }, 'body.delta'],
    ['a zero delta', { delta: 0, reason: 'restock' }, 'body.delta'],
    ['an order reason', { delta: 1, reason: 'order_reserved' }, 'body.reason'],
    ['a negative set', { set: -1, reason: 'adjustment' }, 'body.set'],
    ['a fractional delta', { delta: 1.5, reason: 'adjustment' }, 'body.delta'],
    ['an unknown field', { delta: 1, reason: 'restock', who: 'me' }, 'body.who'],
  ])('refuses %s with 400 naming the field', async (_name, body, field) => {
    const variantId = await newVariant(`BAD-${randomUUID().slice(0, 8)}`);
    const response = await adjust(variantId, body);
    expect(response.statusCode).toBe(400);
    expect(response.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(response.json().errors.map((e: { field: string }) => e.field)).toContain(field);
  });

  it('404s an unknown variant and 403s a role without inventory.adjust', async () => {
    const unknown = await adjust(randomUUID(), { delta: 1, reason: 'restock' });
    expect(unknown.statusCode).toBe(404);
    expect(
      (await dp.app.inject({ url: `/api/admin/inventory/${randomUUID()}`, headers: await dp.staffHeaders() }))
        .statusCode,
    ).toBe(404);
    const variantId = await newVariant('ADJ-3');
    for (const role of ['support', 'finance', 'developer'] as const) {
      const response = await adjust(variantId, { delta: 1, reason: 'restock' }, await dp.staffHeaders(role));
      expect(response.statusCode).toBe(403);
    }
    expect((await adjust(variantId, { delta: 1, reason: 'restock' }, {})).statusCode).toBe(401);
  });
});

describe('low-stock threshold', () => {
  it('emits stock.low exactly when available stock crosses the threshold downwards', async () => {
    const variantId = await newVariant('LOW-1', 10);
    const threshold = await dp.app.inject({
      method: 'PUT',
      url: `/api/admin/inventory/${variantId}/threshold`,
      headers: await dp.staffHeaders('owner'),
      payload: { low_stock_threshold: 5 },
    });
    expect(threshold.statusCode, threshold.body).toBe(200);
    expect(threshold.json()).toMatchObject({ low_stock_threshold: 5, effective_low_stock_threshold: 5 });

    await adjust(variantId, { delta: -4, reason: 'adjustment' }); // 6: above
    expect(await lowEvents(variantId)).toHaveLength(0);
    await adjust(variantId, { delta: -1, reason: 'adjustment' }); // 5: crosses
    expect(await lowEvents(variantId)).toHaveLength(1);
    await adjust(variantId, { delta: -2, reason: 'adjustment' }); // 3: still low, no new event
    expect(await lowEvents(variantId)).toHaveLength(1);
    await adjust(variantId, { delta: 10, reason: 'restock' }); // 13
    const orderId = randomUUID();
    await reserveStock(dp.db, dp.tenantId, systemActor(), orderId, [{ variantId, quantity: 8 }]); // 5: crosses
    const events = await lowEvents(variantId);
    expect(events).toHaveLength(2);
    expect(events[1]?.payload).toMatchObject({ variant_id: variantId, available: 5, threshold: 5 });
    await releaseReservation(dp.db, dp.tenantId, systemActor(), orderId, [{ variantId, quantity: 8 }]);
    expect(await lowEvents(variantId)).toHaveLength(2);
  });

  it("falls back to the shop's default threshold when the variant's is cleared", async () => {
    const variantId = await newVariant('LOW-2', 8);
    const cleared = await dp.app.inject({
      method: 'PUT',
      url: `/api/admin/inventory/${variantId}/threshold`,
      headers: await dp.staffHeaders('owner'),
      payload: { low_stock_threshold: null },
    });
    expect(cleared.json()).toMatchObject({ low_stock_threshold: null, effective_low_stock_threshold: 5 });
    await adjust(variantId, { set: 5, reason: 'adjustment' });
    expect(await lowEvents(variantId)).toHaveLength(1);
  });
});

describe('reservations under concurrency', () => {
  it('never oversells: 60 parallel single-unit reservations against stock 20 → exactly 20', async () => {
    const variantId = await newVariant('RACE-1', 20);
    const results = await Promise.allSettled(
      Array.from({ length: 60 }, () =>
        dp.db.transaction((tx) =>
          reserveStock(tx, dp.tenantId, systemActor(), randomUUID(), [{ variantId, quantity: 1 }]),
        ),
      ),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(20);
    const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(rejected.every((r) => r.reason.status === 409)).toBe(true);
    expect((await stockOf(dp.db, dp.tenantId, [variantId])).get(variantId)).toMatchObject({
      onHand: 20,
      reserved: 20,
      available: 0,
    });
  });

  it('overlapping multi-line carts neither deadlock nor oversell', async () => {
    const a = await newVariant('RACE-A', 15);
    const b = await newVariant('RACE-B', 15);
    const results = await Promise.allSettled(
      Array.from({ length: 40 }, (_, i) =>
        dp.db.transaction((tx) =>
          reserveStock(
            tx,
            dp.tenantId,
            systemActor(),
            randomUUID(),
            i % 2 === 0
              ? [
                  { variantId: a, quantity: 1 },
                  { variantId: b, quantity: 1 },
                ]
              : [
                  { variantId: b, quantity: 1 },
                  { variantId: a, quantity: 1 },
                ],
          ),
        ),
      ),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(15);
    const rows = await dp.db.select().from(stockLevels).where(eq(stockLevels.tenantId, dp.tenantId));
    for (const row of rows) expect(row.reserved).toBeLessThanOrEqual(row.onHand);
    const levels = await stockOf(dp.db, dp.tenantId, [a, b]);
    expect(levels.get(a)?.reserved).toBe(15);
    expect(levels.get(b)?.reserved).toBe(15);
  });
});
