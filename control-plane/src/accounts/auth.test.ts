import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD, startTestControlPlane, type TestControlPlane, uniqueEmail } from '../testing/harness.ts';
import { sessions } from './schema.ts';
import { currentTotpCode } from './totp.ts';

let cp: TestControlPlane;
beforeAll(async () => {
  cp = await startTestControlPlane();
});
afterAll(() => cp.close());

const login = (email: string, password: string, ip = '10.0.0.1') =>
  cp.app.inject({ method: 'POST', url: '/auth/login', payload: { email, password }, remoteAddress: ip });

describe('sign-in', () => {
  it('refuses a wrong password with 401 problem+json', async () => {
    const seller = await cp.register();
    const response = await login(seller.email, 'not the password at all');
    expect(response.statusCode).toBe(401);
    expect(response.headers['content-type']).toContain('application/problem+json');
    expect(response.json()).toMatchObject({ type: '/problems/invalid-credentials', status: 401 });
  });

  it('sets HttpOnly, Secure, SameSite cookies and an access token living at most an hour', async () => {
    const seller = await cp.register();
    const response = await login(seller.email, PASSWORD);
    expect(response.statusCode).toBe(200);
    const expiresIn = new Date(response.json().expires_at).getTime() - Date.now();
    expect(expiresIn).toBeLessThanOrEqual(3600_000);
    expect(expiresIn).toBeGreaterThan(3500_000);
    const cookies = response.cookies;
    const session = cookies.find((c) => c.name === '__Host-session');
    expect(session).toMatchObject({ httpOnly: true, secure: true, sameSite: 'Lax', path: '/' });
    const me = await cp.app.inject({
      method: 'GET',
      url: '/auth/me',
      cookies: { '__Host-session': session?.value ?? '' },
    });
    expect(me.json().user.email).toBe(seller.email);
  });

  it('locks an account out after 10 failures in an hour, even with the right password', async () => {
    const seller = await cp.register();
    for (let i = 0; i < 10; i++)
      expect((await login(seller.email, 'wrong password!', `10.1.0.${i}`)).statusCode).toBe(401);
    const locked = await login(seller.email, PASSWORD, '10.1.1.1');
    expect(locked.statusCode).toBe(429);
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(3000);
  });

  it('limits failures per IP across accounts', async () => {
    const ip = '10.2.0.1';
    for (let i = 0; i < 10; i++)
      expect((await login(uniqueEmail('nobody'), 'wrong password!', ip)).statusCode).toBe(401);
    const seller = await cp.register();
    expect((await login(seller.email, PASSWORD, ip)).statusCode).toBe(429);
    expect((await login(seller.email, PASSWORD, '10.2.0.2')).statusCode).toBe(200);
  });

  it('counts concurrent failures exactly: never more than 10 get through', async () => {
    const seller = await cp.register();
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => login(seller.email, 'wrong password!', `10.3.0.${i}`)),
    );
    expect(results.filter((r) => r.statusCode === 401)).toHaveLength(10);
    expect(results.filter((r) => r.statusCode === 429)).toHaveLength(10);
  });

  it('refuses an expired access token', async () => {
    const seller = await cp.register();
    await cp.db
      .update(sessions)
      .set({ accessExpiresAt: new Date(Date.now() - 1000) })
      .where(eq(sessions.userId, seller.id));
    const me = await cp.app.inject({ method: 'GET', url: '/auth/me', headers: seller.headers });
    expect(me.statusCode).toBe(401);
  });

  it('checks who is calling before it checks the input: anonymous gets 401, not the validation rules', async () => {
    const anonymous = await cp.app.inject({
      method: 'POST',
      url: '/tenants',
      payload: { slug: 'NOT A SLUG' },
    });
    expect(anonymous.statusCode).toBe(401);
    const seller = await cp.register();
    const signedIn = await cp.app.inject({
      method: 'POST',
      url: '/tenants',
      headers: seller.headers,
      payload: { slug: 'NOT A SLUG' },
    });
    expect(signedIn.statusCode).toBe(400);
    const admin = await cp.app.inject({
      method: 'GET',
      url: '/admin/audit?limit=0',
      headers: seller.headers,
    });
    expect(admin.statusCode).toBe(403);
  });

  it('logout invalidates the session', async () => {
    const seller = await cp.register();
    expect(
      (await cp.app.inject({ method: 'POST', url: '/auth/logout', headers: seller.headers })).statusCode,
    ).toBe(204);
    expect(
      (await cp.app.inject({ method: 'GET', url: '/auth/me', headers: seller.headers })).statusCode,
    ).toBe(401);
  });

  it('refresh rotates the pair: the old refresh token stops working', async () => {
    const seller = await cp.register();
    const first = await login(seller.email, PASSWORD);
    const refreshToken = first.json().refresh_token;
    const refreshed = await cp.app.inject({
      method: 'POST',
      url: '/auth/refresh',
      payload: { refresh_token: refreshToken },
    });
    expect(refreshed.statusCode).toBe(200);
    const again = await cp.app.inject({
      method: 'POST',
      url: '/auth/refresh',
      payload: { refresh_token: refreshToken },
    });
    expect(again.statusCode).toBe(401);
    const oldAccess = await cp.app.inject({
      method: 'GET',
      url: '/auth/me',
      headers: { authorization: `Bearer ${first.json().access_token}` },
    });
    expect(oldAccess.statusCode).toBe(401);
    const newAccess = await cp.app.inject({
      method: 'GET',
      url: '/auth/me',
      headers: { authorization: `Bearer ${refreshed.json().access_token}` },
    });
    expect(newAccess.statusCode).toBe(200);
  });
});

