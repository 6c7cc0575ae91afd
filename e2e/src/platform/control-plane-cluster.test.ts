import { randomUUID } from 'node:crypto';
import { TENANT_API_VERSION, TENANT_KIND, type Tenant } from '@amanat/cdk8s/tenant-crd';
import { auditLog } from '@amanat/control-plane/audit/schema';
import { OWNER_EMAIL_ANNOTATION } from '@amanat/control-plane/cluster/desired';
import type { TenantClusterJson } from '@amanat/control-plane/cluster/view';
import { tenants } from '@amanat/control-plane/tenants/schema';
import {
  type SignedIn,
  startTestControlPlane,
  type TestControlPlane,
} from '@amanat/control-plane/testing/harness';
import type { RunningOperator } from '@amanat/operator/operator';
import { ApiException, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  type OperatorEnvironment,
  READY_WITHIN_MS,
  startOperatorEnvironment,
  startTestOperator,
  tenantApi,
  tenantSpec,
  until,
} from '../operator/harness.ts';
import { OPERATOR_NAMESPACE } from '../operator/install.ts';
import { installControlPlaneAccess } from './control-plane-access.ts';

// A real cluster and real processes: each step waits with its own deadline, longer than the default test timeout.
vi.setConfig({ testTimeout: 240_000 });

/**
 * The control plane, the operator and a real API server together: the control plane syncs
 * Tenant resources with the chart's ClusterRole (a ServiceAccount token), the operator
 * reconciles them with its own, and the tenant API reports what the operator observed.
 */

interface TenantJson {
  id: string;
  slug: string;
  status: string;
  cluster?: TenantClusterJson;
}

let env: OperatorEnvironment;
let operator: RunningOperator;
let cp: TestControlPlane;
let admin: SignedIn;
let seller: SignedIn;

const SHOPS_DOMAIN = 'shops.example';
/** The control plane's periodic pass; short so a missed event is caught within a test's bound. */
const RESYNC_SECONDS = 5;
const SYNC_WITHIN_MS = 20_000;

beforeAll(async () => {
  env = await startOperatorEnvironment();
  const controlPlaneKubeConfig = await installControlPlaneAccess(env.cluster.kubeConfig, OPERATOR_NAMESPACE);
  operator = await startTestOperator(env);
  cp = await startTestControlPlane(
    {
      KUBERNETES_SYNC: 'true',
      KUBERNETES_RESYNC_SECONDS: String(RESYNC_SECONDS),
      SHOPS_DOMAIN,
      DATA_PLANE_VERSION: '0.1.0',
    },
    { kubeConfig: controlPlaneKubeConfig },
  );
  [admin, seller] = await Promise.all([cp.admin(), cp.register('seller')]);
}, 240_000);

afterAll(async () => {
  await cp?.close();
  await operator?.stop();
  await env?.stop();
}, 120_000);

async function readTenantResource(name: string): Promise<Tenant | null> {
  try {
    return (await env.custom.getClusterCustomObject({ ...tenantApi, name })) as Tenant;
  } catch (error) {
    if (error instanceof ApiException && error.code === 404) return null;
    throw error;
  }
}

async function tenantThroughApi(id: string, as: SignedIn = seller): Promise<TenantJson> {
  const response = await cp.app.inject({ method: 'GET', url: `/tenants/${id}`, headers: as.headers });
  expect(response.statusCode, response.body).toBe(200);
  return response.json();
}

async function act(id: string, action: string, reason = 'End-to-end test of the sync') {
  const response = await cp.app.inject({
    method: 'POST',
    url: `/admin/tenants/${id}/${action}`,
    headers: admin.headers,
    payload: { reason },
  });
  expect(response.statusCode, response.body).toBe(200);
  return response.json() as TenantJson;
}

const readyCondition = (cluster: TenantClusterJson | undefined) =>
  cluster?.conditions.find((condition) => condition.type === 'Ready');

