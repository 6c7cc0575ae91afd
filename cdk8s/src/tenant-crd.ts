import { k8s } from 'cdk8s-plus-32';
import { Construct } from 'constructs';

export const TENANT_GROUP = 'shops.amn.gg';
export const TENANT_VERSION = 'v1alpha1';
export const TENANT_KIND = 'Tenant';
export const TENANT_PLURAL = 'tenants';
export const TENANT_API_VERSION = `${TENANT_GROUP}/${TENANT_VERSION}`;

/** Kept in step with the control plane's tenants table (`tenants_slug_dns_label`). */
export const SLUG_PATTERN = '^[a-z0-9][a-z0-9-]{1,38}[a-z0-9]$';
export const isolationModes = ['shared', 'schema', 'database'] as const;
export const tenantTiers = ['hosted_seller', 'white_label', 'isolated', 'enterprise'] as const;
export const tenantPhases = [
  'Pending',
  'Provisioning',
  'Ready',
  'Suspended',
  'Degraded',
  'Deleting',
] as const;
export const conditionTypes = [
  'Ready',
  'DatabaseReady',
  'DataPlaneAvailable',
  'Suspended',
  'Degraded',
] as const;

export type IsolationMode = (typeof isolationModes)[number];
export type TenantTier = (typeof tenantTiers)[number];
export type TenantPhase = (typeof tenantPhases)[number];
export type ConditionType = (typeof conditionTypes)[number];

export interface TenantSpec {
  tenantId: string;
  slug: string;
  displayName: string;
  tier: TenantTier;
  isolation: { mode: IsolationMode; server?: string };
  dataPlane: {
    version: string;
    replicas?: number;
    resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  };
  hosts: string[];
  suspended?: boolean;
  backup?: { schedule?: string; keepDaily?: number };
}

export interface TenantCondition {
  type: ConditionType;
  status: 'True' | 'False' | 'Unknown';
  observedGeneration?: number;
  lastTransitionTime: string;
  reason: string;
  message: string;
}

export interface TenantStatus {
  phase?: TenantPhase;
  observedGeneration?: number;
  conditions?: TenantCondition[];
  endpoint?: string;
  dataPlaneVersion?: string;
  database?: { mode: IsolationMode; server: string; database: string; schema?: string; login: string };
  lastBackup?: { completedAt: string; key: string; sizeBytes: number };
}

export interface Tenant {
  apiVersion: typeof TENANT_API_VERSION;
  kind: typeof TENANT_KIND;
  metadata: {
    name: string;
    uid?: string;
    generation?: number;
    resourceVersion?: string;
    finalizers?: string[];
  };
  spec: TenantSpec;
  status?: TenantStatus;
}

type Schema = k8s.JsonSchemaProps;

const text = (description: string, extra: Partial<Schema> = {}): Schema => ({
  type: 'string',
  description,
  ...extra,
});
const oneOf = (description: string, values: readonly string[], extra: Partial<Schema> = {}): Schema =>
  text(description, { enum: [...values], ...extra });
const object = (
  description: string,
  properties: Record<string, Schema>,
  extra: Partial<Schema> = {},
): Schema => ({ type: 'object', description, properties, ...extra });

const immutable = (what: string): k8s.ValidationRule => ({
  rule: 'self == oldSelf',
  message: `${what} is immutable`,
  reason: 'FieldValueForbidden',
});

/** CPU and memory as Kubernetes quantities, e.g. `250m`, `256Mi`. */
const quantities = (description: string): Schema =>
  object(description, {
    cpu: text('CPU as a Kubernetes quantity, e.g. `250m`.', { pattern: '^[0-9]+(\\.[0-9]+)?m?$' }),
    memory: text('Memory as a Kubernetes quantity, e.g. `256Mi`.', {
      pattern: '^[0-9]+(\\.[0-9]+)?(Ki|Mi|Gi|Ti|k|M|G|T)?$',
    }),
  });

const hostname = text('A hostname the shop answers on (lower case, no port, no wildcard).', {
  maxLength: 253,
  pattern: '^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}$',
});

const condition: Schema = object(
  'The latest observation of one aspect of the tenant, in the standard Kubernetes form.',
  {
    type: oneOf(
      'Which aspect: `Ready`, `DatabaseReady`, `DataPlaneAvailable`, `Suspended` or `Degraded`.',
      conditionTypes,
    ),
    status: oneOf('`True`, `False` or `Unknown`.', ['True', 'False', 'Unknown']),
    observedGeneration: {
      type: 'integer',
      format: 'int64',
      minimum: 0,
      description: 'The `metadata.generation` this condition was set for.',
    },
    lastTransitionTime: text('When the status last changed.', { format: 'date-time' }),
    reason: text('A CamelCase word for machines, e.g. `Provisioned`.', {
      maxLength: 1024,
      pattern: '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$',
    }),
    message: text('What happened, for people. Never holds a credential.', { maxLength: 32768 }),
  },
  { required: ['type', 'status', 'lastTransitionTime', 'reason', 'message'] },
);

