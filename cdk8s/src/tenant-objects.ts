import { createHash } from 'node:crypto';
import { App, Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-32';
import type { Construct } from 'constructs';
import type { Tenant, TenantTier } from './tenant-crd.ts';

/** Labels every object the operator writes carries: who owns it, and which tenant. */
export const LABELS = {
  managedBy: 'app.kubernetes.io/managed-by',
  partOf: 'app.kubernetes.io/part-of',
  component: 'app.kubernetes.io/component',
  tenant: 'shops.amn.gg/tenant',
  slug: 'shops.amn.gg/slug',
} as const;
export const OPERATOR_NAME = 'amanat-operator';

export const DATA_PLANE = 'data-plane';
export const DATA_PLANE_PORT = 8080;
export const DATA_PLANE_SECRET = 'data-plane';
export const DATA_PLANE_IMAGE_REPOSITORY = 'amanat/data-plane';
/**
 * The provisioner's command line in the data-plane image (its working directory is the
 * data-plane package, as for `npm start`): `provisioner backup --tenant <id>` and friends.
 */
export const PROVISIONER_COMMAND = ['npm', 'run', '-s', 'provisioner', '--'];

export const backupJobName = (slug: string) => `backup-${slug}`;

export const namespaceOf = (slug: string) => `shop-${slug}`;
export const endpointOf = (slug: string) =>
  `http://${DATA_PLANE}.${namespaceOf(slug)}.svc:${DATA_PLANE_PORT}`;

/** What a tier may use in its namespace, and what a data-plane pod gets by default. */
export const tierLimits: Record<
  TenantTier,
  {
    quota: {
      requests: { cpu: string; memory: string };
      limits: { cpu: string; memory: string };
      pods: number;
    };
    pod: { requests: { cpu: string; memory: string }; limits: { cpu: string; memory: string } };
  }
> = {
  hosted_seller: {
    quota: { requests: { cpu: '1', memory: '1Gi' }, limits: { cpu: '2', memory: '2Gi' }, pods: 6 },
    pod: { requests: { cpu: '50m', memory: '128Mi' }, limits: { cpu: '500m', memory: '256Mi' } },
  },
  white_label: {
    quota: { requests: { cpu: '2', memory: '2Gi' }, limits: { cpu: '4', memory: '4Gi' }, pods: 10 },
    pod: { requests: { cpu: '100m', memory: '160Mi' }, limits: { cpu: '1', memory: '384Mi' } },
  },
  isolated: {
    quota: { requests: { cpu: '4', memory: '4Gi' }, limits: { cpu: '8', memory: '8Gi' }, pods: 16 },
    pod: { requests: { cpu: '250m', memory: '256Mi' }, limits: { cpu: '2', memory: '512Mi' } },
  },
  enterprise: {
    quota: { requests: { cpu: '16', memory: '16Gi' }, limits: { cpu: '32', memory: '32Gi' }, pods: 40 },
    pod: { requests: { cpu: '500m', memory: '512Mi' }, limits: { cpu: '4', memory: '1Gi' } },
  },
};

/** Where the platform's own parts run, for the network policies. */
export interface PlatformPlacement {
  /** The namespace of the router (ingress is allowed only from its pods). */
  routerNamespace: string;
  /** The router pods' labels within that namespace. */
  routerPodLabels: Record<string, string>;
  /** The database servers the data plane may reach: CIDRs (a /32 per server) and the port. */
  database: { cidrs: string[]; port: number };
  /** The port of the SMTP server the shops' email goes through, when there is one. */
  smtpPort?: number;
}

export interface TenantObjectsInput {
  tenant: Tenant;
  platform: PlatformPlacement;
  /** The data-plane image repository; the tag is `spec.dataPlane.version`. Default `amanat/data-plane`. */
  imageRepository?: string;
  /**
   * The values of the data plane's Secret: its database login, per-tenant secrets and the
   * control plane's public keys (docs/data-plane-contract.md). Only ever placed in the Secret.
   */
  secretData: Record<string, string>;
  /** The non-secret settings of the contract (TENANT_ID, PUBLIC_HOSTS, SHOP_SUSPENDED, …). */
  environment: Record<string, string>;
}

/** What Pod Security's restricted profile asks of a tenant's pods (the data plane's and the backup's). */
const RESTRICTED_POD = {
  runAsNonRoot: true,
  runAsUser: 10001,
  runAsGroup: 10001,
  seccompProfile: { type: 'RuntimeDefault' },
};

/** …and of their containers; the root filesystem is read-only too, /tmp an emptyDir. */
const RESTRICTED_CONTAINER = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ['ALL'] },
};

