import { randomBytes } from 'node:crypto';
import {
  TENANT_API_VERSION,
  TENANT_GROUP,
  TENANT_KIND,
  TENANT_PLURAL,
  TENANT_VERSION,
  type Tenant,
  type TenantStatus,
} from '@amanat/cdk8s/tenant-crd';
import {
  DATA_PLANE,
  DATA_PLANE_SECRET,
  endpointOf,
  namespaceOf,
  type PlatformPlacement,
  tenantDataPlaneObjects,
} from '@amanat/cdk8s/tenant-objects';
import { moveTenant } from '@amanat/data-plane/provisioning/move';
import { tenantObjectNames } from '@amanat/data-plane/provisioning/names';
import type { Provisioner } from '@amanat/data-plane/provisioning/provisioner';
import type { PlacementRecord } from '@amanat/data-plane/provisioning/registry';
import {
  type CustomObjectsApi,
  type KubernetesObject,
  type KubernetesObjectApi,
  PatchStrategy,
  setHeaderOptions,
  type V1Deployment,
  type V1Secret,
} from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { applyIfChanged, FIELD_MANAGER, isNotFound, readLive } from '../kube/apply.ts';
import type { EventRecorder } from '../kube/events.ts';
import type { OperatorMetrics } from '../metrics.ts';
import { nextConditions, type Observation, phaseOf, statusUnchanged, transitions } from './status.ts';

export const FINALIZER = 'shops.amn.gg/cleanup';

export interface ReconcilerDeps {
  objects: KubernetesObjectApi;
  custom: CustomObjectsApi;
  events: EventRecorder;
  provisioner: Provisioner;
  /** Takes the backup deletion requires before the database goes; returns its object key. */
  finalBackup: (placement: PlacementRecord) => Promise<{ key: string; sizeBytes: number }>;
  platform: PlatformPlacement;
  controlPlane: { url: string; jwks: string };
  metrics: OperatorMetrics;
  log: Logger;
  now?: () => Date;
}

/** What a reconcile asks of the queue: nothing, or another look after a delay. */
export interface ReconcileResult {
  requeueAfterMs?: number;
}

const tenantHeader = (name: string) => ({
  apiVersion: TENANT_API_VERSION,
  kind: TENANT_KIND,
  metadata: { name },
});

/** A new random secret for the data plane: 32 bytes, base64url. */
const newSecret = () => randomBytes(32).toString('base64url');

/**
 * Turns one Tenant into its namespace, database and running data plane, level-triggered and
 * idempotent: every step reads what is there and writes only what differs, so a resync of an
 * unchanged tenant makes no write at all.
 */
export class TenantReconciler {
  private readonly now: () => Date;

  constructor(private readonly deps: ReconcilerDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  async reconcile(name: string): Promise<ReconcileResult> {
    const tenant = await readLive<Tenant & KubernetesObject>(this.deps.objects, tenantHeader(name));
    if (!tenant) return {};
    if ((tenant.metadata as { deletionTimestamp?: string }).deletionTimestamp) return this.finalize(tenant);
    await this.ensureFinalizer(tenant);
    try {
      return await this.converge(tenant);
    } catch (error) {
      await this.writeStatus(tenant, [
        {
          type: 'Degraded',
          status: true,
          reason: 'ReconcileFailed',
          message: error instanceof Error ? error.message : String(error),
        },
        { type: 'Ready', status: false, reason: 'ReconcileFailed', message: 'The last reconcile failed.' },
      ]);
      throw error;
    }
  }

  private async converge(tenant: Tenant): Promise<ReconcileResult> {
    const { spec } = tenant;
    const namespace = namespaceOf(spec.slug);
    const secretHeader = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: DATA_PLANE_SECRET, namespace },
    };
    const liveSecret = await readLive<V1Secret>(this.deps.objects, secretHeader);
    const kept = Object.fromEntries(
      Object.entries(liveSecret?.data ?? {}).map(([key, value]) => [
        key,
        Buffer.from(value, 'base64').toString(),
      ]),
    );

    const placement = await this.placeDatabase(tenant, kept.DATABASE_URL === undefined);
    const secretData: Record<string, string> = {
      DATABASE_URL: placement.databaseUrl ?? (kept.DATABASE_URL as string),
      PAYMENT_EVIDENCE_SECRET: kept.PAYMENT_EVIDENCE_SECRET ?? newSecret(),
      DELIVERY_LINK_SECRET: kept.DELIVERY_LINK_SECRET ?? newSecret(),
      SECRETS_KEYS: kept.SECRETS_KEYS ?? `k1:${randomBytes(32).toString('base64')}`,
      CONTROL_PLANE_JWKS: this.deps.controlPlane.jwks,
    };
    const environment = {
      TENANT_ID: spec.tenantId,
      TENANT_SLUG: spec.slug,
      PUBLIC_HOSTS: spec.hosts.join(','),
      CONTROL_PLANE_URL: this.deps.controlPlane.url,
      SHOP_SUSPENDED: String(spec.suspended === true),
      TRUST_PROXY: 'true',
    };

