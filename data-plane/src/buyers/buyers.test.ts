import { randomUUID } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog } from '../audit/schema.ts';
import { outboxEvents } from '../events/schema.ts';
import { startTestDataPlane, type TestDataPlane } from '../testing/harness.ts';
import { buyerAddresses, buyerSessions, buyers } from './schema.ts';
import { BUYER_SESSION_COOKIE } from './session.ts';

let dp: TestDataPlane;
beforeAll(async () => {
  dp = await startTestDataPlane();
});
afterAll(() => dp.close());

const PASSWORD = 'correct horse battery';
let ip = 0;
/** Each test signs in from its own address so the per-IP throttle stays out of the way. */
const nextIp = () => `10.1.${Math.floor(++ip / 250)}.${ip % 250}`;

async function register(email = `${randomUUID()}@example.com`, extra: Record<string, unknown> = {}) {
  const response = await dp.app.inject({
    method: 'POST',
    url: '/api/storefront/account/register',
    payload: { email, password: PASSWORD, ...extra },
    remoteAddress: nextIp(),
  });
  expect(response.statusCode).toBe(201);
  const cookie = response.cookies.find((c) => c.name === BUYER_SESSION_COOKIE);
  return { email, id: response.json().buyer.id as string, sid: cookie?.value as string, response };
}

const as = (sid: string) => ({ cookies: { [BUYER_SESSION_COOKIE]: sid } });

function login(email: string, password: string, remoteAddress = nextIp()) {
  return dp.app.inject({
    method: 'POST',
    url: '/api/storefront/account/login',
    payload: { email, password },
    remoteAddress,
  });
}

