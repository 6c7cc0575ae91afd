import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  delay,
  logTail,
  type StartedProcess,
  startProcess,
  stopProcessById,
} from '@amanat/kit/process/child';
import { freePort, isProcessAlive } from '@amanat/kit/process/processes';
import { testToolPath } from '@amanat/kit/testing/test-tools';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { httpsGet } from '../http-get.ts';
import { type NodeAgent, startNodeAgent } from '../node-agent/agent.ts';
import { createCertificateAuthority, createServiceAccountKeys } from './certificates.ts';
import { kubeconfigDocument } from './kubeconfig.ts';

export const E2E_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** Where `npm run cluster:up` keeps its cluster (git-ignored). */
export const DEFAULT_STATE_DIR = resolve(E2E_ROOT, '../.e2e/cluster');
export const NODE_NAME = 'e2e-node';
const SERVICE_CIDR = '10.96.0.0/12';
const KUBERNETES_SERVICE_IP = '10.96.0.1';
const STOP_GRACE_MS = 10_000;
const START_TIMEOUT_MS = 120_000;

export interface Cluster {
  kubeconfigPath: string;
  kubeConfig: KubeConfig;
  /** False when `KUBECONFIG` selected another cluster: nothing was started, stop() does nothing. */
  managed: boolean;
  /** The processes this harness started (control plane, and the node agent when it is a process). */
  processes: { name: string; pid: number; logFile: string }[];
  /** The in-process node agent (lifetime `tied` only). */
  nodeAgent?: NodeAgent;
  stateDir?: string;
  stop(): Promise<void>;
}

export interface StartClusterOptions {
  /** Default: a fresh temporary directory, removed by stop(). */
  stateDir?: string;
  /**
   * `tied` (default, tests): every process dies with this one, the node agent runs in this
   * process. `detached` (`npm run cluster:up`): they outlive it; `stopClusterInDir` ends them.
   */
  lifetime?: 'tied' | 'detached';
  /** Register the node and run pods as local processes (default true). */
  nodeAgent?: boolean;
  /**
   * Whether a `KUBECONFIG` in the environment selects that cluster instead (default true); the
   * harness's own tests turn it off, since they test the harness.
   */
  kubeconfigFromEnv?: boolean;
}

/** Written into the state directory; how `cluster:down` and a second `cluster:up` find a cluster. */
interface ClusterRecord {
  kubeconfigPath: string;
  server: string;
  processes: { name: string; pid: number; logFile: string }[];
}

const RECORD_FILE = 'cluster.json';

/**
 * Starts a real Kubernetes control plane on loopback — etcd, kube-apiserver,
 * kube-controller-manager, kube-scheduler (built by `infra/test-tools/ensure.sh`) — with fresh
 * certificates, and the node agent, and resolves once the API is ready, the default
 * ServiceAccount exists and the node is Ready. With `KUBECONFIG` set, it uses that cluster instead.
 */
