import { randomUUID } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog } from '../audit/schema.ts';
import { tenantRoles } from '../auth/permissions.ts';
import { createVariant, placeOrder } from '../orders/fixtures.ts';
import { startTestDataPlane, type TestDataPlane } from '../testing/harness.ts';
import { emailMessages } from './schema.ts';

/**
 * Staff see the shop's email through GET /api/admin/emails (permission emails.read) and an
 * order's confirmation on the order. No SMTP server is needed to queue: the sender is not
 * running here, and each message's status is set as the sender would leave it.
 */
let dp: TestDataPlane;
let ordered: { id: string }[];

beforeAll(async () => {
  dp = await startTestDataPlane({ env: { SMTP_URL: 'smtp://127.0.0.1:1' } });
  const variant = await createVariant(dp);
  ordered = [];
  for (const email of ['one@example.com', 'two@example.com', 'three@example.com']) {
    ordered.push(await placeOrder(dp, { lines: [{ variant_id: variant, quantity: 1 }], email }));
  }
  const [first, second] = ordered as [{ id: string }, { id: string }];
  const byOrder = (orderId: string) =>
    and(eq(emailMessages.tenantId, dp.tenantId), eq(emailMessages.orderId, orderId));
  await dp.db
    .update(emailMessages)
    .set({
      status: 'sent',
      attempts: 1,
      sentAt: new Date(),
      sealedToken: null,
      smtpMessageId: '<m@test-shop.localhost>',
      smtpResponse: '250 OK',
    })
    .where(byOrder(first.id));
  await dp.db
    .update(emailMessages)
    .set({ status: 'failed', attempts: 5, lastError: 'connect ECONNREFUSED 127.0.0.1:1' })
    .where(byOrder(second.id));
});
afterAll(() => dp.close());

const list = async (query = '', role: (typeof tenantRoles)[number] = 'owner') =>
  dp.app.inject({ url: `/api/admin/emails${query}`, headers: await dp.staffHeaders(role) });

describe('GET /api/admin/emails', () => {
  it('needs a staff token (401) and emails.read: owner, manager and support, not finance or developer (403)', async () => {
    const anonymous = await dp.app.inject({ url: '/api/admin/emails' });
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.headers['content-type']).toMatch(/^application\/problem\+json/);
    for (const role of tenantRoles) {
      const response = await list('', role);
      expect(response.statusCode, role).toBe(['owner', 'manager', 'support'].includes(role) ? 200 : 403);
      if (response.statusCode === 403) {
        expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      }
    }
  });

  it('lists newest first, with where each message stands and never its sealed token', async () => {
    const response = await list();
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body).toMatchObject({ page: 1, limit: 20, total: 3 });
    const [one, two, three] = ordered as [{ id: string }, { id: string }, { id: string }];
    expect(body.items.map((item: { order_id: string }) => item.order_id)).toEqual([three.id, two.id, one.id]);
    expect(body.items[0]).toMatchObject({
      kind: 'order_confirmation',
      to: 'three@example.com',
      status: 'queued',
      attempts: 0,
      last_error: null,
      sent_at: null,
    });
    expect(body.items[0].next_attempt_at).toEqual(expect.any(String));
    expect(body.items[1]).toMatchObject({
      status: 'failed',
      attempts: 5,
      last_error: 'connect ECONNREFUSED 127.0.0.1:1',
      next_attempt_at: null,
    });
    expect(body.items[2]).toMatchObject({
      status: 'sent',
      smtp_message_id: '<m@test-shop.localhost>',
      smtp_response: '250 OK',
    });
    expect(response.body).not.toMatch(/sealed|"v1\./);
  });

  it('filters by status (repeatable) and by order, and pages', async () => {
    const [first, second, third] = ordered as [{ id: string }, { id: string }, { id: string }];
    const ids = async (query: string) =>
      (await list(query)).json().items.map((item: { order_id: string }) => item.order_id);
    expect(await ids('?status=sent')).toEqual([first.id]);
    expect(await ids('?status=queued&status=failed')).toEqual([third.id, second.id]);
    expect(await ids(`?order_id=${second.id.toUpperCase()}`)).toEqual([second.id]);
    expect(await ids(`?order_id=${second.id}&status=sent`)).toEqual([]);
    expect(await ids(`?order_id=${randomUUID()}`)).toEqual([]);
    const page = (await list('?limit=2&page=2')).json();
    expect(page).toMatchObject({ page: 2, limit: 2, total: 3 });
    expect(page.items.map((item: { order_id: string }) => item.order_id)).toEqual([first.id]);
  });

  it.each([
    ['an unknown status', '?status=bounced', 'query.status.0'],
    ['an order id that is not a uuid', '?order_id=42', 'query.order_id'],
    ['page 0', '?page=0', 'query.page'],
    ['limit 0', '?limit=0', 'query.limit'],
    ['limit 101', '?limit=101', 'query.limit'],
    ['a limit that is not a number', '?limit=all', 'query.limit'],
    ['an unknown parameter', '?to=one@example.com', 'query.to'],
  ])('refuses %s with 400 problem+json naming the field', async (_name, query, field) => {
    const response = await list(query);
    expect(response.statusCode).toBe(400);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.json().errors.map((error: { field: string }) => error.field)).toContain(field);
  });
});

