import { randomUUID } from 'node:crypto';
import { namespaceOf } from '@amanat/cdk8s/tenant-objects';
import { tenantObjectNames } from '@amanat/data-plane/provisioning/names';
import { roleExists } from '@amanat/data-plane/provisioning/servers';
import { asLogin } from '@amanat/data-plane/provisioning/testing';
import type { RunningOperator } from '@amanat/operator/operator';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  type OperatorEnvironment,
  startOperatorEnvironment,
  startTestOperator,
  tenantSpec,
  until,
} from './harness.ts';

// A real cluster and real processes: each step waits with its own deadline, longer than the default test timeout.
vi.setConfig({ testTimeout: 240_000 });

/**
 * Every isolation mode through the operator, the tier move of a live tenant, and a rolling
 * update of its data plane — against the e2e cluster and a real PostgreSQL.
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

const adminQuery = <T>(database: string, text: string, values: unknown[]) =>
  env.provisioner.servers.withAdmin(
    'default',
    database,
    async (client) => (await client.query(text, values)).rows as T[],
  );

/** A category written with the data plane's own login (what the shop's admin API would do). */
async function writeCategory(url: string, tenantId: string, slug: string): Promise<void> {
  await asLogin(url, (client) =>
    client.query('INSERT INTO categories (id, tenant_id, name, slug) VALUES ($1, $2, $3, $4)', [
      randomUUID(),
      tenantId,
      `Category ${slug}`,
      slug,
    ]),
  );
}

const categorySlugs = (url: string) =>
  asLogin(url, async (client) =>
    (await client.query<{ slug: string }>('SELECT slug FROM categories ORDER BY slug')).rows.map(
      (r) => r.slug,
    ),
  );

