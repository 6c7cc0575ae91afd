import type pg from 'pg';
import {
  deleteTenantRows,
  ensureTenant,
  type Placement,
  sharedRoles,
  terminateSessions,
  withDatabaseLock,
} from './modes.ts';
import { checkTenant, type IsolationMode, isStrongerMode, tenantObjectNames } from './names.ts';
import {
  type Credentials,
  ProvisionError,
  type Provisioner,
  type Report,
  stripRecord,
} from './provisioner.ts';
import { savePlacement } from './registry.ts';
import { quoteIdent, roleExists } from './servers.ts';
import { copyTenantTables, summarizeTenant, type TableSummary, withSnapshot } from './tenant-data.ts';
import { tenantTables } from './tenant-tables.ts';

export type MoveStep =
  | 'prepared-target'
  | 'copied'
  | 'verified'
  | 'paused'
  | 'synced'
  | 'switched'
  | 'cleaned';

export interface MoveOptions {
  /** Database mode only: the server to place the tenant on. */
  server?: string;
  /**
   * Called once the new location holds every row and the registry points at it: restart the
   * data plane with these credentials. Until it returns, the tenant's writes stay paused.
   */
  onSwitch: (credentials: Credentials, placement: Placement) => Promise<void>;
  /** Observes progress; a test throws here to prove a failed step leaves the tenant where it was. */
  onStep?: (step: MoveStep) => Promise<void> | void;
}

function differing(a: TableSummary[], b: TableSummary[]): string[] {
  const other = new Map(b.map((summary) => [summary.name, summary]));
  return a
    .filter((summary) => {
      const match = other.get(summary.name);
      return !match || match.rows !== summary.rows || match.checksum !== summary.checksum;
    })
    .map((summary) => summary.name);
}

/**
 * The tier upgrade: moves a tenant to a stronger isolation mode (shared → schema →
 * database). The rows are copied from one consistent snapshot while the shop keeps serving,
 * and verified by row counts and checksums. Then writes pause: the login loses its write
 * rights on the old location and its sessions are closed; tables changed since the
 * snapshot are copied again and everything is verified once more; the registry switches
 * and `onSwitch` restarts the data plane on the new location; the old copy is removed.
 * Any failure before the switch drops the new location and gives the old one its rights
 * back, so the tenant keeps serving from where it was.
 */
export async function moveTenant(
  provisioner: Provisioner,
  tenantId: string,
  toMode: IsolationMode,
  options: MoveOptions,
): Promise<Report> {
  const tenantKey = (await provisioner.require(tenantId)).tenantId;
  return provisioner.withTenantLock(tenantKey, async () => {
    // Read under the lock: a concurrent move may have changed where the tenant lives.
    const record = await provisioner.require(tenantKey);
    const tenant = checkTenant({ id: record.tenantId, slug: record.slug });
    if (!isStrongerMode(record.mode, toMode)) {
      throw new ProvisionError(
        `tenant ${tenant.slug} is in ${record.mode} mode; it can only move up to a stronger mode, not to ${toMode}`,
        'not-stronger',
      );
    }
    const from = stripRecord(record);
    const to = provisioner.plannedPlacement(tenant, toMode, options.server);
    const step = async (name: MoveStep) => options.onStep?.(name);
    const { servers } = provisioner;
    const { app, owner } = tenantObjectNames(tenant.id);
    const actions: string[] = [];
    const context = provisioner.context(actions);
    const rolesBefore = await servers.withAdmin(to.server, 'postgres', async (client) => ({
      app: await roleExists(client, app),
      owner: await roleExists(client, owner),
    }));
    let paused = false;
    const connectSource = () => servers.connectAdmin(from.server, from.database);
    try {
      await ensureTenant(context, tenant, to);
      await step('prepared-target');
      const snapshotSummaries = await servers.withAdmin(to.server, to.database, (target) =>
        withSnapshot(connectSource, (inSnapshot) =>
          copyTenantTables(inSnapshot, from, { client: target, schema: to.schema }, tenant.id, tableNames()),
        ),
      );
      actions.push(`copied ${sumRows(snapshotSummaries)} rows from ${describe(from)} to ${describe(to)}`);
      await step('copied');
      await verify(provisioner, to, tenant.id, snapshotSummaries);
      await step('verified');

      await pauseWrites(provisioner, from, app);
      paused = true;
      await step('paused');
      const changed = await servers.withAdmin(from.server, from.database, async (source) =>
        differing(await summarizeTenant(source, from.schema, tenant.id), snapshotSummaries),
      );
      if (changed.length > 0) {
        const resynced = await servers.withAdmin(to.server, to.database, (target) =>
          withSnapshot(connectSource, (inSnapshot) =>
            copyTenantTables(inSnapshot, from, { client: target, schema: to.schema }, tenant.id, changed),
          ),
        );
        const final = snapshotSummaries.map((s) => resynced.find((r) => r.name === s.name) ?? s);
        await verify(provisioner, to, tenant.id, final);
        actions.push(`copied again ${changed.length} tables written during the copy (${changed.join(', ')})`);
      }
      await step('synced');
    } catch (error) {
      try {
        await rollBack(provisioner, from, to, rolesBefore, paused, app, owner);
      } catch (rollBackError) {
        throw new Error(
          `the move failed (${(error as Error).message}) and so did rolling it back (${(rollBackError as Error).message}); the tenant is still placed at ${describe(from)}: run provision for it to restore its rights there`,
        );
      }
      throw error;
    }

    await savePlacement(provisioner.registry, tenant, to);
    const credentials = await provisioner.setPassword(to, app);
    actions.push(`switched to ${describe(to)}`);
    await options.onSwitch(credentials, to);
    await step('switched');
    await removeOldCopy(provisioner, from, to, tenant.id);
    actions.push(`removed the old copy in ${describe(from)}`);
    await step('cleaned');
    return { tenant, placement: to, actions, credentials };
  });
}

