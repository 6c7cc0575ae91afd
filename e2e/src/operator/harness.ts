import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpsRequest, type RequestOptions } from 'node:https';
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
import { DATA_PLANE_SECRET, namespaceOf } from '@amanat/cdk8s/tenant-objects';
import { Provisioner } from '@amanat/data-plane/provisioning/provisioner';
import { type LocalMailbox, startLocalMailbox } from '@amanat/kit/mail/local-mailbox';
import { type EmbeddedPostgresHandle, startEmbeddedPostgres } from '@amanat/kit/postgres/embedded';
import type { OperatorConfig } from '@amanat/operator/config';
import { type RunningOperator, startOperator } from '@amanat/operator/operator';
import {
  ApiException,
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import pino from 'pino';
import { type Cluster, type StartClusterOptions, startCluster } from '../cluster/cluster.ts';
import { until as waitUntil } from '../wait.ts';
import { installOperatorPrerequisites, OPERATOR_NAMESPACE } from './install.ts';

/** How long a new tenant may take to become Ready (a data-plane pod starts in ~10 s here). */
export const READY_WITHIN_MS = 90_000;

/** `until` with this suite's defaults. */
export const until = <T>(
  what: string,
  check: () => Promise<T | undefined | false | null>,
  timeoutMs = READY_WITHIN_MS,
  everyMs = 250,
) => waitUntil(what, check, timeoutMs, everyMs);

function publicJwks(): string {
  const { publicKey } = generateKeyPairSync('ed25519');
  return JSON.stringify({
    keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'e2e-1', alg: 'EdDSA', use: 'sig' }],
  });
}

export const tenantApi = { group: TENANT_GROUP, version: TENANT_VERSION, plural: TENANT_PLURAL };

