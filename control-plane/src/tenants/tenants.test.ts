import { asc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog } from '../audit/schema.ts';
import { tenantMembers } from '../tenant-roles/schema.ts';
import { type SignedIn, startTestControlPlane, type TestControlPlane } from '../testing/harness.ts';
import { tenantSorts } from './queries.ts';
import { type TenantStatus, type TenantTier, tenantStatuses, tenants, tenantTiers } from './schema.ts';
import { defaultFeatures, defaultIsolationByTier } from './service.ts';
import { type TenantAction, tenantActions, tenantTransitions } from './status.ts';

interface TenantJson {
  id: string;
  slug: string;
  display_name: string;
  owner_id: string;
  tier: string;
  status: TenantStatus;
  status_reason: string | null;
  isolation_mode: string;
  brand: unknown;
  features: unknown;
  locale: string;
  timezone: string;
  currency: string;
  created_at: string;
  updated_at: string;
  status_changed_at: string;
}

let cp: TestControlPlane;
let admin: SignedIn;
let seller: SignedIn;

beforeAll(async () => {
  cp = await startTestControlPlane();
  [admin, seller] = await Promise.all([cp.admin(), cp.register('seller')]);
});
afterAll(() => cp?.close());

let slugCounter = 0;
const newSlug = (prefix = 'shop') => `${prefix}-${process.pid}-${++slugCounter}`;

const expectProblem = (
  response: { statusCode: number; headers: Record<string, unknown>; json: () => unknown },
  status: number,
  type: string,
) => {
  expect(response.statusCode, JSON.stringify(response.json())).toBe(status);
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(response.json()).toMatchObject({
    status,
    type,
    title: expect.any(String),
    detail: expect.any(String),
  });
};

async function requestTenant(owner: SignedIn, payload: Record<string, unknown> = {}) {
  const response = await cp.app.inject({
    method: 'POST',
    url: '/tenants',
    headers: owner.headers,
    payload: { slug: newSlug(), display_name: 'A shop', tier: 'white_label', ...payload },
  });
  expect(response.statusCode, response.body).toBe(201);
  return response.json() as TenantJson;
}

function act(tenantId: string, action: TenantAction, reason?: string, as: SignedIn = admin) {
  return cp.app.inject({
    method: 'POST',
    url: `/admin/tenants/${tenantId}/${action}`,
    headers: as.headers,
    ...(reason === undefined ? {} : { payload: { reason } }),
  });
}

async function dbTenant(id: string) {
  const [row] = await cp.db.select().from(tenants).where(eq(tenants.id, id));
  return row;
}

async function auditFor(tenantId: string) {
  return cp.db.select().from(auditLog).where(eq(auditLog.tenantId, tenantId)).orderBy(asc(auditLog.id));
}

/** The shortest action sequence from pending to `status`, found in `tenantTransitions` itself. */
function pathTo(status: TenantStatus): TenantAction[] {
  const queue: [TenantStatus, TenantAction[]][] = [['pending', []]];
  const seen = new Set<TenantStatus>(['pending']);
  while (queue.length > 0) {
    const [current, path] = queue.shift() as [TenantStatus, TenantAction[]];
    if (current === status) return path;
    for (const action of tenantActions) {
      const { from, to } = tenantTransitions[action];
      if ((from as readonly TenantStatus[]).includes(current) && !seen.has(to)) {
        seen.add(to);
        queue.push([to, [...path, action]]);
      }
    }
  }
  throw new Error(`${status} is unreachable from pending`);
}

/** A reason for every action (suspend requires one), so only the transition itself can be wrong. */
const reasonFor = (action: TenantAction) => `Test: ${action} for a reason`;

async function tenantIn(status: TenantStatus): Promise<TenantJson> {
  let tenant = await requestTenant(seller);
  for (const action of pathTo(status)) {
    const response = await act(tenant.id, action, reasonFor(action));
    expect(response.statusCode, response.body).toBe(200);
    tenant = response.json();
  }
  expect(tenant.status).toBe(status);
  return tenant;
}

