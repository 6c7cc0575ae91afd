import { randomUUID } from 'node:crypto';
import { TENANT_API_VERSION, TENANT_KIND, type TenantSpec } from '@amanat/cdk8s/tenant-crd';
import { asc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog } from '../audit/schema.ts';
import { tenantMembers } from '../tenant-roles/schema.ts';
import { findTenant, type TenantRow } from '../tenants/queries.ts';
import { defaultFeatures } from '../tenants/service.ts';
import { type SignedIn, startTestControlPlane, type TestControlPlane } from '../testing/harness.ts';
import { adoptTenantResource } from './adoption.ts';
import {
  CONTROL_PLANE_FIELD_MANAGER,
  MANAGED_BY_LABEL,
  newTenantResource,
  OWNER_EMAIL_ANNOTATION,
  registryApplyBody,
  registryDrift,
  replicasByTier,
  type TenantResource,
} from './desired.ts';
import { publicClusterStatus } from './view.ts';

let cp: TestControlPlane;
let admin: SignedIn;
let seller: SignedIn;

beforeAll(async () => {
  cp = await startTestControlPlane({ SHOPS_DOMAIN: 'shops.example', DATA_PLANE_VERSION: '1.4.2' });
  [admin, seller] = await Promise.all([cp.admin(), cp.register('seller')]);
});
afterAll(() => cp?.close());

let slugCounter = 0;
const newSlug = (prefix = 'sync') => `${prefix}-${process.pid}-${++slugCounter}`;

async function registered(payload: Record<string, unknown> = {}): Promise<TenantRow> {
  const requested = await cp.app.inject({
    method: 'POST',
    url: '/tenants',
    headers: seller.headers,
    payload: { slug: newSlug(), display_name: 'Sara Goods', tier: 'white_label', ...payload },
  });
  expect(requested.statusCode, requested.body).toBe(201);
  return (await findTenant(cp.db, requested.json().id)) as TenantRow;
}

async function act(tenantId: string, action: string, reason = 'For the test of the sync') {
  const response = await cp.app.inject({
    method: 'POST',
    url: `/admin/tenants/${tenantId}/${action}`,
    headers: admin.headers,
    payload: { reason },
  });
  expect(response.statusCode, response.body).toBe(200);
  return (await findTenant(cp.db, tenantId)) as TenantRow;
}

function kubectlTenant(
  spec: Partial<TenantSpec> = {},
  annotations: Record<string, string> = {},
): TenantResource {
  const slug = spec.slug ?? newSlug('ops');
  return {
    apiVersion: TENANT_API_VERSION,
    kind: TENANT_KIND,
    metadata: { name: slug, uid: randomUUID(), generation: 1, annotations },
    spec: {
      tenantId: randomUUID(),
      slug,
      displayName: 'Made with kubectl',
      tier: 'isolated',
      isolation: { mode: 'database', server: 'default' },
      dataPlane: { version: '1.3.0', replicas: 2 },
      hosts: ['shop.customer.example'],
      suspended: false,
      ...spec,
    },
  };
}

const auditOf = (tenantId: string) =>
  cp.db.select().from(auditLog).where(eq(auditLog.tenantId, tenantId)).orderBy(asc(auditLog.id));

