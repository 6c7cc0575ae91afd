import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog } from '../audit/schema.ts';
import { buyers } from '../buyers/schema.ts';
import { startTestDataPlane, type TestDataPlane } from '../testing/harness.ts';
import { maskEmail } from './service.ts';
import { insertOrder } from './test-fixtures.ts';

const DAY = 86_400_000;
const daysAgo = (n: number) => new Date(Date.now() - n * DAY);

let dp: TestDataPlane;
const foreignTenantId = randomUUID();
const ids = { ana: '', bob: '', cat: '', foreign: '' };

async function insertBuyer(email: string, createdAt: Date, extra: Partial<typeof buyers.$inferInsert> = {}) {
  const [row] = await dp.db
    .insert(buyers)
    .values({ tenantId: dp.tenantId, email, passwordHash: 'x', createdAt, ...extra })
    .returning();
  return row?.id as string;
}

beforeAll(async () => {
  dp = await startTestDataPlane();
  ids.ana = await insertBuyer('john@gmail.com', daysAgo(40), { displayName: 'Ana' });
  ids.bob = await insertBuyer('bob@example.com', daysAgo(10));
  ids.cat = await insertBuyer('cat@example.org', daysAgo(0.01), { lastActiveAt: new Date() });
  // Another tenant's buyer in the same database: never visible here.
  const [foreign] = await dp.db
    .insert(buyers)
    .values({ tenantId: foreignTenantId, email: 'zed@example.com', passwordHash: 'x' })
    .returning();
  ids.foreign = foreign?.id as string;

  await insertOrder(dp, { buyerId: ids.ana, status: 'completed', total: 1000, createdAt: daysAgo(36) });
  await insertOrder(dp, { buyerId: ids.ana, status: 'paid_direct', total: 2500, createdAt: daysAgo(35) });
  await insertOrder(dp, { buyerId: ids.ana, status: 'cancelled', total: 9999, createdAt: daysAgo(35) });
  await insertOrder(dp, { buyerId: ids.ana, status: 'draft', total: 5, createdAt: daysAgo(1) });
  await insertOrder(dp, { buyerId: ids.bob, status: 'pending_payment', total: 500, createdAt: daysAgo(6) });
  await insertOrder(dp, {
    buyerId: ids.bob,
    status: 'completed',
    total: 700,
    currency: 'EUR',
    createdAt: daysAgo(5),
  });
  // Another tenant's buyer and order in the same database: never counted here. (An order
  // naming Ana's id under another tenant is refused by the (tenant_id, buyer_id) foreign key.)
  await insertOrder(dp, {
    buyerId: ids.foreign,
    status: 'completed',
    total: 123_456,
    createdAt: daysAgo(2),
    tenantId: foreignTenantId,
  });
});
afterAll(() => dp.close());

async function list(query: string, role: 'owner' | 'support' = 'support') {
  const response = await dp.app.inject({
    url: `/api/admin/customers?${query}`,
    headers: await dp.staffHeaders(role),
  });
  expect(response.statusCode, response.body).toBe(200);
  return response.json() as {
    items: {
      id: string;
      email_masked: string;
      order_count: number;
      total_spent_minor: number;
      last_active_at: string | null;
    }[];
    total: number;
  };
}
const names = (body: { items: { id: string }[] }) =>
  body.items.map((item) => Object.entries(ids).find(([, id]) => id === item.id)?.[0]);