describe('MFA', () => {
  it('platform-admin operations require a recent MFA check', async () => {
    const admin = await cp.admin();
    const fresh = await cp.login(admin.email);
    // A new session of an MFA-enrolled account owes its challenge before anything else.
    const pending = await cp.app.inject({ method: 'GET', url: '/admin/tenants', headers: fresh.headers });
    expect(pending.statusCode).toBe(403);
    expect(pending.json().type).toBe('/problems/mfa-required');
    const challenge = await cp.app.inject({
      method: 'POST',
      url: '/auth/mfa/challenge',
      headers: fresh.headers,
      payload: { code: currentTotpCode(admin.totpSecret, Date.now() + 30_000) },
    });
    expect(challenge.statusCode).toBe(204);
    expect(
      (await cp.app.inject({ method: 'GET', url: '/admin/tenants', headers: fresh.headers })).statusCode,
    ).toBe(200);
    // Once the check is older than ADMIN_MFA_MAX_AGE_SECONDS, admin operations are refused again.
    await cp.db
      .update(sessions)
      .set({ mfaVerifiedAt: new Date(Date.now() - (cp.config.ADMIN_MFA_MAX_AGE_SECONDS + 1) * 1000) })
      .where(eq(sessions.userId, admin.id));
    const stale = await cp.app.inject({ method: 'GET', url: '/admin/tenants', headers: fresh.headers });
    expect(stale.statusCode).toBe(403);
  });

  it('refuses a replayed TOTP code', async () => {
    const admin = await cp.admin();
    const session = await cp.login(admin.email);
    const code = currentTotpCode(admin.totpSecret, Date.now() - 30_000);
    const first = await cp.app.inject({
      method: 'POST',
      url: '/auth/mfa/challenge',
      headers: session.headers,
      payload: { code },
    });
    // The harness already used the current step, so an older step is a replay.
    expect(first.statusCode).toBe(401);
  });

  it('a seller enrols TOTP, and later sessions must pass the challenge', async () => {
    const seller = await cp.register();
    const enrol = await cp.app.inject({ method: 'POST', url: '/auth/mfa/enrol', headers: seller.headers });
    expect(enrol.statusCode).toBe(200);
    const { secret, otpauth_uri } = enrol.json();
    expect(otpauth_uri).toMatch(/^otpauth:\/\/totp\//);
    const wrong = await cp.app.inject({
      method: 'POST',
      url: '/auth/mfa/enrol/confirm',
      headers: seller.headers,
      payload: { code: '000000' },
    });
    expect(wrong.statusCode).toBe(401);
    const confirm = await cp.app.inject({
      method: 'POST',
      url: '/auth/mfa/enrol/confirm',
      headers: seller.headers,
      payload: { code: currentTotpCode(secret) },
    });
    expect(confirm.statusCode).toBe(204);
    const next = await cp.login(seller.email);
    expect((await cp.app.inject({ method: 'GET', url: '/tenants', headers: next.headers })).statusCode).toBe(
      403,
    );
    const me = await cp.app.inject({ method: 'GET', url: '/auth/me', headers: next.headers });
    expect(me.json().session.mfa_pending).toBe(true);
  });
});
