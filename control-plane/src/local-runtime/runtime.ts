import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { TenantCondition, TenantPhase } from '@amanat/cdk8s/tenant-crd';
import { takeBackup } from '@amanat/data-plane/backups/backup';
import type { ObjectStore } from '@amanat/data-plane/backups/object-store';
import { dataPlaneCommand, PACKED_DATA_PLANE_ENV } from '@amanat/data-plane/launch';
import { moveTenant } from '@amanat/data-plane/provisioning/move';
import { tenantObjectNames } from '@amanat/data-plane/provisioning/names';
import type { Provisioner } from '@amanat/data-plane/provisioning/provisioner';
import { freePort } from '@amanat/kit/process/processes';
import { WorkQueue } from '@amanat/operator/queue/work-queue';
import type { Logger } from 'pino';
import { type ClusterSettings, platformHost, registrySpec, wantsTenantResource } from '../cluster/desired.ts';
import { allTenants, findTenantBySlug } from '../cluster/queries.ts';
import type { TenantClusterJson, TenantResourcesView, UnadoptedTenant } from '../cluster/view.ts';
import type { Database } from '../db/client.ts';
import type { TenantRow } from '../tenants/queries.ts';
import type { RouteTable } from './router.ts';
import { DataPlaneSupervisor } from './supervisor.ts';

/**
 * What the runtime keeps per tenant between runs, in a 0600 file under the local data
 * directory: the local twin of the operator's Secret (the database login, the per-tenant
 * secrets) and the data plane's port.
 */
interface TenantState {
  port: number;
  databaseUrl: string;
  paymentEvidenceSecret: string;
  deliveryLinkSecret: string;
  secretsKeys: string;
}

interface RunningTenant {
  tenantId: string;
  slug: string;
  supervisor: DataPlaneSupervisor;
  env: NodeJS.ProcessEnv;
  hosts: string[];
  url: string;
  mode: TenantRow['isolationMode'];
  suspended: boolean;
  conditionsSince: Map<string, string>;
}

export interface LocalRuntimeOptions {
  db: Database;
  provisioner: Provisioner;
  backups: ObjectStore;
  settings: ClusterSettings;
  /** Where per-tenant state and data-plane logs go. */
  stateDir: string;
  controlPlane: { url: string; jwks: string };
  /** Where every data plane sends its email (SMTP_URL), and its MAIL_FROM when given. */
  mail: { smtpUrl: string; from?: string };
  log: Logger;
  /** Every tenant is compared with the registry this often, changed or not. */
  resyncMs?: number;
}

/**
 * The local platform's small kubelet: it turns the registry's tenants into data-plane child
 * processes with the same parts as the operator — the provisioner (isolation modes, tier
 * moves, deprovisioning with a final backup), the data-plane configuration contract and the
 * same data-plane program — and routes each shop's hosts to its process. A tenant's change
 * restarts that tenant's data plane only.
 */
export class LocalRuntime implements TenantResourcesView, RouteTable {
  private readonly queue: WorkQueue;
  private readonly running = new Map<string, RunningTenant>();
  private readonly routes = new Map<string, string>();
  private resyncTimer: NodeJS.Timeout | undefined;
  private synced = false;
  /** The router's port, which the shops' own links carry (unless it is 80). */
  private routerPort: number | undefined;

  constructor(private readonly options: LocalRuntimeOptions) {
    this.queue = new WorkQueue((slug) => this.reconcile(slug), {
      workers: 4,
      baseDelayMs: 1_000,
      maxDelayMs: 30_000,
      onError: (slug, error, retryInMs) =>
        options.log.warn(
          { tenant: slug, err: error, retryInMs },
          'local runtime: reconcile failed; will retry',
        ),
    });
  }

  get hasSynced(): boolean {
    return this.synced;
  }