const quantity = (value: string) => k8s.Quantity.fromString(value);
const quantities = (values: Record<string, string>) =>
  Object.fromEntries(Object.entries(values).map(([name, value]) => [name, quantity(value)]));

/** The data-plane pod's resources: the tenant's own, else its tier's defaults. */
function podResources(tenant: Tenant) {
  const defaults = tierLimits[tenant.spec.tier].pod;
  const asked = tenant.spec.dataPlane.resources ?? {};
  return {
    requests: quantities({ ...defaults.requests, ...asked.requests }),
    limits: quantities({ ...defaults.limits, ...asked.limits }),
  };
}

/**
 * The namespaced objects of one tenant's data plane, in the order the operator applies them:
 * namespace, quota and limits, network policies, service account, Secret, Deployment, Service
 * and disruption budget. The database is the provisioner's; the backup schedule is
 * `TenantBackupSchedule`, in the operator's namespace.
 */
export class TenantDataPlane extends Chart {
  readonly namespaceName: string;

  constructor(scope: Construct, id: string, input: TenantObjectsInput) {
    const { tenant } = input;
    const namespace = namespaceOf(tenant.spec.slug);
    const labels = {
      [LABELS.managedBy]: OPERATOR_NAME,
      [LABELS.partOf]: 'amanat-shops',
      [LABELS.tenant]: tenant.spec.tenantId,
      [LABELS.slug]: tenant.spec.slug,
    };
    super(scope, id, { labels, disableResourceNameHashes: true });
    this.namespaceName = namespace;
    const podLabels = { [LABELS.component]: DATA_PLANE, [LABELS.slug]: tenant.spec.slug };
    const limits = tierLimits[tenant.spec.tier];

    new k8s.KubeNamespace(this, 'namespace', {
      metadata: {
        name: namespace,
        labels: {
          'pod-security.kubernetes.io/enforce': 'restricted',
          'pod-security.kubernetes.io/enforce-version': 'latest',
          'pod-security.kubernetes.io/warn': 'restricted',
          'pod-security.kubernetes.io/audit': 'restricted',
        },
      },
    });

    new k8s.KubeResourceQuota(this, 'quota', {
      metadata: { name: 'tier', namespace },
      spec: {
        hard: quantities({
          'requests.cpu': limits.quota.requests.cpu,
          'requests.memory': limits.quota.requests.memory,
          'limits.cpu': limits.quota.limits.cpu,
          'limits.memory': limits.quota.limits.memory,
          pods: String(limits.quota.pods),
          services: '4',
          secrets: '10',
          configmaps: '10',
          persistentvolumeclaims: '0',
          'services.loadbalancers': '0',
          'services.nodeports': '0',
        }),
      },
    });

    new k8s.KubeLimitRange(this, 'limits', {
      metadata: { name: 'tier', namespace },
      spec: {
        limits: [
          {
            type: 'Container',
            default: quantities(limits.pod.limits),
            defaultRequest: quantities(limits.pod.requests),
            max: quantities(limits.quota.limits),
          },
        ],
      },
    });

    new k8s.KubeNetworkPolicy(this, 'default-deny', {
      metadata: { name: 'default-deny', namespace },
      spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] },
    });
    new k8s.KubeNetworkPolicy(this, 'from-router', {
      metadata: { name: 'ingress-from-router', namespace },
      spec: {
        podSelector: { matchLabels: podLabels },
        policyTypes: ['Ingress'],
        ingress: [
          {
            from: [
              {
                namespaceSelector: {
                  matchLabels: { 'kubernetes.io/metadata.name': input.platform.routerNamespace },
                },
                podSelector: { matchLabels: input.platform.routerPodLabels },
              },
            ],
            ports: [{ protocol: 'TCP', port: k8s.IntOrString.fromNumber(DATA_PLANE_PORT) }],
          },
        ],
      },
    });
    new k8s.KubeNetworkPolicy(this, 'egress', {
      metadata: { name: 'egress-dns-database-https', namespace },
      spec: {
        podSelector: {},
        policyTypes: ['Egress'],
        egress: [
          {
            to: [
              {
                namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
                podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
              },
            ],
            ports: [
              { protocol: 'UDP', port: k8s.IntOrString.fromNumber(53) },
              { protocol: 'TCP', port: k8s.IntOrString.fromNumber(53) },
            ],
          },
          {
            to: input.platform.database.cidrs.map((cidr) => ({ ipBlock: { cidr } })),
            ports: [{ protocol: 'TCP', port: k8s.IntOrString.fromNumber(input.platform.database.port) }],
          },
          { ports: [{ protocol: 'TCP', port: k8s.IntOrString.fromNumber(443) }] },
          ...(input.platform.smtpPort
            ? [{ ports: [{ protocol: 'TCP', port: k8s.IntOrString.fromNumber(input.platform.smtpPort) }] }]
            : []),
        ],
      },
    });

    new k8s.KubeServiceAccount(this, 'service-account', {
      metadata: { name: DATA_PLANE, namespace },
      automountServiceAccountToken: false,
    });

    const secret = new k8s.KubeSecret(this, 'secret', {
      metadata: { name: DATA_PLANE_SECRET, namespace },
      type: 'Opaque',
      stringData: input.secretData,
    });

    const probe = (path: string, periodSeconds: number, failureThreshold: number): k8s.Probe => ({
      httpGet: { path, port: k8s.IntOrString.fromString('http') },
      periodSeconds,
      failureThreshold,
      timeoutSeconds: 2,
    });
    const replicas = tenant.spec.dataPlane.replicas ?? 2;
    new k8s.KubeDeployment(this, 'deployment', {
      metadata: { name: DATA_PLANE, namespace },
      spec: {
        replicas,
        selector: { matchLabels: podLabels },
        strategy: {
          type: 'RollingUpdate',
          rollingUpdate: {
            maxSurge: k8s.IntOrString.fromNumber(1),
            maxUnavailable: k8s.IntOrString.fromNumber(0),
          },
        },
        template: {
          metadata: {
            labels: { ...labels, ...podLabels },
            annotations: { 'shops.amn.gg/secret-version': secretVersion(input.secretData) },
          },
          spec: {
            serviceAccountName: DATA_PLANE,
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            securityContext: { ...RESTRICTED_POD, fsGroup: RESTRICTED_POD.runAsGroup },
            containers: [
              {
                name: DATA_PLANE,
                image: `${input.imageRepository ?? DATA_PLANE_IMAGE_REPOSITORY}:${tenant.spec.dataPlane.version}`,
                ports: [{ name: 'http', containerPort: DATA_PLANE_PORT, protocol: 'TCP' }],
                env: [
                  ...Object.entries({
                    ...input.environment,
                    HOST: '0.0.0.0',
                    PORT: String(DATA_PLANE_PORT),
                  }).map(([name, value]) => ({ name, value })),
                ],
                envFrom: [{ secretRef: { name: secret.name } }],
                resources: podResources(tenant),
                startupProbe: probe('/healthz', 2, 30),
                livenessProbe: probe('/healthz', 10, 3),
                readinessProbe: probe('/readyz', 5, 2),
                securityContext: RESTRICTED_CONTAINER,
                volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
              },
            ],
            volumes: [{ name: 'tmp', emptyDir: { sizeLimit: quantity('64Mi') } }],
          },
        },
      },
    });

    new k8s.KubeService(this, 'service', {
      metadata: { name: DATA_PLANE, namespace },
      spec: {
        selector: podLabels,
        ports: [{ name: 'http', port: DATA_PLANE_PORT, targetPort: k8s.IntOrString.fromString('http') }],
      },
    });

    new k8s.KubePodDisruptionBudget(this, 'disruption-budget', {
      metadata: { name: DATA_PLANE, namespace },
      spec: {
        selector: { matchLabels: podLabels },
        // One replica may go at a time; a single-replica shop may be drained (it says so by
        // having one replica: nothing would ever let the node go otherwise).
        maxUnavailable: k8s.IntOrString.fromNumber(1),
      },
    });
  }
}

