import { and, desc, eq } from 'drizzle-orm';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { currentTotpCode } from '../accounts/totp.ts';
import { auditLog } from '../audit/schema.ts';
import { ACCESS_REASON_HEADER } from '../tenant-roles/guard.ts';
import {
  PASSWORD,
  type SignedIn,
  startTestControlPlane,
  type TestControlPlane,
  uniqueEmail,
} from '../testing/harness.ts';

/**
 * Who may call what: every route the app registers × every kind of caller → the status the
 * caller gets. Each request is valid (real ids, well-formed bodies), so the status reflects
 * authorization, not validation. A route missing from the table fails the coverage test.
 */

const actors = [
  'anonymous',
  'seller',
  'otherOwner',
  'owner',
  'manager',
  'finance',
  'support',
  'developer',
  'admin',
  'adminWithReason',
] as const;
type ActorName = (typeof actors)[number];

// Columns, in the order of `actors`:
//   anon: no credentials · seller: an account with no role in the tenant · other: the owner of
//   another tenant · owner…dev: the tenant's roles · admin: a platform admin with a recent MFA
//   check · +reason: the same admin sending an x-access-reason header.
// biome-ignore format: the matrix reads as a table
const matrix: Record<string, readonly number[]> = {
  //                                             anon seller other owner mgr  fin  sup  dev  admin +reason
  'GET /healthz':                               [200, 200,  200,  200,  200, 200, 200, 200, 200,  200],
  'GET /readyz':                                [200, 200,  200,  200,  200, 200, 200, 200, 200,  200],
  'GET /metrics':                               [200, 200,  200,  200,  200, 200, 200, 200, 200,  200],
  'GET /openapi.json':                          [200, 200,  200,  200,  200, 200, 200, 200, 200,  200],

  'POST /auth/register':                        [201, 201,  201,  201,  201, 201, 201, 201, 201,  201],
  'POST /auth/login':                           [200, 200,  200,  200,  200, 200, 200, 200, 200,  200],
  'POST /auth/refresh':                         [200, 200,  200,  200,  200, 200, 200, 200, 200,  200],
  'POST /auth/logout':                          [401, 204,  204,  204,  204, 204, 204, 204, 204,  204],
  'GET /auth/me':                               [401, 200,  200,  200,  200, 200, 200, 200, 200,  200],
  'POST /auth/mfa/enrol':                       [401, 200,  200,  200,  200, 200, 200, 200, 200,  200],
  'POST /auth/mfa/enrol/confirm':               [401, 204,  204,  204,  204, 204, 204, 204, 204,  204],
  'POST /auth/mfa/challenge':                   [401, 204,  204,  204,  204, 204, 204, 204, 204,  204],

  'GET /tenants':                               [401, 200,  200,  200,  200, 200, 200, 200, 200,  200],
  'POST /tenants':                              [401, 201,  201,  201,  201, 201, 201, 201, 201,  201],
  'GET /tenants/:tenantId':                     [401, 404,  404,  200,  200, 200, 200, 200, 400,  200],
  'PATCH /tenants/:tenantId':                   [401, 404,  404,  200,  200, 403, 403, 403, 404,  404],

  'GET /tenants/:tenantId/members':             [401, 404,  404,  200,  200, 403, 403, 403, 400,  200],
  'POST /tenants/:tenantId/members':            [401, 404,  404,  201,  201, 403, 403, 403, 404,  404],
  'PATCH /tenants/:tenantId/members/:userId':   [401, 404,  404,  200,  200, 403, 403, 403, 404,  404],
  'DELETE /tenants/:tenantId/members/:userId':  [401, 404,  404,  204,  204, 403, 403, 403, 404,  404],
  'POST /tenants/:tenantId/ownership':          [401, 404,  404,  200,  403, 403, 403, 403, 404,  404],
  'POST /tenants/:tenantId/data-plane-token':   [401, 404,  404,  201,  201, 201, 201, 201, 404,  404],
  'GET /.well-known/jwks.json':                 [200, 200,  200,  200,  200, 200, 200, 200, 200,  200],

  'GET /admin/tenants':                         [401, 403,  403,  403,  403, 403, 403, 403, 200,  200],
  'POST /admin/tenants':                        [401, 403,  403,  403,  403, 403, 403, 403, 201,  201],
  'POST /admin/tenants/:tenantId/approve':      [401, 403,  403,  403,  403, 403, 403, 403, 200,  200],
  'POST /admin/tenants/:tenantId/suspend':      [401, 403,  403,  403,  403, 403, 403, 403, 200,  200],
  'POST /admin/tenants/:tenantId/reactivate':   [401, 403,  403,  403,  403, 403, 403, 403, 200,  200],
  'POST /admin/tenants/:tenantId/close':        [401, 403,  403,  403,  403, 403, 403, 403, 200,  200],
  'GET /admin/audit':                           [401, 403,  403,  403,  403, 403, 403, 403, 200,  200],
  'GET /admin/cluster':                         [401, 403,  403,  403,  403, 403, 403, 403, 200,  200],
};

