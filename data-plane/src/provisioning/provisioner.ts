import { latestMigration } from '@amanat/kit/postgres/migrations';
import { and, eq, isNull, sql } from 'drizzle-orm';
import type pg from 'pg';
import { dataPlaneMigrationsFolder } from '../db/migrate.ts';
import {
  dropTenant,
  ensureSharedDatabase,
  ensureTenant,
  type ModeContext,
  migrateTenant,
  type Placement,
  placementOf,
} from './modes.ts';
import {
  checkTenant,
  type IsolationMode,
  type TenantRef,
  tenantLockKey,
  tenantObjectNames,
} from './names.ts';
import {
  type FleetDb,
  findPlacement,
  forgetPlacement,
  listPlacements,
  openRegistry,
  type PlacementRecord,
  savePlacement,
} from './registry.ts';
import { fleetMigrationRuns, fleetMigrationTenants } from './registry-schema.ts';
import { generatePassword, scramVerifier } from './scram.ts';
import { quoteIdent, roleExists, type ServerConfig, Servers } from './servers.ts';

export interface ProvisionerOptions {
  /** Admin URL of the default server: the fleet, shared and schemas databases live there. */
  adminUrl: string;
  /** Host data planes use to reach the default server, if not the admin URL's. */
  runtimeHost?: string;
  /** Further servers a database-mode tenant may be placed on, by name. */
  servers?: Record<string, ServerConfig>;
  databases?: Partial<{ fleet: string; shared: string; schemas: string }>;
}

/** What a data plane needs to connect; returned to the caller once, never stored or logged. */
export interface Credentials {
  username: string;
  password: string;
  /** DATABASE_URL for the data-plane configuration contract. */
  url: string;
}

export interface Report {
  tenant: TenantRef;
  placement: Placement;
  /** What changed, in order; empty when everything was already in place. */
  actions: string[];
  /** Present when a password was set: a new login, or a rotation. */
  credentials?: Credentials;
}

export class ProvisionError extends Error {
  constructor(
    message: string,
    readonly code: 'mode-mismatch' | 'not-provisioned' | 'unknown-server' | 'not-stronger' | 'bad-input',
  ) {
    super(message);
  }
}

const TENANT_OPERATION_LOCK = 727_004;

export interface FleetProgress {
  runId: string;
  total: number;
  done: number;
  failed: number;
  tenantId: string;
  error?: string;
}

/**
 * Creates, repairs, migrates, rotates and removes tenants' databases in all three isolation
 * modes. The operator and the local runtime both drive tenants through this one class.
 * Every operation on a tenant holds that tenant's advisory lock on the fleet database, so
 * two provisioners (two operator replicas, a CLI run) never interleave on one tenant.
 */
export class Provisioner {
  readonly servers: Servers;
  readonly databases: { fleet: string; shared: string; schemas: string };

  private constructor(
    options: ProvisionerOptions,
    readonly registry: FleetDb,
    private readonly registryPool: pg.Pool,
  ) {
    this.servers = new Servers(
      { adminUrl: options.adminUrl, ...(options.runtimeHost ? { runtimeHost: options.runtimeHost } : {}) },
      options.servers,
    );
    this.databases = {
      fleet: options.databases?.fleet ?? 'shops_fleet',
      shared: options.databases?.shared ?? 'shops_shared',
      schemas: options.databases?.schemas ?? 'shops_schemas',
    };
  }

  static async open(options: ProvisionerOptions): Promise<Provisioner> {
    const servers = new Servers({ adminUrl: options.adminUrl }, options.servers);
    const { db, pool } = await openRegistry(servers, options.databases?.fleet ?? 'shops_fleet');
    return new Provisioner(options, db, pool);
  }

  async close(): Promise<void> {
    await this.registryPool.end();
  }

  /** A fresh operation context whose report collects into `actions`. */
  context(actions: string[]): ModeContext {
    return { servers: this.servers, databases: this.databases, report: (action) => actions.push(action) };
  }