describe('buyer accounts', () => {
  it('register signs the buyer in with a host-only, HttpOnly, Secure, SameSite=Lax __Host- cookie', async () => {
    const { response, sid, id } = await register('Ana.Buyer@Example.COM', { display_name: 'Ana' });
    expect(response.json().buyer).toMatchObject({
      email: 'ana.buyer@example.com',
      display_name: 'Ana',
      marketing_opt_in: false,
    });
    const raw = [response.headers['set-cookie']].flat().join('\n');
    expect(raw).toMatch(/^__Host-sid=[A-Za-z0-9_-]{43};/);
    expect(raw).toMatch(/; HttpOnly/);
    expect(raw).toMatch(/; Secure/);
    expect(raw).toMatch(/; SameSite=Lax/);
    expect(raw).toMatch(/; Path=\//);
    expect(raw).not.toMatch(/Domain=/i);
    expect(raw).not.toMatch(/amanat|platform/i);
    // Only the token's hash is stored.
    const [session] = await dp.db.select().from(buyerSessions).where(eq(buyerSessions.buyerId, id));
    expect(session?.tokenHash).toMatch(/^[0-9a-f]{64}$/);
    expect(session?.tokenHash).not.toBe(sid);
    const me = await dp.app.inject({ url: '/api/storefront/account/me', ...as(sid) });
    expect(me.statusCode).toBe(200);
    expect(me.json().id).toBe(id);
    const [event] = await dp.db.select().from(outboxEvents).where(eq(outboxEvents.aggregateId, id));
    expect(event?.type).toBe('customer.registered');
    expect(JSON.stringify(event?.payload)).not.toContain('example.com');
  });

  it('refuses a second account with the same email in any letter case (409)', async () => {
    const { email } = await register();
    const before = await dp.rowCount(buyers);
    const response = await dp.app.inject({
      method: 'POST',
      url: '/api/storefront/account/register',
      payload: { email: email.toUpperCase(), password: PASSWORD },
    });
    expect(response.statusCode).toBe(409);
    expect(response.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(await dp.rowCount(buyers)).toBe(before);
  });

  it('login with the right password sets a new session; a wrong one is 401; logout ends the session', async () => {
    const { email } = await register();
    expect((await login(email, 'wrong password!')).statusCode).toBe(401);
    const ok = await login(email.toUpperCase(), PASSWORD);
    expect(ok.statusCode).toBe(200);
    const sid = ok.cookies.find((c) => c.name === BUYER_SESSION_COOKIE)?.value as string;
    expect((await dp.app.inject({ url: '/api/storefront/account/me', ...as(sid) })).statusCode).toBe(200);
    const out = await dp.app.inject({ method: 'POST', url: '/api/storefront/account/logout', ...as(sid) });
    expect(out.statusCode).toBe(204);
    const cleared = out.cookies.find((c) => c.name === BUYER_SESSION_COOKIE);
    expect(cleared?.value).toBe('');
    expect((await dp.app.inject({ url: '/api/storefront/account/me', ...as(sid) })).statusCode).toBe(401);
  });

  it('me without a session, or with a made-up one, is 401 problem+json', async () => {
    for (const options of [{}, as('x'.repeat(43)), as('not a token')]) {
      const response = await dp.app.inject({ url: '/api/storefront/account/me', ...options });
      expect(response.statusCode).toBe(401);
      expect(response.headers['content-type']).toMatch(/application\/problem\+json/);
    }
  });

  it('locks an email out after 10 failed logins in an hour, even for the right password', async () => {
    const { email } = await register();
    for (let i = 0; i < 10; i += 1) {
      expect((await login(email, `wrong-${i}-password`)).statusCode).toBe(401);
    }
    const locked = await login(email, PASSWORD);
    expect(locked.statusCode).toBe(429);
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);
    expect(locked.json().type).toBe('/problems/too-many-requests');
  });

  it('locks an IP out after 10 failed logins across emails', async () => {
    const address = '10.9.9.9';
    const { email } = await register();
    for (let i = 0; i < 10; i += 1) {
      expect((await login(`nobody-${i}@example.com`, 'whatever-password', address)).statusCode).toBe(401);
    }
    expect((await login(email, PASSWORD, address)).statusCode).toBe(429);
    expect((await login(email, PASSWORD)).statusCode).toBe(200);
  });

  it('a disabled buyer cannot log in and their sessions stop working; enabling restores sign-in', async () => {
    const { email, id, sid } = await register();
    const disable = await dp.app.inject({
      method: 'POST',
      url: `/api/admin/customers/${id}/disable`,
      headers: await dp.staffHeaders('manager'),
      payload: { reason: 'chargebacks' },
    });
    expect(disable.statusCode).toBe(200);
    expect(disable.json().status).toBe('disabled');
    expect((await dp.app.inject({ url: '/api/storefront/account/me', ...as(sid) })).statusCode).toBe(401);
    const refused = await login(email, PASSWORD);
    expect(refused.statusCode).toBe(403);
    expect(refused.json().type).toBe('/problems/account-disabled');
    // A wrong password stays a plain 401: it does not reveal the account is disabled.
    expect((await login(email, 'wrong password!')).statusCode).toBe(401);
    const sessions = await dp.db.select().from(buyerSessions).where(eq(buyerSessions.buyerId, id));
    expect(sessions.every((s) => s.revokedAt !== null)).toBe(true);

    const enable = await dp.app.inject({
      method: 'POST',
      url: `/api/admin/customers/${id}/enable`,
      headers: await dp.staffHeaders('owner'),
      payload: {},
    });
    expect(enable.statusCode).toBe(200);
    expect((await login(email, PASSWORD)).statusCode).toBe(200);
    // The old session stays revoked.
    expect((await dp.app.inject({ url: '/api/storefront/account/me', ...as(sid) })).statusCode).toBe(401);
  });

  it('disabling needs customers.disable: support may read customers but not disable (403)', async () => {
    const { id } = await register();
    const response = await dp.app.inject({
      method: 'POST',
      url: `/api/admin/customers/${id}/disable`,
      headers: await dp.staffHeaders('support'),
      payload: {},
    });
    expect(response.statusCode).toBe(403);
    const [row] = await dp.db.select().from(buyers).where(eq(buyers.id, id));
    expect(row?.disabledAt).toBeNull();
  });

  it('marketing: opt in at registration, opt out later with its time recorded and audited', async () => {
    const { id, sid, response } = await register(undefined, { marketing_opt_in: true });
    expect(response.json().buyer.marketing_opt_in).toBe(true);
    expect(response.json().buyer.marketing_opted_in_at).not.toBeNull();
    const auditBefore = await dp.rowCount(auditLog);
    const out = await dp.app.inject({
      method: 'PATCH',
      url: '/api/storefront/account/me',
      payload: { marketing_opt_in: false },
      ...as(sid),
    });
    expect(out.statusCode).toBe(200);
    expect(out.json().marketing_opt_in).toBe(false);
    expect(Date.parse(out.json().marketing_opted_out_at)).toBeGreaterThan(Date.now() - 60_000);
    const [row] = await dp.db.select().from(buyers).where(eq(buyers.id, id));
    expect(row?.marketingOptIn).toBe(false);
    expect(row?.marketingOptedOutAt).toBeInstanceOf(Date);
    expect(await dp.rowCount(auditLog)).toBe(auditBefore + 1);
    const [audit] = await dp.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.targetId, id), eq(auditLog.action, 'buyer.marketing_opted_out')));
    expect(audit?.actorType).toBe('buyer');
    expect(JSON.stringify(audit)).not.toContain('@');
  });

  it('addresses: a buyer manages their own and cannot see or touch another buyer’s', async () => {
    const a = await register();
    const b = await register();
    const address = {
      recipient_name: 'Ana Buyer',
      line1: '1 Main St',
      city: 'Tehran',
      country: 'ir',
      postal_code: '12345',
    };
    const created = await dp.app.inject({
      method: 'POST',
      url: '/api/storefront/account/addresses',
      payload: address,
      ...as(a.sid),
    });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({ country: 'IR', is_default: true });
    const id = created.json().id as string;
    const second = await dp.app.inject({
      method: 'POST',
      url: '/api/storefront/account/addresses',
      payload: { ...address, line1: '2 Side St', is_default: true },
      ...as(a.sid),
    });
    expect(second.json().is_default).toBe(true);
    const listA = (await dp.app.inject({ url: '/api/storefront/account/addresses', ...as(a.sid) })).json();
    expect(listA.items).toHaveLength(2);
    expect(listA.items.filter((x: { is_default: boolean }) => x.is_default)).toHaveLength(1);

    const listB = (await dp.app.inject({ url: '/api/storefront/account/addresses', ...as(b.sid) })).json();
    expect(listB.items).toEqual([]);
    const patchB = await dp.app.inject({
      method: 'PATCH',
      url: `/api/storefront/account/addresses/${id}`,
      payload: { city: 'Elsewhere' },
      ...as(b.sid),
    });
    expect(patchB.statusCode).toBe(404);
    const deleteB = await dp.app.inject({
      method: 'DELETE',
      url: `/api/storefront/account/addresses/${id}`,
      ...as(b.sid),
    });
    expect(deleteB.statusCode).toBe(404);
    const [still] = await dp.db.select().from(buyerAddresses).where(eq(buyerAddresses.id, id));
    expect(still?.city).toBe('Tehran');

    const patchA = await dp.app.inject({
      method: 'PATCH',
      url: `/api/storefront/account/addresses/${id}`,
      payload: { city: 'Shiraz', line2: null },
      ...as(a.sid),
    });
    expect(patchA.statusCode).toBe(200);
    expect(patchA.json().city).toBe('Shiraz');
    const deleteA = await dp.app.inject({
      method: 'DELETE',
      url: `/api/storefront/account/addresses/${id}`,
      ...as(a.sid),
    });
    expect(deleteA.statusCode).toBe(204);
    expect(
      (await dp.app.inject({ url: '/api/storefront/account/addresses', ...as(a.sid) })).json().items,
    ).toHaveLength(1);
  });

  it('every buyer mutation writes exactly one audit row, as the buyer', async () => {
    const { sid, id } = await register();
    const before = await dp.rowCount(auditLog);
    await dp.app.inject({
      method: 'PATCH',
      url: '/api/storefront/account/me',
      payload: { display_name: 'New Name' },
      ...as(sid),
    });
    expect(await dp.rowCount(auditLog)).toBe(before + 1);
    const rows = await dp.db.select().from(auditLog).where(eq(auditLog.targetId, id));
    expect(rows.map((r) => r.action).sort()).toEqual(['buyer.registered', 'buyer.updated']);
    expect(rows.every((r) => r.actorType === 'buyer' && r.actorId === id)).toBe(true);
  });
});
