import { mkdir } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import {
  CoordinationV1Api,
  CoreV1Api,
  type KubeConfig,
  ListWatch,
  PatchStrategy,
  setHeaderOptions,
  type V1Pod,
  Watch,
} from '@kubernetes/client-node';
import { LoopbackAddressPool } from './addresses.ts';
import { LOCAL_IMAGES, type LocalProgram } from './images.ts';
import { PodRuntime } from './pod-runtime.ts';

export interface NodeAgentOptions {
  /** Credentials of the node (`system:node:<name>` in `system:nodes`), so Node authorization applies. */
  kubeConfig: KubeConfig;
  nodeName: string;
  /** Pod directories (volumes, container logs) go under `<stateDir>/pods`. */
  stateDir: string;
  images?: Readonly<Record<string, LocalProgram>>;
  /** Back-off before the second restart of a crashing container, doubled per crash up to the maximum. */
  restartDelayMs?: number;
  maxRestartDelayMs?: number;
  log?: (message: string) => void;
}

export interface NodeAgent {
  nodeName: string;
  /** The container processes running now. */
  processes(): { pod: string; container: string; pid: number; podIP: string }[];
  /** Ends every pod's processes (the pods stay in the API, as when a kubelet stops) and the heartbeat. */
  stop(): Promise<void>;
}

const LEASE_DURATION_SECONDS = 40;
const LEASE_RENEW_MS = 10_000;
const FIELD_MANAGER = 'amanat-e2e-node-agent';
/** How long a pod's processes get to stop when the agent itself stops. */
const AGENT_STOP_GRACE_MS = 10_000;

/**
 * A stand-in kubelet for a machine without a container runtime: registers a Ready node, keeps
 * its Lease, and runs the pods the scheduler binds to it as local processes.
 */
export async function startNodeAgent(options: NodeAgentOptions): Promise<NodeAgent> {
  const { kubeConfig, nodeName } = options;
  const log = options.log ?? ((message: string) => console.error(`node-agent: ${message}`));
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const coordination = kubeConfig.makeApiClient(CoordinationV1Api);
  const podsDir = join(options.stateDir, 'pods');
  await mkdir(podsDir, { recursive: true });

  const nodeUid = await registerNode(core, nodeName);
  const renewLease = () =>
    coordination
      .patchNamespacedLease(
        {
          name: nodeName,
          namespace: 'kube-node-lease',
          fieldManager: FIELD_MANAGER,
          force: true,
          body: {
            apiVersion: 'coordination.k8s.io/v1',
            kind: 'Lease',
            metadata: {
              name: nodeName,
              namespace: 'kube-node-lease',
              ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: nodeName, uid: nodeUid }],
            },
            spec: {
              holderIdentity: nodeName,
              leaseDurationSeconds: LEASE_DURATION_SECONDS,
              // A MicroTime: the API wants six fractional digits.
              renewTime: new Date().toISOString().replace('Z', '000Z'),
            },
          },
        },
        setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
      )
      .catch((error: unknown) => log(`renewing the node lease: ${String(error)}`));
  await renewLease();
  const leaseTimer = setInterval(() => void renewLease(), LEASE_RENEW_MS);

  const server = new URL(kubeConfig.getCurrentCluster()?.server ?? 'https://127.0.0.1:443');
  const addresses = LoopbackAddressPool.claim();
  const context = {
    core,
    images: options.images ?? LOCAL_IMAGES,
    podsDir,
    // Where in-cluster clients find the API server; the 10.96.0.1 Service address routes nowhere here.
    baseEnv: {
      KUBERNETES_SERVICE_HOST: server.hostname,
      KUBERNETES_SERVICE_PORT: server.port || '443',
    },
    restartDelayMs: options.restartDelayMs ?? 1000,
    maxRestartDelayMs: options.maxRestartDelayMs ?? 30_000,
    log,
  };
  const pods = new Map<string, PodRuntime>();

  const sync = (pod: V1Pod) => {
    const uid = pod.metadata?.uid ?? '';
    const existing = pods.get(uid);
    if (existing) return existing.update(pod);
    if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') return;
    const runtime = new PodRuntime(context, pod, addresses.allocate());
    pods.set(uid, runtime);
    void runtime.start().then(() => runtime.update(pod));
  };
  const remove = (pod: V1Pod) => {
    const uid = pod.metadata?.uid ?? '';
    const runtime = pods.get(uid);
    pods.delete(uid);
    void runtime?.shutdown(2000);
  };

  const fieldSelector = `spec.nodeName=${nodeName}`;
  const informer = new ListWatch<V1Pod>(
    '/api/v1/pods',
    new Watch(kubeConfig),
    () => core.listPodForAllNamespaces({ fieldSelector }),
    false,
    undefined,
    fieldSelector,
  );
  let stopped = false;
  informer.on('add', sync);
  informer.on('update', sync);
  informer.on('delete', remove);
  // The informer re-lists by itself after 410 Gone; any other failure ends it, so start it again.
  informer.on('error', (error: unknown) => {
    if (stopped) return;
    log(`pod watch failed, restarting it: ${String(error)}`);
    setTimeout(() => void informer.start().catch(() => {}), 1000);
  });
  await informer.start();

  return {
    nodeName,
    processes: () =>
      [...pods.values()].flatMap((runtime) =>
        runtime
          .pids()
          .map(({ container, pid }) => ({ pod: runtime.name, container, pid, podIP: runtime.podIP })),
      ),
    async stop() {
      stopped = true;
      clearInterval(leaseTimer);
      await informer.stop();
      await Promise.all([...pods.values()].map((runtime) => runtime.shutdown(AGENT_STOP_GRACE_MS)));
      pods.clear();
      addresses.release();
    },
  };
}