export async function startCluster(options: StartClusterOptions = {}): Promise<Cluster> {
  const env = process.env;
  if (env.KUBECONFIG && (options.kubeconfigFromEnv ?? true)) {
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromDefault({}, false);
    return {
      kubeconfigPath: env.KUBECONFIG,
      kubeConfig,
      managed: false,
      processes: [],
      stop: async () => {},
    };
  }

  const lifetime = options.lifetime ?? 'tied';
  const temporary = options.stateDir === undefined;
  const stateDir = options.stateDir ?? (await mkdtemp(join(tmpdir(), 'amanat-e2e-cluster-')));
  // Every start is a fresh cluster: no etcd data, certificates or pods from an earlier one.
  if (!temporary) await rm(stateDir, { recursive: true, force: true });
  const dirs = { pki: join(stateDir, 'pki'), etcd: join(stateDir, 'etcd'), logs: join(stateDir, 'logs') };
  for (const dir of Object.values(dirs)) await mkdir(dir, { recursive: true });

  const binaries = {
    etcd: testToolPath('etcd'),
    apiserver: testToolPath('kube-apiserver'),
    controllerManager: testToolPath('kube-controller-manager'),
    scheduler: testToolPath('kube-scheduler'),
  };
  const ports = {
    etcdClient: await freePort(),
    etcdPeer: await freePort(),
    apiserver: await freePort(),
    controllerManager: await freePort(),
    scheduler: await freePort(),
  };
  const server = `https://127.0.0.1:${ports.apiserver}`;
  const pki = await writePki(dirs.pki, server);

  const started: StartedProcess[] = [];
  const record: ClusterRecord = { kubeconfigPath: pki.kubeconfigs.admin, server, processes: [] };
  const launch = async (name: string, command: string, args: string[], extra: { cwd?: string } = {}) => {
    const child = startProcess({
      name,
      command,
      args,
      env: { PATH: env.PATH, HOME: env.HOME },
      logFile: join(dirs.logs, `${name}.log`),
      lifetime,
      ...extra,
    });
    started.push(child);
    record.processes.push({ name, pid: child.pid, logFile: child.logFile });
    await writeFile(join(stateDir, RECORD_FILE), `${JSON.stringify(record, null, 2)}\n`);
    return child;
  };
  let nodeAgent: NodeAgent | undefined;
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      await nodeAgent?.stop();
      for (const child of [...started].reverse()) await child.stop(STOP_GRACE_MS);
      if (temporary) await rm(stateDir, { recursive: true, force: true });
      else await rm(join(stateDir, RECORD_FILE), { force: true });
    })();
    return stopping;
  };

  try {
    const etcd = await launch('etcd', binaries.etcd, [
      '--name=e2e',
      `--data-dir=${dirs.etcd}`,
      `--listen-client-urls=http://127.0.0.1:${ports.etcdClient}`,
      `--advertise-client-urls=http://127.0.0.1:${ports.etcdClient}`,
      `--listen-peer-urls=http://127.0.0.1:${ports.etcdPeer}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${ports.etcdPeer}`,
      `--initial-cluster=e2e=http://127.0.0.1:${ports.etcdPeer}`,
      // A throw-away test store: durability across power loss buys nothing and costs seconds.
      '--unsafe-no-fsync',
      '--log-level=warn',
    ]);
    await waitUntil('etcd to report healthy', async () => {
      const answer = await fetch(`http://127.0.0.1:${ports.etcdClient}/health`).catch(() => undefined);
      return answer?.ok === true;
    }, [etcd]);

    const apiserver = await launch('kube-apiserver', binaries.apiserver, [
      `--etcd-servers=http://127.0.0.1:${ports.etcdClient}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${ports.apiserver}`,
      `--cert-dir=${dirs.pki}`,
      `--tls-cert-file=${pki.files.apiserverCert}`,
      `--tls-private-key-file=${pki.files.apiserverKey}`,
      `--client-ca-file=${pki.files.caCert}`,
      `--service-cluster-ip-range=${SERVICE_CIDR}`,
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${pki.files.serviceAccountPublicKey}`,
      `--service-account-signing-key-file=${pki.files.serviceAccountPrivateKey}`,
      '--authorization-mode=Node,RBAC',
      // On top of the default plugins (PodSecurity among them): a node may only touch itself and its pods.
      '--enable-admission-plugins=NodeRestriction',
      `--requestheader-client-ca-file=${pki.files.frontProxyCaCert}`,
      '--requestheader-allowed-names=front-proxy-client',
      '--requestheader-username-headers=X-Remote-User',
      '--requestheader-group-headers=X-Remote-Group',
      '--requestheader-extra-headers-prefix=X-Remote-Extra-',
      `--proxy-client-cert-file=${pki.files.frontProxyClientCert}`,
      `--proxy-client-key-file=${pki.files.frontProxyClientKey}`,
      '--profiling=false',
    ]);
    const admin = { ca: pki.ca, cert: pki.admin.certificate, key: pki.admin.privateKey };
    await waitUntil(
      'kube-apiserver /readyz',
      async () => (await httpsGet(`${server}/readyz`, admin)).status === 200,
      [etcd, apiserver],
    );

    const delegated = (kubeconfig: string) => [
      `--kubeconfig=${kubeconfig}`,
      `--authentication-kubeconfig=${kubeconfig}`,
      `--authorization-kubeconfig=${kubeconfig}`,
      '--bind-address=127.0.0.1',
      '--leader-elect=false',
      '--profiling=false',
    ];
    const controllerManager = await launch('kube-controller-manager', binaries.controllerManager, [
      ...delegated(pki.kubeconfigs.controllerManager),
      `--secure-port=${ports.controllerManager}`,
      `--cert-dir=${join(dirs.pki, 'kube-controller-manager')}`,
      `--root-ca-file=${pki.files.caCert}`,
      `--service-account-private-key-file=${pki.files.serviceAccountPrivateKey}`,
      `--service-cluster-ip-range=${SERVICE_CIDR}`,
      '--use-service-account-credentials=true',
      '--cluster-name=amanat-e2e',
    ]);
    const scheduler = await launch('kube-scheduler', binaries.scheduler, [
      ...delegated(pki.kubeconfigs.scheduler),
      `--secure-port=${ports.scheduler}`,
      `--cert-dir=${join(dirs.pki, 'kube-scheduler')}`,
    ]);
    const core = await adminClient(pki.kubeconfigs.admin);
    const controlPlane = [etcd, apiserver, controllerManager, scheduler];
    await waitUntil(
      'the default ServiceAccount (kube-controller-manager) and a healthy kube-scheduler',
      async () => {
        const account = await core
          .readNamespacedServiceAccount({ name: 'default', namespace: 'default' })
          .catch(() => undefined);
        if (!account) return false;
        const health = await httpsGet(`https://127.0.0.1:${ports.scheduler}/healthz`, { insecure: true });
        return health.status === 200;
      },
      controlPlane,
    );

    if (options.nodeAgent ?? true) {
      const agentStateDir = join(stateDir, 'node-agent');
      await mkdir(agentStateDir, { recursive: true });
      if (lifetime === 'tied') {
        const kubeConfig = new KubeConfig();
        kubeConfig.loadFromFile(pki.kubeconfigs.node);
        nodeAgent = await startNodeAgent({ kubeConfig, nodeName: NODE_NAME, stateDir: agentStateDir });
      } else {
        await launch(
          'node-agent',
          process.execPath,
          [
            '--import',
            'tsx',
            join(E2E_ROOT, 'src/node-agent/main.ts'),
            `--kubeconfig=${pki.kubeconfigs.node}`,
            `--node-name=${NODE_NAME}`,
            `--state-dir=${agentStateDir}`,
          ],
          { cwd: E2E_ROOT },
        );
      }
      await waitUntil(
        `node ${NODE_NAME} to be Ready`,
        async () => {
          const node = await core.readNode({ name: NODE_NAME }).catch(() => undefined);
          return node?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
        },
        started,
      );
    }
  } catch (error) {
    await stop();
    throw error;
  }

  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(pki.kubeconfigs.admin);
  return {
    kubeconfigPath: pki.kubeconfigs.admin,
    kubeConfig,
    managed: true,
    processes: record.processes,
    nodeAgent,
    stateDir,
    stop,
  };
}

