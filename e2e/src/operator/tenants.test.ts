import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  TENANT_API_VERSION,
  TENANT_GROUP,
  TENANT_KIND,
  TENANT_PLURAL,
  TENANT_VERSION,
  type Tenant,
  type TenantSpec,
} from '@amanat/cdk8s/tenant-crd';
import { backupPrefix } from '@amanat/data-plane/backups/backup';
import { objectStoreFromUrl } from '@amanat/data-plane/backups/object-store';
import { tenantObjectNames } from '@amanat/data-plane/provisioning/names';
import { Provisioner } from '@amanat/data-plane/provisioning/provisioner';
import { roleExists } from '@amanat/data-plane/provisioning/servers';
import { type EmbeddedPostgresHandle, startEmbeddedPostgres } from '@amanat/kit/postgres/embedded';
import type { OperatorConfig } from '@amanat/operator/config';
import { type RunningOperator, startOperator } from '@amanat/operator/operator';
import {
  ApiException,
  CoreV1Api,
  CustomObjectsApi,
  NetworkingV1Api,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Cluster, startCluster } from '../cluster/cluster.ts';
import { installOperatorPrerequisites, OPERATOR_NAMESPACE } from './install.ts';

/**
 * The operator against a real API server (the e2e cluster: etcd, kube-apiserver, controller
 * manager, scheduler and the node agent running data-plane pods as local processes), with the
 * chart's permissions only, provisioning into a real PostgreSQL.
 */

let cluster: Cluster;
let postgres: EmbeddedPostgresHandle;
let operator: RunningOperator;
let provisioner: Provisioner;
let custom: CustomObjectsApi;
let core: CoreV1Api;
let backupDir: string;

const READY_WITHIN_MS = 90_000;

async function until<T>(
  what: string,
  check: () => Promise<T | undefined | false | null>,
  timeoutMs = READY_WITHIN_MS,
) {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

function publicJwks(): string {
  const { publicKey } = generateKeyPairSync('ed25519');
  return JSON.stringify({
    keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'e2e-1', alg: 'EdDSA', use: 'sig' }],
  });
}

const tenantApi = { group: TENANT_GROUP, version: TENANT_VERSION, plural: TENANT_PLURAL };

function tenantSpec(slug: string, overrides: Partial<TenantSpec> = {}): TenantSpec {
  return {
    tenantId: randomUUID(),
    slug,
    displayName: `Shop ${slug}`,
    tier: 'white_label',
    isolation: { mode: 'shared' },
    dataPlane: { version: '0.1.0', replicas: 1 },
    hosts: [`${slug}.shops.example`],
    ...overrides,
  };
}

const createTenant = (spec: TenantSpec) =>
  custom.createClusterCustomObject({
    ...tenantApi,
    body: { apiVersion: TENANT_API_VERSION, kind: TENANT_KIND, metadata: { name: spec.slug }, spec },
  });

const readTenant = async (name: string) =>
  (await custom.getClusterCustomObject({ ...tenantApi, name })) as Tenant;

