import { and, desc, eq } from 'drizzle-orm';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { users } from '../accounts/schema.ts';
import { currentTotpCode } from '../accounts/totp.ts';
import {
  PASSWORD,
  type SignedIn,
  startTestControlPlane,
  type TestControlPlane,
  uniqueEmail,
} from '../testing/harness.ts';
import { auditLog } from './schema.ts';

type AuditRow = typeof auditLog.$inferSelect;

let cp: TestControlPlane;
let owner: SignedIn;
let manager: SignedIn;
let support: SignedIn;
let developer: SignedIn;
let seller: SignedIn;
let admin: SignedIn & { totpSecret: string };

/** Every token, password and TOTP secret the tests handle; none may ever reach the audit log. */
const secretsSeen = new Set<string>([PASSWORD]);

beforeAll(async () => {
  cp = await startTestControlPlane();
  [owner, manager, support, developer, seller, admin] = await Promise.all([
    cp.register('owner'),
    cp.register('manager'),
    cp.register('support'),
    cp.register('developer'),
    cp.register('seller'),
    cp.admin(),
  ]);
  for (const session of [owner, manager, support, developer, seller, admin]) secretsSeen.add(session.token);
  secretsSeen.add(admin.totpSecret);
});
afterAll(() => cp?.close());

async function call(
  method: string,
  url: string,
  as?: SignedIn | null,
  payload?: InjectOptions['payload'],
): Promise<LightMyRequestResponse> {
  return cp.app.inject({
    method: method as InjectOptions['method'],
    url,
    ...(as ? { headers: as.headers } : {}),
    ...(payload === undefined ? {} : { payload }),
  });
}

async function ok(response: Promise<LightMyRequestResponse>, status: number) {
  const settled = await response;
  if (settled.statusCode !== status) throw new Error(`expected ${status}: ${settled.body}`);
  return settled;
}

const freshSlug = () => `a-${uniqueEmail('s').split('@')[0]}`.toLowerCase();

/** An active tenant owned by `owner` in which manager, support and developer hold those roles. */
async function freshTenant(): Promise<string> {
  const tenant = await cp.activeTenant(owner, admin);
  await cp.grant(tenant.id, owner, manager, 'manager');
  await cp.grant(tenant.id, owner, support, 'support');
  await cp.grant(tenant.id, owner, developer, 'developer');
  return tenant.id;
}

async function adminCreatedTenant(): Promise<string> {
  const created = await ok(
    call('POST', '/admin/tenants', admin, {
      slug: freshSlug(),
      display_name: 'Admin-made shop',
      tier: 'hosted_seller',
      owner_email: seller.email,
    }),
    201,
  );
  return created.json().id;
}

/** A fresh session for `email`, with its refresh token (login responses carry both). */
async function loginWithRefresh(email: string) {
  const response = await ok(call('POST', '/auth/login', null, { email, password: PASSWORD }), 200);
  const body = response.json();
  secretsSeen.add(body.access_token).add(body.refresh_token);
  return {
    id: body.user.id as string,
    email,
    token: body.access_token as string,
    refreshToken: body.refresh_token as string,
    headers: { authorization: `Bearer ${body.access_token}` },
  };
}

async function enrol(session: SignedIn): Promise<string> {
  const response = await ok(call('POST', '/auth/mfa/enrol', session), 200);
  const secret = response.json().secret as string;
  secretsSeen.add(secret);
  return secret;
}

interface MutationCase {
  as?: SignedIn | null;
  params?: Record<string, string>;
  payload?: InjectOptions['payload'];
  status: number;
  /** What the newest audit row must say, given the response. */
  row: (response: LightMyRequestResponse) => Partial<AuditRow>;
}