const tableNames = () => tenantTables.map((table) => table.name);
const sumRows = (summaries: TableSummary[]) => summaries.reduce((sum, s) => sum + s.rows, 0);
const describe = (p: Placement) => `${p.mode} (${p.server}/${p.database}/${p.schema})`;

async function verify(provisioner: Provisioner, at: Placement, tenantId: string, expected: TableSummary[]) {
  const actual = await provisioner.servers.withAdmin(at.server, at.database, (client) =>
    summarizeTenant(client, at.schema, tenantId),
  );
  const mismatched = differing(expected, actual);
  if (mismatched.length > 0) {
    throw new Error(
      `the copy does not match its source in ${mismatched.join(', ')} (row counts or checksums)`,
    );
  }
}

/**
 * Takes the login's write rights on the old location and closes its sessions, so no write
 * lands there after the final comparison. Reads keep working: a shared login gets direct
 * SELECT while it leaves the group that lends it DML.
 */
async function pauseWrites(provisioner: Provisioner, from: Placement, app: string): Promise<void> {
  await provisioner.servers.withAdmin(from.server, from.database, async (client) => {
    if (from.mode === 'shared') {
      await withDatabaseLock(provisioner.servers, from.server, from.database, () =>
        client.query(`GRANT CONNECT ON DATABASE ${quoteIdent(from.database)} TO ${quoteIdent(app)}`),
      );
      await client.query(`GRANT SELECT ON ALL TABLES IN SCHEMA public TO ${quoteIdent(app)}`);
      await client.query(
        `REVOKE ${quoteIdent(sharedRoles(provisioner.databases.shared).tenants)} FROM ${quoteIdent(app)}`,
      );
    } else {
      await client.query(
        `REVOKE INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${quoteIdent(from.schema)} FROM ${quoteIdent(app)}`,
      );
    }
    await terminateSessions(client, app, from.database);
  });
}