const patchSpec = (name: string, spec: Partial<TenantSpec>) =>
  custom.patchClusterCustomObject(
    { ...tenantApi, name, body: { spec } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );

const condition = (tenant: Tenant, type: string) => tenant.status?.conditions?.find((c) => c.type === type);

async function readyTenant(name: string, generation?: number) {
  return until(`tenant ${name} to be Ready`, async () => {
    const tenant = await readTenant(name);
    const current = generation === undefined || (tenant.status?.observedGeneration ?? 0) >= generation;
    return current && condition(tenant, 'Ready')?.status === 'True' ? tenant : undefined;
  });
}

/** The storefront of a tenant, asked on its data-plane pod's own loopback address. */
async function storefront(slug: string, path = '/') {
  const pods = await core.listNamespacedPod({ namespace: `shop-${slug}` });
  const pod = pods.items.find((item) => item.status?.podIP && item.metadata?.deletionTimestamp === undefined);
  if (!pod?.status?.podIP) throw new Error(`no running data-plane pod for ${slug}`);
  return fetch(`http://${pod.status.podIP}:8080${path}`, { headers: { host: `${slug}.shops.example` } });
}

beforeAll(async () => {
  backupDir = await mkdtemp(join(tmpdir(), 'amanat-e2e-backups-'));
  [cluster, postgres] = await Promise.all([
    startCluster(),
    startEmbeddedPostgres({ dataDir: await mkdtemp(join(tmpdir(), 'amanat-e2e-pg-')), persistent: false }),
  ]);
  const operatorKubeConfig = await installOperatorPrerequisites(cluster.kubeConfig);
  custom = cluster.kubeConfig.makeApiClient(CustomObjectsApi);
  core = cluster.kubeConfig.makeApiClient(CoreV1Api);
  provisioner = await Provisioner.open({ adminUrl: postgres.adminUrl });
  const config: OperatorConfig = {
    PROVISIONER_ADMIN_URL: postgres.adminUrl,
    BACKUP_STORE_URL: pathToFileURL(backupDir).href,
    CONTROL_PLANE_URL: 'http://127.0.0.1:9',
    CONTROL_PLANE_JWKS: publicJwks(),
    ROUTER_NAMESPACE: OPERATOR_NAMESPACE,
    ROUTER_POD_LABELS: 'app.kubernetes.io/component=router',
    DATABASE_CIDRS: '127.0.0.1/32',
    DATABASE_PORT: postgres.port,
    LEASE_NAMESPACE: OPERATOR_NAMESPACE,
    LEASE_NAME: 'amanat-operator',
    WORKERS: 4,
    RESYNC_SECONDS: 5,
    HOST: '127.0.0.1',
    PORT: 0,
    LOG_LEVEL: 'warn' as OperatorConfig['LOG_LEVEL'],
  };
  operator = await startOperator(config, {
    kubeConfig: operatorKubeConfig,
    log: pino({ level: 'warn' }),
    onLostLeadership: () => undefined,
  });
}, 240_000);

afterAll(async () => {
  await operator?.stop();
  await provisioner?.close();
  await cluster?.stop();
  await postgres?.stop();
  if (backupDir) await rm(backupDir, { recursive: true, force: true });
}, 120_000);

describe('the Tenant resource', () => {
  it('the API server refuses invalid Tenants with the CRD’s messages', async () => {
    const refused = async (body: unknown) => {
      try {
        await custom.createClusterCustomObject({ ...tenantApi, body });
      } catch (error) {
        expect(error).toBeInstanceOf(ApiException);
        expect((error as ApiException<unknown>).code).toBe(422);
        return String((error as ApiException<string>).body);
      }
      throw new Error(`the API server accepted an invalid Tenant: ${JSON.stringify(body)}`);
    };
    const tenant = (spec: Partial<TenantSpec>, name?: string) => {
      const full = tenantSpec('valid-shop', spec);
      return {
        apiVersion: TENANT_API_VERSION,
        kind: TENANT_KIND,
        metadata: { name: name ?? full.slug },
        spec: full,
      };
    };
    expect(await refused(tenant({ slug: 'Not_A_Label' }, 'not-a-label'))).toContain('spec.slug');
    expect(await refused(tenant({}, 'another-name'))).toContain('metadata.name must equal spec.slug');
    expect(await refused(tenant({ isolation: { mode: 'cluster' as never } }))).toContain(
      'spec.isolation.mode',
    );

    const spec = tenantSpec('cel-rules', { isolation: { mode: 'schema' } });
    await createTenant(spec);
    const update = async (patch: Partial<TenantSpec>) => {
      try {
        await patchSpec(spec.slug, patch);
      } catch (error) {
        return String((error as ApiException<string>).body);
      }
      throw new Error('the API server accepted an invalid change');
    };
    expect(await update({ isolation: { mode: 'shared' } })).toContain(
      'isolation.mode can only move up a tier: shared → schema → database',
    );
    expect(await update({ tenantId: randomUUID() })).toContain('tenantId is immutable');
    await custom.deleteClusterCustomObject({ ...tenantApi, name: spec.slug });
  });
});

describe('a shared-mode tenant through its life', () => {
  const spec = tenantSpec('e2e-shared');

  it('becomes Ready: namespace, database, a running data plane serving its storefront', async () => {
    const started = Date.now();
    await createTenant(spec);
    const tenant = await readyTenant(spec.slug);
    const readyAfterMs = Date.now() - started;
    expect(readyAfterMs).toBeLessThan(READY_WITHIN_MS);
    expect(tenant.status).toMatchObject({
      phase: 'Ready',
      observedGeneration: tenant.metadata.generation,
      endpoint: `http://data-plane.shop-${spec.slug}.svc:8080`,
      database: { mode: 'shared', login: tenantObjectNames(spec.tenantId).app },
    });
    for (const type of ['DatabaseReady', 'DataPlaneAvailable'])
      expect(condition(tenant, type)?.status).toBe('True');
    expect(condition(tenant, 'Suspended')?.status).toBe('False');
    expect(JSON.stringify(tenant.status)).not.toMatch(/password|postgres:\/\//i);

    // Fields the client's models name differently (`from`, `default`) reached the server.
    const networking = cluster.kubeConfig.makeApiClient(NetworkingV1Api);
    const ingress = await networking.readNamespacedNetworkPolicy({
      name: 'ingress-from-router',
      namespace: `shop-${spec.slug}`,
    });
    expect(ingress.spec?.ingress?.[0]?._from).toHaveLength(1);
    const limits = await core.readNamespacedLimitRange({ name: 'tier', namespace: `shop-${spec.slug}` });
    expect(limits.spec?.limits[0]?._default).toEqual({ cpu: '1', memory: '384Mi' });
    const namespace = await core.readNamespace({ name: `shop-${spec.slug}` });
    expect(namespace.metadata?.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
    expect((await provisioner.locate(spec.tenantId))?.mode).toBe('shared');
    const home = await storefront(spec.slug);
    expect(home.status).toBe(200);
    expect(home.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await home.text()).toMatch(/^<!doctype html><html lang="en"/);
    console.log(`tenant Ready after ${(readyAfterMs / 1000).toFixed(1)} s`);
  });

  it('a resync of the unchanged tenant writes nothing to the API server', async () => {
    const writeLines = async () =>
      (await (await fetch(`${operator.url}/metrics`)).text())
        .split('\n')
        .filter((line) => line.startsWith('amanat_operator_writes_total{'))
        .join('\n');
    const writes = async () => {
      const text = await (await fetch(`${operator.url}/metrics`)).text();
      return [...text.matchAll(/^amanat_operator_writes_total\{[^}]*\} (\d+)/gm)].reduce(
        (sum, match) => sum + Number(match[1]),
        0,
      );
    };
    const before = await writes();
    // RESYNC_SECONDS is 5: wait for two resyncs of the whole fleet.
    await new Promise((resolve) => setTimeout(resolve, 11_000));
    expect(await writes(), await writeLines()).toBe(before);
    const reconciles = await (await fetch(`${operator.url}/metrics`)).text();
    expect(reconciles).toMatch(/amanat_operator_reconciles_total\{result="success"\} \d+/);
  });

  it('suspension serves the unavailable page; resuming brings the shop back', async () => {
    await patchSpec(spec.slug, { suspended: true });
    await until('the unavailable page', async () => (await storefront(spec.slug)).status === 503);
    const suspended = await until('phase Suspended', async () => {
      const tenant = await readTenant(spec.slug);
      return tenant.status?.phase === 'Suspended' ? tenant : undefined;
    });
    expect(condition(suspended, 'Ready')?.status).toBe('False');
    await patchSpec(spec.slug, { suspended: false });
    await until('the shop back', async () => (await storefront(spec.slug)).status === 200);
    await readyTenant(spec.slug);
  });

  it('deletion takes a final backup, removes the database objects and the namespace', async () => {
    await custom.deleteClusterCustomObject({ ...tenantApi, name: spec.slug });
    await until(
      'the Tenant to be gone',
      async () => {
        try {
          await readTenant(spec.slug);
          return false;
        } catch (error) {
          return error instanceof ApiException && error.code === 404;
        }
      },
      120_000,
    );
    const backups = await objectStoreFromUrl(pathToFileURL(backupDir).href, {}).list(
      backupPrefix(spec.tenantId),
    );
    expect(backups.length).toBe(1);
    expect(await provisioner.locate(spec.tenantId)).toBeNull();
    const login = tenantObjectNames(spec.tenantId).app;
    expect(
      await provisioner.servers.withAdmin('default', 'postgres', (client) => roleExists(client, login)),
    ).toBe(false);
    await expect(core.readNamespace({ name: `shop-${spec.slug}` })).rejects.toMatchObject({ code: 404 });
  });
});
