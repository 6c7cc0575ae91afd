import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog } from '../audit/schema.ts';
import { startTestDataPlane, type TestDataPlane } from '../testing/harness.ts';

let dp: TestDataPlane;
beforeAll(async () => {
  dp = await startTestDataPlane();
});
afterAll(() => dp.close());

describe('storefront bootstrap', () => {
  it("shows the shop's settings and each allowed rail with its disclosure, to anyone", async () => {
    const response = await dp.app.inject('/api/storefront/bootstrap');
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body.shop.display_name).toBe('test-shop');
    expect(body.payment.default_rail).toBe('amn_escrow');
    expect(body.payment.rails.map((r: { rail: string }) => r.rail)).toEqual([
      'amn_escrow',
      'amn_direct',
      'manual_invoice',
    ]);
    expect(body.payment.rails[0].disclosure).toMatch(/escrow/i);
    expect(JSON.stringify(body)).not.toMatch(/amanat/i);
  });
});

describe('shop admin settings and staff tokens', () => {
  const patch = {
    display_name: 'Sara Shop',
    payment_policy: {
      allowed_rails: ['amn_escrow'],
      default_rail: 'amn_escrow',
      escrow_required_above_minor: null,
      escrow_required_category_ids: [],
    },
  };

  it('an owner changes the payment policy; the change is audited', async () => {
    const before = await dp.rowCount(auditLog);
    const response = await dp.app.inject({
      method: 'PATCH',
      url: '/api/admin/settings',
      headers: await dp.staffHeaders('owner'),
      payload: patch,
    });
    expect(response.statusCode).toBe(200);
    expect(response.json().payment_policy.allowed_rails).toEqual(['amn_escrow']);
    expect(await dp.rowCount(auditLog)).toBe(before + 1);
    const bootstrap = (await dp.app.inject('/api/storefront/bootstrap')).json();
    expect(bootstrap.payment.rails).toHaveLength(1);
  });

  it('refuses a default rail outside the allowed ones, naming the field', async () => {
    const response = await dp.app.inject({
      method: 'PATCH',
      url: '/api/admin/settings',
      headers: await dp.staffHeaders('owner'),
      payload: { payment_policy: { ...patch.payment_policy, default_rail: 'amn_direct' } },
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().errors[0].field).toBe('body.payment_policy.default_rail');
  });

  it.each([
    ['no token', async () => ({}), 401],
    [
      'an unsigned token',
      async () => ({ authorization: `Bearer ${unsigned(await dp.staffToken('owner'))}` }),
      401,
    ],
    [
      'a token for another tenant',
      async () => ({
        authorization: `Bearer ${await dp.staffToken('owner', { audience: 'tenant:00000000-0000-4000-8000-000000000000' })}`,
      }),
      401,
    ],
    [
      'an expired token',
      async () => ({
        authorization: `Bearer ${await dp.staffToken('owner', { expiresIn: '-1m', issuedAt: Math.floor(Date.now() / 1000) - 600 })}`,
      }),
      401,
    ],
    [
      'a token issued too long ago',
      async () => ({
        authorization: `Bearer ${await dp.staffToken('owner', { expiresIn: '1h', issuedAt: Math.floor(Date.now() / 1000) - 3600 })}`,
      }),
      401,
    ],
    ['a role without settings.write (finance)', () => dp.staffHeaders('finance'), 403],
    ['a role without settings.write (support)', () => dp.staffHeaders('support'), 403],
    ['a manager', () => dp.staffHeaders('manager'), 200],
  ] as const)('PATCH settings with %s → %i', async (_name, headers, status) => {
    const response = await dp.app.inject({
      method: 'PATCH',
      url: '/api/admin/settings',
      headers: await headers(),
      payload: { display_name: 'X' },
    });
    expect(response.statusCode).toBe(status);
  });
});

/** The same claims with the signature stripped and alg "none". */
function unsigned(token: string): string {
  const [, payload] = token.split('.');
  return `${Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url')}.${payload}.`;
}