/** The cluster a detached `startCluster` left running in `stateDir`, if its processes are alive. */
export async function runningClusterInDir(stateDir: string): Promise<ClusterRecord | undefined> {
  const path = join(stateDir, RECORD_FILE);
  if (!existsSync(path)) return undefined;
  const record = JSON.parse(await readFile(path, 'utf8')) as ClusterRecord;
  return record.processes.some((p) => isProcessAlive(p.pid)) ? record : undefined;
}

/**
 * Stops what a detached `startCluster` started in `stateDir` — node agent first (it stops its
 * pods), etcd last — and removes the directory.
 */
export async function stopClusterInDir(stateDir: string): Promise<boolean> {
  const path = join(stateDir, RECORD_FILE);
  if (!existsSync(path)) {
    await rm(stateDir, { recursive: true, force: true });
    return false;
  }
  const record = JSON.parse(await readFile(path, 'utf8')) as ClusterRecord;
  // Every process was started with a path inside stateDir among its arguments.
  for (const { pid } of [...record.processes].reverse()) await stopProcessById(pid, stateDir, STOP_GRACE_MS);
  await rm(stateDir, { recursive: true, force: true });
  return true;
}

async function adminClient(kubeconfigPath: string): Promise<CoreV1Api> {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(kubeconfigPath);
  return kubeConfig.makeApiClient(CoreV1Api);
}

