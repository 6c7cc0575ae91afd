import { createLocalJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestControlPlane, type TestControlPlane } from '../testing/harness.ts';
import { STAFF_TOKEN_ISSUER, STAFF_TOKEN_TTL_SECONDS } from './signing.ts';

let cp: TestControlPlane;
beforeAll(async () => {
  cp = await startTestControlPlane();
});
afterAll(() => cp.close());

describe('staff tokens for data planes', () => {
  it("issues a short-lived token for the caller's tenant role, verifiable with the published JWKS", async () => {
    const admin = await cp.admin();
    const owner = await cp.register('owner');
    const finance = await cp.register('finance');
    const tenant = await cp.activeTenant(owner, admin);
    await cp.grant(tenant.id, owner, finance, 'finance');

    const response = await cp.app.inject({
      method: 'POST',
      url: `/tenants/${tenant.id}/data-plane-token`,
      headers: finance.headers,
    });
    expect(response.statusCode).toBe(201);
    const { token, role, expires_at } = response.json();
    expect(role).toBe('finance');
    expect(new Date(expires_at).getTime() - Date.now()).toBeLessThanOrEqual(STAFF_TOKEN_TTL_SECONDS * 1000);

    const jwks = (await cp.app.inject('/.well-known/jwks.json')).json();
    expect(jwks.keys[0]).not.toHaveProperty('d');
    const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(jwks), {
      issuer: STAFF_TOKEN_ISSUER,
      audience: `tenant:${tenant.id}`,
    });
    expect(protectedHeader.alg).toBe('EdDSA');
    expect(payload).toMatchObject({ sub: finance.id, role: 'finance' });
    await expect(
      jwtVerify(token, createLocalJWKSet(jwks), {
        issuer: STAFF_TOKEN_ISSUER,
        audience: 'tenant:someone-else',
      }),
    ).rejects.toThrow();
  });

  it('is refused to non-members (404) and for tenants that are not active (409)', async () => {
    const admin = await cp.admin();
    const owner = await cp.register('owner');
    const stranger = await cp.register('stranger');
    const tenant = await cp.activeTenant(owner, admin);
    const url = `/tenants/${tenant.id}/data-plane-token`;
    expect((await cp.app.inject({ method: 'POST', url, headers: stranger.headers })).statusCode).toBe(404);
    expect((await cp.app.inject({ method: 'POST', url, headers: admin.headers })).statusCode).toBe(404);
    await cp.app.inject({
      method: 'POST',
      url: `/admin/tenants/${tenant.id}/suspend`,
      headers: admin.headers,
      payload: { reason: 'chargebacks' },
    });
    const suspended = await cp.app.inject({ method: 'POST', url, headers: owner.headers });
    expect(suspended.statusCode).toBe(409);
    expect(suspended.json().type).toBe('/problems/tenant-not-active');
  });
});