describe('every isolation mode', () => {
  const schema = tenantSpec('e2e-schema', { isolation: { mode: 'schema' } });
  const database = tenantSpec('e2e-database', { isolation: { mode: 'database' } });

  it('schema and database tenants become Ready, serve their storefronts, and own their database objects', async () => {
    const started = Date.now();
    await Promise.all([env.createTenant(schema), env.createTenant(database)]);
    const [schemaTenant, databaseTenant] = await Promise.all([
      env.readyTenant(schema.slug),
      env.readyTenant(database.slug),
    ]);
    console.log(`schema and database tenants Ready after ${((Date.now() - started) / 1000).toFixed(1)} s`);

    const schemaPlacement = await env.provisioner.locate(schema.tenantId);
    expect(schemaPlacement).toMatchObject({ mode: 'schema' });
    expect(schemaTenant.status?.database).toMatchObject({
      mode: 'schema',
      database: schemaPlacement?.database,
      schema: schemaPlacement?.schema,
      login: tenantObjectNames(schema.tenantId).app,
    });
    const schemas = await adminQuery<{ owner: string }>(
      schemaPlacement?.database as string,
      'SELECT pg_get_userbyid(nspowner) AS owner FROM pg_namespace WHERE nspname = $1',
      [schemaPlacement?.schema],
    );
    expect(schemas).toEqual([{ owner: tenantObjectNames(schema.tenantId).owner }]);

    const databasePlacement = await env.provisioner.locate(database.tenantId);
    expect(databasePlacement).toMatchObject({ mode: 'database' });
    expect(databaseTenant.status?.database).toMatchObject({
      mode: 'database',
      database: databasePlacement?.database,
    });
    const databases = await adminQuery<{ owner: string }>(
      'postgres',
      'SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = $1',
      [databasePlacement?.database],
    );
    expect(databases).toEqual([{ owner: tenantObjectNames(database.tenantId).owner }]);

    for (const spec of [schema, database]) {
      const { app } = tenantObjectNames(spec.tenantId);
      expect(
        await env.provisioner.servers.withAdmin('default', 'postgres', (client) => roleExists(client, app)),
      ).toBe(true);
      const home = await env.storefront(spec.slug);
      expect(home.status).toBe(200);
      expect(await home.text()).toMatch(/^<!doctype html>/);
      // The data plane's login reaches its own location.
      await writeCategory(await env.databaseUrl(spec.slug), spec.tenantId, `${spec.slug}-first`);
      expect(await categorySlugs(await env.databaseUrl(spec.slug))).toEqual([`${spec.slug}-first`]);
    }
  });

  it('a live shared tenant moves up to schema mode: Ready again, its rows kept, the pods on the new login', async () => {
    const spec = tenantSpec('e2e-move');
    await env.createTenant(spec);
    await env.readyTenant(spec.slug);
    const sharedUrl = await env.databaseUrl(spec.slug);
    for (const slug of ['before-a', 'before-b']) await writeCategory(sharedUrl, spec.tenantId, slug);
    const podsBefore = (await env.core.listNamespacedPod({ namespace: namespaceOf(spec.slug) })).items.map(
      (pod) => pod.metadata?.name,
    );

    const started = Date.now();
    await env.patchSpec(spec.slug, { isolation: { mode: 'schema' } });
    const generation = (await env.readTenant(spec.slug)).metadata.generation;
    const moved = await until('the tenant Ready in schema mode', async () => {
      const tenant = await env.readyTenant(spec.slug, generation);
      return tenant.status?.database?.mode === 'schema' ? tenant : undefined;
    });
    console.log(`moved to schema mode and Ready after ${((Date.now() - started) / 1000).toFixed(1)} s`);

    expect((await env.provisioner.locate(spec.tenantId))?.mode).toBe('schema');
    expect(JSON.stringify(moved.status)).not.toMatch(/password|postgres:\/\//i);
    const schemaUrl = await env.databaseUrl(spec.slug);
    expect(new URL(schemaUrl).pathname).not.toBe(new URL(sharedUrl).pathname);
    expect(await categorySlugs(schemaUrl)).toEqual(['before-a', 'before-b']);
    // The old password stopped working with the switch; the old rows are gone from the shared database.
    await expect(categorySlugs(sharedUrl)).rejects.toThrow(/password authentication failed/);
    expect(
      await adminQuery('shops_shared', 'SELECT 1 FROM categories WHERE tenant_id = $1', [spec.tenantId]),
    ).toEqual([]);

    // The pods rolled onto the new credentials, and the shop answers from them.
    await until('the old pods to be replaced', async () => {
      const pods = (await env.core.listNamespacedPod({ namespace: namespaceOf(spec.slug) })).items;
      return pods.length > 0 && pods.every((pod) => !podsBefore.includes(pod.metadata?.name));
    });
    await until(
      'the storefront on the new location',
      async () => (await env.storefront(spec.slug)).status === 200,
    );
    const events = await env.core.listNamespacedEvent({
      namespace: 'default',
      fieldSelector: `involvedObject.name=${spec.slug}`,
    });
    const reasons = events.items.map((event) => event.reason);
    expect(reasons).toEqual(expect.arrayContaining(['MovingTier', 'MovedTier']));
    expect(JSON.stringify(events.items.map((event) => event.message))).not.toMatch(/postgres:\/\//);
  });
});

describe('a rolling update', () => {
  it('a new version and more replicas roll the Deployment; the tenant is Ready on the new version', async () => {
    const spec = tenantSpec('e2e-rolling');
    await env.createTenant(spec);
    const first = await env.readyTenant(spec.slug);
    expect(first.status?.dataPlaneVersion).toBe('0.1.0');
    const apps = env.cluster.kubeConfig.makeApiClient(AppsV1Api);
    const namespace = namespaceOf(spec.slug);

    const started = Date.now();
    await env.patchSpec(spec.slug, { dataPlane: { version: '0.2.0', replicas: 2 } });
    const generation = (await env.readTenant(spec.slug)).metadata.generation;
    const rolled = await until(
      'the tenant Ready on version 0.2.0',
      async () => {
        const tenant = await env.readyTenant(spec.slug, generation);
        return tenant.status?.dataPlaneVersion === '0.2.0' ? tenant : undefined;
      },
      120_000,
    );
    console.log(`rolled to 0.2.0 with 2 replicas after ${((Date.now() - started) / 1000).toFixed(1)} s`);
    expect(rolled.status?.phase).toBe('Ready');

    const deployment = await apps.readNamespacedDeployment({ name: 'data-plane', namespace });
    expect(deployment.spec?.template.spec?.containers[0]?.image).toBe('amanat/data-plane:0.2.0');
    expect(deployment.status).toMatchObject({ replicas: 2, updatedReplicas: 2, availableReplicas: 2 });
    const replicaSets = (await apps.listNamespacedReplicaSet({ namespace })).items;
    const byImage = new Map(
      replicaSets.map((set) => [set.spec?.template?.spec?.containers[0]?.image, set.status?.replicas ?? 0]),
    );
    expect(byImage.get('amanat/data-plane:0.1.0')).toBe(0);
    expect(byImage.get('amanat/data-plane:0.2.0')).toBe(2);
    const pods = (await env.cluster.kubeConfig.makeApiClient(CoreV1Api).listNamespacedPod({ namespace }))
      .items;
    const ready = pods.filter((pod) =>
      pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
    );
    expect(ready).toHaveLength(2);
    for (const pod of ready) {
      const answer = await fetch(`http://${pod.status?.podIP}:8080/healthz`);
      expect(answer.status).toBe(200);
    }
  });
});