/** One successful call per mutation route, with the audit row it must leave behind. */
const cases: Record<string, () => Promise<MutationCase>> = {
  'POST /auth/register': async () => ({
    payload: { email: uniqueEmail('audit'), password: PASSWORD, display_name: 'New seller' },
    status: 201,
    row: (response) => ({
      action: 'account.registered',
      actorId: response.json().user.id,
      tenantId: null,
      targetType: 'user',
      targetId: response.json().user.id,
    }),
  }),
  'POST /auth/login': async () => ({
    payload: { email: seller.email, password: PASSWORD },
    status: 200,
    row: () => ({ action: 'auth.login', actorId: seller.id, tenantId: null, targetType: 'session' }),
  }),
  'POST /auth/refresh': async () => {
    const session = await loginWithRefresh(seller.email);
    return {
      payload: { refresh_token: session.refreshToken },
      status: 200,
      row: () => ({
        action: 'auth.token_refreshed',
        actorId: seller.id,
        tenantId: null,
        targetType: 'session',
      }),
    };
  },
  'POST /auth/logout': async () => ({
    as: await loginWithRefresh(seller.email),
    status: 204,
    row: () => ({ action: 'auth.logout', actorId: seller.id, tenantId: null, targetType: 'session' }),
  }),
  'POST /auth/mfa/enrol': async () => {
    const user = await cp.register('enrol');
    return {
      as: user,
      status: 200,
      row: (response) => {
        secretsSeen.add(response.json().secret);
        return { action: 'mfa.enrolment_started', actorId: user.id, tenantId: null, targetId: user.id };
      },
    };
  },
  'POST /auth/mfa/enrol/confirm': async () => {
    const user = await cp.register('confirm');
    const secret = await enrol(user);
    return {
      as: user,
      payload: { code: currentTotpCode(secret) },
      status: 204,
      row: () => ({ action: 'mfa.enabled', actorId: user.id, tenantId: null, targetId: user.id }),
    };
  },
  'POST /auth/mfa/challenge': async () => {
    const fresh = await cp.admin();
    secretsSeen.add(fresh.totpSecret);
    return {
      as: fresh,
      // The harness used the current step; the next one is not a replay.
      payload: { code: currentTotpCode(fresh.totpSecret, Date.now() + 30_000) },
      status: 204,
      row: () => ({ action: 'mfa.verified', actorId: fresh.id, actorRole: 'admin', tenantId: null }),
    };
  },

  'POST /tenants': async () => ({
    as: seller,
    payload: { slug: freshSlug(), display_name: 'Requested shop', tier: 'hosted_seller' },
    status: 201,
    row: (response) => ({
      action: 'tenant.requested',
      actorId: seller.id,
      tenantId: response.json().id,
      targetId: response.json().id,
    }),
  }),
  'PATCH /tenants/:tenantId': async () => {
    const tenantId = await freshTenant();
    return {
      as: manager,
      params: { tenantId },
      payload: { display_name: 'Renamed shop' },
      status: 200,
      row: () => ({
        action: 'tenant.settings_updated',
        actorId: manager.id,
        tenantId,
        before: expect.objectContaining({ display_name: 'Test shop' }),
        after: expect.objectContaining({ display_name: 'Renamed shop' }),
      }),
    };
  },
  'POST /tenants/:tenantId/members': async () => {
    const tenantId = await freshTenant();
    return {
      as: owner,
      params: { tenantId },
      payload: { email: seller.email, role: 'finance' },
      status: 201,
      row: () => ({
        action: 'tenant_role.granted',
        actorId: owner.id,
        tenantId,
        targetId: seller.id,
        after: expect.objectContaining({ user_id: seller.id, role: 'finance' }),
      }),
    };
  },
  'PATCH /tenants/:tenantId/members/:userId': async () => {
    const tenantId = await freshTenant();
    return {
      as: manager,
      params: { tenantId, userId: developer.id },
      payload: { role: 'support' },
      status: 200,
      row: () => ({
        action: 'tenant_role.changed',
        actorId: manager.id,
        tenantId,
        targetId: developer.id,
        before: expect.objectContaining({ role: 'developer' }),
        after: expect.objectContaining({ role: 'support' }),
      }),
    };
  },
  'DELETE /tenants/:tenantId/members/:userId': async () => {
    const tenantId = await freshTenant();
    return {
      as: owner,
      params: { tenantId, userId: support.id },
      status: 204,
      row: () => ({
        action: 'tenant_role.revoked',
        actorId: owner.id,
        tenantId,
        targetId: support.id,
        before: expect.objectContaining({ role: 'support' }),
      }),
    };
  },
  'POST /tenants/:tenantId/ownership': async () => {
    const tenantId = await freshTenant();
    return {
      as: owner,
      params: { tenantId },
      payload: { user_id: manager.id },
      status: 200,
      row: () => ({
        action: 'tenant.ownership_transferred',
        actorId: owner.id,
        tenantId,
        before: { owner_id: owner.id },
        after: { owner_id: manager.id },
      }),
    };
  },

  'POST /tenants/:tenantId/data-plane-token': async () => {
    const tenantId = await freshTenant();
    return {
      as: owner,
      params: { tenantId },
      status: 201,
      row: () => ({
        action: 'data_plane.token_issued',
        actorId: owner.id,
        tenantId,
        targetId: tenantId,
        after: expect.objectContaining({ role: 'owner' }),
      }),
    };
  },

  'POST /admin/tenants': async () => ({
    as: admin,
    payload: {
      slug: freshSlug(),
      display_name: 'Admin-made shop',
      tier: 'hosted_seller',
      owner_email: seller.email,
    },
    status: 201,
    row: (response) => ({
      action: 'tenant.created',
      actorId: admin.id,
      actorRole: 'admin',
      tenantId: response.json().id,
    }),
  }),
  'POST /admin/tenants/:tenantId/approve': async () => {
    const requested = await ok(
      call('POST', '/tenants', seller, { slug: freshSlug(), display_name: 'Pending', tier: 'hosted_seller' }),
      201,
    );
    const tenantId = requested.json().id as string;
    return {
      as: admin,
      params: { tenantId },
      status: 200,
      row: () => ({
        action: 'tenant.approve',
        actorId: admin.id,
        tenantId,
        before: { status: 'pending', status_reason: null },
        after: { status: 'active', status_reason: null },
      }),
    };
  },
  'POST /admin/tenants/:tenantId/suspend': async () => {
    const tenantId = await adminCreatedTenant();
    return {
      as: admin,
      params: { tenantId },
      payload: { reason: 'Chargebacks under review' },
      status: 200,
      row: () => ({
        action: 'tenant.suspend',
        actorId: admin.id,
        tenantId,
        reason: 'Chargebacks under review',
        after: { status: 'suspended', status_reason: 'Chargebacks under review' },
      }),
    };
  },
  'POST /admin/tenants/:tenantId/reactivate': async () => {
    const tenantId = await adminCreatedTenant();
    await ok(call('POST', `/admin/tenants/${tenantId}/suspend`, admin, { reason: 'Chargebacks' }), 200);
    return {
      as: admin,
      params: { tenantId },
      payload: { reason: 'Resolved' },
      status: 200,
      row: () => ({
        action: 'tenant.reactivate',
        actorId: admin.id,
        tenantId,
        before: { status: 'suspended', status_reason: 'Chargebacks' },
        after: { status: 'active', status_reason: 'Resolved' },
      }),
    };
  },
  'POST /admin/tenants/:tenantId/close': async () => {
    const tenantId = await adminCreatedTenant();
    return {
      as: admin,
      params: { tenantId },
      status: 200,
      row: () => ({
        action: 'tenant.close',
        actorId: admin.id,
        tenantId,
        after: { status: 'closed', status_reason: null },
      }),
    };
  },
};

