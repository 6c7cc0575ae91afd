import { TENANT_GROUP, TENANT_PLURAL, TENANT_VERSION } from '@amanat/cdk8s/tenant-crd';
import {
  ApiException,
  CustomObjectsApi,
  type Informer,
  KubeConfig,
  type KubernetesListObject,
  makeInformer,
  type ObjectCache,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import type { FastifyBaseLogger } from 'fastify';
import type { ServiceContext } from '../context.ts';
import type { TenantRow } from '../tenants/queries.ts';
import { adoptTenantResource } from './adoption.ts';
import {
  CONTROL_PLANE_FIELD_MANAGER,
  newTenantResource,
  registryApplyBody,
  registryDrift,
  type TenantResource,
  wantsTenantResource,
} from './desired.ts';
import { allTenants, findTenantBySlug } from './queries.ts';
import {
  publicClusterStatus,
  type TenantClusterJson,
  type TenantResourcesView,
  type UnadoptedTenant,
} from './view.ts';

/** KUBECONFIG (or ~/.kube/config) when present, else the in-cluster ServiceAccount. */
export function loadKubeConfig(): KubeConfig {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromDefault();
  return kubeConfig;
}

export interface TenantResourcesOptions {
  ctx: ServiceContext;
  kubeConfig: KubeConfig;
  log: FastifyBaseLogger;
  /** How often the whole registry is compared with the cluster. */
  resyncMs: number;
  /** Tenants converged at once (a first sync of a large fleet must not flood the API server). */
  concurrency?: number;
}

const tenantApi = { group: TENANT_GROUP, version: TENANT_VERSION, plural: TENANT_PLURAL };
const FIRST_RESTART_DELAY_MS = 500;
const MAX_RESTART_DELAY_MS = 30_000;

const isStatus = (error: unknown, code: number) => error instanceof ApiException && error.code === code;
const isDeleting = (resource: TenantResource) => resource.metadata.deletionTimestamp !== undefined;

/**
 * Keeps each tenant's `Tenant` resource in step with the registry. The registry is the source
 * of truth and every write follows a committed transaction, so a failed or lost write is only
 * ever late: `tenantChanged` converges one tenant at once, and a periodic pass (and one after
 * the first list) converges the whole fleet — create the missing, apply the drifted, delete
 * the closed, adopt what ops created with kubectl. Status comes from a watch cache.
 */
export class TenantResources implements TenantResourcesView {
  private readonly custom: CustomObjectsApi;
  private readonly informer: Informer<TenantResource> & ObjectCache<TenantResource>;
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly rerun = new Set<string>();
  private readonly unadopted = new Map<string, UnadoptedTenant>();
  private readonly waitingForSlot: (() => void)[] = [];
  private busySlots = 0;
  private synced = false;
  private stopped = false;
  private watchErrors = 0;
  private restartDelayMs = FIRST_RESTART_DELAY_MS;
  private resyncTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: TenantResourcesOptions) {
    this.custom = options.kubeConfig.makeApiClient(CustomObjectsApi);
    this.informer = makeInformer<TenantResource>(
      options.kubeConfig,
      `/apis/${TENANT_GROUP}/${TENANT_VERSION}/${TENANT_PLURAL}`,
      async () =>
        (await this.custom.listClusterCustomObject(tenantApi)) as KubernetesListObject<TenantResource>,
    );
    // Before the first list completes the start-up pass covers every resource; afterwards a
    // new resource may be one to adopt, and a deleted one may need re-creating.
    this.informer.on('add', (resource) => {
      if (this.synced) this.schedule(resource.metadata.name);
    });
    this.informer.on('delete', (resource) => {
      this.unadopted.delete(resource.metadata.name);
      if (this.synced) this.schedule(resource.metadata.name);
    });
    // Status updates are frequent and need nothing; only a refused adoption may have been fixed.
    this.informer.on('update', (resource) => {
      if (this.unadopted.has(resource.metadata.name)) this.schedule(resource.metadata.name);
    });
    // On a watch error other than 410 Gone the informer stops: start it again, with a growing delay.
    this.informer.on('error', (error) => this.restartWatch(error));
  }

  get hasSynced(): boolean {
    return this.synced;
  }

  /** Starts watching in the background: an unreachable API server delays the sync, never the app. */
  start(): void {
    void this.watch();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.resyncTimer);
    await this.informer.stop();
    await Promise.allSettled(this.inFlight.values());
  }

  clusterStatusOf(tenant: Pick<TenantRow, 'id' | 'slug'>): TenantClusterJson {
    return publicClusterStatus(this.informer.get(tenant.slug), tenant);
  }

  tenantChanged(tenant: Pick<TenantRow, 'slug'>): void {
    this.schedule(tenant.slug);
  }

  unadoptedTenants(): UnadoptedTenant[] {
    return [...this.unadopted.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** One pass over the whole registry and the cached resources; converges only what differs. */
  async resync(): Promise<void> {
    const { ctx } = this.options;
    const tenants = await allTenants(ctx.db);
    const registered = new Set(tenants.map((tenant) => tenant.slug));
    for (const tenant of tenants) {
      if (this.needsConverging(tenant, this.informer.get(tenant.slug))) this.schedule(tenant.slug);
    }
    for (const resource of this.informer.list()) {
      if (!registered.has(resource.metadata.name) && !isDeleting(resource))
        this.schedule(resource.metadata.name);
    }
  }

  /** Resolves when no tenant is being converged (tests wait on it instead of sleeping). */
  async settled(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled(this.inFlight.values());
  }

  private needsConverging(tenant: TenantRow, resource: TenantResource | undefined): boolean {
    const settings = this.options.ctx.config;
    if (resource && resource.spec.tenantId !== tenant.id) return true;
    if (wantsTenantResource(tenant)) {
      return !resource || (!isDeleting(resource) && registryDrift(resource, tenant, settings) !== null);
    }
    return tenant.status === 'closed' && resource !== undefined && !isDeleting(resource);
  }

  private async watch(): Promise<void> {
    const errorsBefore = this.watchErrors;
    try {
      await this.informer.start();
    } catch (error) {
      this.restartWatch(error);
      return;
    }
    if (this.watchErrors !== errorsBefore || this.stopped) return;
    this.restartDelayMs = FIRST_RESTART_DELAY_MS;
    if (this.synced) return;
    this.synced = true;
    this.options.log.info('Tenant resources listed; converging the fleet with the registry');
    this.resyncTimer = setInterval(() => void this.resyncLogged(), this.options.resyncMs);
    this.resyncTimer.unref();
    await this.resyncLogged();
  }

  private restartWatch(error: unknown): void {
    this.watchErrors += 1;
    if (this.stopped) return;
    const delayMs = this.restartDelayMs;
    this.options.log.warn({ err: error, retryInMs: delayMs }, 'Tenant watch failed; restarting it');
    setTimeout(() => {
      if (!this.stopped) void this.watch();
    }, delayMs).unref();
    this.restartDelayMs = Math.min(delayMs * 2, MAX_RESTART_DELAY_MS);
  }

  private async resyncLogged(): Promise<void> {
    try {
      await this.resync();
    } catch (error) {
      this.options.log.warn({ err: error }, 'Tenant resync failed; the next one retries');
    }
  }

  /**
   * Converges one tenant, never two at once for the same slug: a change arriving while it runs
   * makes it run once more, reading the registry afresh, so the last committed state wins.
   */
  private schedule(slug: string): void {
    if (this.stopped) return;
    if (this.inFlight.has(slug)) {
      this.rerun.add(slug);
      return;
    }
    const run = async () => {
      do {
        this.rerun.delete(slug);
        await this.inSlot(() => this.converge(slug)).catch((error) =>
          this.options.log.warn(
            { tenant: slug, err: error },
            'Tenant resource sync failed; the next resync retries it',
          ),
        );
      } while (this.rerun.has(slug) && !this.stopped);
      this.inFlight.delete(slug);
    };
    this.inFlight.set(slug, run());
  }

  private async inSlot(work: () => Promise<void>): Promise<void> {
    while (this.busySlots >= (this.options.concurrency ?? 8)) {
      await new Promise<void>((resolve) => this.waitingForSlot.push(resolve));
    }
    this.busySlots += 1;
    try {
      await work();
    } finally {
      this.busySlots -= 1;
      this.waitingForSlot.shift()?.();
    }
  }

  private async converge(slug: string): Promise<void> {
    const { ctx, log } = this.options;
    let tenant = await findTenantBySlug(ctx.db, slug);
    const live = await this.read(slug);
    if (!tenant) {
      if (!live || isDeleting(live)) {
        this.unadopted.delete(slug);
        return;
      }
      const adoption = await adoptTenantResource(ctx, live);
      if (adoption.outcome === 'refused') {
        this.refuseAdoption(live, adoption.reason);
        return;
      }
      if (adoption.outcome === 'adopted') {
        log.info({ tenant: slug, tenantId: adoption.tenant.id }, 'adopted a Tenant created in the cluster');
      }
      tenant = adoption.tenant;
    }
    if (live && live.spec.tenantId !== tenant.id) {
      this.refuseAdoption(live, `the slug "${slug}" belongs to another registered tenant`);
      return;
    }
    this.unadopted.delete(slug);

    if (wantsTenantResource(tenant)) {
      if (!live) await this.create(tenant);
      else if (!isDeleting(live)) await this.applyIfDrifted(live, tenant);
    } else if (tenant.status === 'closed' && live && !isDeleting(live)) {
      await this.delete(live, tenant);
    }
  }

  private refuseAdoption(resource: TenantResource, reason: string): void {
    const name = resource.metadata.name;
    if (this.unadopted.get(name)?.reason === reason) return;
    this.options.log.warn(
      { tenant: name, reason },
      'a Tenant in the cluster is not in the registry and cannot be adopted',
    );
    this.unadopted.set(name, {
      name,
      tenant_id: resource.spec?.tenantId ?? null,
      reason,
      since: new Date().toISOString(),
    });
  }

  private async read(name: string): Promise<TenantResource | null> {
    try {
      return (await this.custom.getClusterCustomObject({ ...tenantApi, name })) as TenantResource;
    } catch (error) {
      if (isStatus(error, 404)) return null;
      throw error;
    }
  }

  private async create(tenant: TenantRow): Promise<void> {
    try {
      await this.custom.createClusterCustomObject({
        ...tenantApi,
        body: newTenantResource(tenant, this.options.ctx.config),
        fieldManager: CONTROL_PLANE_FIELD_MANAGER,
      });
      this.options.log.info({ tenant: tenant.slug, tenantId: tenant.id }, 'created the Tenant resource');
    } catch (error) {
      if (!isStatus(error, 409)) throw error;
      // Created meanwhile (another replica, or a write whose answer was lost): bring it in step.
      const live = await this.read(tenant.slug);
      if (live && live.spec.tenantId === tenant.id && !isDeleting(live))
        await this.applyIfDrifted(live, tenant);
    }
  }

  private async applyIfDrifted(live: TenantResource, tenant: TenantRow): Promise<void> {
    const drift = registryDrift(live, tenant, this.options.ctx.config);
    if (drift === null) return;
    await this.custom.patchClusterCustomObject(
      {
        ...tenantApi,
        name: tenant.slug,
        body: registryApplyBody(tenant, this.options.ctx.config),
        fieldManager: CONTROL_PLANE_FIELD_MANAGER,
        force: true,
      },
      setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
    );
    this.options.log.info(
      { tenant: tenant.slug, tenantId: tenant.id, drift },
      'applied the registry to the Tenant resource',
    );
  }

  private async delete(live: TenantResource, tenant: TenantRow): Promise<void> {
    try {
      await this.custom.deleteClusterCustomObject({
        ...tenantApi,
        name: tenant.slug,
        // Exactly the resource seen: a same-named one created since is not this closed tenant's.
        body: { preconditions: { uid: live.metadata.uid } },
      });
      this.options.log.info(
        { tenant: tenant.slug, tenantId: tenant.id },
        'deleted the Tenant resource of a closed tenant',
      );
    } catch (error) {
      if (!isStatus(error, 404)) throw error;
    }
  }
}