const REASON = 'Support ticket 4711: the owner asked us to look';

type Member = Exclude<ActorName, 'anonymous' | 'adminWithReason'>;
type Session = SignedIn & { totpSecret?: string };

interface Call {
  /** Values for the `:name` parts of the route's URL. */
  params?: Record<string, string>;
  payload?: InjectOptions['payload'];
  /** Calls as this session instead of the actor's shared one (null: no credentials). */
  as?: Session | null;
}

let cp: TestControlPlane;
let sessions: Record<Member, SignedIn>;
/** The target tenant: `owner` owns it and manager, finance, support, developer hold those roles. */
let tenantId: string;

const tenantRolesToGrant = ['manager', 'finance', 'support', 'developer'] as const;

beforeAll(async () => {
  cp = await startTestControlPlane();
  const [seller, otherOwner, owner, manager, finance, support, developer, admin] = await Promise.all([
    cp.register('seller'),
    cp.register('other-owner'),
    cp.register('owner'),
    cp.register('manager'),
    cp.register('finance'),
    cp.register('support'),
    cp.register('developer'),
    cp.admin(),
  ]);
  sessions = { seller, otherOwner, owner, manager, finance, support, developer, admin };
  await cp.activeTenant(otherOwner, admin);
  tenantId = await freshTenant();
});
afterAll(() => cp?.close());

/** An active tenant owned by `owner`, with the shared manager, finance, support and developer sessions. */
async function freshTenant(): Promise<string> {
  const tenant = await cp.activeTenant(sessions.owner, sessions.admin);
  for (const role of tenantRolesToGrant) await cp.grant(tenant.id, sessions.owner, sessions[role], role);
  return tenant.id;
}

const freshSlug = () => `m-${uniqueEmail('s').split('@')[0]}`.toLowerCase();

async function call(method: string, url: string, as?: SignedIn, payload?: InjectOptions['payload']) {
  return cp.app.inject({
    method: method as InjectOptions['method'],
    url,
    ...(as ? { headers: as.headers } : {}),
    ...(payload === undefined ? {} : { payload }),
  });
}

async function expectStatus(promise: ReturnType<typeof call>, status: number) {
  const response = await promise;
  if (response.statusCode !== status) throw new Error(`expected ${status}: ${response.body}`);
  return response;
}

/** A tenant created active by the admin, owned by the shared seller (for the admin transitions). */
async function adminCreatedTenant(): Promise<string> {
  const created = await expectStatus(
    call('POST', '/admin/tenants', sessions.admin, {
      slug: freshSlug(),
      display_name: 'Admin-made shop',
      tier: 'hosted_seller',
      owner_email: sessions.seller.email,
    }),
    201,
  );
  return created.json().id;
}

/**
 * A new account of the given kind with its own session, for calls that change the caller
 * (logout, MFA enrolment). With `mfa`, the account has TOTP enrolled and verified.
 */
async function freshActor(actor: ActorName, options: { mfa?: boolean } = {}): Promise<Session | null> {
  if (actor === 'anonymous') return null;
  if (actor === 'admin' || actor === 'adminWithReason') return cp.admin();
  const session: Session = await cp.register(actor);
  if (actor === 'owner' || actor === 'otherOwner') {
    await cp.activeTenant(session, sessions.admin);
  } else if (actor !== 'seller') {
    const tenant = await cp.activeTenant(sessions.owner, sessions.admin);
    await cp.grant(tenant.id, sessions.owner, session, actor);
  }
  if (options.mfa) {
    const enrol = await expectStatus(call('POST', '/auth/mfa/enrol', session), 200);
    session.totpSecret = enrol.json().secret as string;
    await expectStatus(
      call('POST', '/auth/mfa/enrol/confirm', session, { code: currentTotpCode(session.totpSecret) }),
      204,
    );
  }
  return session;
}

