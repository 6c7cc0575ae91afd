import { TENANT_GROUP, TENANT_PLURAL, TENANT_VERSION } from '@amanat/cdk8s/tenant-crd';
import { LABELS, OPERATOR_NAME } from '@amanat/cdk8s/tenant-objects';
import {
  AppsV1Api,
  CustomObjectsApi,
  type Informer,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  makeInformer,
  type V1Deployment,
} from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { OperatorMetrics } from './metrics.ts';
import { WorkQueue } from './queue/work-queue.ts';
import type { TenantReconciler } from './tenants/reconciler.ts';

export interface ControllerOptions {
  kubeConfig: KubeConfig;
  reconciler: TenantReconciler;
  metrics: OperatorMetrics;
  log: Logger;
  workers: number;
  /** Every tenant is reconciled this often even without a change (level-triggered safety net). */
  resyncMs: number;
}

const MANAGED = `${LABELS.managedBy}=${OPERATOR_NAME}`;

/**
 * Watches Tenants and the Deployments made for them, and feeds their names to the work
 * queue. The informers re-list by themselves after `410 Gone`; any other watch error stops
 * an informer, so it is started again here with a growing delay.
 */
export class TenantController {
  private readonly queue: WorkQueue;
  private readonly informers: Informer<KubernetesObject>[] = [];
  private resyncTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private synced = false;

  constructor(private readonly options: ControllerOptions) {
    this.queue = new WorkQueue((name) => this.reconcile(name), {
      workers: options.workers,
      baseDelayMs: 1_000,
      maxDelayMs: 300_000,
      onError: (name, error, retryInMs) =>
        options.log.warn({ tenant: name, err: error, retryInMs }, 'reconcile failed; will retry'),
    });
  }

  /** True once the Tenant list has been read: `/readyz` waits for it. */
  get hasSynced(): boolean {
    return this.synced;
  }

  async start(): Promise<void> {
    const { kubeConfig } = this.options;
    const custom = kubeConfig.makeApiClient(CustomObjectsApi);
    const apps = kubeConfig.makeApiClient(AppsV1Api);
    const tenants = makeInformer<KubernetesObject>(
      kubeConfig,
      `/apis/${TENANT_GROUP}/${TENANT_VERSION}/${TENANT_PLURAL}`,
      async () =>
        (await custom.listClusterCustomObject({
          group: TENANT_GROUP,
          version: TENANT_VERSION,
          plural: TENANT_PLURAL,
        })) as KubernetesListObject<KubernetesObject>,
    );
    const deployments = makeInformer<V1Deployment>(
      kubeConfig,
      '/apis/apps/v1/deployments',
      () => apps.listDeploymentForAllNamespaces({ labelSelector: MANAGED }),
      MANAGED,
    );
    const enqueueTenant = (object: KubernetesObject) => {
      if (object.metadata?.name) this.queue.add(object.metadata.name);
    };
    const enqueueOwner = (object: KubernetesObject) => {
      const slug = object.metadata?.labels?.[LABELS.slug];
      if (slug) this.queue.add(slug);
    };
    for (const verb of ['add', 'update', 'delete'] as const) {
      tenants.on(verb, enqueueTenant);
      deployments.on(verb, enqueueOwner);
    }
    for (const informer of [tenants, deployments] as Informer<KubernetesObject>[]) {
      this.keepRunning(informer);
      this.informers.push(informer);
    }
    await Promise.all(this.informers.map((informer) => informer.start()));
    this.synced = true;
    this.resyncTimer = setInterval(() => {
      for (const tenant of tenants.list()) enqueueTenant(tenant);
    }, this.options.resyncMs);
    this.resyncTimer.unref();
  }

  private keepRunning(informer: Informer<KubernetesObject>): void {
    let delayMs = 500;
    informer.on('error', (error) => {
      if (this.stopped) return;
      this.options.log.warn({ err: error, retryInMs: delayMs }, 'watch failed; restarting it');
      setTimeout(() => {
        if (!this.stopped) void informer.start();
      }, delayMs).unref();
      delayMs = Math.min(delayMs * 2, 30_000);
    });
    informer.on('connect', () => {
      delayMs = 500;
    });
  }

  private async reconcile(name: string): Promise<void> {
    const { metrics } = this.options;
    const end = metrics.duration.startTimer();
    try {
      const result = await this.options.reconciler.reconcile(name);
      metrics.reconciles.inc({ result: 'success' });
      if (result.requeueAfterMs) this.queue.addAfter(name, result.requeueAfterMs);
    } catch (error) {
      metrics.reconciles.inc({ result: 'error' });
      throw error;
    } finally {
      end();
      metrics.queueDepth.set(this.queue.depth);
    }
  }

  /** Stops watching, then lets the reconciles in process finish. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.resyncTimer);
    await Promise.all(this.informers.map((informer) => informer.stop()));
    await this.queue.shutdown();
  }
}