async function resumeWrites(provisioner: Provisioner, from: Placement, app: string): Promise<void> {
  await provisioner.servers.withAdmin(from.server, from.database, async (client: pg.Client) => {
    if (from.mode === 'shared') {
      await client.query(
        `GRANT ${quoteIdent(sharedRoles(provisioner.databases.shared).tenants)} TO ${quoteIdent(app)} WITH INHERIT TRUE, SET FALSE`,
      );
      await client.query(`REVOKE SELECT ON ALL TABLES IN SCHEMA public FROM ${quoteIdent(app)}`);
      await withDatabaseLock(provisioner.servers, from.server, from.database, () =>
        client.query(`REVOKE CONNECT ON DATABASE ${quoteIdent(from.database)} FROM ${quoteIdent(app)}`),
      );
    } else {
      await client.query(
        `GRANT INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${quoteIdent(from.schema)} TO ${quoteIdent(app)}`,
      );
      await client.query(
        `REVOKE INSERT, UPDATE, DELETE ON ${quoteIdent(from.schema)}.__drizzle_migrations FROM ${quoteIdent(app)}`,
      );
    }
  });
}

/** Drops the new location (and the roles it created) and restores the old location's rights. */
async function rollBack(
  provisioner: Provisioner,
  from: Placement,
  to: Placement,
  rolesBefore: { app: boolean; owner: boolean },
  paused: boolean,
  app: string,
  owner: string,
): Promise<void> {
  const { servers } = provisioner;
  if (to.mode === 'database') {
    await servers.withAdmin(to.server, 'postgres', (client) =>
      client.query(`DROP DATABASE IF EXISTS ${quoteIdent(to.database)} WITH (FORCE)`),
    );
  } else {
    await servers.withAdmin(to.server, to.database, async (client) => {
      await client.query(`DROP SCHEMA IF EXISTS ${quoteIdent(to.schema)} CASCADE`);
      await withDatabaseLock(servers, to.server, to.database, async () => {
        if (!rolesBefore.owner)
          await client.query(`DROP OWNED BY ${quoteIdent(owner)}`).catch(() => undefined);
        await client.query(`REVOKE ALL ON DATABASE ${quoteIdent(to.database)} FROM ${quoteIdent(app)}`);
      });
      await client.query(`ALTER ROLE ${quoteIdent(app)} IN DATABASE ${quoteIdent(to.database)} RESET ALL`);
    });
  }
  await servers.withAdmin(to.server, 'postgres', async (client) => {
    if (!rolesBefore.owner && (await roleExists(client, owner)))
      await client.query(`DROP ROLE ${quoteIdent(owner)}`);
    if (!rolesBefore.app && (await roleExists(client, app)))
      await client.query(`DROP ROLE ${quoteIdent(app)}`);
  });
  if (paused) await resumeWrites(provisioner, from, app);
}

/** After the switch: the old rows, schema or database go; roles the new location uses stay. */
async function removeOldCopy(provisioner: Provisioner, from: Placement, to: Placement, tenantId: string) {
  const { servers } = provisioner;
  const { app, owner } = tenantObjectNames(tenantId);
  if (from.mode === 'shared') {
    await servers.withAdmin(from.server, from.database, async (client) => {
      await terminateSessions(client, app, from.database);
      await deleteTenantRows(client, 'public', tenantId);
      await client.query(`REVOKE SELECT ON ALL TABLES IN SCHEMA public FROM ${quoteIdent(app)}`);
      await withDatabaseLock(servers, from.server, from.database, () =>
        client.query(`REVOKE CONNECT ON DATABASE ${quoteIdent(from.database)} FROM ${quoteIdent(app)}`),
      );
    });
  } else {
    await servers.withAdmin(from.server, from.database, async (client) => {
      await terminateSessions(client, app, from.database);
      await client.query(`DROP SCHEMA IF EXISTS ${quoteIdent(from.schema)} CASCADE`);
      await withDatabaseLock(servers, from.server, from.database, () =>
        client.query(
          `REVOKE ALL ON DATABASE ${quoteIdent(from.database)} FROM ${quoteIdent(app)}, ${quoteIdent(owner)}`,
        ),
      );
      await client.query(`ALTER ROLE ${quoteIdent(app)} IN DATABASE ${quoteIdent(from.database)} RESET ALL`);
    });
  }
  if (from.server !== to.server) {
    await servers.withAdmin(from.server, 'postgres', async (client) => {
      for (const role of [app, owner]) {
        if (await roleExists(client, role)) await client.query(`DROP ROLE ${quoteIdent(role)}`);
      }
    });
  }
}
