/**
 * `npm run bench -w operator`: N shared-mode Tenants created at once against the e2e cluster
 * (etcd, kube-apiserver, controller manager, scheduler and the node agent running the pods as
 * local processes) and a real embedded PostgreSQL; the operator runs as its own process
 * (`src/main.ts`) with the chart's permissions. Prints how long until all are Ready, the
 * reconcile rate, the operator's peak memory, the API writes per tenant, and the writes a
 * resync of the unchanged fleet makes (target 0).
 *
 * BENCH_TENANTS (default 500), BENCH_WORKERS (the operator's WORKERS, default 4),
 * BENCH_RESYNC_SECONDS (default 60), BENCH_TIMEOUT_SECONDS (default 3600), and
 * BENCH_DATA_PLANE_IMAGE (default `amanat/e2e-echo`: the e2e echo program, which answers
 * /healthz and /readyz; a real data plane costs ~150 MB a pod, too much for hundreds here).
 * The e2e node takes 110 pods, as a kubelet does by default: more Tenants than that cannot
 * all become Ready on it.
 */
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  TENANT_API_VERSION,
  TENANT_GROUP,
  TENANT_KIND,
  TENANT_PLURAL,
  TENANT_VERSION,
  type Tenant,
  type TenantSpec,
} from '@amanat/cdk8s/tenant-crd';
import { machineSummary } from '@amanat/kit/bench/machine';
import { startEmbeddedPostgres } from '@amanat/kit/postgres/embedded';
import { logTail, startProcess } from '@amanat/kit/process/child';
import { freePort } from '@amanat/kit/process/processes';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { startCluster } from '../../e2e/src/cluster/cluster.ts';
import { installOperatorPrerequisites, OPERATOR_NAMESPACE } from '../../e2e/src/operator/install.ts';
import type { OperatorConfig } from '../src/config.ts';

const OPERATOR_DIR = resolve(fileURLToPath(import.meta.url), '../..');
const tenants = Number(process.env.BENCH_TENANTS ?? 500);
const workers = Number(process.env.BENCH_WORKERS ?? 4);
const resyncSeconds = Number(process.env.BENCH_RESYNC_SECONDS ?? 60);
const timeoutMs = Number(process.env.BENCH_TIMEOUT_SECONDS ?? 3600) * 1000;
const image = process.env.BENCH_DATA_PLANE_IMAGE ?? 'amanat/e2e-echo';
const api = { group: TENANT_GROUP, version: TENANT_VERSION, plural: TENANT_PLURAL };

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));
const seconds = (ms: number) => (ms / 1000).toFixed(1);

function table(title: string, rows: [string, string][]): void {
  const width = Math.max(...rows.map(([name]) => name.length));
  console.log(`\n${title}\n| ${'measure'.padEnd(width)} | value |\n|${'-'.repeat(width + 2)}|-------|`);
  for (const [name, value] of rows) console.log(`| ${name.padEnd(width)} | ${value} |`);
}

/** Peak and current resident memory of a process, from /proc (kB → MiB). */
function memoryOf(pid: number): { peakMiB: number; nowMiB: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) =>
    Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) / 1024;
  return { peakMiB: field('VmHWM'), nowMiB: field('VmRSS') };
}

/** Counter series of the operator's /metrics, summed by the labels `key` picks. */
async function counters(
  url: string,
  name: string,
  key: (labels: string) => string,
): Promise<Map<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const sums = new Map<string, number>();
  for (const match of text.matchAll(new RegExp(`^${name}\\{([^}]*)\\} (\\d+)`, 'gm'))) {
    const group = key(match[1] ?? '');
    sums.set(group, (sums.get(group) ?? 0) + Number(match[2]));
  }
  return sums;
}
const total = (sums: Map<string, number>) => [...sums.values()].reduce((sum, value) => sum + value, 0);
const label = (labels: string, name: string) => new RegExp(`${name}="([^"]*)"`).exec(labels)?.[1] ?? '';

const spec = (index: number): TenantSpec => ({
  tenantId: randomUUID(),
  slug: `bench-${String(index).padStart(4, '0')}`,
  displayName: `Bench shop ${index}`,
  tier: 'hosted_seller',
  isolation: { mode: 'shared' },
  // Small requests: the node's CPU (two cores here) would otherwise fit only 40 tier-default pods.
  dataPlane: { version: '0.1.0', replicas: 1, resources: { requests: { cpu: '5m', memory: '64Mi' } } },
  hosts: [`bench-${index}.shops.example`],
});