async function platformRole(userId: string | null): Promise<string | null> {
  if (userId === null) return null;
  const [user] = await cp.db.select({ role: users.role }).from(users).where(eq(users.id, userId));
  return user?.role ?? null;
}

const newestRow = async (): Promise<AuditRow | undefined> =>
  (await cp.db.select().from(auditLog).orderBy(desc(auditLog.id)).limit(1))[0];

describe('every mutation writes exactly one audit row', () => {
  it('has a case for every mutating route the app registers, and no others', () => {
    const mutations = cp.app.routeTable
      .filter((route) => route.method !== 'GET' && route.method !== 'HEAD')
      .map((route) => `${route.method} ${route.url}`)
      .sort();
    expect(mutations.length).toBeGreaterThan(10);
    expect(Object.keys(cases).sort()).toEqual(mutations);
  });

  for (const [route, build] of Object.entries(cases)) {
    it(route, async () => {
      const [method = '', template = ''] = route.split(' ');
      const { as, params = {}, payload, status, row } = await build();
      const url = template.replace(/:(\w+)/g, (_, name: string) => {
        const value = params[name];
        if (!value) throw new Error(`no value for :${name}`);
        return value;
      });
      const before = await cp.auditCount();
      const response = await call(method, url, as, payload);
      expect(response.statusCode, response.body).toBe(status);
      expect(await cp.auditCount()).toBe(before + 1);
      const requestId = response.headers['x-request-id'];
      expect(requestId).toEqual(expect.any(String));
      const newest = await newestRow();
      expect(newest).toMatchObject({ ...row(response), requestId });
      // The role recorded is the actor's own platform role.
      expect(newest?.actorRole).toBe(await platformRole(newest?.actorId ?? null));
    });
  }

  it("records the actor's own role, not that of a session the caller happens to send", async () => {
    // An admin's bearer token rides along on calls where the actor is someone else.
    const registered = await ok(
      call('POST', '/auth/register', admin, {
        email: uniqueEmail('bystander'),
        password: PASSWORD,
        display_name: 'Bystander',
      }),
      201,
    );
    expect(await newestRow()).toMatchObject({
      action: 'account.registered',
      actorId: registered.json().user.id,
      actorRole: 'seller',
    });
    const login = await ok(
      call('POST', '/auth/login', admin, { email: seller.email, password: PASSWORD }),
      200,
    );
    secretsSeen.add(login.json().access_token).add(login.json().refresh_token);
    expect(await newestRow()).toMatchObject({
      action: 'auth.login',
      actorId: seller.id,
      actorRole: 'seller',
    });
    await ok(call('POST', '/auth/refresh', admin, { refresh_token: login.json().refresh_token }), 200);
    expect(await newestRow()).toMatchObject({
      action: 'auth.token_refreshed',
      actorId: seller.id,
      actorRole: 'seller',
    });
    expect(
      await call('POST', '/auth/login', admin, { email: seller.email, password: 'wrong password' }),
    ).toMatchObject({ statusCode: 401 });
    expect(await newestRow()).toMatchObject({ action: 'auth.login_failed', actorId: null, actorRole: null });
    // And an admin signing in is recorded as an admin, though the request carried no session.
    const adminLogin = await loginWithRefresh(admin.email);
    expect(await newestRow()).toMatchObject({
      action: 'auth.login',
      actorId: adminLogin.id,
      actorRole: 'admin',
    });
  });

  it('no audit row carries a password, token or TOTP secret seen in these calls', async () => {
    expect(secretsSeen.size).toBeGreaterThan(10);
    for (const secret of secretsSeen) {
      const { rows } = await cp.pool.query(
        `SELECT id FROM audit_log WHERE concat_ws(' ', before::text, after::text, reason, target_id) LIKE '%' || $1 || '%'`,
        [secret],
      );
      expect(rows, 'a secret was written to the audit log').toEqual([]);
    }
  });
});

