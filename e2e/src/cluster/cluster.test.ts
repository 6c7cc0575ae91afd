import { readFileSync } from 'node:fs';
import { isProcessAlive } from '@amanat/kit/process/processes';
import {
  AppsV1Api,
  CoreV1Api,
  type V1Container,
  type V1Pod,
  type V1PodSpec,
  VersionApi,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type Cluster, NODE_NAME, startCluster } from './cluster.ts';

// A real cluster and real processes: each step waits with its own deadline, longer than the default test timeout.
vi.setConfig({ testTimeout: 240_000 });

const NAMESPACE = 'e2e-harness';

async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  timeoutMs = 45_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** What Pod Security `restricted` asks of every pod in the test namespace. */
const restrictedPod = (containers: V1Container[], extra: Partial<V1PodSpec> = {}): V1PodSpec => ({
  securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
  containers: containers.map((container) => ({
    ...container,
    securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
  })),
  ...extra,
});

const echoContainer = (env: V1Container['env'] = []): V1Container => ({
  name: 'echo',
  image: 'amanat/e2e-echo:test',
  ports: [{ name: 'http', containerPort: 8080 }],
  env,
  readinessProbe: { httpGet: { path: '/readyz', port: 'http' }, periodSeconds: 1 },
  livenessProbe: { httpGet: { path: '/healthz', port: 8080 }, periodSeconds: 2 },
});

