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
  backupJobName,
  DATA_PLANE,
  DATA_PLANE_SECRET,
  endpointOf,
  namespaceOf,
  type PlatformPlacement,
  tenantBackupObject,
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

/** A finished backup, as `status.lastBackup` shows it. */
export interface BackupRecord {
  completedAt: string;
  key: string;
  sizeBytes: number;
}

export interface ReconcilerDeps {
  objects: KubernetesObjectApi;
  custom: CustomObjectsApi;
  events: EventRecorder;
  provisioner: Provisioner;
  /** Takes the backup deletion requires before the database goes. */
  finalBackup: (placement: PlacementRecord) => Promise<BackupRecord>;
  /** The tenant's latest successful backup (scheduled or final), from the backup log. */
  latestBackup: (tenantId: string) => Promise<BackupRecord | null>;
  platform: PlatformPlacement;
  /** The data-plane image repository (its tag is the Tenant's version). */
  imageRepository: string;
  /** Where the backup CronJobs run (the operator's namespace) and what they are given. */
  backups: { namespace: string; provisionerSecret: string; storeUrl: string };
  controlPlane: { url: string; jwks: string };
  /** Every data plane's SMTP_URL (in its Secret: it may carry a password); none, no email. */
  smtpUrl?: string;
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
          message: redactCredentials(error instanceof Error ? error.message : String(error)),
        },
        { type: 'Ready', status: false, reason: 'ReconcileFailed', message: 'The last reconcile failed.' },
      ]);
      throw error;
    }
  }

  private async converge(tenant: Tenant): Promise<ReconcileResult> {
    const { spec } = tenant;
    const namespace = namespaceOf(spec.slug);
    const liveSecret = await readLive<V1Secret>(this.deps.objects, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: DATA_PLANE_SECRET, namespace },
    });
    const kept = Object.fromEntries(
      Object.entries(liveSecret?.data ?? {}).map(([key, value]) => [
        key,
        Buffer.from(value, 'base64').toString(),
      ]),
    );
    // Generated once and kept in the Secret from then on.
    const secrets = {
      PAYMENT_EVIDENCE_SECRET: kept.PAYMENT_EVIDENCE_SECRET ?? newSecret(),
      DELIVERY_LINK_SECRET: kept.DELIVERY_LINK_SECRET ?? newSecret(),
      SECRETS_KEYS: kept.SECRETS_KEYS ?? `k1:${randomBytes(32).toString('base64')}`,
    };
    const applyDataPlane = (databaseUrl: string) =>
      this.applyAll(
        tenant,
        tenantDataPlaneObjects({
          tenant,
          platform: this.deps.platform,
          imageRepository: this.deps.imageRepository,
          secretData: {
            DATABASE_URL: databaseUrl,
            ...secrets,
            CONTROL_PLANE_JWKS: this.deps.controlPlane.jwks,
            ...(this.deps.smtpUrl ? { SMTP_URL: this.deps.smtpUrl } : {}),
          },
          environment: {
            TENANT_ID: spec.tenantId,
            TENANT_SLUG: spec.slug,
            PUBLIC_HOSTS: spec.hosts.join(','),
            CONTROL_PLANE_URL: this.deps.controlPlane.url,
            SHOP_SUSPENDED: String(spec.suspended === true),
            TRUST_PROXY: 'true',
          },
        }),
      );

    const placement = await this.placeDatabase(tenant, kept.DATABASE_URL, applyDataPlane);
    await applyDataPlane(placement.databaseUrl ?? (kept.DATABASE_URL as string));
    await this.applyAll(tenant, [
      tenantBackupObject({
        tenant,
        namespace: this.deps.backups.namespace,
        provisionerSecret: this.deps.backups.provisionerSecret,
        backupStoreUrl: this.deps.backups.storeUrl,
        imageRepository: this.deps.imageRepository,
      }),
    ]);

    const deployment = await readLive<V1Deployment>(this.deps.objects, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: DATA_PLANE, namespace },
    });
    const available = isAvailable(deployment);
    const rolledOut = available && isRolledOut(deployment);
    const suspended = spec.suspended === true;
    const lastBackup = await this.deps.latestBackup(spec.tenantId);
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
      // The version the pods run: the new one only once no pod of the old one is left.
      ...(rolledOut ? { dataPlaneVersion: spec.dataPlane.version } : {}),
      ...(lastBackup ? { lastBackup } : {}),
      database: {
        mode: record.mode,
        server: record.server,
        database: record.database,
        ...(record.mode === 'schema' ? { schema: record.schema } : {}),
        login: tenantObjectNames(record.tenantId).app,
      },
    });
    // The Deployment informer wakes the tenant as its rollout moves; this is the safety net.
    return rolledOut ? {} : { requeueAfterMs: 5_000 };
  }

  /** Applies each manifest that differs from its live object, counting and logging the writes. */
  private async applyAll(tenant: Tenant, manifests: Record<string, unknown>[]): Promise<void> {
    for (const manifest of manifests) {
      const applied = await applyIfChanged(this.deps.objects, manifest as KubernetesObject);
      if (applied !== 'unchanged') {
        this.deps.metrics.writes.inc({ kind: String(manifest.kind), outcome: applied.outcome });
        this.deps.log.info({ tenant: tenant.spec.slug, kind: manifest.kind, ...applied }, 'applied');
      }
    }
  }

  /** Records an Event (a write too, so it is counted with the others). */
  private async event(tenant: Tenant, type: 'Normal' | 'Warning', reason: string, message: string) {
    await this.deps.events.record(tenant, type, reason, message);
    this.deps.metrics.writes.inc({ kind: 'Event', outcome: 'created' });
  }

  /**
   * The tenant's database: provisioned (or repaired) in its mode, moved up a tier when the
   * spec asks for a stronger mode. A new login's URL is returned, for the Secret. A Secret
   * that is missing, or whose URL points somewhere the tenant no longer lives (an operator
   * that died between a move's switch and its Secret write), gets a rotated password.
   */
  private async placeDatabase(
    tenant: Tenant,
    secretUrl: string | undefined,
    applyDataPlane: (databaseUrl: string) => Promise<void>,
  ): Promise<{ record: PlacementRecord; databaseUrl?: string }> {
    const { provisioner } = this.deps;
    const { spec } = tenant;
    const ref = { id: spec.tenantId, slug: spec.slug };
    const existing = await provisioner.locate(spec.tenantId);
    let databaseUrl: string | undefined;
    if (existing && existing.mode !== spec.isolation.mode) {
      await this.event(
        tenant,
        'Normal',
        'MovingTier',
        `Moving the database from ${existing.mode} to ${spec.isolation.mode} mode`,
      );
      const report = await moveTenant(provisioner, spec.tenantId, spec.isolation.mode, {
        ...(spec.isolation.server ? { server: spec.isolation.server } : {}),
        // Writes stay paused until this returns: the Secret and the pod template change now,
        // so the pods roll onto the new location at once, not after the old copy is removed.
        onSwitch: async (credentials) => {
          databaseUrl = credentials.url;
          await applyDataPlane(credentials.url);
        },
      });
      databaseUrl = report.credentials?.url ?? databaseUrl;
      await this.event(
        tenant,
        'Normal',
        'MovedTier',
        redactCredentials(report.actions.join('; ')).slice(0, 1000),
      );
    } else {
      const stale = existing !== null && (secretUrl === undefined || !this.pointsAt(secretUrl, existing));
      const report = await provisioner.provision(ref, spec.isolation.mode, {
        ...(spec.isolation.server ? { server: spec.isolation.server } : {}),
        rotateCredentials: stale,
      });
      if (report.actions.length > 0) {
        await this.event(
          tenant,
          'Normal',
          'Provisioned',
          redactCredentials(report.actions.join('; ')).slice(0, 1000),
        );
      }
      databaseUrl = report.credentials?.url;
    }
    const record = await provisioner.require(spec.tenantId);
    return databaseUrl ? { record, databaseUrl } : { record };
  }

  /** Whether a DATABASE_URL reaches the server and database the tenant is placed on. */
  private pointsAt(url: string, placement: PlacementRecord): boolean {
    const { app } = tenantObjectNames(placement.tenantId);
    const expected = new URL(
      this.deps.provisioner.servers.runtimeUrl(placement.server, placement.database, app, 'x'),
    );
    const actual = new URL(url);
    return (
      actual.host === expected.host &&
      actual.pathname === expected.pathname &&
      actual.username === expected.username
    );
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

  /**
   * Deletion: a final backup, the database deprovisioned, the backup CronJob and the
   * namespace deleted, then let go.
   */
  private async finalize(tenant: Tenant): Promise<ReconcileResult> {
    if (!tenant.metadata.finalizers?.includes(FINALIZER)) return {};
    const { spec } = tenant;
    await this.writeStatus(tenant, [
      { type: 'Ready', status: false, reason: 'Deleting', message: 'The shop is being deleted.' },
    ]);
    if (await this.deps.provisioner.locate(spec.tenantId)) {
      let finalBackup: BackupRecord | undefined;
      await this.deps.provisioner.deprovision(spec.tenantId, async (placement) => {
        finalBackup = await this.deps.finalBackup(placement);
        return finalBackup;
      });
      if (finalBackup) {
        await this.writeStatus(tenant, [], { lastBackup: finalBackup });
        await this.event(
          tenant,
          'Normal',
          'Deprovisioned',
          `Final backup ${finalBackup.key}; database removed`,
        );
      }
    }
    await this.deleteIfPresent({
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: backupJobName(spec.slug), namespace: this.deps.backups.namespace },
    });
    const namespace = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespaceOf(spec.slug) } };
    if (await this.deleteIfPresent(namespace)) return { requeueAfterMs: 1_000 };
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

  /**
   * Deletes an object unless it is gone or already going; true while it still exists (the
   * caller waits for it).
   */
  private async deleteIfPresent(header: {
    apiVersion: string;
    kind: string;
    metadata: { name: string; namespace?: string };
  }): Promise<boolean> {
    const live = await readLive(this.deps.objects, header);
    if (!live) return false;
    if (!(live.metadata as { deletionTimestamp?: string }).deletionTimestamp) {
      try {
        await this.deps.objects.delete(header, undefined, undefined, undefined, undefined, 'Background');
      } catch (error) {
        if (isNotFound(error)) return false;
        throw error;
      }
      this.deps.metrics.writes.inc({ kind: header.kind, outcome: 'deleted' });
    }
    return true;
  }

  /**
   * Writes the status (server-side apply on the status subresource) when it changed, with an
   * Event per transition; `tenant.status` becomes what was written.
   */
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
    tenant.status = next;
    for (const condition of transitions(current.conditions ?? [], conditions)) {
      await this.event(
        tenant,
        condition.type === 'Degraded' && condition.status === 'True' ? 'Warning' : 'Normal',
        condition.reason,
        `${condition.type}=${condition.status}: ${condition.message}`,
      );
    }
  }
}