/**
 * A digest of the Secret's values on the pod template: when a credential rotates, the pods
 * roll and read the new one (environment variables are read once, at start).
 */
function secretVersion(data: Record<string, string>): string {
  const entries = Object.entries(data).sort(([a], [b]) => a.localeCompare(b));
  return createHash('sha256').update(JSON.stringify(entries)).digest('hex').slice(0, 16);
}

/** The manifests of one tenant's data plane, in apply order. */
export function tenantDataPlaneObjects(input: TenantObjectsInput): Record<string, unknown>[] {
  return new TenantDataPlane(new App(), 'tenant', input).toJson();
}

/** The CRD's default for `spec.backup.schedule`, for a Tenant written before it had one. */
export const DEFAULT_BACKUP_SCHEDULE = '17 3 * * *';

export interface TenantBackupInput {
  tenant: Tenant;
  /** The operator's namespace: the CronJob runs there, next to the provisioner's Secret. */
  namespace: string;
  /** The Secret holding PROVISIONER_ADMIN_URL (and the backup store's credentials). */
  provisionerSecret: string;
  backupStoreUrl: string;
  /** The image repository that carries the provisioner; the tag is the tenant's data-plane version. */
  imageRepository?: string;
}

/**
 * The tenant's scheduled backup: a CronJob that runs `provisioner backup --tenant <id>`.
 * It lives in the operator's namespace, not the tenant's, because the provisioner logs in
 * as the database admin: a tenant namespace never holds admin credentials. The image is the
 * tenant's own data-plane release, so the backup records the schema version it runs.
 */