describe('the audit log is append-only', () => {
  it('refuses UPDATE, DELETE and TRUNCATE at the database, leaving the row as it was', async () => {
    const row = await newestRow();
    if (!row) throw new Error('no audit rows');
    await expect(
      cp.pool.query(`UPDATE audit_log SET action = 'tampered' WHERE id = $1`, [row.id]),
    ).rejects.toThrow(/append-only/);
    await expect(cp.pool.query('DELETE FROM audit_log WHERE id = $1', [row.id])).rejects.toThrow(
      /append-only/,
    );
    await expect(cp.pool.query('TRUNCATE audit_log')).rejects.toThrow(/append-only/);
    expect(await newestRow()).toEqual(row);
  });
});

describe('GET /admin/audit', () => {
  let tenantA: string;
  let tenantB: string;

  beforeAll(async () => {
    tenantA = await freshTenant();
    tenantB = await freshTenant();
    // Five more rows in tenant A by the manager, one in tenant B.
    for (const name of ['One', 'Two', 'Three', 'Four', 'Five']) {
      await ok(call('PATCH', `/tenants/${tenantA}`, manager, { display_name: name }), 200);
    }
    await ok(call('PATCH', `/tenants/${tenantB}`, manager, { display_name: 'Other' }), 200);
  });

  async function query(search: Record<string, string | number>) {
    const qs = new URLSearchParams(Object.entries(search).map(([k, v]): [string, string] => [k, String(v)]));
    const response = await call('GET', `/admin/audit?${qs}`, admin);
    expect(response.statusCode, response.body).toBe(200);
    return response.json() as {
      items: { id: number; tenant_id: string | null; actor_id: string | null; action: string }[];
      next_before_id: number | null;
    };
  }

  const idsWhere = async (condition: ReturnType<typeof and>) =>
    (await cp.db.select({ id: auditLog.id }).from(auditLog).where(condition).orderBy(desc(auditLog.id))).map(
      (row) => row.id,
    );

  it('filters by tenant_id', async () => {
    const page = await query({ tenant_id: tenantA, limit: 200 });
    expect(page.items.map((item) => item.id)).toEqual(await idsWhere(eq(auditLog.tenantId, tenantA)));
    // Requested, approved, three grants, five setting changes.
    expect(page.items).toHaveLength(10);
    expect(page.items.every((item) => item.tenant_id === tenantA)).toBe(true);
    expect(page.next_before_id).toBeNull();
  });

  it('filters by actor_id', async () => {
    const page = await query({ actor_id: manager.id, limit: 200 });
    expect(page.items.map((item) => item.id)).toEqual(await idsWhere(eq(auditLog.actorId, manager.id)));
    expect(page.items.length).toBeGreaterThanOrEqual(6);
    expect(page.items.every((item) => item.actor_id === manager.id)).toBe(true);
  });

  it('filters by action, and combines filters', async () => {
    const page = await query({ action: 'tenant.settings_updated', limit: 200 });
    expect(page.items.map((item) => item.id)).toEqual(
      await idsWhere(eq(auditLog.action, 'tenant.settings_updated')),
    );
    expect(page.items.every((item) => item.action === 'tenant.settings_updated')).toBe(true);
    const both = await query({ action: 'tenant.settings_updated', tenant_id: tenantB });
    expect(both.items).toHaveLength(1);
    expect(both.items[0]).toMatchObject({ tenant_id: tenantB, actor_id: manager.id });
    const none = await query({ action: 'tenant.settings_updated', tenant_id: tenantB, actor_id: owner.id });
    expect(none.items).toEqual([]);
  });

  it('pages newest first with before_id / next_before_id, without gaps or repeats', async () => {
    const all = await idsWhere(
      and(eq(auditLog.tenantId, tenantA), eq(auditLog.action, 'tenant.settings_updated')),
    );
    expect(all).toHaveLength(5);
    const seen: number[] = [];
    const pages: number[] = [];
    let before: number | null = null;
    do {
      const page = await query({
        tenant_id: tenantA,
        action: 'tenant.settings_updated',
        limit: 2,
        ...(before === null ? {} : { before_id: before }),
      });
      seen.push(...page.items.map((item) => item.id));
      pages.push(page.items.length);
      before = page.next_before_id;
      if (before !== null) expect(before).toBe(page.items.at(-1)?.id);
    } while (before !== null && pages.length < 10);
    expect(pages).toEqual([2, 2, 1]);
    expect(seen).toEqual(all);
  });
});