const spec: Schema = object(
  'What the shop should be: who it is, how its data is isolated, which data plane serves it and on which hosts.',
  {
    tenantId: text(
      'The tenant id the control plane gave the shop (a UUID). Names its database objects. Immutable.',
      {
        format: 'uuid',
        pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$',
        xKubernetesValidations: [immutable('tenantId')],
      },
    ),
    slug: text(
      "The shop's short name: a DNS label of 3 to 40 characters. Names its namespace (`shop-<slug>`). Immutable.",
      {
        minLength: 3,
        maxLength: 40,
        pattern: SLUG_PATTERN,
        xKubernetesValidations: [immutable('slug')],
      },
    ),
    displayName: text("The shop's name as people see it.", { minLength: 1, maxLength: 100 }),
    tier: oneOf(
      'The plan: `hosted_seller`, `white_label`, `isolated` or `enterprise`. Sets quotas and limits.',
      tenantTiers,
    ),
    isolation: object(
      "Where and how the shop's data is kept apart from other shops' data.",
      {
        mode: oneOf(
          '`shared` (row-level security in a shared database), `schema` (a schema of its own) or `database` (a database of its own). Moves only up a tier: shared → schema → database.',
          isolationModes,
        ),
        server: text('The named database server the provisioner places the shop on; `default` when absent.', {
          default: 'default',
          pattern: '^[a-z0-9][a-z0-9-]{0,62}$',
        }),
      },
      {
        required: ['mode'],
        xKubernetesValidations: [
          {
            rule: "oldSelf.mode == self.mode || (oldSelf.mode == 'shared' && self.mode != 'shared') || (oldSelf.mode == 'schema' && self.mode == 'database')",
            message: 'isolation.mode can only move up a tier: shared → schema → database',
            fieldPath: '.mode',
          },
          {
            rule: 'oldSelf.mode == self.mode || oldSelf.server == self.server',
            message: 'isolation.server cannot change in the same update as isolation.mode',
            fieldPath: '.server',
          },
        ],
      },
    ),
    dataPlane: object(
      'The data plane that serves the shop.',
      {
        version: text('The data-plane release to run, e.g. `1.4.2` (the image tag).', {
          maxLength: 64,
          pattern: '^[0-9]+\\.[0-9]+\\.[0-9]+(-[0-9A-Za-z.-]+)?$',
        }),
        replicas: {
          type: 'integer',
          format: 'int32',
          minimum: 1,
          maximum: 20,
          default: 2,
          description:
            'How many data-plane pods serve the shop (at least 1; 2 or more survive a node drain).',
        },
        resources: object('CPU and memory for each data-plane pod; defaults come from the tier.', {
          requests: quantities('What each pod is guaranteed.'),
          limits: quantities('The most each pod may use.'),
        }),
      },
      { required: ['version'] },
    ),
    hosts: {
      type: 'array',
      description: 'The hostnames the shop answers on, its own domains included; the first is canonical.',
      items: hostname,
      minItems: 1,
      maxItems: 20,
      xKubernetesListType: 'set',
    },
    suspended: {
      type: 'boolean',
      default: false,
      description:
        'True serves the "shop unavailable" page on every route and refuses checkout; false restores service.',
    },
    backup: object("The shop's scheduled logical backups.", {
      schedule: text('A cron schedule (five fields, UTC) for the backup CronJob.', {
        default: '17 3 * * *',
        pattern: '^(\\S+\\s+){4}\\S+$',
        maxLength: 100,
      }),
      keepDaily: {
        type: 'integer',
        minimum: 1,
        maximum: 365,
        default: 14,
        description: 'How many daily backups to keep.',
      },
    }),
  },
  { required: ['tenantId', 'slug', 'displayName', 'tier', 'isolation', 'dataPlane', 'hosts'] },
);