/** A TOTP code for the next time step, so it is never a replay of the one just used. */
const nextCode = (secret: string) => currentTotpCode(secret, Date.now() + 30_000);

const tenantOnly = async (): Promise<Call> => ({ params: { tenantId } });
const nothing = async (): Promise<Call> => ({});

/** How to make a valid request to each route, building fresh state where the call changes it. */
const requests: Record<string, (actor: ActorName) => Promise<Call>> = {
  'GET /healthz': nothing,
  'GET /readyz': nothing,
  'GET /metrics': nothing,
  'GET /openapi.json': nothing,

  'POST /auth/register': async () => ({
    payload: { email: uniqueEmail('matrix'), password: PASSWORD, display_name: 'New seller' },
  }),
  'POST /auth/login': async () => ({ payload: { email: sessions.seller.email, password: PASSWORD } }),
  'POST /auth/refresh': async () => {
    const login = await expectStatus(
      call('POST', '/auth/login', undefined, { email: sessions.seller.email, password: PASSWORD }),
      200,
    );
    return { payload: { refresh_token: login.json().refresh_token } };
  },
  'POST /auth/logout': async (actor) => ({ as: await freshActor(actor) }),
  'GET /auth/me': nothing,
  'POST /auth/mfa/enrol': nothing,
  'POST /auth/mfa/enrol/confirm': async (actor) => {
    const as = await freshActor(actor);
    if (!as) return { as, payload: { code: '123456' } };
    const enrol = await expectStatus(call('POST', '/auth/mfa/enrol', as), 200);
    return { as, payload: { code: nextCode(enrol.json().secret) } };
  },
  'POST /auth/mfa/challenge': async (actor) => {
    const as = await freshActor(actor, { mfa: true });
    return { as, payload: { code: as?.totpSecret ? nextCode(as.totpSecret) : '123456' } };
  },

  'GET /tenants': nothing,
  'POST /tenants': async () => ({
    payload: { slug: freshSlug(), display_name: 'Requested shop', tier: 'hosted_seller' },
  }),
  'GET /tenants/:tenantId': tenantOnly,
  'PATCH /tenants/:tenantId': async () => ({
    params: { tenantId },
    payload: { display_name: 'Renamed shop' },
  }),

  'GET /tenants/:tenantId/members': tenantOnly,
  'POST /tenants/:tenantId/members': async () => ({
    params: { tenantId: await freshTenant() },
    payload: { email: sessions.seller.email, role: 'support' },
  }),
  'PATCH /tenants/:tenantId/members/:userId': async () => ({
    params: { tenantId: await freshTenant(), userId: sessions.developer.id },
    payload: { role: 'finance' },
  }),
  'DELETE /tenants/:tenantId/members/:userId': async () => ({
    params: { tenantId: await freshTenant(), userId: sessions.support.id },
  }),
  'POST /tenants/:tenantId/ownership': async () => ({
    params: { tenantId: await freshTenant() },
    payload: { user_id: sessions.manager.id },
  }),

  'POST /tenants/:tenantId/data-plane-token': tenantOnly,
  'GET /.well-known/jwks.json': nothing,

  'GET /admin/tenants': nothing,
  'POST /admin/tenants': async () => ({
    payload: {
      slug: freshSlug(),
      display_name: 'Admin-made shop',
      tier: 'hosted_seller',
      owner_email: sessions.seller.email,
    },
  }),
  'POST /admin/tenants/:tenantId/approve': async () => {
    const requested = await expectStatus(
      call('POST', '/tenants', sessions.seller, {
        slug: freshSlug(),
        display_name: 'Pending shop',
        tier: 'hosted_seller',
      }),
      201,
    );
    return { params: { tenantId: requested.json().id } };
  },
  'POST /admin/tenants/:tenantId/suspend': async () => ({
    params: { tenantId: await adminCreatedTenant() },
    payload: { reason: 'Chargebacks under review' },
  }),
  'POST /admin/tenants/:tenantId/reactivate': async () => {
    const id = await adminCreatedTenant();
    await expectStatus(
      call('POST', `/admin/tenants/${id}/suspend`, sessions.admin, { reason: 'Chargebacks under review' }),
      200,
    );
    return { params: { tenantId: id } };
  },
  'POST /admin/tenants/:tenantId/close': async () => ({ params: { tenantId: await adminCreatedTenant() } }),
  'GET /admin/audit': nothing,
  'GET /admin/cluster': nothing,
};