describe('registry row → Tenant resource', () => {
  it('an approved tenant becomes a Tenant named by its slug, on the platform host, with the starting release', async () => {
    const tenant = await act((await registered({ tier: 'enterprise' })).id, 'approve');
    expect(newTenantResource(tenant, cp.config)).toEqual({
      apiVersion: 'shops.amn.gg/v1alpha1',
      kind: 'Tenant',
      metadata: { name: tenant.slug, labels: { [MANAGED_BY_LABEL]: CONTROL_PLANE_FIELD_MANAGER } },
      spec: {
        tenantId: tenant.id,
        slug: tenant.slug,
        displayName: 'Sara Goods',
        tier: 'enterprise',
        isolation: { mode: 'database' },
        hosts: [`${tenant.slug}.shops.example`],
        suspended: false,
        dataPlane: { version: '1.4.2', replicas: 3 },
      },
    });
  });

  it('replicas follow the tier: one for a hosted seller, more for the bigger plans', () => {
    expect(replicasByTier).toEqual({ hosted_seller: 1, white_label: 2, isolated: 2, enterprise: 3 });
  });

  it('the apply body carries only what the registry decides: never the release, replicas or resources', async () => {
    const tenant = await act((await registered()).id, 'approve');
    const body = registryApplyBody(tenant, cp.config);
    expect(Object.keys(body.spec).sort()).toEqual(
      ['displayName', 'hosts', 'isolation', 'slug', 'suspended', 'tenantId', 'tier'].sort(),
    );
    expect(JSON.stringify(body)).not.toMatch(/password|secret|token|postgres:/i);
  });

  it('suspend and reactivate flip spec.suspended; the drift check names the field', async () => {
    const active = await act((await registered()).id, 'approve');
    const live = newTenantResource(active, cp.config) as TenantResource;
    expect(registryDrift(live, active, cp.config)).toBeNull();

    const suspended = await act(active.id, 'suspend');
    expect(registryApplyBody(suspended, cp.config).spec.suspended).toBe(true);
    expect(registryDrift(live, suspended, cp.config)).toBe('spec.suspended');
    const reactivated = await act(active.id, 'reactivate');
    expect(registryDrift(live, reactivated, cp.config)).toBeNull();
  });

  it('a display-name change drifts; ops-owned fields and extra hosts do not', async () => {
    const tenant = await act((await registered()).id, 'approve');
    const created = newTenantResource(tenant, cp.config);
    const opsEdited: TenantResource = {
      ...created,
      spec: {
        ...created.spec,
        dataPlane: { version: '2.0.0', replicas: 5, resources: { limits: { memory: '1Gi' } } },
        hosts: [...created.spec.hosts, 'shop.sara.example'],
        backup: { keepDaily: 30 },
      },
    };
    expect(registryDrift(opsEdited, tenant, cp.config)).toBeNull();

    const renamed = await cp.app.inject({
      method: 'PATCH',
      url: `/tenants/${tenant.id}`,
      headers: seller.headers,
      payload: { display_name: 'Sara Goods & Co' },
    });
    expect(renamed.statusCode, renamed.body).toBe(200);
    const row = (await findTenant(cp.db, tenant.id)) as TenantRow;
    expect(registryDrift(opsEdited, row, cp.config)).toBe('spec.displayName');
    expect(registryApplyBody(row, cp.config).spec.displayName).toBe('Sara Goods & Co');
    expect(
      registryDrift(
        { ...opsEdited, spec: { ...opsEdited.spec, hosts: ['shop.sara.example'] } },
        row,
        cp.config,
      ),
    ).toBe('spec.displayName');
    expect(
      registryDrift(
        {
          ...opsEdited,
          spec: { ...opsEdited.spec, displayName: 'Sara Goods & Co', hosts: ['shop.sara.example'] },
        },
        row,
        cp.config,
      ),
    ).toBe('spec.hosts');
  });

  it('the API view of a resource: phase, conditions, endpoint and database location, only for the same tenant id', () => {
    const resource = kubectlTenant();
    resource.metadata.generation = 3;
    resource.status = {
      phase: 'Ready',
      observedGeneration: 3,
      conditions: [
        {
          type: 'Ready',
          status: 'True',
          reason: 'Serving',
          message: 'the data plane is available',
          lastTransitionTime: '2025-01-02T03:04:05Z',
          observedGeneration: 3,
        },
      ],
      endpoint: 'http://data-plane.shop-x.svc:8080',
      database: { mode: 'database', server: 'default', database: 'shop_x', login: 'shop_x_app' },
    };
    expect(publicClusterStatus(resource, { id: resource.spec.tenantId })).toEqual({
      resource: resource.metadata.name,
      generation: 3,
      observed_generation: 3,
      phase: 'Ready',
      conditions: [
        {
          type: 'Ready',
          status: 'True',
          reason: 'Serving',
          message: 'the data plane is available',
          last_transition_time: '2025-01-02T03:04:05.000Z',
        },
      ],
      endpoint: 'http://data-plane.shop-x.svc:8080',
      database: {
        mode: 'database',
        server: 'default',
        database: 'shop_x',
        schema: null,
        login: 'shop_x_app',
      },
      deleting: false,
    });
    expect(publicClusterStatus(resource, { id: randomUUID() })).toBeNull();
    expect(publicClusterStatus(undefined, { id: resource.spec.tenantId })).toBeNull();
  });

  it('without KUBERNETES_SYNC the tenant API has no cluster field and /admin/cluster says off', async () => {
    const tenant = await act((await registered()).id, 'approve');
    const read = await cp.app.inject({
      method: 'GET',
      url: `/tenants/${tenant.id}`,
      headers: seller.headers,
    });
    expect(read.json()).not.toHaveProperty('cluster');
    const sync = await cp.app.inject({ method: 'GET', url: '/admin/cluster', headers: admin.headers });
    expect(sync.statusCode, sync.body).toBe(200);
    expect(sync.json()).toEqual({ sync: 'off', unadopted_tenants: [] });
    const asSeller = await cp.app.inject({ method: 'GET', url: '/admin/cluster', headers: seller.headers });
    expect(asSeller.statusCode).toBe(403);
  });
});