const status: Schema = object(
  'What the operator last observed. Written by the operator only; never holds a credential.',
  {
    phase: oneOf(
      'A one-word summary: `Pending`, `Provisioning`, `Ready`, `Suspended`, `Degraded` or `Deleting`.',
      tenantPhases,
    ),
    observedGeneration: {
      type: 'integer',
      format: 'int64',
      minimum: 0,
      description: 'The `metadata.generation` the operator last reconciled.',
    },
    conditions: {
      type: 'array',
      description: 'Ready, DatabaseReady, DataPlaneAvailable, Suspended and Degraded.',
      items: condition,
      maxItems: 16,
      xKubernetesListType: 'map',
      xKubernetesListMapKeys: ['type'],
    },
    endpoint: text("The data plane's in-cluster URL, e.g. `http://data-plane.shop-acme.svc:8080`."),
    dataPlaneVersion: text('The data-plane release the available pods run.'),
    database: object(
      "Where the shop's data lives (a location, never a credential).",
      {
        mode: oneOf('The isolation mode in effect.', isolationModes),
        server: text('The named database server.'),
        database: text('The database name.'),
        schema: text('The schema, in `schema` mode.'),
        login: text(
          "The database role the data plane logs in as (its password is only in the namespace's Secret).",
        ),
      },
      { required: ['mode', 'server', 'database', 'login'] },
    ),
    lastBackup: object(
      'The latest successful backup.',
      {
        completedAt: text('When it finished.', { format: 'date-time' }),
        key: text('Its object key in the backup store.'),
        sizeBytes: { type: 'integer', format: 'int64', minimum: 0, description: 'Its size in bytes.' },
      },
      { required: ['completedAt', 'key', 'sizeBytes'] },
    ),
  },
);

/** The printer columns of `kubectl get tenants`. */
const columns: k8s.CustomResourceColumnDefinition[] = [
  { name: 'Slug', type: 'string', jsonPath: '.spec.slug', description: "The shop's short name" },
  { name: 'Mode', type: 'string', jsonPath: '.spec.isolation.mode', description: 'Isolation mode' },
  { name: 'Phase', type: 'string', jsonPath: '.status.phase', description: 'Summary of the state' },
  {
    name: 'Ready',
    type: 'string',
    jsonPath: '.status.conditions[?(@.type=="Ready")].status',
    description: 'Whether the shop is serving',
  },
  { name: 'Version', type: 'string', jsonPath: '.spec.dataPlane.version', description: 'Data-plane release' },
  { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
];

/**
 * The Tenant CustomResourceDefinition: the contract between the control plane, ops and the
 * operator (see docs/operator.md). Defined here once; the Helm chart's copy is generated from it.
 */
export class TenantCrd extends k8s.KubeCustomResourceDefinition {
  constructor(scope: Construct, id: string) {
    super(scope, id, {
      metadata: { name: `${TENANT_PLURAL}.${TENANT_GROUP}` },
      spec: {
        group: TENANT_GROUP,
        scope: 'Cluster',
        names: {
          kind: TENANT_KIND,
          listKind: 'TenantList',
          plural: TENANT_PLURAL,
          singular: 'tenant',
          shortNames: ['shop'],
        },
        versions: [
          {
            name: TENANT_VERSION,
            served: true,
            storage: true,
            subresources: { status: {} },
            additionalPrinterColumns: columns,
            schema: {
              openApiv3Schema: object(
                'A white-label shop: the operator turns each Tenant into an isolated namespace, database and data plane.',
                {
                  apiVersion: text('The API version of this object.'),
                  kind: text('The kind of this object.'),
                  spec,
                  status,
                },
                {
                  required: ['spec'],
                },
              ),
            },
          },
        ],
      },
    });
  }
}

/**
 * The Tenant's name is its slug: the operator keys its work and its objects' labels by it.
 * A CRD's own CEL rules cannot see `metadata.name`, so an admission policy says it.
 */
export class TenantNamePolicy extends Construct {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    const name = 'tenant-name-is-slug.shops.amn.gg';
    new k8s.KubeValidatingAdmissionPolicy(this, 'policy', {
      metadata: { name },
      spec: {
        failurePolicy: 'Fail',
        matchConstraints: {
          resourceRules: [
            {
              apiGroups: [TENANT_GROUP],
              apiVersions: [TENANT_VERSION],
              operations: ['CREATE', 'UPDATE'],
              resources: [TENANT_PLURAL],
            },
          ],
        },
        validations: [
          {
            expression: 'object.metadata.name == object.spec.slug',
            message: 'metadata.name must equal spec.slug',
            reason: 'Invalid',
          },
        ],
      },
    });
    new k8s.KubeValidatingAdmissionPolicyBinding(this, 'binding', {
      metadata: { name },
      spec: { policyName: name, validationActions: ['Deny'] },
    });
  }
}