  /**
   * Runs `fn` holding the tenant's operation lock, on a connection of its own: taken from
   * the registry pool, waiting holders would starve the very queries `fn` makes.
   */
  async withTenantLock<T>(tenantId: string, fn: () => Promise<T>): Promise<T> {
    return this.servers.withAdmin('default', this.databases.fleet, async (client) => {
      const [classKey, objectKey] = tenantLockKey(TENANT_OPERATION_LOCK, tenantId);
      await client.query('SELECT pg_advisory_lock($1, $2)', [classKey, objectKey]);
      try {
        return await fn();
      } finally {
        await client.query('SELECT pg_advisory_unlock($1, $2)', [classKey, objectKey]).catch(() => undefined);
      }
    });
  }

  locate(tenantId: string): Promise<PlacementRecord | null> {
    return findPlacement(this.registry, tenantId.toLowerCase());
  }

  list(): Promise<PlacementRecord[]> {
    return listPlacements(this.registry);
  }

  /** The placement a tenant provisioned now in `mode` would get. */
  plannedPlacement(tenant: TenantRef, mode: IsolationMode, server = 'default'): Placement {
    if (!this.servers.has(server)) {
      throw new ProvisionError(
        `no PostgreSQL server named ${JSON.stringify(server)} is configured`,
        'unknown-server',
      );
    }
    if (server !== 'default' && mode !== 'database') {
      throw new ProvisionError(`only database-mode tenants can be placed on server ${server}`, 'bad-input');
    }
    return placementOf(this.context([]), tenant, mode, server);
  }

  /**
   * Creates everything the tenant needs in `mode`, or repairs what is missing; idempotent.
   * A new login gets a password and the report carries its credentials; an existing login
   * keeps its password unless `rotateCredentials` is set (the caller lost them).
   */
  async provision(
    input: TenantRef,
    mode: IsolationMode,
    options: { server?: string; rotateCredentials?: boolean } = {},
  ): Promise<Report> {
    const tenant = checkTenant(input);
    return this.withTenantLock(tenant.id, async () => {
      const existing = await findPlacement(this.registry, tenant.id);
      if (existing && existing.mode !== mode) {
        throw new ProvisionError(
          `tenant ${tenant.slug} is in ${existing.mode} mode; moving it to ${mode} is a tier move, not a provision`,
          'mode-mismatch',
        );
      }
      const placement = existing
        ? stripRecord(existing)
        : this.plannedPlacement(tenant, mode, options.server);
      const actions: string[] = [];
      const context = this.context(actions);
      const { app } = tenantObjectNames(tenant.id);
      const hadLogin = await this.servers.withAdmin(placement.server, 'postgres', (client) =>
        roleExists(client, app),
      );
      await ensureTenant(context, tenant, placement);
      await savePlacement(this.registry, tenant, placement);
      const report: Report = { tenant, placement, actions };
      if (!hadLogin || options.rotateCredentials) {
        report.credentials = await this.setPassword(placement, app);
        actions.push(hadLogin ? `rotated the password of ${app}` : `set the password of ${app}`);
      }
      return report;
    });
  }

  /** New password for the tenant's login; the old one stops working at once. */
  async rotateCredentials(tenantId: string): Promise<Report> {
    const placement = await this.require(tenantId);
    return this.withTenantLock(placement.tenantId, async () => {
      const { app } = tenantObjectNames(placement.tenantId);
      const credentials = await this.setPassword(placement, app);
      return {
        tenant: { id: placement.tenantId, slug: placement.slug },
        placement: stripRecord(placement),
        actions: [`rotated the password of ${app}`],
        credentials,
      };
    });
  }

  /** Sets a fresh password on the tenant's login at `placement`'s server and returns it. */
  async setPassword(placement: Placement, login: string): Promise<Credentials> {
    const password = generatePassword();
    await this.servers.withAdmin(placement.server, 'postgres', (client) =>
      client.query(`ALTER ROLE ${quoteIdent(login)} PASSWORD '${scramVerifier(password)}'`),
    );
    return {
      username: login,
      password,
      url: this.servers.runtimeUrl(placement.server, placement.database, login, password),
    };
  }

  /** The tenant's placement; a ProvisionError when it is not provisioned. */
  async require(tenantId: string): Promise<PlacementRecord> {
    const placement = await findPlacement(this.registry, tenantId.toLowerCase());
    if (!placement) throw new ProvisionError(`tenant ${tenantId} is not provisioned`, 'not-provisioned');
    return placement;
  }