  /**
   * Where buyers reach the shops: each data plane's canonical links and email links then point
   * at `http://<slug>.localhost:<port>`. Called before start(), once the router listens.
   */
  servedThrough(routerPort: number): void {
    this.routerPort = routerPort;
  }

  /** Routes a host to the control plane (`admin.localhost`) or to another local service. */
  route(host: string, url: string): void {
    this.routes.set(host, url);
  }

  upstreamFor(host: string): string | undefined {
    return this.routes.get(host);
  }

  /** Reconciles every tenant once (resolves when all are done), then keeps watching. */
  async start(): Promise<void> {
    await mkdir(this.options.stateDir, { recursive: true, mode: 0o700 });
    await this.resync();
    await this.queue.idle();
    this.synced = true;
    this.resyncTimer = setInterval(() => void this.resync(), this.options.resyncMs ?? 10_000);
    this.resyncTimer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.resyncTimer);
    await this.queue.shutdown();
    await Promise.all([...this.running.values()].map((tenant) => tenant.supervisor.stop()));
  }

  tenantChanged(tenant: Pick<TenantRow, 'slug'>): void {
    this.queue.add(tenant.slug);
  }

  /** Resolves when every queued change has been applied. */
  settled(): Promise<void> {
    return this.queue.idle();
  }

  unadoptedTenants(): UnadoptedTenant[] {
    return [];
  }

  /** The data plane a shop runs, for the demo seeder and tests: its URL and secrets. */
  async tenantEndpoint(tenantId: string): Promise<{ url: string; paymentEvidenceSecret: string } | null> {
    const running = [...this.running.values()].find((tenant) => tenant.tenantId === tenantId);
    const state = await this.readState(tenantId);
    return running && state ? { url: running.url, paymentEvidenceSecret: state.paymentEvidenceSecret } : null;
  }

  /** The process keeper of a tenant's data plane (its status, readiness), if it runs here. */
  supervisorOf(tenantId: string): DataPlaneSupervisor | undefined {
    return [...this.running.values()].find((tenant) => tenant.tenantId === tenantId)?.supervisor;
  }

  /** The tenant's status in the shape the Kubernetes sync reports, so the API reads the same either way. */
  clusterStatusOf(tenant: Pick<TenantRow, 'id' | 'slug'>): TenantClusterJson {
    const running = this.running.get(tenant.slug);
    if (!running || running.tenantId !== tenant.id) return null;
    const process = running.supervisor.status;
    const ready = process.state === 'ready';
    const restarts =
      process.restarts > 0
        ? `; restarted ${process.restarts} time${process.restarts === 1 ? '' : 's'}, last exit ${
            process.lastExit?.signal ?? `code ${process.lastExit?.code}`
          } at ${process.lastExit?.at}`
        : '';
    const conditions: Omit<TenantCondition, 'lastTransitionTime'>[] = [
      { type: 'DatabaseReady', status: 'True', reason: 'Provisioned', message: `${running.mode} mode` },
      {
        type: 'DataPlaneAvailable',
        status: ready ? 'True' : 'False',
        reason: ready ? 'ProcessReady' : process.state === 'crashed' ? 'CrashLoopBackOff' : 'Starting',
        message: `data-plane process ${process.state}${process.pid ? ` (pid ${process.pid})` : ''}${restarts}`,
      },
      {
        type: 'Suspended',
        status: running.suspended ? 'True' : 'False',
        reason: running.suspended ? 'SuspendedBySpec' : 'Serving',
        message: running.suspended ? 'The shop serves its unavailable page.' : 'The shop is open.',
      },
      {
        type: 'Degraded',
        status: process.state === 'crashed' ? 'True' : 'False',
        reason: process.state === 'crashed' ? 'CrashLoopBackOff' : 'Running',
        message: process.state === 'crashed' ? `restarting at ${process.restartAt}` : 'The data plane runs.',
      },
      {
        type: 'Ready',
        status: ready && !running.suspended ? 'True' : 'False',
        reason: ready ? (running.suspended ? 'Suspended' : 'Serving') : 'DataPlaneUnavailable',
        message: ready ? 'The shop is serving.' : 'Waiting for the data plane.',
      },
    ];
    const phase: TenantPhase =
      process.state === 'crashed'
        ? 'Degraded'
        : running.suspended
          ? 'Suspended'
          : ready
            ? 'Ready'
            : 'Provisioning';
    const names = tenantObjectNames(tenant.id);
    return {
      resource: tenant.slug,
      generation: null,
      observed_generation: null,
      phase,
      conditions: conditions.map((condition) => ({
        type: condition.type,
        status: condition.status,
        reason: condition.reason,
        message: condition.message,
        last_transition_time: this.since(running, `${condition.type}=${condition.status}`),
      })),
      endpoint: running.url,
      database: { mode: running.mode, server: 'default', database: '', schema: null, login: names.app },
      deleting: false,
    };
  }

  private since(running: RunningTenant, key: string): string {
    let at = running.conditionsSince.get(key);
    if (!at) {
      at = new Date().toISOString();
      running.conditionsSince.set(key, at);
    }
    return at;
  }

  private async resync(): Promise<void> {
    const tenants = await allTenants(this.options.db);
    for (const tenant of tenants) this.queue.add(tenant.slug);
    for (const slug of this.running.keys()) {
      if (!tenants.some((tenant) => tenant.slug === slug)) this.queue.add(slug);
    }
  }

  private statePath(tenantId: string): string {
    return join(this.options.stateDir, `${tenantId}.json`);
  }

  private async readState(tenantId: string): Promise<TenantState | null> {
    try {
      return JSON.parse(await readFile(this.statePath(tenantId), 'utf8')) as TenantState;
    } catch {
      return null;
    }
  }

  private async writeState(tenantId: string, state: TenantState): Promise<void> {
    const path = this.statePath(tenantId);
    // Written whole, then renamed: a crash never leaves half a credential file.
    await writeFile(`${path}.tmp`, JSON.stringify(state, null, 2), { mode: 0o600 });
    await rename(`${path}.tmp`, path);
  }

  private async reconcile(slug: string): Promise<void> {
    const tenant = await findTenantBySlug(this.options.db, slug);
    if (!tenant || !wantsTenantResource(tenant)) {
      await this.remove(slug, tenant);
      return;
    }
    const state = await this.placeDatabase(tenant);
    const spec = registrySpec(tenant, this.options.settings);
    const suspended = spec.suspended === true;
    const hosts = [...new Set([platformHost(tenant.slug, this.options.settings), ...spec.hosts])];
    const env: NodeJS.ProcessEnv = {
      ...PACKED_DATA_PLANE_ENV,
      PATH: process.env.PATH,
      NODE_ENV: process.env.NODE_ENV,
      TENANT_ID: tenant.id,
      TENANT_SLUG: tenant.slug,
      DATABASE_URL: state.databaseUrl,
      PUBLIC_HOSTS: hosts
        .map((host) => (this.routerPort && this.routerPort !== 80 ? `${host}:${this.routerPort}` : host))
        .join(','),
      PUBLIC_SCHEME: 'http',
      CONTROL_PLANE_URL: this.options.controlPlane.url,
      CONTROL_PLANE_JWKS: this.options.controlPlane.jwks,
      PAYMENT_EVIDENCE_SECRET: state.paymentEvidenceSecret,
      DELIVERY_LINK_SECRET: state.deliveryLinkSecret,
      SECRETS_KEYS: state.secretsKeys,
      SMTP_URL: this.options.mail.smtpUrl,
      ...(this.options.mail.from ? { MAIL_FROM: this.options.mail.from } : {}),
      HOST: '127.0.0.1',
      PORT: String(state.port),
      TRUST_PROXY: 'true',
      SHOP_SUSPENDED: String(suspended),
      LOG_LEVEL: 'warn',
    };
    const url = `http://127.0.0.1:${state.port}`;
    let running = this.running.get(slug);
    if (!running) {
      running = {
        tenantId: tenant.id,
        slug,
        supervisor: new DataPlaneSupervisor({
          name: `data-plane-${slug}`,
          // Many shops on one machine: the memory-lean flags (and PACKED_DATA_PLANE_ENV above).
          ...dataPlaneCommand({ packed: true }),
          env,
          readyUrl: `${url}/readyz`,
          logFile: join(this.options.stateDir, `${slug}.log`),
        }),
        env,
        hosts,
        url,
        mode: tenant.isolationMode,
        suspended,
        conditionsSince: new Map(),
      };
      this.running.set(slug, running);
      running.supervisor.start();
      this.options.log.info({ tenant: slug, url }, 'local runtime: started a data plane');
    } else if (!isDeepStrictEqual(running.env, env)) {
      running.env = env;
      await running.supervisor.restartWith(env);
      this.options.log.info({ tenant: slug }, 'local runtime: restarted a data plane with its new settings');
    }
    running.mode = tenant.isolationMode;
    running.suspended = suspended;
    for (const host of running.hosts) this.routes.delete(host);
    running.hosts = hosts;
    for (const host of hosts) this.routes.set(host, url);
  }

  /**
   * The tenant's database in its mode (provisioned, repaired, or moved up a tier) and the
   * state file with its login; new per-tenant secrets the first time.
   */
  private async placeDatabase(tenant: TenantRow): Promise<TenantState> {
    const { provisioner } = this.options;
    const saved = await this.readState(tenant.id);
    const placement = await provisioner.locate(tenant.id);
    let databaseUrl = saved?.databaseUrl;
    if (placement && placement.mode !== tenant.isolationMode) {
      const report = await moveTenant(provisioner, tenant.id, tenant.isolationMode, {
        onSwitch: async (credentials) => {
          databaseUrl = credentials.url;
        },
      });
      databaseUrl = report.credentials?.url ?? databaseUrl;
    } else {
      const report = await provisioner.provision({ id: tenant.id, slug: tenant.slug }, tenant.isolationMode, {
        rotateCredentials: placement !== null && !saved,
      });
      databaseUrl = report.credentials?.url ?? databaseUrl;
    }
    if (!databaseUrl) throw new Error(`tenant ${tenant.slug} has a database login but no saved credentials`);
    const state: TenantState = {
      port: saved?.port ?? (await freePort()),
      databaseUrl,
      paymentEvidenceSecret: saved?.paymentEvidenceSecret ?? randomBytes(32).toString('base64url'),
      deliveryLinkSecret: saved?.deliveryLinkSecret ?? randomBytes(32).toString('base64url'),
      secretsKeys: saved?.secretsKeys ?? `k1:${randomBytes(32).toString('base64')}`,
    };
    if (!isDeepStrictEqual(saved, state)) await this.writeState(tenant.id, state);
    return state;
  }

  /** A closed or deleted tenant: its process stopped, a final backup, its database objects gone. */
  private async remove(slug: string, tenant: TenantRow | undefined): Promise<void> {
    const running = this.running.get(slug);
    const tenantId = tenant?.id ?? running?.tenantId;
    if (running) {
      await running.supervisor.stop();
      for (const host of running.hosts) this.routes.delete(host);
      this.running.delete(slug);
    }
    if (!tenantId || tenant?.status === 'pending') return;
    const { provisioner, backups } = this.options;
    if (await provisioner.locate(tenantId)) {
      await provisioner.deprovision(tenantId, (placement) =>
        takeBackup(provisioner, backups, tenantId, { placement, reason: 'final' }),
      );
      this.options.log.info({ tenant: slug }, 'local runtime: final backup taken, database removed');
    }
    await rm(this.statePath(tenantId), { force: true });
  }
}