describe('a tenant approved through the control plane', () => {
  let tenant: TenantJson;

  it('gets its Tenant resource, which becomes Ready, and the tenant API reports it Ready', async () => {
    const requested = await cp.app.inject({
      method: 'POST',
      url: '/tenants',
      headers: seller.headers,
      payload: { slug: 'e2e-approved', display_name: 'Approved shop', tier: 'hosted_seller' },
    });
    expect(requested.statusCode, requested.body).toBe(201);
    tenant = requested.json();
    expect((await tenantThroughApi(tenant.id)).cluster).toBeNull();
    expect(await readTenantResource(tenant.slug)).toBeNull();

    const started = Date.now();
    await act(tenant.id, 'approve');
    const resource = await until(
      'the Tenant resource',
      () => readTenantResource(tenant.slug),
      SYNC_WITHIN_MS,
    );
    expect(resource.spec).toMatchObject({
      tenantId: tenant.id,
      slug: tenant.slug,
      displayName: 'Approved shop',
      tier: 'hosted_seller',
      isolation: { mode: 'shared' },
      hosts: [`${tenant.slug}.${SHOPS_DOMAIN}`],
      dataPlane: { version: '0.1.0', replicas: 1 },
      suspended: false,
    });

    const reported = await until(
      'the tenant API to report the resource Ready',
      async () => {
        const { cluster } = await tenantThroughApi(tenant.id);
        return cluster?.phase === 'Ready' && readyCondition(cluster)?.status === 'True' ? cluster : undefined;
      },
      READY_WITHIN_MS,
    );
    const readyAfterMs = Date.now() - started;
    expect(reported).toMatchObject({
      resource: tenant.slug,
      endpoint: `http://data-plane.shop-${tenant.slug}.svc:8080`,
      database: { mode: 'shared' },
      deleting: false,
    });
    expect(reported.conditions.map((condition) => condition.type).sort()).toEqual(
      expect.arrayContaining(['DataPlaneAvailable', 'DatabaseReady', 'Ready', 'Suspended']),
    );
    expect(JSON.stringify(reported)).not.toMatch(/password|postgres:\/\//i);

    const listed = await cp.app.inject({ method: 'GET', url: '/tenants', headers: seller.headers });
    const inList = (listed.json().items as TenantJson[]).find((item) => item.id === tenant.id);
    expect(inList?.cluster?.phase).toBe('Ready');
    console.log(`approved → reported Ready after ${(readyAfterMs / 1000).toFixed(1)} s`);
  });

  it('suspend sets spec.suspended and the API shows Suspended; reactivate clears it and keeps what ops set', async () => {
    await act(tenant.id, 'suspend');
    await until(
      'spec.suspended',
      async () => (await readTenantResource(tenant.slug))?.spec.suspended === true,
      SYNC_WITHIN_MS,
    );
    await until(
      'the tenant API to report Suspended',
      async () => (await tenantThroughApi(tenant.id)).cluster?.phase === 'Suspended',
      READY_WITHIN_MS,
    );

    // Ops change a field the control plane does not own; the control plane's next write keeps it.
    await env.custom.patchClusterCustomObject(
      { ...tenantApi, name: tenant.slug, body: { spec: { backup: { keepDaily: 30 } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await act(tenant.id, 'reactivate');
    const reactivated = await until(
      'spec.suspended to be cleared',
      async () => {
        const resource = await readTenantResource(tenant.slug);
        return resource?.spec.suspended === false ? resource : undefined;
      },
      SYNC_WITHIN_MS,
    );
    expect(reactivated.spec.backup?.keepDaily).toBe(30);
    // The control plane's applies own only the registry's fields: never the release or replicas.
    const managedFields = (
      reactivated.metadata as { managedFields?: { manager: string; operation: string; fieldsV1?: unknown }[] }
    ).managedFields;
    const applied = managedFields?.find(
      (entry) => entry.manager === 'amanat-control-plane' && entry.operation === 'Apply',
    );
    expect(JSON.stringify(applied?.fieldsV1)).toContain('f:suspended');
    expect(JSON.stringify(applied?.fieldsV1)).not.toContain('f:dataPlane');
    await until(
      'the tenant API to report Ready again',
      async () => (await tenantThroughApi(tenant.id)).cluster?.phase === 'Ready',
      READY_WITHIN_MS,
    );
  });

  it('close deletes the Tenant resource (the operator backs up and deprovisions) and the API shows none', async () => {
    await act(tenant.id, 'close');
    await until(
      'the Tenant resource to be gone',
      async () => (await readTenantResource(tenant.slug)) === null,
    );
    await until(
      'the API to show no resource',
      async () => (await tenantThroughApi(tenant.id)).cluster === null,
      SYNC_WITHIN_MS,
    );
  });
});

describe('a Tenant created with kubectl', () => {
  it('is adopted: the owner named in its annotation sees it in the control plane', async () => {
    const owner = await cp.register('kubectl-owner');
    const spec = tenantSpec('e2e-adopted', { tier: 'hosted_seller', hosts: ['shop.adopted.example'] });
    await env.custom.createClusterCustomObject({
      ...tenantApi,
      body: {
        apiVersion: TENANT_API_VERSION,
        kind: TENANT_KIND,
        metadata: { name: spec.slug, annotations: { [OWNER_EMAIL_ANNOTATION]: owner.email } },
        spec,
      },
    });

    const adopted = await until(
      'the adopted tenant in the control plane',
      async () => {
        const response = await cp.app.inject({
          method: 'GET',
          url: `/tenants/${spec.tenantId}`,
          headers: owner.headers,
        });
        return response.statusCode === 200 ? (response.json() as TenantJson) : undefined;
      },
      SYNC_WITHIN_MS,
    );
    expect(adopted).toMatchObject({ id: spec.tenantId, slug: spec.slug, status: 'active' });
    expect(adopted.cluster?.resource).toBe(spec.slug);
    const audit = await cp.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.tenantId, spec.tenantId), eq(auditLog.action, 'tenant.adopted')));
    expect(audit).toHaveLength(1);

    // The control plane adds the platform host; the host ops gave stays.
    const resource = await until(
      'the platform host on the adopted resource',
      async () => {
        const live = await readTenantResource(spec.slug);
        return live?.spec.hosts.includes(`${spec.slug}.${SHOPS_DOMAIN}`) ? live : undefined;
      },
      SYNC_WITHIN_MS,
    );
    expect(resource.spec.hosts).toContain('shop.adopted.example');
  });

  it('a registry change whose Kubernetes write never happened (a crash after commit) is made by the periodic pass', async () => {
    const [row] = await cp.db.select().from(tenants).where(eq(tenants.slug, 'e2e-adopted'));
    expect(row).toBeDefined();
    // Straight to the database: no service call, so nothing tells the sync.
    await cp.db
      .update(tenants)
      .set({ displayName: 'Renamed while no one watched' })
      .where(eq(tenants.slug, 'e2e-adopted'));
    await until(
      'the periodic pass to apply the new display name',
      async () =>
        (await readTenantResource('e2e-adopted'))?.spec.displayName === 'Renamed while no one watched',
      RESYNC_SECONDS * 1000 + SYNC_WITHIN_MS,
    );
  });

  it('without a known owner it is not adopted, and /admin/cluster says why', async () => {
    const spec = tenantSpec('e2e-orphan', { tier: 'hosted_seller' });
    await env.custom.createClusterCustomObject({
      ...tenantApi,
      body: {
        apiVersion: TENANT_API_VERSION,
        kind: TENANT_KIND,
        metadata: {
          name: spec.slug,
          annotations: { [OWNER_EMAIL_ANNOTATION]: `nobody-${randomUUID()}@example.com` },
        },
        spec,
      },
    });
    const unadopted = await until(
      'the refusal in /admin/cluster',
      async () => {
        const response = await cp.app.inject({
          method: 'GET',
          url: '/admin/cluster',
          headers: admin.headers,
        });
        const body = response.json() as {
          sync: string;
          unadopted_tenants: { name: string; reason: string }[];
        };
        return body.unadopted_tenants.find((item) => item.name === spec.slug);
      },
      SYNC_WITHIN_MS,
    );
    expect(unadopted.reason).toMatch(/has no platform account/);
    const search = await cp.app.inject({
      method: 'GET',
      url: `/admin/tenants?q=${spec.slug}`,
      headers: admin.headers,
    });
    expect(search.json().total).toBe(0);
    await env.custom.deleteClusterCustomObject({ ...tenantApi, name: spec.slug });
  });
});