export function tenantSpec(slug: string, overrides: Partial<TenantSpec> = {}): TenantSpec {
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

export const condition = (tenant: Tenant, type: string) =>
  tenant.status?.conditions?.find((c) => c.type === type);

/**
 * One e2e environment: the cluster (with its node agent), a PostgreSQL, the CRD and the
 * operator's chart permissions installed, and the operator's settings. Each test file
 * starts one in beforeAll and its operators from it.
 */
export interface OperatorEnvironment {
  cluster: Cluster;
  postgres: EmbeddedPostgresHandle;
  /** Authenticates as the operator's ServiceAccount: exactly the chart's rules. */
  operatorKubeConfig: KubeConfig;
  provisioner: Provisioner;
  custom: CustomObjectsApi;
  core: CoreV1Api;
  backupDir: string;
  config: OperatorConfig;
  createTenant(spec: TenantSpec): Promise<unknown>;
  readTenant(name: string): Promise<Tenant>;
  patchSpec(name: string, spec: Partial<TenantSpec>): Promise<unknown>;
  /** Resolves with the tenant once it is Ready at `generation` (or any, when not given). */
  readyTenant(name: string, generation?: number, timeoutMs?: number): Promise<Tenant>;
  /** Resolves once the Tenant is gone from the API server (its finalizer done). */
  tenantGone(name: string, timeoutMs?: number): Promise<true>;
  /** The storefront of a tenant, asked on a running data-plane pod's own loopback address. */
  storefront(slug: string, path?: string): Promise<Response>;
  /** The data plane's DATABASE_URL, from its Secret. */
  databaseUrl(slug: string): Promise<string>;
  /** Every value of the data plane's Secret, decoded. */
  dataPlaneSecret(slug: string): Promise<Record<string, string>>;
  /** The SMTP server the operator gives every data plane (DATA_PLANE_SMTP_URL). */
  mailbox: LocalMailbox;
  stop(): Promise<void>;
}

export async function startOperatorEnvironment(
  options: { cluster?: StartClusterOptions; workers?: number; resyncSeconds?: number } = {},
): Promise<OperatorEnvironment> {
  const backupDir = await mkdtemp(join(tmpdir(), 'amanat-e2e-backups-'));
  const [cluster, postgres, mailbox] = await Promise.all([
    startCluster(options.cluster),
    startEmbeddedPostgres({ dataDir: await mkdtemp(join(tmpdir(), 'amanat-e2e-pg-')), persistent: false }),
    startLocalMailbox({ dir: await mkdtemp(join(tmpdir(), 'amanat-e2e-mail-')) }),
  ]);
  const operatorKubeConfig = await installOperatorPrerequisites(cluster.kubeConfig);
  const custom = cluster.kubeConfig.makeApiClient(CustomObjectsApi);
  const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
  const provisioner = await Provisioner.open({ adminUrl: postgres.adminUrl });
  const config: OperatorConfig = {
    PROVISIONER_ADMIN_URL: postgres.adminUrl,
    BACKUP_STORE_URL: pathToFileURL(backupDir).href,
    BACKUP_NAMESPACE: OPERATOR_NAMESPACE,
    PROVISIONER_SECRET: 'amanat-provisioner',
    DATA_PLANE_IMAGE: 'amanat/data-plane',
    CONTROL_PLANE_URL: 'http://127.0.0.1:9',
    CONTROL_PLANE_JWKS: publicJwks(),
    ROUTER_NAMESPACE: OPERATOR_NAMESPACE,
    ROUTER_POD_LABELS: 'app.kubernetes.io/component=router',
    DATABASE_CIDRS: '127.0.0.1/32',
    DATABASE_PORT: postgres.port,
    DATA_PLANE_SMTP_URL: mailbox.url,
    LEASE_NAMESPACE: OPERATOR_NAMESPACE,
    LEASE_NAME: 'amanat-operator',
    WORKERS: options.workers ?? 4,
    RESYNC_SECONDS: options.resyncSeconds ?? 5,
    HOST: '127.0.0.1',
    PORT: 0,
    LOG_LEVEL: 'warn' as OperatorConfig['LOG_LEVEL'],
  };

  const dataPlaneSecret = async (slug: string) => {
    const secret = await core.readNamespacedSecret({ name: DATA_PLANE_SECRET, namespace: namespaceOf(slug) });
    return Object.fromEntries(
      Object.entries(secret.data ?? {}).map(([key, value]) => [key, Buffer.from(value, 'base64').toString()]),
    );
  };
  const readTenant = async (name: string) =>
    (await custom.getClusterCustomObject({ ...tenantApi, name })) as Tenant;
  return {
    cluster,
    postgres,
    operatorKubeConfig,
    provisioner,
    custom,
    core,
    backupDir,
    config,
    createTenant: (spec) =>
      custom.createClusterCustomObject({
        ...tenantApi,
        body: { apiVersion: TENANT_API_VERSION, kind: TENANT_KIND, metadata: { name: spec.slug }, spec },
      }),
    readTenant,
    patchSpec: (name, spec) =>
      custom.patchClusterCustomObject(
        { ...tenantApi, name, body: { spec } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      ),
    tenantGone: (name, timeoutMs = 120_000) =>
      until(
        `tenant ${name} to be gone`,
        async () => {
          try {
            await readTenant(name);
            return false;
          } catch (error) {
            return error instanceof ApiException && error.code === 404;
          }
        },
        timeoutMs,
      ),
    readyTenant: (name, generation, timeoutMs = READY_WITHIN_MS) =>
      until(
        `tenant ${name} to be Ready`,
        async () => {
          const tenant = await readTenant(name);
          const current = generation === undefined || (tenant.status?.observedGeneration ?? 0) >= generation;
          return current && condition(tenant, 'Ready')?.status === 'True' ? tenant : undefined;
        },
        timeoutMs,
      ),
    async storefront(slug, path = '/') {
      const pods = await core.listNamespacedPod({ namespace: namespaceOf(slug) });
      const pod = pods.items.find(
        (item) =>
          item.status?.podIP &&
          item.metadata?.deletionTimestamp === undefined &&
          item.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
      );
      if (!pod?.status?.podIP) throw new Error(`no ready data-plane pod for ${slug}`);
      return fetch(`http://${pod.status.podIP}:8080${path}`, { headers: { host: `${slug}.shops.example` } });
    },
    dataPlaneSecret,
    async databaseUrl(slug) {
      const url = (await dataPlaneSecret(slug)).DATABASE_URL;
      if (!url) throw new Error(`the Secret of ${slug} holds no DATABASE_URL`);
      return url;
    },
    mailbox,
    async stop() {
      await provisioner.close();
      await cluster.stop();
      await postgres.stop();
      await mailbox.stop();
      await rm(backupDir, { recursive: true, force: true });
    },
  };
}

/** The sum of `amanat_operator_writes_total` over every kind and outcome. */
export async function writesOf(operatorUrl: string): Promise<number> {
  const text = await (await fetch(`${operatorUrl}/metrics`)).text();
  return [...text.matchAll(/^amanat_operator_writes_total\{[^}]*\} (\d+)/gm)].reduce(
    (sum, match) => sum + Number(match[1]),
    0,
  );
}

/** One gauge or counter value from an operator's `/metrics` (first series that matches). */
export async function metricOf(operatorUrl: string, series: string): Promise<number | undefined> {
  const text = await (await fetch(`${operatorUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `) || l.startsWith(`${series}{`));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

/** What the operator writes, as a Tenant's objects; a resync of an unchanged fleet must write none. */
const OPERATOR_RESOURCES = new Set([
  'tenants',
  'namespaces',
  'resourcequotas',
  'limitranges',
  'networkpolicies',
  'serviceaccounts',
  'secrets',
  'deployments',
  'services',
  'poddisruptionbudgets',
  'cronjobs',
]);

/**
 * Write requests the API server has served on the operator's kinds, from its own
 * `apiserver_request_total`: the count does not rely on the operator's word. Status
 * subresources are left out (the controllers keep Deployments' status current) except the
 * Tenant's, which only the operator writes.
 */
export async function apiServerWrites(admin: KubeConfig): Promise<number> {
  const server = new URL(admin.getCurrentCluster()?.server as string);
  const options: RequestOptions = {
    host: server.hostname,
    port: server.port,
    path: '/metrics',
    method: 'GET',
  };
  await admin.applyToHTTPSOptions(options);
  const text = await new Promise<string>((resolve, reject) => {
    const request = httpsRequest(options, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk) => {
        body += chunk;
      });
      response.on('end', () => resolve(body));
    });
    request.on('error', reject);
    request.end();
  });
  let writes = 0;
  for (const match of text.matchAll(/^apiserver_request_total\{([^}]*)\} (\d+)/gm)) {
    const labels = Object.fromEntries(
      [...(match[1] as string).matchAll(/(\w+)="([^"]*)"/g)].map((label) => [label[1], label[2]]),
    );
    const write = ['POST', 'PUT', 'PATCH', 'DELETE', 'APPLY'].includes(labels.verb ?? '');
    const ours = OPERATOR_RESOURCES.has(labels.resource ?? '');
    const subresource = labels.subresource ?? '';
    if (
      write &&
      ours &&
      (subresource === '' || (labels.resource === 'tenants' && subresource === 'status'))
    ) {
      writes += Number(match[2]);
    }
  }
  return writes;
}

/**
 * An operator replica in this process, with the chart's permissions; losing the lease is left
 * to the test to observe (it does not exit, as the real process does).
 */
export function startTestOperator(env: OperatorEnvironment, replica?: string): Promise<RunningOperator> {
  const log = pino({ level: 'warn' });
  return startOperator(replica ? { ...env.config, POD_NAME: replica } : env.config, {
    kubeConfig: env.operatorKubeConfig,
    log: replica ? log.child({ replica }) : log,
    onLostLeadership: () => undefined,
  });
}