    const manifests = tenantDataPlaneObjects({
      tenant,
      platform: this.deps.platform,
      secretData,
      environment,
    });
    for (const manifest of manifests) {
      const applied = await applyIfChanged(this.deps.objects, manifest as KubernetesObject);
      if (applied !== 'unchanged') {
        this.deps.metrics.writes.inc({ kind: String(manifest.kind), outcome: applied.outcome });
        this.deps.log.info({ tenant: spec.slug, kind: manifest.kind, ...applied }, 'applied');
      }
    }

    const deployment = await readLive<V1Deployment>(this.deps.objects, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: DATA_PLANE, namespace },
    });
    const available = isAvailable(deployment);
    const suspended = spec.suspended === true;
    const record = placement.record;
    const observations: Observation[] = [
      {
        type: 'DatabaseReady',
        status: true,
        reason: 'Provisioned',
        message: `${record.mode} mode on server ${record.server}, database ${record.database}`,
      },
      available
        ? {
            type: 'DataPlaneAvailable',
            status: true,
            reason: 'MinimumReplicasAvailable',
            message: availabilityOf(deployment),
          }
        : {
            type: 'DataPlaneAvailable',
            status: false,
            reason: 'Starting',
            message: availabilityOf(deployment),
          },
      suspended
        ? {
            type: 'Suspended',
            status: true,
            reason: 'SuspendedBySpec',
            message: 'The shop serves its unavailable page and refuses checkout.',
          }
        : { type: 'Suspended', status: false, reason: 'Serving', message: 'The shop is open.' },
      { type: 'Degraded', status: false, reason: 'Reconciled', message: 'The last reconcile succeeded.' },
      available && !suspended
        ? { type: 'Ready', status: true, reason: 'Serving', message: 'The shop is serving.' }
        : {
            type: 'Ready',
            status: false,
            reason: suspended ? 'Suspended' : 'DataPlaneUnavailable',
            message: suspended ? 'The shop is suspended.' : 'Waiting for the data plane to become available.',
          },
    ];
    await this.writeStatus(tenant, observations, {
      endpoint: endpointOf(spec.slug),
      ...(available ? { dataPlaneVersion: spec.dataPlane.version } : {}),
      database: {
        mode: record.mode,
        server: record.server,
        database: record.database,
        ...(record.mode === 'schema' ? { schema: record.schema } : {}),
        login: tenantObjectNames(record.tenantId).app,
      },
    });
    // The Deployment informer wakes the tenant when pods become available; this is the safety net.
    return available ? {} : { requeueAfterMs: 5_000 };
  }

  /**
   * The tenant's database: provisioned (or repaired) in its mode, moved up a tier when the
   * spec asks for a stronger mode. A new login's URL is returned once, for the Secret.
   */
  private async placeDatabase(
    tenant: Tenant,
    secretMissing: boolean,
  ): Promise<{ record: PlacementRecord; databaseUrl?: string }> {
    const { provisioner } = this.deps;
    const { spec } = tenant;
    const ref = { id: spec.tenantId, slug: spec.slug };
    const existing = await provisioner.locate(spec.tenantId);
    let databaseUrl: string | undefined;
    if (existing && existing.mode !== spec.isolation.mode) {
      await this.deps.events.record(
        tenant,
        'Normal',
        'MovingTier',
        `Moving the database from ${existing.mode} to ${spec.isolation.mode} mode`,
      );
      const report = await moveTenant(provisioner, spec.tenantId, spec.isolation.mode, {
        ...(spec.isolation.server ? { server: spec.isolation.server } : {}),
        // The Secret (and with it the pods) follow in this same reconcile.
        onSwitch: async (credentials) => {
          databaseUrl = credentials.url;
        },
      });
      databaseUrl = report.credentials?.url ?? databaseUrl;
    } else {
      const report = await provisioner.provision(ref, spec.isolation.mode, {
        ...(spec.isolation.server ? { server: spec.isolation.server } : {}),
        rotateCredentials: secretMissing && existing !== null,
      });
      if (report.actions.length > 0) {
        await this.deps.events.record(
          tenant,
          'Normal',
          'Provisioned',
          report.actions.join('; ').slice(0, 1000),
        );
      }
      databaseUrl = report.credentials?.url;
    }
    const record = await provisioner.require(spec.tenantId);
    return databaseUrl ? { record, databaseUrl } : { record };
  }

  private async ensureFinalizer(tenant: Tenant): Promise<void> {
    if (tenant.metadata.finalizers?.includes(FINALIZER)) return;
    await this.deps.objects.patch(
      {
        ...tenantHeader(tenant.metadata.name),
        metadata: { name: tenant.metadata.name, finalizers: [FINALIZER] },
      },
      undefined,
      undefined,
      FIELD_MANAGER,
      true,
      PatchStrategy.ServerSideApply,
    );
    this.deps.metrics.writes.inc({ kind: TENANT_KIND, outcome: 'finalizer' });
  }

  /** Deletion: a final backup, the database deprovisioned, the namespace deleted, then let go. */
  private async finalize(tenant: Tenant): Promise<ReconcileResult> {
    if (!tenant.metadata.finalizers?.includes(FINALIZER)) return {};
    const { spec } = tenant;
    await this.writeStatus(tenant, [
      { type: 'Ready', status: false, reason: 'Deleting', message: 'The shop is being deleted.' },
    ]);
    if (await this.deps.provisioner.locate(spec.tenantId)) {
      let backupKey = '';
      await this.deps.provisioner.deprovision(spec.tenantId, async (placement) => {
        const backup = await this.deps.finalBackup(placement);
        backupKey = backup.key;
        return backup;
      });
      await this.deps.events.record(
        tenant,
        'Normal',
        'Deprovisioned',
        `Final backup ${backupKey}; database removed`,
      );
    }
    const namespace = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespaceOf(spec.slug) } };
    const live = await readLive(this.deps.objects, namespace);
    if (live) {
      if (!(live.metadata as { deletionTimestamp?: string }).deletionTimestamp) {
        await this.deps.objects.delete(namespace, undefined, undefined, undefined, undefined, 'Background');
        this.deps.metrics.writes.inc({ kind: 'Namespace', outcome: 'deleted' });
      }
      return { requeueAfterMs: 1_000 };
    }
    const finalizers = (tenant.metadata.finalizers ?? []).filter((name) => name !== FINALIZER);
    try {
      await this.deps.objects.patch(
        {
          ...tenantHeader(tenant.metadata.name),
          metadata: {
            name: tenant.metadata.name,
            finalizers,
            resourceVersion: tenant.metadata.resourceVersion,
          },
        },
        undefined,
        undefined,
        FIELD_MANAGER,
        undefined,
        PatchStrategy.MergePatch,
      );
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    return {};
  }

  /** Writes the status (server-side apply on the status subresource) when it changed, with an Event per transition. */
  private async writeStatus(
    tenant: Tenant,
    observations: Observation[],
    fields: Partial<TenantStatus> = {},
  ): Promise<void> {
    const current = tenant.status ?? {};
    const generation = tenant.metadata.generation ?? 0;
    const conditions = nextConditions(current.conditions ?? [], observations, generation, this.now());
    const deleting = Boolean((tenant.metadata as { deletionTimestamp?: string }).deletionTimestamp);
    const next: TenantStatus = {
      ...current,
      ...fields,
      phase: phaseOf(conditions, deleting),
      observedGeneration: generation,
      conditions,
    };
    if (statusUnchanged(current, next)) return;
    await this.deps.custom.patchClusterCustomObjectStatus(
      {
        group: TENANT_GROUP,
        version: TENANT_VERSION,
        plural: TENANT_PLURAL,
        name: tenant.metadata.name,
        body: {
          apiVersion: TENANT_API_VERSION,
          kind: TENANT_KIND,
          metadata: { name: tenant.metadata.name },
          status: next,
        },
        fieldManager: FIELD_MANAGER,
        force: true,
      },
      setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
    );
    this.deps.metrics.writes.inc({ kind: TENANT_KIND, outcome: 'status' });
    for (const condition of transitions(current.conditions ?? [], conditions)) {
      await this.deps.events.record(
        tenant,
        condition.type === 'Degraded' && condition.status === 'True' ? 'Warning' : 'Normal',
        condition.reason,
        `${condition.type}=${condition.status}: ${condition.message}`,
      );
    }
  }
}

function isAvailable(deployment: V1Deployment | null): boolean {
  if (!deployment?.status) return false;
  const status = deployment.status;
  const upToDate = (status.observedGeneration ?? 0) >= (deployment.metadata?.generation ?? 0);
  const available = status.conditions?.some(
    (condition) => condition.type === 'Available' && condition.status === 'True',
  );
  return upToDate && Boolean(available) && (status.availableReplicas ?? 0) > 0;
}

function availabilityOf(deployment: V1Deployment | null): string {
  if (!deployment) return 'The Deployment does not exist yet.';
  const status = deployment.status ?? {};
  return `${status.availableReplicas ?? 0} of ${deployment.spec?.replicas ?? 0} data-plane pods available`;
}