describe('customers admin', () => {
  it('masks emails like j***@gmail.com', () => {
    expect(maskEmail('john@gmail.com')).toBe('j***@gmail.com');
    expect(maskEmail('a@b.co')).toBe('a***@b.co');
  });

  it('lists this shop’s buyers with order count, total spent (paid, shop currency) and masked emails', async () => {
    const body = await list('');
    expect(names(body)).toEqual(['cat', 'bob', 'ana']);
    expect(body.total).toBe(3);
    const ana = body.items.find((item) => item.id === ids.ana);
    expect(ana).toMatchObject({ email_masked: 'j***@gmail.com', order_count: 3, total_spent_minor: 3500 });
    const bob = body.items.find((item) => item.id === ids.bob);
    expect(bob).toMatchObject({ order_count: 2, total_spent_minor: 0 });
    expect(JSON.stringify(body)).not.toMatch(/john@|bob@|cat@|zed@/);
  });

  it.each([
    ['sort=total_spent&order=desc', ['ana']],
    ['sort=order_count&order=asc', ['cat', 'bob', 'ana']],
    ['sort=joined_at&order=asc', ['ana', 'bob', 'cat']],
    ['sort=last_active&order=desc', ['cat', 'bob', 'ana']],
    ['min_orders=1', ['bob', 'ana']],
    ['min_orders=3&max_orders=3', ['ana']],
    ['min_spent=1', ['ana']],
    ['max_spent=0', ['cat', 'bob']],
    [`joined_after=${daysAgo(20).toISOString()}`, ['cat', 'bob']],
    [`joined_before=${daysAgo(20).toISOString()}`, ['ana']],
    [`active_after=${daysAgo(7).toISOString()}`, ['cat', 'bob']],
    [`active_before=${daysAgo(7).toISOString()}`, ['ana']],
  ])('%s', async (query, expected) => {
    const body = await list(query);
    if (query.startsWith('sort=total_spent')) expect(names(body)[0]).toBe(expected[0]);
    else expect(names(body)).toEqual(expected);
  });

  it("the database refuses an order that names another tenant's buyer", async () => {
    await expect(
      insertOrder(dp, {
        buyerId: ids.ana,
        status: 'completed',
        total: 1,
        createdAt: daysAgo(1),
        tenantId: foreignTenantId,
      }),
    ).rejects.toThrow();
  });

  it('pages with page and limit and reports the total', async () => {
    const body = await list('sort=joined_at&order=asc&limit=1&page=2');
    expect(names(body)).toEqual(['bob']);
    expect(body.total).toBe(3);
  });

  it('detail: masked email, stats, recent orders; another tenant’s buyer is 404', async () => {
    const response = await dp.app.inject({
      url: `/api/admin/customers/${ids.ana}`,
      headers: await dp.staffHeaders('support'),
    });
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body).toMatchObject({
      email_masked: 'j***@gmail.com',
      display_name: 'Ana',
      status: 'active',
      order_count: 3,
      total_spent_minor: 3500,
      currency: 'USD',
      address_count: 0,
    });
    expect(body.recent_orders).toHaveLength(3);
    expect(JSON.stringify(body)).not.toContain('john@');
    const foreign = await dp.app.inject({
      url: `/api/admin/customers/${ids.foreign}`,
      headers: await dp.staffHeaders('owner'),
    });
    expect(foreign.statusCode).toBe(404);
  });

  it('status filter, after a disable that is audited once; disabling again changes nothing', async () => {
    const headers = await dp.staffHeaders('owner');
    const auditBefore = await dp.rowCount(auditLog);
    const first = await dp.app.inject({
      method: 'POST',
      url: `/api/admin/customers/${ids.bob}/disable`,
      headers,
      payload: {},
    });
    expect(first.statusCode).toBe(200);
    const again = await dp.app.inject({
      method: 'POST',
      url: `/api/admin/customers/${ids.bob}/disable`,
      headers,
      payload: {},
    });
    expect(again.json().status).toBe('disabled');
    expect(await dp.rowCount(auditLog)).toBe(auditBefore + 1);
    expect(names(await list('status=disabled'))).toEqual(['bob']);
    expect(names(await list('status=active'))).toEqual(['cat', 'ana']);
    await dp.app.inject({
      method: 'POST',
      url: `/api/admin/customers/${ids.bob}/enable`,
      headers,
      payload: {},
    });
  });

  it('finance has no customers.read (403); no token is 401', async () => {
    const finance = await dp.app.inject({
      url: '/api/admin/customers',
      headers: await dp.staffHeaders('finance'),
    });
    expect(finance.statusCode).toBe(403);
    expect((await dp.app.inject({ url: '/api/admin/customers' })).statusCode).toBe(401);
  });
});
