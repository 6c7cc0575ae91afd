import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buyers } from '../buyers/schema.ts';
import { insertOrder } from '../customers/test-fixtures.ts';
import { shopSettings } from '../settings/schema.ts';
import { startTestDataPlane, type TestDataPlane } from '../testing/harness.ts';

const DAY = 86_400_000;
/** Noon UTC n days before today (UTC): always in the past for n >= 1, whatever the hour now. */
function noonDaysAgo(n: number): Date {
  const today = new Date();
  return new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() - n, 12));
}
const isoDay = (date: Date) => date.toISOString().slice(0, 10);

let dp: TestDataPlane;
beforeAll(async () => {
  dp = await startTestDataPlane();
  const now = new Date();
  const fixtures = [
    // today
    { status: 'disputed', total: 100, createdAt: now },
    { status: 'draft', total: 999, createdAt: now },
    // 3 days ago
    { status: 'paid_direct', total: 1000, createdAt: noonDaysAgo(3) },
    { status: 'pending_payment', total: 400, createdAt: noonDaysAgo(3) },
    { status: 'completed', total: 8888, createdAt: noonDaysAgo(3), currency: 'EUR' },
    // 10 days ago
    { status: 'completed', total: 2000, createdAt: noonDaysAgo(10) },
    { status: 'cancelled', total: 5000, createdAt: noonDaysAgo(10) },
    { status: 'expired', total: 50, createdAt: noonDaysAgo(10) },
    // the window's first day, and the day before it
    { status: 'escrow_funded', total: 300, createdAt: noonDaysAgo(29) },
    { status: 'completed', total: 7777, createdAt: noonDaysAgo(30) },
  ] as const;
  for (const fixture of fixtures) await insertOrder(dp, fixture);
  // Another tenant's paid order today: never counted.
  await insertOrder(dp, { status: 'completed', total: 424_242, createdAt: now, tenantId: randomUUID() });
  for (const createdAt of [now, now, noonDaysAgo(5), noonDaysAgo(31)]) {
    await dp.db
      .insert(buyers)
      .values({ tenantId: dp.tenantId, email: `${randomUUID()}@example.com`, passwordHash: 'x', createdAt });
  }
});
afterAll(() => dp.close());

describe('shop overview', () => {
  it('orders, paid orders, GMV (paid statuses, shop currency) and new customers for 7 and 30 days', async () => {
    const response = await dp.app.inject({
      url: '/api/admin/overview',
      headers: await dp.staffHeaders('finance'),
    });
    expect(response.statusCode, response.body).toBe(200);
    const body = response.json();
    expect(body.currency).toBe('USD');
    expect(body.timezone).toBe('UTC');
    expect(body.last_7_days).toEqual({ orders: 4, paid_orders: 3, gmv_minor: 1100, new_customers: 3 });
    expect(body.last_30_days).toEqual({ orders: 8, paid_orders: 5, gmv_minor: 3400, new_customers: 3 });
  });

  it('has a daily series of 30 days ending today, empty days zero', async () => {
    const body = (
      await dp.app.inject({ url: '/api/admin/overview', headers: await dp.staffHeaders('owner') })
    ).json();
    const daily = body.daily as {
      date: string;
      orders: number;
      paid_orders: number;
      gmv_minor: number;
      new_customers: number;
    }[];
    expect(daily).toHaveLength(30);
    expect(daily.at(-1)?.date).toBe(isoDay(new Date()));
    expect(daily[0]?.date).toBe(isoDay(noonDaysAgo(29)));
    const on = (n: number) => daily.find((point) => point.date === isoDay(noonDaysAgo(n)));
    expect(on(3)).toEqual({
      date: isoDay(noonDaysAgo(3)),
      orders: 3,
      paid_orders: 2,
      gmv_minor: 1000,
      new_customers: 0,
    });
    expect(on(10)).toMatchObject({ orders: 3, paid_orders: 1, gmv_minor: 2000 });
    expect(on(29)).toMatchObject({ orders: 1, paid_orders: 1, gmv_minor: 300 });
    expect(on(5)).toMatchObject({ orders: 0, new_customers: 1 });
    expect(on(1)).toEqual({
      date: isoDay(noonDaysAgo(1)),
      orders: 0,
      paid_orders: 0,
      gmv_minor: 0,
      new_customers: 0,
    });
    expect(daily.reduce((n, point) => n + point.gmv_minor, 0)).toBe(body.last_30_days.gmv_minor);
    // Consecutive days, no gaps.
    for (let i = 1; i < daily.length; i += 1) {
      expect(Date.parse(daily[i]?.date as string) - Date.parse(daily[i - 1]?.date as string)).toBe(DAY);
    }
  });

  it('buckets days in the shop timezone', async () => {
    await dp.db
      .update(shopSettings)
      .set({ timezone: 'Pacific/Kiritimati' })
      .where(eq(shopSettings.tenantId, dp.tenantId));
    try {
      const body = (
        await dp.app.inject({ url: '/api/admin/overview', headers: await dp.staffHeaders('owner') })
      ).json();
      expect(body.timezone).toBe('Pacific/Kiritimati');
      // UTC+14: noon UTC three days ago is 02:00 the next local day.
      const local = new Date(noonDaysAgo(3).getTime() + 14 * 3600_000);
      const point = body.daily.find((p: { date: string }) => p.date === isoDay(local));
      expect(point).toMatchObject({ orders: 3, gmv_minor: 1000 });
    } finally {
      await dp.db.update(shopSettings).set({ timezone: 'UTC' }).where(eq(shopSettings.tenantId, dp.tenantId));
    }
  });

  it('needs overview.read: support is 403', async () => {
    const response = await dp.app.inject({
      url: '/api/admin/overview',
      headers: await dp.staffHeaders('support'),
    });
    expect(response.statusCode).toBe(403);
  });
});