function sharedSession(actor: ActorName): SignedIn | null {
  if (actor === 'anonymous') return null;
  return sessions[actor === 'adminWithReason' ? 'admin' : actor];
}

function registeredRoutes(): string[] {
  return cp.app.routeTable
    .filter((route) => route.method !== 'HEAD')
    .map((route) => `${route.method} ${route.url}`)
    .sort();
}

describe('authorization matrix', () => {
  it('has a row and a request for every registered route, and no others', () => {
    const routes = registeredRoutes();
    expect(routes.length).toBeGreaterThan(20);
    expect(Object.keys(matrix).sort()).toEqual(routes);
    expect(Object.keys(requests).sort()).toEqual(routes);
    for (const statuses of Object.values(matrix)) expect(statuses).toHaveLength(actors.length);
  });

  for (const [route, statuses] of Object.entries(matrix)) {
    const [method = '', template = ''] = route.split(' ');
    describe(route, () => {
      for (const [index, actor] of actors.entries()) {
        const status = statuses[index] ?? 0;
        it(`${actor} → ${status}`, async () => {
          const build = requests[route];
          if (!build) throw new Error(`no request builder for ${route}`);
          const { params = {}, payload, as } = await build(actor);
          const url = template.replace(/:(\w+)/g, (_, name: string) => {
            const value = params[name];
            if (!value) throw new Error(`no value for :${name} in ${route}`);
            return value;
          });
          const session = as === undefined ? sharedSession(actor) : as;
          const response = await cp.app.inject({
            method: method as InjectOptions['method'],
            url,
            headers: {
              ...session?.headers,
              ...(actor === 'adminWithReason' ? { [ACCESS_REASON_HEADER]: REASON } : {}),
            },
            ...(payload === undefined ? {} : { payload }),
          });
          expect(response.statusCode, `${actor} ${method} ${url}: ${response.body}`).toBe(status);
          if (status >= 400) expect(response.headers['content-type']).toContain('application/problem+json');
        });
      }
    });
  }
});

describe('platform-admin reads of tenant data', () => {
  const readRows = () =>
    cp.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.action, 'tenant.data_read'), eq(auditLog.tenantId, tenantId)))
      .orderBy(desc(auditLog.id));

  it.each(['/tenants/:tenantId', '/tenants/:tenantId/members'])(
    'GET %s with a reason writes a tenant.data_read audit row carrying it',
    async (template) => {
      const before = (await readRows()).length;
      const response = await cp.app.inject({
        method: 'GET',
        url: template.replace(':tenantId', tenantId),
        headers: { ...sessions.admin.headers, [ACCESS_REASON_HEADER]: `  ${REASON}  ` },
      });
      expect(response.statusCode).toBe(200);
      const rows = await readRows();
      expect(rows).toHaveLength(before + 1);
      expect(rows[0]).toMatchObject({
        action: 'tenant.data_read',
        actorId: sessions.admin.id,
        actorRole: 'admin',
        tenantId,
        targetType: 'tenant',
        targetId: tenantId,
        reason: REASON,
        requestId: response.headers['x-request-id'],
        after: { route: template },
      });
    },
  );

  it('refuses a read without a (long enough) reason and writes no audit row', async () => {
    const before = (await readRows()).length;
    for (const reason of [undefined, 'because', '          ']) {
      const response = await cp.app.inject({
        method: 'GET',
        url: `/tenants/${tenantId}`,
        headers: {
          ...sessions.admin.headers,
          ...(reason === undefined ? {} : { [ACCESS_REASON_HEADER]: reason }),
        },
      });
      expect(response.statusCode, String(reason)).toBe(400);
    }
    expect(await readRows()).toHaveLength(before);
  });

  it('a member reading their own tenant writes no data_read row', async () => {
    const before = (await readRows()).length;
    const response = await call('GET', `/tenants/${tenantId}`, sessions.finance);
    expect(response.statusCode).toBe(200);
    expect(await readRows()).toHaveLength(before);
  });
});