describe('adopting a Tenant created with kubectl', () => {
  it('adopts it with its id, slug, plan and mode; the owner from the annotation; audited as tenant.adopted', async () => {
    const owner = await cp.register('ops-owner');
    const resource = kubectlTenant({}, { [OWNER_EMAIL_ANNOTATION]: owner.email.toUpperCase() });
    const result = await adoptTenantResource(cp.ctx, resource);
    expect(result.outcome).toBe('adopted');

    const row = await findTenant(cp.db, resource.spec.tenantId);
    expect(row).toMatchObject({
      id: resource.spec.tenantId,
      slug: resource.spec.slug,
      displayName: 'Made with kubectl',
      ownerId: owner.id,
      tier: 'isolated',
      isolationMode: 'database',
      status: 'active',
      features: defaultFeatures,
    });
    const members = await cp.db
      .select()
      .from(tenantMembers)
      .where(eq(tenantMembers.tenantId, resource.spec.tenantId));
    expect(members).toEqual([expect.objectContaining({ userId: owner.id, role: 'owner', grantedBy: null })]);
    const audit = await auditOf(resource.spec.tenantId);
    expect(audit).toEqual([
      expect.objectContaining({ action: 'tenant.adopted', actorId: null, targetId: resource.spec.tenantId }),
    ]);

    // The owner sees it through the API like any shop of theirs.
    const read = await cp.app.inject({
      method: 'GET',
      url: `/tenants/${resource.spec.tenantId}`,
      headers: owner.headers,
    });
    expect(read.statusCode, read.body).toBe(200);
    expect(read.json()).toMatchObject({ slug: resource.spec.slug, status: 'active' });
  });

  it('is idempotent: adopting again changes nothing and audits nothing', async () => {
    const owner = await cp.register('ops-owner');
    const resource = kubectlTenant({}, { [OWNER_EMAIL_ANNOTATION]: owner.email });
    const results = await Promise.all([
      adoptTenantResource(cp.ctx, resource),
      adoptTenantResource(cp.ctx, resource),
    ]);
    expect(results.map((result) => result.outcome).sort()).toEqual(['adopted', 'registered']);
    expect(await adoptTenantResource(cp.ctx, resource)).toMatchObject({ outcome: 'registered' });
    expect(await auditOf(resource.spec.tenantId)).toHaveLength(1);
  });

  it('a suspended resource is adopted suspended', async () => {
    const owner = await cp.register('ops-owner');
    const resource = kubectlTenant({ suspended: true }, { [OWNER_EMAIL_ANNOTATION]: owner.email });
    expect((await adoptTenantResource(cp.ctx, resource)).outcome).toBe('adopted');
    expect((await findTenant(cp.db, resource.spec.tenantId))?.status).toBe('suspended');
  });

  it('refuses, writing nothing, without a known owner, a free slug or an id of its own', async () => {
    const owner = await cp.register('ops-owner');
    const known = { [OWNER_EMAIL_ANNOTATION]: owner.email };
    const existing = await registered();
    const cases: [TenantResource, RegExp][] = [
      [kubectlTenant({}, {}), /no shops\.amn\.gg\/owner-email annotation/],
      [kubectlTenant({}, { [OWNER_EMAIL_ANNOTATION]: 'nobody@example.com' }), /has no platform account/],
      [kubectlTenant({ slug: existing.slug }, known), /belongs to another registered tenant/],
      [kubectlTenant({ tenantId: existing.id }, known), /tenantId belongs to the registered tenant/],
      [kubectlTenant({ slug: 'admin' }, known), /its slug "admin" is reserved/],
    ];
    const auditBefore = await cp.auditCount();
    for (const [resource, reason] of cases) {
      const result = await adoptTenantResource(cp.ctx, resource);
      expect(result).toEqual({ outcome: 'refused', reason: expect.stringMatching(reason) });
    }
    expect(await cp.auditCount()).toBe(auditBefore);
    expect(await findTenant(cp.db, cases[0]?.[0].spec.tenantId as string)).toBeUndefined();
    // The refusal never repeats the owner's address (it reaches logs).
    const unknownOwner = await adoptTenantResource(cp.ctx, cases[1]?.[0] as TenantResource);
    expect(JSON.stringify(unknownOwner)).not.toContain('nobody@example.com');
  });
});