describe('the admin order detail', () => {
  it("shows the order's confirmation email and where it stands", async () => {
    const [first] = ordered as [{ id: string }];
    const response = await dp.app.inject({
      url: `/api/admin/orders/${first.id}`,
      headers: await dp.staffHeaders('finance'),
    });
    expect(response.statusCode).toBe(200);
    expect(response.json().confirmation_email).toEqual({
      id: expect.any(String),
      status: 'sent',
      attempts: 1,
      sent_at: expect.any(String),
    });
  });
});

describe('POST /api/admin/emails/:id/retry', () => {
  const emailOf = async (orderId: string) => {
    const [row] = await dp.db
      .select()
      .from(emailMessages)
      .where(and(eq(emailMessages.tenantId, dp.tenantId), eq(emailMessages.orderId, orderId)));
    if (!row) throw new Error(`no email for order ${orderId}`);
    return row;
  };
  const retry = async (id: string, role: (typeof tenantRoles)[number] = 'support') =>
    dp.app.inject({
      method: 'POST',
      url: `/api/admin/emails/${id}/retry`,
      headers: await dp.staffHeaders(role),
    });

  it('refuses the unauthorised, a malformed id, an unknown email, and any email that has not failed', async () => {
    const [sent, failed, queued] = await Promise.all(ordered.map((order) => emailOf(order.id)));
    expect(
      (await dp.app.inject({ method: 'POST', url: `/api/admin/emails/${failed?.id}/retry` })).statusCode,
    ).toBe(401);
    expect((await retry(failed?.id as string, 'finance')).statusCode).toBe(403);
    expect((await retry('not-an-id')).statusCode).toBe(400);
    const unknown = await retry(randomUUID());
    expect(unknown.statusCode).toBe(404);
    expect(unknown.headers['content-type']).toMatch(/^application\/problem\+json/);
    for (const row of [sent, queued]) {
      const refused = await retry(row?.id as string);
      expect(refused.statusCode).toBe(409);
      expect(refused.json()).toMatchObject({ type: '/problems/email-not-failed', email_status: row?.status });
      expect(await emailOf(row?.orderId as string)).toEqual(row);
    }
    expect(await emailOf(failed?.orderId as string)).toEqual(failed);
  });

  it('queues a failed email again from its first attempt, once, and audits it', async () => {
    const failed = await emailOf((ordered[1] as { id: string }).id);
    const response = await retry(failed.id);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ id: failed.id, status: 'queued', attempts: 0 });
    const after = await emailOf(failed.orderId);
    expect(after).toMatchObject({ status: 'queued', attempts: 0 });
    expect(after.nextAttemptAt.getTime()).toBeLessThanOrEqual(Date.now() + 1000);
    const audited = await dp.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.tenantId, dp.tenantId), eq(auditLog.targetId, failed.id)));
    expect(audited.map((entry) => entry.action)).toEqual(['email.retried']);
    expect((await retry(failed.id)).statusCode).toBe(409);
  });
});