  /** Applies pending migrations to one tenant's location. */
  async migrate(tenantId: string): Promise<Report> {
    const placement = await this.require(tenantId);
    const tenant = { id: placement.tenantId, slug: placement.slug };
    return this.withTenantLock(tenant.id, async () => {
      const actions: string[] = [];
      await migrateTenant(this.context(actions), tenant, placement);
      return { tenant, placement: stripRecord(placement), actions };
    });
  }

  /**
   * Migrates the shared database once, then every schema- and database-mode tenant, one by
   * one. Progress is recorded per tenant in the fleet database: a run that stops (crash,
   * Ctrl-C, a failing tenant) is resumed by calling this again, and skips tenants already done.
   */
  async migrateFleet(onProgress: (progress: FleetProgress) => void = () => undefined) {
    const target = await latestMigration(dataPlaneMigrationsFolder);
    const actions: string[] = [];
    await ensureSharedDatabase(this.context(actions));
    const run = await this.#openFleetRun(target);
    const pending = await this.registry
      .select({ tenantId: fleetMigrationTenants.tenantId })
      .from(fleetMigrationTenants)
      .where(and(eq(fleetMigrationTenants.runId, run.id), eq(fleetMigrationTenants.status, 'pending')))
      .orderBy(fleetMigrationTenants.tenantId);
    let { done, failed } = run;
    for (const { tenantId } of pending) {
      let error: string | undefined;
      try {
        await this.migrate(tenantId);
      } catch (caught) {
        error = caught instanceof Error ? caught.message : String(caught);
      }
      await this.registry.transaction(async (tx) => {
        await tx
          .update(fleetMigrationTenants)
          .set({ status: error ? 'failed' : 'done', error: error ?? null, finishedAt: sql`now()` })
          .where(and(eq(fleetMigrationTenants.runId, run.id), eq(fleetMigrationTenants.tenantId, tenantId)));
        await tx
          .update(fleetMigrationRuns)
          .set(
            error
              ? { failed: sql`${fleetMigrationRuns.failed} + 1` }
              : { done: sql`${fleetMigrationRuns.done} + 1` },
          )
          .where(eq(fleetMigrationRuns.id, run.id));
      });
      if (error) failed++;
      else done++;
      onProgress({ runId: run.id, total: run.total, done, failed, tenantId, ...(error ? { error } : {}) });
    }
    await this.registry
      .update(fleetMigrationRuns)
      .set({ finishedAt: sql`now()` })
      .where(eq(fleetMigrationRuns.id, run.id));
    return { runId: run.id, total: run.total, done, failed, sharedActions: actions };
  }

  /** The unfinished run for this target, or a new one listing every schema and database tenant. */
  async #openFleetRun(target: number) {
    return this.registry.transaction(async (tx) => {
      await tx.execute(sql`SELECT pg_advisory_xact_lock(${TENANT_OPERATION_LOCK}, 0)`);
      const [open] = await tx
        .select()
        .from(fleetMigrationRuns)
        .where(and(eq(fleetMigrationRuns.target, target), isNull(fleetMigrationRuns.finishedAt)));
      if (open) return open;
      const tenants = (await listPlacements(tx as unknown as FleetDb)).filter((p) => p.mode !== 'shared');
      const [run] = await tx.insert(fleetMigrationRuns).values({ target, total: tenants.length }).returning();
      if (!run) throw new Error('could not record the fleet migration run');
      if (tenants.length > 0) {
        await tx
          .insert(fleetMigrationTenants)
          .values(tenants.map((tenant) => ({ runId: run.id, tenantId: tenant.tenantId })));
      }
      return run;
    });
  }

  /**
   * Removes everything the tenant owned: `finalBackup` runs first (deprovisioning stops if
   * it fails), then the tenant's rows or schema or database, its roles, and its placement.
   */
  async deprovision(tenantId: string, finalBackup: (placement: PlacementRecord) => Promise<unknown>) {
    const placement = await this.require(tenantId);
    const tenant = { id: placement.tenantId, slug: placement.slug };
    return this.withTenantLock(tenant.id, async () => {
      const actions: string[] = [];
      await finalBackup(placement);
      actions.push('took a final backup');
      await dropTenant(this.context(actions), tenant, placement);
      await forgetPlacement(this.registry, tenant.id);
      return { tenant, placement: stripRecord(placement), actions };
    });
  }
}

export function stripRecord(record: PlacementRecord): Placement {
  return { mode: record.mode, server: record.server, database: record.database, schema: record.schema };
}