export class TenantBackupSchedule extends Chart {
  constructor(scope: Construct, id: string, input: TenantBackupInput) {
    const { tenant } = input;
    const labels = {
      [LABELS.managedBy]: OPERATOR_NAME,
      [LABELS.partOf]: 'amanat-shops',
      [LABELS.component]: 'tenant-backup',
      [LABELS.tenant]: tenant.spec.tenantId,
      [LABELS.slug]: tenant.spec.slug,
    };
    super(scope, id, { labels, disableResourceNameHashes: true });
    new k8s.KubeCronJob(this, 'cron-job', {
      metadata: { name: backupJobName(tenant.spec.slug), namespace: input.namespace },
      spec: {
        schedule: tenant.spec.backup?.schedule ?? DEFAULT_BACKUP_SCHEDULE,
        timeZone: 'Etc/UTC',
        concurrencyPolicy: 'Forbid',
        // A run missed by more than an hour (the controller was down) waits for the next one.
        startingDeadlineSeconds: 3600,
        successfulJobsHistoryLimit: 1,
        failedJobsHistoryLimit: 3,
        jobTemplate: {
          metadata: { labels },
          spec: {
            backoffLimit: 2,
            activeDeadlineSeconds: 3600,
            ttlSecondsAfterFinished: 86_400,
            template: {
              metadata: { labels },
              spec: {
                restartPolicy: 'Never',
                automountServiceAccountToken: false,
                enableServiceLinks: false,
                securityContext: RESTRICTED_POD,
                containers: [
                  {
                    name: 'backup',
                    image: `${input.imageRepository ?? DATA_PLANE_IMAGE_REPOSITORY}:${tenant.spec.dataPlane.version}`,
                    command: [...PROVISIONER_COMMAND, 'backup', '--tenant', tenant.spec.tenantId],
                    env: [{ name: 'BACKUP_STORE_URL', value: input.backupStoreUrl }],
                    envFrom: [{ secretRef: { name: input.provisionerSecret } }],
                    resources: {
                      requests: quantities({ cpu: '100m', memory: '192Mi' }),
                      limits: quantities({ cpu: '1', memory: '512Mi' }),
                    },
                    securityContext: RESTRICTED_CONTAINER,
                    // The backup stages each table on disk before packing the archive.
                    volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
                  },
                ],
                volumes: [{ name: 'tmp', emptyDir: { sizeLimit: quantity('2Gi') } }],
              },
            },
          },
        },
      },
    });
  }
}

/** The tenant's backup CronJob manifest. */
export function tenantBackupObject(input: TenantBackupInput): Record<string, unknown> {
  const [cronJob] = new TenantBackupSchedule(new App(), 'backup', input).toJson();
  return cronJob as Record<string, unknown>;
}
