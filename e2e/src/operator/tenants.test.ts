import { randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { TENANT_API_VERSION, TENANT_KIND, type TenantSpec } from '@amanat/cdk8s/tenant-crd';
import { PROVISIONER_COMMAND } from '@amanat/cdk8s/tenant-objects';
import { backupPrefix } from '@amanat/data-plane/backups/backup';
import { objectStoreFromUrl } from '@amanat/data-plane/backups/object-store';
import { tenantObjectNames } from '@amanat/data-plane/provisioning/names';
import { roleExists } from '@amanat/data-plane/provisioning/servers';
import type { RunningOperator } from '@amanat/operator/operator';
import { ApiException, BatchV1Api, NetworkingV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  apiServerWrites,
  condition,
  type OperatorEnvironment,
  READY_WITHIN_MS,
  startOperatorEnvironment,
  startTestOperator,
  tenantApi,
  tenantSpec,
  until,
  writesOf,
} from './harness.ts';
import { OPERATOR_NAMESPACE } from './install.ts';

// A real cluster and real processes: each step waits with its own deadline, longer than the default test timeout.
vi.setConfig({ testTimeout: 240_000 });

/**
 * The operator against a real API server (the e2e cluster: etcd, kube-apiserver, controller
 * manager, scheduler and the node agent running data-plane pods as local processes), with the
 * chart's permissions only, provisioning into a real PostgreSQL.
 */

let env: OperatorEnvironment;
let operator: RunningOperator;

beforeAll(async () => {
  env = await startOperatorEnvironment();
  operator = await startTestOperator(env);
}, 240_000);

afterAll(async () => {
  await operator?.stop();
  await env?.stop();
}, 120_000);

describe('the Tenant resource', () => {
  it('the API server refuses invalid Tenants with the CRD’s messages', async () => {
    const refused = async (body: unknown) => {
      try {
        await env.custom.createClusterCustomObject({ ...tenantApi, body });
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
    await env.createTenant(spec);
    const update = async (patch: Partial<TenantSpec>) => {
      try {
        await env.patchSpec(spec.slug, patch);
      } catch (error) {
        return String((error as ApiException<string>).body);
      }
      throw new Error('the API server accepted an invalid change');
    };
    expect(await update({ isolation: { mode: 'shared' } })).toContain(
      'isolation.mode can only move up a tier: shared → schema → database',
    );
    expect(await update({ tenantId: randomUUID() })).toContain('tenantId is immutable');
    await env.custom.deleteClusterCustomObject({ ...tenantApi, name: spec.slug });
    // Gone for good (namespace and database too) before the next tests count writes.
    await env.tenantGone(spec.slug);
  });
});

describe('a shared-mode tenant through its life', () => {
  const spec = tenantSpec('e2e-shared');

  it('becomes Ready: namespace, database, a running data plane serving its storefront', async () => {
    const started = Date.now();
    await env.createTenant(spec);
    const tenant = await env.readyTenant(spec.slug);
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
    const networking = env.cluster.kubeConfig.makeApiClient(NetworkingV1Api);
    const ingress = await networking.readNamespacedNetworkPolicy({
      name: 'ingress-from-router',
      namespace: `shop-${spec.slug}`,
    });
    expect(ingress.spec?.ingress?.[0]?._from).toHaveLength(1);
    // The platform's SMTP server: in the data plane's Secret, and its port open for egress.
    expect((await env.dataPlaneSecret(spec.slug)).SMTP_URL).toBe(env.mailbox.url);
    const egress = await networking.readNamespacedNetworkPolicy({
      name: 'egress-dns-database-https',
      namespace: `shop-${spec.slug}`,
    });
    expect(egress.spec?.egress?.flatMap((rule) => rule.ports?.map((port) => port.port) ?? [])).toContain(
      Number(new URL(env.mailbox.url).port),
    );
    const limits = await env.core.readNamespacedLimitRange({ name: 'tier', namespace: `shop-${spec.slug}` });
    expect(limits.spec?.limits[0]?._default).toEqual({ cpu: '1', memory: '384Mi' });
    const namespace = await env.core.readNamespace({ name: `shop-${spec.slug}` });
    expect(namespace.metadata?.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
    expect((await env.provisioner.locate(spec.tenantId))?.mode).toBe('shared');
    const home = await env.storefront(spec.slug);
    expect(home.status).toBe(200);
    expect(home.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await home.text()).toMatch(/^<!doctype html><html lang="en"/);
    console.log(`tenant Ready after ${(readyAfterMs / 1000).toFixed(1)} s`);
  });

  it('has a backup CronJob in the operator’s namespace on the tenant’s schedule, running the provisioner', async () => {
    const batch = env.cluster.kubeConfig.makeApiClient(BatchV1Api);
    const cronJob = await batch.readNamespacedCronJob({
      name: `backup-${spec.slug}`,
      namespace: OPERATOR_NAMESPACE,
    });
    expect(cronJob.metadata?.labels?.['shops.amn.gg/tenant']).toBe(spec.tenantId);
    expect(cronJob.spec?.schedule).toBe('17 3 * * *');
    const [container] = cronJob.spec?.jobTemplate.spec?.template.spec?.containers ?? [];
    expect(container?.command).toEqual([...PROVISIONER_COMMAND, 'backup', '--tenant', spec.tenantId]);
    expect(container?.envFrom).toEqual([{ secretRef: { name: env.config.PROVISIONER_SECRET } }]);

    // A new schedule reaches the CronJob.
    await env.patchSpec(spec.slug, { backup: { schedule: '5 1 * * *' } });
    await until('the new backup schedule', async () => {
      const changed = await batch.readNamespacedCronJob({
        name: `backup-${spec.slug}`,
        namespace: OPERATOR_NAMESPACE,
      });
      return changed.spec?.schedule === '5 1 * * *';
    });
    // The tenant's namespace holds no admin credential: its one Secret is the data plane's.
    const secrets = await env.core.listNamespacedSecret({ namespace: `shop-${spec.slug}` });
    expect(secrets.items.map((secret) => secret.metadata?.name)).toEqual(['data-plane']);
    expect(await env.databaseUrl(spec.slug)).toContain(tenantObjectNames(spec.tenantId).app);
  });

  it('a resync of the unchanged tenant writes nothing to the API server', async () => {
    const writeLines = async () =>
      (await (await fetch(`${operator.url}/metrics`)).text())
        .split('\n')
        .filter((line) => line.startsWith('amanat_operator_writes_total{'))
        .join('\n');
    const writes = () => writesOf(operator.url);
    const before = await writes();
    const served = await apiServerWrites(env.cluster.kubeConfig);
    // RESYNC_SECONDS is 5: wait for two resyncs of the whole fleet.
    await new Promise((resolve) => setTimeout(resolve, 11_000));
    expect(await writes(), await writeLines()).toBe(before);
    // And by the API server's own count of the writes it served.
    expect(await apiServerWrites(env.cluster.kubeConfig)).toBe(served);
    const reconciles = await (await fetch(`${operator.url}/metrics`)).text();
    expect(reconciles).toMatch(/amanat_operator_reconciles_total\{result="success"\} \d+/);
  });

  it('suspension serves the unavailable page; resuming brings the shop back', async () => {
    await env.patchSpec(spec.slug, { suspended: true });
    await until('the unavailable page', async () => (await env.storefront(spec.slug)).status === 503);
    const suspended = await until('phase Suspended', async () => {
      const tenant = await env.readTenant(spec.slug);
      return tenant.status?.phase === 'Suspended' ? tenant : undefined;
    });
    expect(condition(suspended, 'Ready')?.status).toBe('False');
    await env.patchSpec(spec.slug, { suspended: false });
    await until('the shop back', async () => (await env.storefront(spec.slug)).status === 200);
    await env.readyTenant(spec.slug);
  });

  it('deletion takes a final backup, removes the database objects and the namespace', async () => {
    await env.custom.deleteClusterCustomObject({ ...tenantApi, name: spec.slug });
    // The namespace takes seconds to go: meanwhile the status shows the final backup.
    const deleting = await until(
      'the final backup in the status',
      async () => {
        const tenant = await env.readTenant(spec.slug);
        return tenant.status?.lastBackup ? tenant : undefined;
      },
      60_000,
      100,
    );
    expect(deleting.status?.phase).toBe('Deleting');
    expect(deleting.status?.lastBackup?.key).toMatch(new RegExp(`^tenants/${spec.tenantId}/.+\\.tar\\.gz$`));
    await env.tenantGone(spec.slug);
    const backups = await objectStoreFromUrl(pathToFileURL(env.backupDir).href, {}).list(
      backupPrefix(spec.tenantId),
    );
    expect(backups.length).toBe(1);
    await expect(
      env.cluster.kubeConfig
        .makeApiClient(BatchV1Api)
        .readNamespacedCronJob({ name: `backup-${spec.slug}`, namespace: OPERATOR_NAMESPACE }),
    ).rejects.toMatchObject({ code: 404 });
    expect(await env.provisioner.locate(spec.tenantId)).toBeNull();
    const login = tenantObjectNames(spec.tenantId).app;
    expect(
      await env.provisioner.servers.withAdmin('default', 'postgres', (client) => roleExists(client, login)),
    ).toBe(false);
    await expect(env.core.readNamespace({ name: `shop-${spec.slug}` })).rejects.toMatchObject({ code: 404 });
  });
});