const pairs = tenantStatuses.flatMap((status) => tenantActions.map((action) => ({ status, action })));
const allowed = ({ status, action }: { status: TenantStatus; action: TenantAction }) =>
  (tenantTransitions[action].from as readonly TenantStatus[]).includes(status);
const illegalPairs = pairs.filter((pair) => !allowed(pair));
const legalPairs = pairs.filter(allowed);

describe('requesting a tenant', () => {
  it('a seller requests a tenant: it is pending, with the seller as its one member, the owner', async () => {
    const slug = newSlug('req');
    const auditBefore = await cp.auditCount();
    const tenant = await requestTenant(seller, { slug, display_name: 'Requested shop' });
    expect(tenant).toMatchObject({
      slug,
      display_name: 'Requested shop',
      owner_id: seller.id,
      tier: 'white_label',
      status: 'pending',
      status_reason: null,
      isolation_mode: 'schema',
      brand: null,
      features: defaultFeatures,
      locale: 'en',
      timezone: 'UTC',
      currency: 'USD',
    });
    const row = await dbTenant(tenant.id);
    expect(row).toMatchObject({ slug, status: 'pending', ownerId: seller.id });

    const members = await cp.db.select().from(tenantMembers).where(eq(tenantMembers.tenantId, tenant.id));
    expect(members).toEqual([
      expect.objectContaining({ userId: seller.id, role: 'owner', grantedBy: seller.id }),
    ]);

    expect(await cp.auditCount()).toBe(auditBefore + 1);
    const [entry] = await auditFor(tenant.id);
    expect(entry).toMatchObject({ action: 'tenant.requested', actorId: seller.id, targetId: tenant.id });

    const read = await cp.app.inject({
      method: 'GET',
      url: `/tenants/${tenant.id}`,
      headers: seller.headers,
    });
    expect(read.statusCode).toBe(200);
    expect(read.json()).toEqual(tenant);
  });

  it('a tier implies its isolation mode unless one is asked for', async () => {
    for (const tier of tenantTiers) {
      const tenant = await requestTenant(seller, { tier });
      expect(tenant.isolation_mode).toBe(defaultIsolationByTier[tier]);
    }
    const explicit = await requestTenant(seller, { tier: 'hosted_seller', isolation_mode: 'database' });
    expect(explicit.isolation_mode).toBe('database');
    expect((await dbTenant(explicit.id))?.isolationMode).toBe('database');
  });

  it('a platform admin creates an active tenant for an existing account', async () => {
    const owner = await cp.register('owned');
    const slug = newSlug('adm');
    const response = await cp.app.inject({
      method: 'POST',
      url: '/admin/tenants',
      headers: admin.headers,
      payload: {
        slug,
        display_name: 'Made by ops',
        tier: 'enterprise',
        owner_email: owner.email.toUpperCase(),
      },
    });
    expect(response.statusCode, response.body).toBe(201);
    const tenant = response.json() as TenantJson;
    expect(tenant).toMatchObject({ slug, status: 'active', owner_id: owner.id, isolation_mode: 'database' });
    const members = await cp.db.select().from(tenantMembers).where(eq(tenantMembers.tenantId, tenant.id));
    expect(members).toEqual([
      expect.objectContaining({ userId: owner.id, role: 'owner', grantedBy: admin.id }),
    ]);
    const [entry] = await auditFor(tenant.id);
    expect(entry).toMatchObject({ action: 'tenant.created', actorId: admin.id });
  });

  it('a duplicate slug is refused with 409, whoever asks, and writes nothing', async () => {
    const first = await requestTenant(seller);
    const otherSeller = await cp.register('dup');
    const before = {
      tenants: await cp.rowCount(tenants),
      members: await cp.rowCount(tenantMembers),
      audit: await cp.auditCount(),
    };
    for (const [who, url, payload] of [
      [seller, '/tenants', {}],
      [otherSeller, '/tenants', {}],
      [admin, '/admin/tenants', { owner_email: otherSeller.email }],
    ] as const) {
      const response = await cp.app.inject({
        method: 'POST',
        url,
        headers: who.headers,
        payload: { slug: first.slug, display_name: 'Copycat', tier: 'hosted_seller', ...payload },
      });
      expectProblem(response, 409, '/problems/slug-taken');
      expect(response.json().detail).toContain(first.slug);
    }
    expect({
      tenants: await cp.rowCount(tenants),
      members: await cp.rowCount(tenantMembers),
      audit: await cp.auditCount(),
    }).toEqual(before);
    expect(await dbTenant(first.id)).toMatchObject({ displayName: 'A shop', ownerId: seller.id });
  });

  it('concurrent requests for one slug: exactly one wins', async () => {
    const slug = newSlug('race');
    const sellers = await Promise.all([1, 2, 3, 4, 5].map(() => cp.register('racer')));
    const responses = await Promise.all(
      sellers.map((s) =>
        cp.app.inject({
          method: 'POST',
          url: '/tenants',
          headers: s.headers,
          payload: { slug, display_name: 'Race', tier: 'hosted_seller' },
        }),
      ),
    );
    expect(responses.map((r) => r.statusCode).sort()).toEqual([201, 409, 409, 409, 409]);
    const rows = await cp.db.select().from(tenants).where(eq(tenants.slug, slug));
    expect(rows).toHaveLength(1);
    const members = await cp.db
      .select()
      .from(tenantMembers)
      .where(eq(tenantMembers.tenantId, rows[0]?.id as string));
    expect(members).toHaveLength(1);
  });
});

