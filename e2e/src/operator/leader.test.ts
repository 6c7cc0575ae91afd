import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DATA_PLANE, DATA_PLANE_SECRET, namespaceOf } from '@amanat/cdk8s/tenant-objects';
import { asLogin } from '@amanat/data-plane/provisioning/testing';
import { logTail, type StartedProcess, startProcess } from '@amanat/kit/process/child';
import { freePort } from '@amanat/kit/process/processes';
import type { OperatorConfig } from '@amanat/operator/config';
import type { RunningOperator } from '@amanat/operator/operator';
import { AppsV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { E2E_ROOT } from '../cluster/cluster.ts';
import {
  condition,
  metricOf,
  type OperatorEnvironment,
  startOperatorEnvironment,
  startTestOperator,
  tenantSpec,
  until,
  writesOf,
} from './harness.ts';

// A real cluster and real processes: each step waits with its own deadline, longer than the default test timeout.
vi.setConfig({ testTimeout: 240_000 });

/**
 * Running the operator safely: two replicas of which only the leader writes, a standby that
 * takes over, and a replica killed (SIGKILL) in the middle of a reconcile whose successor
 * converges. The lease lasts 15 s, renewed every 5 s.
 */

const LEASE_DURATION_MS = 15_000;

let env: OperatorEnvironment;
let workDir: string;
const running: RunningOperator[] = [];
const children: StartedProcess[] = [];

beforeAll(async () => {
  env = await startOperatorEnvironment();
  workDir = await mkdtemp(join(tmpdir(), 'amanat-e2e-operator-'));
}, 240_000);

afterAll(async () => {
  for (const operator of running) await operator.stop();
  for (const child of children) await child.stop(5_000);
  await env?.stop();
  if (workDir) await rm(workDir, { recursive: true, force: true });
}, 120_000);

async function replica(podName: string): Promise<RunningOperator> {
  const operator = await startTestOperator(env, podName);
  running.push(operator);
  return operator;
}

/** `operator/src/main.ts` as its own process, configured by env like a pod, with the operator's token. */
async function operatorProcess(podName: string): Promise<{ child: StartedProcess; url: string }> {
  const kubeconfig = join(workDir, 'kubeconfig');
  await writeFile(kubeconfig, env.operatorKubeConfig.exportConfig(), { mode: 0o600 });
  const port = await freePort();
  const config: OperatorConfig = { ...env.config, POD_NAME: podName, PORT: port, LOG_LEVEL: 'info' as never };
  const child = startProcess({
    name: podName,
    command: process.execPath,
    args: ['--import', 'tsx', 'src/main.ts'],
    cwd: resolve(E2E_ROOT, '../operator'),
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      KUBECONFIG: kubeconfig,
      ...Object.fromEntries(Object.entries(config).map(([name, value]) => [name, String(value)])),
    },
    logFile: join(workDir, `${podName}.log`),
    lifetime: 'tied',
  });
  children.push(child);
  const url = `http://127.0.0.1:${port}`;
  await until(`${podName} to serve /healthz`, async () => {
    if (!child.isRunning()) throw new Error(`${podName} exited:\n${logTail(child.logFile)}`);
    return (await fetch(`${url}/healthz`)).ok;
  });
  return { child, url };
}

describe('leader election', () => {
  it('with two replicas only the leader writes; when it stops, the standby takes over and reconciles', async () => {
    const first = await replica('replica-a');
    await until('replica-a to lead', async () => first.isLeader());
    const second = await replica('replica-b');

    const before = tenantSpec('e2e-leader-a');
    await env.createTenant(before);
    await env.readyTenant(before.slug);
    // A resync (every 5 s) passes too: the standby still makes no write.
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    expect(await metricOf(first.url, 'amanat_operator_leader')).toBe(1);
    expect(await metricOf(second.url, 'amanat_operator_leader')).toBe(0);
    expect(await writesOf(first.url)).toBeGreaterThan(0);
    expect(await writesOf(second.url)).toBe(0);
    expect(second.isLeader()).toBe(false);

    const stoppedAt = Date.now();
    await first.stop();
    await until('replica-b to take over', async () => second.isLeader(), LEASE_DURATION_MS);
    const takeoverMs = Date.now() - stoppedAt;
    console.log(`standby took over ${(takeoverMs / 1000).toFixed(1)} s after the leader stopped`);
    expect(takeoverMs).toBeLessThan(LEASE_DURATION_MS);
    expect(await metricOf(first.url, 'amanat_operator_leader').catch(() => 0)).not.toBe(1);

    const after = tenantSpec('e2e-leader-b');
    await env.createTenant(after);
    await env.readyTenant(after.slug);
    expect(await writesOf(second.url)).toBeGreaterThan(0);
    await second.stop();
  });
});

describe('a crash in the middle of a reconcile', () => {
  it('an operator killed right after it created the namespace is succeeded by one that converges', async () => {
    const crashing = await operatorProcess('crashing-replica');
    await until(
      'the operator process to lead',
      async () => (await metricOf(crashing.url, 'amanat_operator_leader')) === 1,
    );

    const spec = tenantSpec('e2e-crash');
    await env.createTenant(spec);
    const namespace = namespaceOf(spec.slug);
    await until(
      'the namespace to be created',
      async () => (await env.core.readNamespace({ name: namespace })).metadata?.name === namespace,
      60_000,
      10,
    );
    process.kill(crashing.child.pid, 'SIGKILL');
    const killedAt = Date.now();
    expect(await crashing.child.exited).toMatchObject({ signal: 'SIGKILL' });
    const apps = env.cluster.kubeConfig.makeApiClient(AppsV1Api);
    const leftBehind = {
      secret: await env.core
        .readNamespacedSecret({ name: DATA_PLANE_SECRET, namespace })
        .then(() => true)
        .catch(() => false),
      deployment: await apps
        .readNamespacedDeployment({ name: DATA_PLANE, namespace })
        .then(() => true)
        .catch(() => false),
    };
    console.log(`killed mid-reconcile; left behind: ${JSON.stringify(leftBehind)}`);
    expect(condition(await env.readTenant(spec.slug), 'Ready')?.status).not.toBe('True');

    // A new replica (another pod name) must wait for the dead one's lease to expire.
    const successor = await operatorProcess('successor-replica');
    await until(
      'the successor to lead',
      async () => (await metricOf(successor.url, 'amanat_operator_leader')) === 1,
      LEASE_DURATION_MS + 10_000,
    );
    console.log(`successor led ${((Date.now() - killedAt) / 1000).toFixed(1)} s after the kill`);
    const tenant = await env.readyTenant(spec.slug);
    console.log(`converged to Ready ${((Date.now() - killedAt) / 1000).toFixed(1)} s after the kill`);
    expect(condition(tenant, 'Degraded')?.status).toBe('False');
    expect((await env.storefront(spec.slug)).status).toBe(200);
    // Whatever the crash interrupted, the Secret's login works.
    expect(
      await asLogin(
        await env.databaseUrl(spec.slug),
        async (client) => (await client.query('SELECT 1 AS one')).rows,
      ),
    ).toEqual([{ one: 1 }]);
    await successor.child.stop(10_000);
  });
});