/** A connection URL's password, wherever an error message quotes one: status and Events never show it. */
export const redactCredentials = (text: string) => text.replace(/(\w+:\/\/[^:/@\s]*:)[^@\s]*@/g, '$1***@');

function isAvailable(deployment: V1Deployment | null): boolean {
  if (!deployment?.status) return false;
  const status = deployment.status;
  const upToDate = (status.observedGeneration ?? 0) >= (deployment.metadata?.generation ?? 0);
  const available = status.conditions?.some(
    (condition) => condition.type === 'Available' && condition.status === 'True',
  );
  return upToDate && Boolean(available) && (status.availableReplicas ?? 0) > 0;
}

/** Every pod runs the current template, as many as asked for are available, and no old pod is left. */
function isRolledOut(deployment: V1Deployment | null): boolean {
  const wanted = deployment?.spec?.replicas ?? 1;
  const status = deployment?.status ?? {};
  return (
    (status.updatedReplicas ?? 0) >= wanted &&
    (status.availableReplicas ?? 0) >= wanted &&
    (status.replicas ?? 0) === (status.updatedReplicas ?? 0)
  );
}

function availabilityOf(deployment: V1Deployment | null): string {
  if (!deployment) return 'The Deployment does not exist yet.';
  const status = deployment.status ?? {};
  return `${status.availableReplicas ?? 0} of ${deployment.spec?.replicas ?? 0} data-plane pods available`;
}