describe('the status lifecycle', () => {
  it('admin approves, suspends with a reason, reactivates and closes', async () => {
    const tenant = await requestTenant(seller);
    let previousChange = new Date(tenant.status_changed_at).getTime();
    const step = async (action: TenantAction, reason: string | undefined, status: TenantStatus) => {
      const response = await act(tenant.id, action, reason);
      expect(response.statusCode, response.body).toBe(200);
      const body = response.json() as TenantJson;
      expect(body.status).toBe(status);
      expect(body.status_reason).toBe(reason ?? null);
      const changed = new Date(body.status_changed_at).getTime();
      expect(changed).toBeGreaterThan(previousChange);
      previousChange = changed;
      expect(await dbTenant(tenant.id)).toMatchObject({ status, statusReason: reason ?? null });
      const entries = await auditFor(tenant.id);
      expect(entries.at(-1)).toMatchObject({
        action: `tenant.${action}`,
        actorId: admin.id,
        reason: reason ?? null,
        after: { status, status_reason: reason ?? null },
      });
      return body;
    };
    await step('approve', undefined, 'active');
    await step('suspend', 'Chargebacks above the threshold', 'suspended');
    // The owner still sees the reason their shop is suspended.
    const read = await cp.app.inject({
      method: 'GET',
      url: `/tenants/${tenant.id}`,
      headers: seller.headers,
    });
    expect(read.json()).toMatchObject({
      status: 'suspended',
      status_reason: 'Chargebacks above the threshold',
    });
    await step('reactivate', undefined, 'active');
    await step('suspend', 'Second strike', 'suspended');
    await step('reactivate', 'Appeal granted', 'active');
    await step('close', 'Owner asked to close', 'closed');
    const actions = (await auditFor(tenant.id)).map((e) => e.action);
    expect(actions).toEqual([
      'tenant.requested',
      'tenant.approve',
      'tenant.suspend',
      'tenant.reactivate',
      'tenant.suspend',
      'tenant.reactivate',
      'tenant.close',
    ]);
  });

  it('suspend without a reason is refused and changes nothing', async () => {
    const tenant = await tenantIn('active');
    const before = await dbTenant(tenant.id);
    for (const payload of [undefined, {}, { reason: '' }]) {
      const response = await cp.app.inject({
        method: 'POST',
        url: `/admin/tenants/${tenant.id}/suspend`,
        headers: admin.headers,
        ...(payload === undefined ? {} : { payload }),
      });
      expectProblem(response, 400, '/problems/validation');
      expect(response.json().errors.map((e: { field: string }) => e.field)).toContain('body.reason');
    }
    expect(await dbTenant(tenant.id)).toEqual(before);
  });

  it('covers every (status, action) pair: the illegal ones are exactly those outside each from list', () => {
    expect(illegalPairs.length + legalPairs.length).toBe(tenantStatuses.length * tenantActions.length);
    // closed is terminal, so all of its actions are illegal; sanity-check the derivation.
    for (const action of tenantActions) expect(illegalPairs).toContainEqual({ status: 'closed', action });
    expect(illegalPairs).toContainEqual({ status: 'pending', action: 'suspend' });
    expect(legalPairs).toContainEqual({ status: 'suspended', action: 'reactivate' });
  });

  it.each(illegalPairs)(
    '$action on a $status tenant → 409 with the current status, row unchanged',
    async ({ status, action }) => {
      const tenant = await tenantIn(status);
      const before = await dbTenant(tenant.id);
      const auditBefore = await cp.auditCount();
      const response = await act(tenant.id, action, reasonFor(action));
      expectProblem(response, 409, '/problems/illegal-transition');
      expect(response.json().current_status).toBe(status);
      expect(response.json().detail).toContain(status);
      expect(await dbTenant(tenant.id)).toEqual(before);
      expect(await cp.auditCount()).toBe(auditBefore);
    },
  );

  it.each(legalPairs)('$action on a $status tenant succeeds', async ({ status, action }) => {
    const tenant = await tenantIn(status);
    const response = await act(tenant.id, action, reasonFor(action));
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json().status).toBe(tenantTransitions[action].to);
    expect((await dbTenant(tenant.id))?.status).toBe(tenantTransitions[action].to);
  });

  it('a transition on a tenant that does not exist is 404', async () => {
    const response = await act('00000000-0000-4000-8000-000000000000', 'approve');
    expectProblem(response, 404, '/problems/not-found');
  });

  it('only a platform admin changes status', async () => {
    const tenant = await tenantIn('pending');
    const response = await act(tenant.id, 'approve', undefined, seller);
    expectProblem(response, 403, '/problems/admin-only');
    expect((await dbTenant(tenant.id))?.status).toBe('pending');
  });
});