async function waitUntil(
  what: string,
  ready: () => Promise<boolean>,
  watched: StartedProcess[],
): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    const dead = watched.find((child) => !child.isRunning());
    if (dead) {
      throw new Error(
        `${dead.name} exited while waiting for ${what}; its log (${dead.logFile}) ends:\n${logTail(dead.logFile)}`,
      );
    }
    if (await ready()) return;
    if (Date.now() > deadline) {
      const logs = watched.map((child) => `--- ${child.logFile}\n${logTail(child.logFile, 10)}`).join('\n');
      throw new Error(`timed out after ${START_TIMEOUT_MS / 1000} s waiting for ${what}\n${logs}`);
    }
    await delay(200);
  }
}

/**
 * The cluster CA and everything signed by it, written as PEM files with 0600 keys, plus one
 * kubeconfig per client identity.
 */
async function writePki(dir: string, server: string) {
  const ca = await createCertificateAuthority('amanat-e2e-ca');
  const frontProxyCa = await createCertificateAuthority('amanat-e2e-front-proxy-ca');
  const apiserver = await ca.issue({
    commonName: 'kube-apiserver',
    usage: 'server',
    dnsNames: [
      'localhost',
      'kubernetes',
      'kubernetes.default',
      'kubernetes.default.svc',
      'kubernetes.default.svc.cluster.local',
    ],
    ipAddresses: ['127.0.0.1', KUBERNETES_SERVICE_IP],
  });
  const frontProxyClient = await frontProxyCa.issue({ commonName: 'front-proxy-client', usage: 'client' });
  const serviceAccount = await createServiceAccountKeys();
  const clients = {
    admin: await ca.issue({
      commonName: 'amanat-e2e-admin',
      organizations: ['system:masters'],
      usage: 'client',
    }),
    controllerManager: await ca.issue({ commonName: 'system:kube-controller-manager', usage: 'client' }),
    scheduler: await ca.issue({ commonName: 'system:kube-scheduler', usage: 'client' }),
    node: await ca.issue({
      commonName: `system:node:${NODE_NAME}`,
      organizations: ['system:nodes'],
      usage: 'client',
    }),
  };

  const files = {
    caCert: join(dir, 'ca.crt'),
    caKey: join(dir, 'ca.key'),
    apiserverCert: join(dir, 'apiserver.crt'),
    apiserverKey: join(dir, 'apiserver.key'),
    frontProxyCaCert: join(dir, 'front-proxy-ca.crt'),
    frontProxyClientCert: join(dir, 'front-proxy-client.crt'),
    frontProxyClientKey: join(dir, 'front-proxy-client.key'),
    serviceAccountPrivateKey: join(dir, 'sa.key'),
    serviceAccountPublicKey: join(dir, 'sa.pub'),
  };
  const secret = { mode: 0o600 };
  await writeFile(files.caCert, ca.certificate);
  await writeFile(files.caKey, ca.privateKey, secret);
  await writeFile(files.apiserverCert, apiserver.certificate);
  await writeFile(files.apiserverKey, apiserver.privateKey, secret);
  await writeFile(files.frontProxyCaCert, frontProxyCa.certificate);
  await writeFile(files.frontProxyClientCert, frontProxyClient.certificate);
  await writeFile(files.frontProxyClientKey, frontProxyClient.privateKey, secret);
  await writeFile(files.serviceAccountPrivateKey, serviceAccount.privateKey, secret);
  await writeFile(files.serviceAccountPublicKey, serviceAccount.publicKey);

  const stateDir = dirname(dir);
  const kubeconfigs = {
    admin: join(stateDir, 'kubeconfig'),
    controllerManager: join(dir, 'kube-controller-manager.kubeconfig'),
    scheduler: join(dir, 'kube-scheduler.kubeconfig'),
    node: join(dir, 'node.kubeconfig'),
  };
  for (const [identity, path] of Object.entries(kubeconfigs) as [keyof typeof clients, string][]) {
    const client = clients[identity];
    const document = kubeconfigDocument({
      server,
      certificateAuthority: ca.certificate,
      clientCertificate: client.certificate,
      clientKey: client.privateKey,
      user: identity,
    });
    await writeFile(path, document, secret);
  }
  return { ca: ca.certificate, admin: clients.admin, files, kubeconfigs };
}