const workDir = await mkdtemp(join(tmpdir(), 'amanat-operator-bench-'));
const [cluster, postgres] = await Promise.all([
  startCluster({ kubeconfigFromEnv: false }),
  startEmbeddedPostgres({
    dataDir: await mkdtemp(join(tmpdir(), 'amanat-operator-bench-pg-')),
    persistent: false,
  }),
]);
let operatorProcess: ReturnType<typeof startProcess> | undefined;
try {
  const kubeConfig = await installOperatorPrerequisites(cluster.kubeConfig);
  const kubeconfigPath = join(workDir, 'kubeconfig');
  await writeFile(kubeconfigPath, kubeConfig.exportConfig(), { mode: 0o600 });
  const { publicKey } = generateKeyPairSync('ed25519');
  const port = await freePort();
  const config: { [Name in keyof OperatorConfig]?: string | number } = {
    PROVISIONER_ADMIN_URL: postgres.adminUrl,
    BACKUP_STORE_URL: pathToFileURL(join(workDir, 'backups')).href,
    BACKUP_NAMESPACE: OPERATOR_NAMESPACE,
    DATA_PLANE_IMAGE: image,
    CONTROL_PLANE_URL: 'http://127.0.0.1:9',
    CONTROL_PLANE_JWKS: JSON.stringify({ keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'bench' }] }),
    ROUTER_NAMESPACE: OPERATOR_NAMESPACE,
    DATABASE_CIDRS: '127.0.0.1/32',
    DATABASE_PORT: postgres.port,
    LEASE_NAMESPACE: OPERATOR_NAMESPACE,
    POD_NAME: 'bench-operator',
    WORKERS: workers,
    RESYNC_SECONDS: resyncSeconds,
    HOST: '127.0.0.1',
    PORT: port,
    // `info` logs every write with the path that differed: the updates are listed at the end.
    LOG_LEVEL: 'info',
  };
  operatorProcess = startProcess({
    name: 'operator',
    command: process.execPath,
    args: ['--import', 'tsx', 'src/main.ts'],
    cwd: OPERATOR_DIR,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      KUBECONFIG: kubeconfigPath,
      ...Object.fromEntries(Object.entries(config).map(([name, value]) => [name, String(value)])),
    },
    logFile: join(workDir, 'operator.log'),
    lifetime: 'tied',
  });
  const operator = operatorProcess;
  const url = `http://127.0.0.1:${port}`;
  for (;;) {
    if (!operator.isRunning()) throw new Error(`the operator exited:\n${logTail(operator.logFile)}`);
    const leader = await fetch(`${url}/metrics`)
      .then((answer) => answer.text())
      .catch(() => '');
    if (/^amanat_operator_leader 1$/m.test(leader)) break;
    await sleep(250);
  }

  const custom = cluster.kubeConfig.makeApiClient(CustomObjectsApi);
  const idle = memoryOf(operator.pid);

  console.log(`creating ${tenants} shared-mode Tenants (data-plane image ${image}, WORKERS=${workers})…`);
  const started = Date.now();
  const specs = Array.from({ length: tenants }, (_, index) => spec(index));
  // Created at once, as far as the API client goes: 50 requests in flight.
  for (let index = 0; index < specs.length; index += 50) {
    await Promise.all(
      specs.slice(index, index + 50).map((tenant) =>
        custom.createClusterCustomObject({
          ...api,
          body: {
            apiVersion: TENANT_API_VERSION,
            kind: TENANT_KIND,
            metadata: { name: tenant.slug },
            spec: tenant,
          },
        }),
      ),
    );
  }
  const createdMs = Date.now() - started;
  let readyMs = 0;
  let lastReport = 0;
  for (;;) {
    const list = (await custom.listClusterCustomObject(api)) as { items: Tenant[] };
    const ready = list.items.filter((tenant) =>
      tenant.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
    ).length;
    if (ready === tenants) {
      readyMs = Date.now() - started;
      break;
    }
    if (!operator.isRunning()) throw new Error(`the operator exited:\n${logTail(operator.logFile)}`);
    if (Date.now() - started > timeoutMs)
      throw new Error(`only ${ready} of ${tenants} Ready after the timeout`);
    if (Date.now() - lastReport > 30_000) {
      lastReport = Date.now();
      console.log(`  ${seconds(Date.now() - started)} s: ${ready}/${tenants} Ready`);
    }
    await sleep(2000);
  }
  const reconcilesAtReady = total(await counters(url, 'amanat_operator_reconciles_total', () => 'all'));
  const writesByKind = await counters(url, 'amanat_operator_writes_total', (labels) => label(labels, 'kind'));
  const writesAtReady = total(writesByKind);
  const writesAtReadyBySeries = await counters(url, 'amanat_operator_writes_total', (labels) =>
    [label(labels, 'kind'), label(labels, 'outcome')].join(' '),
  );

  // The unchanged fleet: wait until every tenant has been reconciled again by the resync.
  console.log(`all Ready after ${seconds(readyMs)} s; waiting for a resync of the unchanged fleet…`);
  const resyncStarted = Date.now();
  for (;;) {
    const reconciles = total(await counters(url, 'amanat_operator_reconciles_total', () => 'all'));
    const queue = await fetch(`${url}/metrics`).then((answer) => answer.text());
    const depth = Number(/^amanat_operator_queue_depth (\d+)/m.exec(queue)?.[1] ?? 0);
    if (reconciles - reconcilesAtReady >= tenants && depth === 0) break;
    if (Date.now() - resyncStarted > (resyncSeconds + 600) * 1000)
      throw new Error('the resync did not finish');
    await sleep(1000);
  }
  const resyncMs = Date.now() - resyncStarted;
  const reconcilesAfterResync = total(await counters(url, 'amanat_operator_reconciles_total', () => 'all'));
  const writesAfterResync = await counters(url, 'amanat_operator_writes_total', (labels) =>
    [label(labels, 'kind'), label(labels, 'outcome')].join(' '),
  );
  const memory = memoryOf(operator.pid);

  table(
    `Operator — ${tenants} shared-mode Tenants, ${machineSummary()}, WORKERS=${workers}, data-plane image ${image}`,
    [
      ['all Tenants created (API)', `${seconds(createdMs)} s`],
      ['all Tenants Ready', `${seconds(readyMs)} s`],
      ['reconciles until all Ready', String(reconcilesAtReady)],
      ['reconciles/s until all Ready', (reconcilesAtReady / (readyMs / 1000)).toFixed(1)],
      ['operator RSS leading, before the Tenants', `${idle.nowMiB.toFixed(0)} MiB`],
      ['operator peak RSS (VmHWM)', `${memory.peakMiB.toFixed(0)} MiB`],
      ['operator RSS at the end', `${memory.nowMiB.toFixed(0)} MiB`],
      ['API writes until all Ready', String(writesAtReady)],
      ['API writes per tenant', (writesAtReady / tenants).toFixed(1)],
      [
        `resync of the unchanged fleet (${reconcilesAfterResync - reconcilesAtReady} reconciles, ${seconds(resyncMs)} s incl. the wait)`,
        `${total(writesAfterResync) - writesAtReady} writes`,
      ],
    ],
  );
  const resyncWrites = [...writesAfterResync.entries()]
    .map(([series, count]): [string, string] => [
      series,
      String(count - (writesAtReadyBySeries.get(series) ?? 0)),
    ])
    .filter(([, count]) => count !== '0');
  if (resyncWrites.length > 0) table('Writes during the resync, by kind and outcome', resyncWrites);
  const updates = new Map<string, number>();
  for (const line of readFileSync(operator.logFile, 'utf8').split('\n')) {
    if (!line.includes('"outcome":"updated"')) continue;
    const entry = JSON.parse(line) as { kind: string; changed: string };
    const key = `${entry.kind} ${entry.changed}`;
    updates.set(key, (updates.get(key) ?? 0) + 1);
  }
  if (updates.size > 0)
    table(
      'Updates of existing objects, by kind and the first path that differed',
      [...updates].map(([key, count]) => [key, String(count)]),
    );
  table(
    'API writes per tenant, by kind',
    [...writesByKind.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([kind, count]) => [kind, (count / tenants).toFixed(2)]),
  );
} finally {
  await operatorProcess?.stop(10_000);
  await cluster.stop();
  await postgres.stop();
  await rm(workDir, { recursive: true, force: true });
}