describe('settings', () => {
  const brand = {
    logo_url: 'https://cdn.example.com/logo.svg',
    favicon_url: 'https://cdn.example.com/favicon.ico',
    primary_color: '#0a7cff',
    accent_color: '#ffaa00',
    display_name: 'Brand name',
    tagline: 'Held safely',
  };

  const patch = (tenantId: string, who: SignedIn, payload: Record<string, unknown>) =>
    cp.app.inject({ method: 'PATCH', url: `/tenants/${tenantId}`, headers: who.headers, payload });

  it('the owner updates the brand; it is stored and audited', async () => {
    const tenant = await tenantIn('active');
    const response = await patch(tenant.id, seller, { brand });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json().brand).toEqual(brand);
    const row = await dbTenant(tenant.id);
    expect(row?.brand).toEqual(brand);
    expect(row?.updatedAt.getTime()).toBeGreaterThan(new Date(tenant.updated_at).getTime());
    const entry = (await auditFor(tenant.id)).at(-1);
    expect(entry).toMatchObject({
      action: 'tenant.settings_updated',
      actorId: seller.id,
      before: { brand: null },
      after: { brand },
    });
  });

  it('a manager updates the settings; fields left out stay as they were', async () => {
    const tenant = await tenantIn('active');
    const manager = await cp.register('manager');
    await cp.grant(tenant.id, seller, manager, 'manager');
    expect((await patch(tenant.id, seller, { brand })).statusCode).toBe(200);
    const changes = {
      display_name: 'Renamed shop',
      features: { login_methods: ['telegram', 'magic_link'], disclose_platform: true },
      locale: 'fa-IR',
      timezone: 'Asia/Tehran',
      currency: 'IRR',
    };
    const response = await patch(tenant.id, manager, changes);
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json()).toMatchObject({ ...changes, brand, slug: tenant.slug, tier: tenant.tier });
    expect(await dbTenant(tenant.id)).toMatchObject({
      displayName: 'Renamed shop',
      features: changes.features,
      locale: 'fa-IR',
      timezone: 'Asia/Tehran',
      currency: 'IRR',
      brand,
    });
    const cleared = await patch(tenant.id, manager, { brand: null });
    expect(cleared.json().brand).toBeNull();
    expect((await dbTenant(tenant.id))?.brand).toBeNull();
  });

  it('a pending tenant can be set up before approval', async () => {
    const tenant = await tenantIn('pending');
    const response = await patch(tenant.id, seller, { brand });
    expect(response.statusCode).toBe(200);
    expect((await dbTenant(tenant.id))?.status).toBe('pending');
  });

  it('staff roles, strangers and closed tenants cannot change settings', async () => {
    const tenant = await tenantIn('active');
    const finance = await cp.register('finance');
    await cp.grant(tenant.id, seller, finance, 'finance');
    const stranger = await cp.register('stranger');
    const before = await dbTenant(tenant.id);
    expectProblem(await patch(tenant.id, finance, { brand }), 403, '/problems/tenant-role');
    expectProblem(await patch(tenant.id, stranger, { brand }), 404, '/problems/not-found');
    expect(await dbTenant(tenant.id)).toEqual(before);

    const closed = await tenantIn('closed');
    const closedBefore = await dbTenant(closed.id);
    expectProblem(await patch(closed.id, seller, { brand }), 409, '/problems/tenant-closed');
    expect(await dbTenant(closed.id)).toEqual(closedBefore);
  });
});

