import { hostname } from 'node:os';
import { takeBackup } from '@amanat/data-plane/backups/backup';
import { objectStoreFromUrl } from '@amanat/data-plane/backups/object-store';
import { Provisioner } from '@amanat/data-plane/provisioning/provisioner';
import { smtpPort } from '@amanat/kit/mail/smtp-url';
import {
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  KubernetesObjectApi,
} from '@kubernetes/client-node';
import Fastify from 'fastify';
import pino, { type Logger } from 'pino';
import { type OperatorConfig, parseLabels } from './config.ts';
import { TenantController } from './controller.ts';
import { eventRecorder } from './kube/events.ts';
import { LeaderElector } from './kube/leader.ts';
import { operatorMetrics } from './metrics.ts';
import { TenantReconciler } from './tenants/reconciler.ts';

export interface RunningOperator {
  url: string;
  isLeader(): boolean;
  /** Graceful shutdown: stop watching, finish the reconciles in process, give up the lease. */
  stop(): Promise<void>;
}

/** KUBECONFIG (or ~/.kube/config) when present, else the in-cluster ServiceAccount. */
export function loadKubeConfig(): KubeConfig {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromDefault();
  return kubeConfig;
}

/**
 * Starts the operator: health and metrics at once, the controller only while this replica
 * holds the leader Lease. Losing the lease calls `onLostLeadership` (the process exits and
 * is restarted as a standby: half-finished work must not continue unled).
 */
export async function startOperator(
  config: OperatorConfig,
  options: { kubeConfig?: KubeConfig; log?: Logger; onLostLeadership?: () => void } = {},
): Promise<RunningOperator> {
  const log = options.log ?? pino({ level: config.LOG_LEVEL, base: { component: 'operator' } });
  const kubeConfig = options.kubeConfig ?? loadKubeConfig();
  const metrics = operatorMetrics();
  const provisioner = await Provisioner.open({
    adminUrl: config.PROVISIONER_ADMIN_URL,
    ...(config.PROVISIONER_RUNTIME_HOST ? { runtimeHost: config.PROVISIONER_RUNTIME_HOST } : {}),
    ...(config.PROVISIONER_SERVERS ? { servers: JSON.parse(config.PROVISIONER_SERVERS) } : {}),
  });
  const store = objectStoreFromUrl(config.BACKUP_STORE_URL, process.env);
  const reconciler = new TenantReconciler({
    objects: KubernetesObjectApi.makeApiClient(kubeConfig),
    custom: kubeConfig.makeApiClient(CustomObjectsApi),
    events: eventRecorder(kubeConfig.makeApiClient(CoreV1Api), 'amanat-operator', log),
    provisioner,
    finalBackup: async (placement) => {
      const backup = await takeBackup(provisioner, store, placement.tenantId, { placement, reason: 'final' });
      return { completedAt: new Date().toISOString(), key: backup.key, sizeBytes: backup.sizeBytes };
    },
    latestBackup: async (tenantId) => {
      const latest = await provisioner.registry.query.backupLogs.findFirst({
        columns: { finishedAt: true, path: true, sizeBytes: true },
        where: (log, { and, eq }) =>
          and(eq(log.tenantId, tenantId), eq(log.kind, 'backup'), eq(log.status, 'succeeded')),
        orderBy: (log, { desc }) => [desc(log.finishedAt)],
      });
      if (!latest?.finishedAt || !latest.path) return null;
      return {
        completedAt: latest.finishedAt.toISOString(),
        key: latest.path,
        sizeBytes: latest.sizeBytes ?? 0,
      };
    },
    imageRepository: config.DATA_PLANE_IMAGE,
    backups: {
      namespace: config.BACKUP_NAMESPACE,
      provisionerSecret: config.PROVISIONER_SECRET,
      storeUrl: config.BACKUP_STORE_URL,
    },
    platform: {
      routerNamespace: config.ROUTER_NAMESPACE,
      routerPodLabels: parseLabels(config.ROUTER_POD_LABELS),
      database: {
        cidrs: config.DATABASE_CIDRS.split(',').map((cidr) => cidr.trim()),
        port: config.DATABASE_PORT,
      },
      smtpPort: config.DATA_PLANE_SMTP_URL ? smtpPort(config.DATA_PLANE_SMTP_URL) : undefined,
    },
    smtpUrl: config.DATA_PLANE_SMTP_URL,
    controlPlane: { url: config.CONTROL_PLANE_URL, jwks: config.CONTROL_PLANE_JWKS },
    metrics,
    log,
  });
  const controller = new TenantController({
    kubeConfig,
    reconciler,
    metrics,
    log,
    workers: config.WORKERS,
    resyncMs: config.RESYNC_SECONDS * 1000,
  });
  const elector = new LeaderElector({
    coordination: kubeConfig.makeApiClient(CoordinationV1Api),
    namespace: config.LEASE_NAMESPACE,
    name: config.LEASE_NAME,
    identity: config.POD_NAME ?? `${hostname()}-${process.pid}`,
    leaseDurationSeconds: 15,
    renewEveryMs: 5_000,
    log,
    onStartedLeading: () => {
      metrics.leader.set(1);
      controller.start().catch((error) => {
        log.error({ err: error }, 'controller failed to start');
        options.onLostLeadership?.();
      });
    },
    onStoppedLeading: () => {
      metrics.leader.set(0);
      void controller.stop();
      options.onLostLeadership?.();
    },
  });

  const http = Fastify({ logger: false });
  http.get('/healthz', async () => ({ ok: true }));
  // A standby is ready too: it is healthy and waiting for the lease.
  http.get('/readyz', async (_request, reply) =>
    !elector.isLeader || controller.hasSynced
      ? { ok: true, leader: elector.isLeader }
      : reply.code(503).send({ ok: false, reason: 'informers not synced' }),
  );
  http.get('/metrics', async (_request, reply) =>
    reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
  );
  const url = await http.listen({ host: config.HOST, port: config.PORT });
  elector.start();
  log.info({ url }, 'operator started');

  // Idempotent: losing the lease and a SIGTERM may both ask for it.
  let stopping: Promise<void> | undefined;
  return {
    url,
    isLeader: () => elector.isLeader,
    stop() {
      stopping ??= (async () => {
        await controller.stop();
        await elector.stop();
        metrics.leader.set(0);
        await http.close();
        await provisioner.close();
      })();
      return stopping;
    },
  };
}