/** Creates the Node, Ready, with this machine's capacity (or marks an existing one Ready); returns its uid. */
async function registerNode(core: CoreV1Api, nodeName: string): Promise<string> {
  const time = new Date();
  const capacity = {
    cpu: String(cpus().length),
    memory: `${Math.floor(totalmem() / 1024)}Ki`,
    pods: '110',
    'ephemeral-storage': '100Gi',
  };
  const condition = (type: string, status: string, reason: string, message: string) => ({
    type,
    status,
    reason,
    message,
    lastHeartbeatTime: time,
    lastTransitionTime: time,
  });
  const status = {
    capacity,
    allocatable: capacity,
    conditions: [
      condition('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'no memory pressure is tracked'),
      condition('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'no disk pressure is tracked'),
      condition('PIDPressure', 'False', 'KubeletHasSufficientPID', 'no PID pressure is tracked'),
      condition('Ready', 'True', 'KubeletReady', 'the e2e node agent runs pods as local processes'),
    ],
    addresses: [
      { type: 'InternalIP', address: '127.0.0.1' },
      { type: 'Hostname', address: nodeName },
    ],
    nodeInfo: {
      machineID: '',
      systemUUID: '',
      bootID: '',
      kernelVersion: '',
      osImage: 'amanat e2e node agent',
      containerRuntimeVersion: 'amanat-e2e://local-processes',
      kubeletVersion: 'v0.0.0-amanat-e2e',
      kubeProxyVersion: '',
      operatingSystem: 'linux',
      architecture: process.arch === 'x64' ? 'amd64' : process.arch,
    },
  };
  try {
    const node = await core.createNode({
      body: {
        metadata: {
          name: nodeName,
          labels: {
            'kubernetes.io/hostname': nodeName,
            'kubernetes.io/os': 'linux',
            'kubernetes.io/arch': status.nodeInfo.architecture,
          },
        },
        status,
      },
    });
    return node.metadata?.uid ?? '';
  } catch (error) {
    if ((error as { code?: number }).code !== 409) throw error;
    const node = await core.patchNodeStatus(
      { name: nodeName, body: { status: { ...status, conditions: status.conditions } } },
      setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
    );
    return node.metadata?.uid ?? '';
  }
}