describe('listing tenants', () => {
  // A database of its own, so the expected lists are exactly the fixtures below.
  let list: TestControlPlane;
  let listAdmin: SignedIn;
  let ownerA: SignedIn;
  let ownerB: SignedIn;
  let stranger: SignedIn;

  interface Fixture {
    slug: string;
    display_name: string;
    owner: 'A' | 'B';
    tier: TenantTier;
    isolation_mode?: string;
    status: TenantStatus;
  }
  // Created in this order; slug, display-name and creation orders all differ. First letters
  // differ, so the order does not depend on the database's collation.
  const fixtures: Fixture[] = [
    { slug: 'charlie-shop', display_name: 'Zest Zone', owner: 'B', tier: 'isolated', status: 'suspended' },
    {
      slug: 'alpha-shop',
      display_name: 'Mango Market',
      owner: 'A',
      tier: 'hosted_seller',
      status: 'pending',
    },
    {
      slug: 'foxtrot-shop',
      display_name: 'Banana Books',
      owner: 'B',
      tier: 'hosted_seller',
      status: 'pending',
    },
    { slug: 'bravo-shop', display_name: 'Kiwi Kitchen', owner: 'A', tier: 'white_label', status: 'active' },
    {
      slug: 'echo-shop',
      display_name: 'Fig Foods',
      owner: 'A',
      tier: 'white_label',
      isolation_mode: 'shared',
      status: 'active',
    },
    {
      slug: 'delta-shop',
      display_name: 'Apple 100% Cotton',
      owner: 'B',
      tier: 'enterprise',
      isolation_mode: 'schema',
      status: 'closed',
    },
  ];
  const created: (TenantJson & { fixture: Fixture })[] = [];

  beforeAll(async () => {
    list = await startTestControlPlane();
    [listAdmin, ownerA, ownerB, stranger] = await Promise.all([
      list.admin(),
      list.register('owner-a'),
      list.register('owner-b'),
      list.register('stranger'),
    ]);
    for (const fixture of fixtures) {
      const owner = fixture.owner === 'A' ? ownerA : ownerB;
      const response = await list.app.inject({
        method: 'POST',
        url: '/tenants',
        headers: owner.headers,
        payload: {
          slug: fixture.slug,
          display_name: fixture.display_name,
          tier: fixture.tier,
          ...(fixture.isolation_mode ? { isolation_mode: fixture.isolation_mode } : {}),
        },
      });
      if (response.statusCode !== 201) throw new Error(response.body);
      const tenant = response.json() as TenantJson;
      const path =
        fixture.status === 'pending'
          ? []
          : ({ active: ['approve'], suspended: ['approve', 'suspend'], closed: ['close'] } as const)[
              fixture.status
            ];
      for (const action of path) {
        const changed = await list.app.inject({
          method: 'POST',
          url: `/admin/tenants/${tenant.id}/${action}`,
          headers: listAdmin.headers,
          payload: { reason: 'fixture setup' },
        });
        if (changed.statusCode !== 200) throw new Error(changed.body);
      }
      created.push({ ...tenant, status: fixture.status, fixture });
    }
  });
  afterAll(() => list?.close());

  const adminList = async (query: string) => {
    const response = await list.app.inject({
      method: 'GET',
      url: `/admin/tenants?${query}`,
      headers: listAdmin.headers,
    });
    expect(response.statusCode, response.body).toBe(200);
    return response.json() as { items: TenantJson[]; total: number; limit: number; offset: number };
  };
  const slugs = (items: { slug: string }[]) => items.map((t) => t.slug);
  const sorted = (key: 'slug' | 'display_name' | 'created_at', descending: boolean) =>
    [...created]
      .sort((a, b) => {
        // created_at: creation order is the array order.
        const order =
          key === 'created_at'
            ? created.indexOf(a) - created.indexOf(b)
            : a[key] < b[key]
              ? -1
              : a[key] > b[key]
                ? 1
                : 0;
        return descending ? -order : order;
      })
      .map((t) => t.slug);

  it('lists every tenant, newest first by default, with total, limit and offset', async () => {
    const page = await adminList('');
    expect(page.total).toBe(fixtures.length);
    expect(page.limit).toBe(20);
    expect(page.offset).toBe(0);
    expect(slugs(page.items)).toEqual(sorted('created_at', true));
    expect(page.items.map((t) => t.status)).toEqual(
      sorted('created_at', true).map((slug) => fixtures.find((f) => f.slug === slug)?.status),
    );
  });

  it.each(tenantSorts)('sorts by %s', async (sort) => {
    const descending = sort.startsWith('-');
    const key = sort.replace(/^-/, '') as 'slug' | 'display_name' | 'created_at';
    const page = await adminList(`sort=${sort}`);
    expect(slugs(page.items)).toEqual(sorted(key, descending));
  });

  it('paginates: the pages put together are the whole list, and total counts them all', async () => {
    for (const sort of tenantSorts) {
      const seen: string[] = [];
      for (let offset = 0; offset < fixtures.length + 2; offset += 2) {
        const page = await adminList(`sort=${sort}&limit=2&offset=${offset}`);
        expect(page).toMatchObject({ total: fixtures.length, limit: 2, offset });
        expect(page.items.length).toBe(Math.max(0, Math.min(2, fixtures.length - offset)));
        seen.push(...slugs(page.items));
      }
      expect(seen).toEqual(sorted(sort.replace(/^-/, '') as 'slug', sort.startsWith('-')));
    }
    const past = await adminList('offset=100&limit=100');
    expect(past).toMatchObject({ items: [], total: fixtures.length, limit: 100, offset: 100 });
  });

  const expectSlugs = async (query: string, predicate: (t: TenantJson & { fixture: Fixture }) => boolean) => {
    const page = await adminList(`${query}&sort=slug`);
    const expected = created
      .filter(predicate)
      .map((t) => t.slug)
      .sort();
    expect(slugs(page.items), query).toEqual(expected);
    expect(page.total, query).toBe(expected.length);
  };

  it('filters by status', async () => {
    for (const status of tenantStatuses)
      await expectSlugs(`status=${status}`, (t) => t.fixture.status === status);
  });

  it('filters by tier', async () => {
    for (const tier of tenantTiers) await expectSlugs(`tier=${tier}`, (t) => t.fixture.tier === tier);
  });

  it('filters by isolation mode, explicit or from the tier', async () => {
    for (const mode of ['shared', 'schema', 'database']) {
      await expectSlugs(
        `isolation_mode=${mode}`,
        (t) => (t.fixture.isolation_mode ?? defaultIsolationByTier[t.fixture.tier]) === mode,
      );
    }
  });

  it('filters by owner', async () => {
    await expectSlugs(`owner_id=${ownerA.id}`, (t) => t.fixture.owner === 'A');
    await expectSlugs(`owner_id=${ownerB.id}`, (t) => t.fixture.owner === 'B');
    await expectSlugs(`owner_id=${stranger.id}`, () => false);
  });

  it('q matches slug or display name, case-insensitively, with % and _ taken literally', async () => {
    const matches = (q: string) => (t: TenantJson) =>
      t.slug.toLowerCase().includes(q.toLowerCase()) ||
      t.display_name.toLowerCase().includes(q.toLowerCase());
    for (const q of [
      'kiwi',
      'ECHO',
      'shop',
      'o',
      'an',
      '100% c',
      '%',
      '_',
      'zest zone',
      'nothing-like-this',
    ]) {
      await expectSlugs(`q=${encodeURIComponent(q)}`, matches(q));
    }
    // Spot-check the escaping: "%" finds only the one name with a literal percent sign.
    expect(slugs((await adminList('q=%25')).items)).toEqual(['delta-shop']);
    expect((await adminList('q=_')).total).toBe(0);
  });

  it('combines filters, and total counts the filtered set, not the page', async () => {
    await expectSlugs(
      'status=active&tier=white_label',
      (t) => t.fixture.status === 'active' && t.fixture.tier === 'white_label',
    );
    await expectSlugs(
      `owner_id=${ownerB.id}&status=pending`,
      (t) => t.fixture.owner === 'B' && t.fixture.status === 'pending',
    );
    await expectSlugs(`owner_id=${ownerA.id}&q=kitchen`, (t) => t.slug === 'bravo-shop');
    const page = await adminList('status=active&limit=1');
    expect(page.items).toHaveLength(1);
    expect(page.total).toBe(2);
  });

  it('sellers list only the tenants where they hold a role', async () => {
    const sellerList = async (who: SignedIn, query = '') => {
      const response = await list.app.inject({
        method: 'GET',
        url: `/tenants?sort=slug${query}`,
        headers: who.headers,
      });
      expect(response.statusCode, response.body).toBe(200);
      return response.json() as { items: TenantJson[]; total: number };
    };
    const ownedBy = (owner: 'A' | 'B') =>
      created
        .filter((t) => t.fixture.owner === owner)
        .map((t) => t.slug)
        .sort();
    expect(slugs((await sellerList(ownerA)).items)).toEqual(ownedBy('A'));
    expect((await sellerList(ownerA)).total).toBe(ownedBy('A').length);
    expect(slugs((await sellerList(ownerB)).items)).toEqual(ownedBy('B'));
    expect(await sellerList(stranger)).toMatchObject({ items: [], total: 0 });
    expect(slugs((await sellerList(ownerA, '&status=active')).items)).toEqual(['bravo-shop', 'echo-shop']);

    // Someone else's tenant is invisible until they are given a role in it.
    const charlie = created.find((t) => t.slug === 'charlie-shop') as TenantJson;
    const hidden = await list.app.inject({
      method: 'GET',
      url: `/tenants/${charlie.id}`,
      headers: ownerA.headers,
    });
    expect(hidden.statusCode).toBe(404);
    await list.grant(charlie.id, ownerB, ownerA, 'finance');
    expect(slugs((await sellerList(ownerA)).items)).toEqual([...ownedBy('A'), 'charlie-shop'].sort());
    const visible = await list.app.inject({
      method: 'GET',
      url: `/tenants/${charlie.id}`,
      headers: ownerA.headers,
    });
    expect(visible.statusCode).toBe(200);
    // The admin view is unaffected: owner_id still means the owner.
    await expectSlugs(`owner_id=${ownerA.id}`, (t) => t.fixture.owner === 'A');
  });
});