describe('the e2e cluster', () => {
  let cluster: Cluster;
  let core: CoreV1Api;
  let apps: AppsV1Api;
  const timings: Record<string, string> = {};

  beforeAll(async () => {
    const startedAt = Date.now();
    // This file tests the harness itself, so it starts its cluster even when KUBECONFIG is set.
    cluster = await startCluster({ kubeconfigFromEnv: false });
    timings.clusterStart = `${((Date.now() - startedAt) / 1000).toFixed(1)} s`;
    core = cluster.kubeConfig.makeApiClient(CoreV1Api);
    apps = cluster.kubeConfig.makeApiClient(AppsV1Api);
  });
  afterAll(async () => {
    await cluster?.stop();
    console.log('e2e cluster timings', timings);
  });

  it('serves the pinned Kubernetes release, with a Ready node, namespaces, Secrets and ConfigMaps', async () => {
    expect(cluster.managed).toBe(true);
    const version = await cluster.kubeConfig.makeApiClient(VersionApi).getCode();
    expect(version.gitVersion).toBe('v1.36.3');

    const node = await core.readNode({ name: NODE_NAME });
    expect(node.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');

    await core.createNamespace({
      body: {
        metadata: {
          name: NAMESPACE,
          labels: {
            'pod-security.kubernetes.io/enforce': 'restricted',
            'pod-security.kubernetes.io/enforce-version': 'latest',
          },
        },
      },
    });
    await core.createNamespacedSecret({
      namespace: NAMESPACE,
      body: {
        metadata: { name: 'echo-secret' },
        stringData: { token: 's3cret-token', 'database-url': 'postgres://db' },
      },
    });
    await core.createNamespacedConfigMap({
      namespace: NAMESPACE,
      body: { metadata: { name: 'echo-config' }, data: { greeting: 'salaam', LOG_LEVEL: 'debug' } },
    });
    const secret = await core.readNamespacedSecret({ name: 'echo-secret', namespace: NAMESPACE });
    expect(Buffer.from(secret.data?.token ?? '', 'base64').toString()).toBe('s3cret-token');
    const configMap = await core.readNamespacedConfigMap({ name: 'echo-config', namespace: NAMESPACE });
    expect(configMap.data?.greeting).toBe('salaam');
    // The namespace's default ServiceAccount is made by the real controller manager.
    await waitFor('the default ServiceAccount', () =>
      core.readNamespacedServiceAccount({ name: 'default', namespace: NAMESPACE }),
    );
  });

  it('refuses a pod that breaks Pod Security restricted', async () => {
    const refused = await core
      .createNamespacedPod({
        namespace: NAMESPACE,
        body: {
          metadata: { name: 'privileged' },
          spec: { containers: [{ name: 'c', image: 'amanat/e2e-echo' }] },
        },
      })
      .then(
        () => undefined,
        (error: { code?: number; body?: string }) => error,
      );
    expect(refused?.code).toBe(403);
    const status = JSON.parse(String(refused?.body)) as { message: string };
    expect(status.message).toContain('violates PodSecurity "restricted:latest"');
  });

  let firstPod: V1Pod;

  it('makes a Deployment Available: its pod runs on a loopback address with env from Secrets, ConfigMaps and fieldRefs', async () => {
    const labels = { app: 'echo' };
    const createdAt = Date.now();
    await apps.createNamespacedDeployment({
      namespace: NAMESPACE,
      body: {
        metadata: { name: 'echo', labels },
        spec: {
          replicas: 1,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: restrictedPod(
              [
                {
                  ...echoContainer([
                    { name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'echo-secret', key: 'token' } } },
                    {
                      name: 'GREETING',
                      valueFrom: { configMapKeyRef: { name: 'echo-config', key: 'greeting' } },
                    },
                    { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                    { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
                    { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
                    { name: 'APP_LABEL', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
                    { name: 'GREETING_TWICE', value: '$(GREETING) $(GREETING)' },
                    { name: 'DATABASE_URL_FILE', value: '/etc/echo/secrets/database-url' },
                    { name: 'HOST', value: '0.0.0.0' },
                  ]),
                  envFrom: [{ configMapRef: { name: 'echo-config' }, prefix: 'CFG_' }],
                  volumeMounts: [{ name: 'secrets', mountPath: '/etc/echo/secrets', readOnly: true }],
                },
              ],
              {
                automountServiceAccountToken: false,
                terminationGracePeriodSeconds: 5,
                volumes: [{ name: 'secrets', secret: { secretName: 'echo-secret' } }],
              },
            ),
          },
        },
      },
    });
    await waitFor('the Deployment to be Available', async () => {
      const deployment = await apps.readNamespacedDeployment({ name: 'echo', namespace: NAMESPACE });
      return deployment.status?.conditions?.some((c) => c.type === 'Available' && c.status === 'True');
    });
    timings.deploymentToAvailable = `${((Date.now() - createdAt) / 1000).toFixed(1)} s`;

    const pods = await core.listNamespacedPod({ namespace: NAMESPACE, labelSelector: 'app=echo' });
    expect(pods.items).toHaveLength(1);
    firstPod = pods.items[0] as V1Pod;
    const podIP = firstPod.status?.podIP ?? '';
    expect(podIP).toMatch(/^127\.\d+\.\d+\.\d+$/);
    expect(firstPod.status?.podIPs).toEqual([{ ip: podIP }]);
    expect(firstPod.status?.phase).toBe('Running');
    const status = firstPod.status?.containerStatuses?.[0];
    expect(status).toMatchObject({ name: 'echo', ready: true, started: true, restartCount: 0 });
    expect(status?.state?.running?.startedAt).toBeDefined();

    const echo = (await (await fetch(`http://${podIP}:8080/`)).json()) as {
      pid: number;
      env: Record<string, string>;
    };
    expect(echo.env).toMatchObject({
      TOKEN: 's3cret-token',
      GREETING: 'salaam',
      POD_NAME: firstPod.metadata?.name,
      POD_NAMESPACE: NAMESPACE,
      POD_IP: podIP,
      APP_LABEL: 'echo',
      GREETING_TWICE: 'salaam salaam',
      CFG_greeting: 'salaam',
      CFG_LOG_LEVEL: 'debug',
      HOST: podIP,
      PORT: '8080',
    });
    // The secret volume is written for the pod, and its container path points there.
    expect(echo.env.DATABASE_URL_FILE).not.toBe('/etc/echo/secrets/database-url');
    expect(readFileSync(echo.env.DATABASE_URL_FILE ?? '', 'utf8')).toBe('postgres://db');
    expect(cluster.nodeAgent?.processes()).toContainEqual(
      expect.objectContaining({ pid: echo.pid, podIP, container: 'echo' }),
    );
  }, 60_000);

  it('ends a deleted pod’s process, and the ReplicaSet brings up a new pod', async () => {
    const podIP = firstPod.status?.podIP ?? '';
    const { pid } = (await (await fetch(`http://${podIP}:8080/`)).json()) as { pid: number };
    await core.deleteNamespacedPod({ name: firstPod.metadata?.name ?? '', namespace: NAMESPACE });

    await waitFor('the process to end', async () => !isProcessAlive(pid));
    await waitFor('the pod to be gone', async () =>
      core.readNamespacedPod({ name: firstPod.metadata?.name ?? '', namespace: NAMESPACE }).then(
        () => false,
        (error: { code?: number }) => error.code === 404,
      ),
    );
    const replacement = await waitFor('a new ready pod', async () => {
      const pods = await core.listNamespacedPod({ namespace: NAMESPACE, labelSelector: 'app=echo' });
      return pods.items.find(
        (pod) =>
          pod.metadata?.name !== firstPod.metadata?.name &&
          pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
      );
    });
    expect(replacement.status?.podIP).not.toBe(podIP);
    const answer = await fetch(`http://${replacement.status?.podIP}:8080/healthz`);
    expect(await answer.text()).toBe('ok');
  }, 60_000);

  it('leaves a pod whose image maps to no program waiting with a reason naming the image', async () => {
    await core.createNamespacedPod({
      namespace: NAMESPACE,
      body: {
        metadata: { name: 'unknown-image' },
        spec: restrictedPod([{ name: 'app', image: 'registry.example/someone/else:1.0' }]),
      },
    });
    const waiting = await waitFor('the waiting reason', async () => {
      const pod = await core.readNamespacedPod({ name: 'unknown-image', namespace: NAMESPACE });
      return pod.status?.containerStatuses?.[0]?.state?.waiting;
    });
    expect(waiting.reason).toBe('ErrImagePull');
    expect(waiting.message).toContain('registry.example/someone/else:1.0');
    const pod = await core.readNamespacedPod({ name: 'unknown-image', namespace: NAMESPACE });
    expect(pod.status?.phase).toBe('Pending');
  });

  it('restarts a crashing program and counts its restarts', async () => {
    await core.createNamespacedPod({
      namespace: NAMESPACE,
      body: {
        metadata: { name: 'crasher' },
        spec: restrictedPod([
          { name: 'app', image: 'amanat/e2e-echo', env: [{ name: 'ECHO_EXIT_AFTER_MS', value: '300' }] },
        ]),
      },
    });
    const status = await waitFor('two restarts', async () => {
      const pod = await core.readNamespacedPod({ name: 'crasher', namespace: NAMESPACE });
      const container = pod.status?.containerStatuses?.[0];
      return (container?.restartCount ?? 0) >= 2 && container;
    });
    expect(status.lastState?.terminated).toMatchObject({ exitCode: 3, reason: 'Error' });
  }, 60_000);

  it('stop() leaves no process behind', async () => {
    const pids = [
      ...cluster.processes.map((p) => p.pid),
      ...(cluster.nodeAgent?.processes() ?? []).map((p) => p.pid),
    ];
    expect(pids.length).toBeGreaterThanOrEqual(5);
    expect(pids.every(isProcessAlive)).toBe(true);
    await cluster.stop();
    expect(pids.filter(isProcessAlive)).toEqual([]);
  }, 60_000);
});
