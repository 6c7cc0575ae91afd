import { migrationsAreCurrent } from '@amanat/kit/postgres/migrations';
import type pg from 'pg';
import { DATA_PLANE_MIGRATION_LOCK, dataPlaneMigrationsFolder, migrateDataPlane } from '../db/migrate.ts';
import {
  type IsolationMode,
  SHARED_LOGIN_PATTERN,
  type TenantRef,
  tenantLockKey,
  tenantObjectNames,
} from './names.ts';
import {
  ensureDatabase,
  ensureRole,
  inTransaction,
  quoteIdent,
  quoteLiteral,
  roleExists,
  type Servers,
  schemaExists,
} from './servers.ts';
import { tenantTables } from './tenant-tables.ts';

/** Where one tenant's rows live. The same triple in every mode: rows are `tenant_id`-filtered. */
export interface Placement {
  mode: IsolationMode;
  server: string;
  database: string;
  schema: string;
}

export interface ModeContext {
  servers: Servers;
  /** Names of the provisioner's own databases on the default server. */
  databases: { shared: string; schemas: string };
  /** Appends a line to the report of the running operation. */
  report(action: string): void;
}

/** The data plane's login never gets more than this, in any mode. */
const APP_ROLE_ATTRIBUTES =
  'LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT CONNECTION LIMIT 50';
const OWNER_ROLE_ATTRIBUTES = 'NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS';
const EXTENSIONS = ['pg_trgm', 'btree_gin'];
const DML = 'SELECT, INSERT, UPDATE, DELETE';

/** The shared database's owner and the group every shared-mode login belongs to. */
export function sharedRoles(sharedDatabase: string) {
  return { owner: `${sharedDatabase}_owner`, tenants: `${sharedDatabase}_tenants` };
}

export function placementOf(
  context: ModeContext,
  tenant: TenantRef,
  mode: IsolationMode,
  server = 'default',
) {
  const names = tenantObjectNames(tenant.id);
  switch (mode) {
    case 'shared':
      return { mode, server: 'default', database: context.databases.shared, schema: 'public' };
    case 'schema':
      return { mode, server: 'default', database: context.databases.schemas, schema: names.schema };
    case 'database':
      return { mode, server, database: names.database, schema: 'public' };
  }
}

/**
 * Extensions live in their own schema, on every login's search_path, so that swapping a
 * tenant's data schema during a restore never moves the extension's functions with it.
 */
export const EXTENSIONS_SCHEMA = 'extensions';

async function ensureExtensions(client: pg.Client): Promise<void> {
  await client.query(`CREATE SCHEMA IF NOT EXISTS ${EXTENSIONS_SCHEMA}`);
  await client.query(`GRANT USAGE ON SCHEMA ${EXTENSIONS_SCHEMA} TO PUBLIC`);
  for (const extension of EXTENSIONS) {
    await client.query(`CREATE EXTENSION IF NOT EXISTS ${extension} WITH SCHEMA ${EXTENSIONS_SCHEMA}`);
  }
}

/** The search_path of a location: its data schema, then the extensions. */
export function searchPath(schema: string): string {
  return `${quoteIdent(schema)}, ${EXTENSIONS_SCHEMA}`;
}

/** Pins a login's search_path in one database. */
async function pinSearchPath(client: pg.Client, login: string, database: string, schema: string) {
  await client.query(
    `ALTER ROLE ${quoteIdent(login)} IN DATABASE ${quoteIdent(database)} SET search_path TO ${searchPath(schema)}`,
  );
}

const DATABASE_LOCK = 727_005;

/**
 * Serialises work on one database that many tenants share: its one-time setup (extensions,
 * policies, statistics settings), and every GRANT or REVOKE on the database itself — those
 * rewrite one pg_database row, and two at once fail with "tuple concurrently updated".
 * Held on the server's `postgres` database: advisory locks are per database, and the
 * database in question may not exist yet.
 */
export async function withDatabaseLock<T>(
  servers: Servers,
  server: string,
  database: string,
  fn: () => Promise<T>,
): Promise<T> {
  return servers.withAdmin(server, 'postgres', async (client) => {
    await client.query('SELECT pg_advisory_lock($1, hashtext($2))', [DATABASE_LOCK, database]);
    try {
      return await fn();
    } finally {
      await client
        .query('SELECT pg_advisory_unlock($1, hashtext($2))', [DATABASE_LOCK, database])
        .catch(() => undefined);
    }
  });
}

/** Closes every session of a login, so revoked rights or a dropped object take effect now. */
export async function terminateSessions(client: pg.Client, role: string, database?: string): Promise<number> {
  const result = await client.query(
    `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
      WHERE usename = $1 AND ($2::text IS NULL OR datname = $2) AND pid <> pg_backend_pid()`,
    [role, database ?? null],
  );
  return result.rowCount ?? 0;
}

/**
 * Applies pending data-plane migrations to a tenant location as `owner`, under an advisory
 * lock on (data-plane migrations, lockTenant), and reports whether anything was applied.
 */
async function migrateLocation(
  context: ModeContext,
  placement: Placement,
  owner: string,
  lockTenant: string | null,
): Promise<void> {
  const url = context.servers.adminUrl(placement.server, placement.database);
  const current = await context.servers.withAdmin(placement.server, placement.database, (client) =>
    migrationsAreCurrent(client, dataPlaneMigrationsFolder, placement.schema),
  );
  if (current) return;
  await migrateDataPlane(url, {
    lockKey: lockTenant ? tenantLockKey(DATA_PLANE_MIGRATION_LOCK, lockTenant) : DATA_PLANE_MIGRATION_LOCK,
    migrationsSchema: placement.schema,
    prepare: async (client) => {
      await client.query(`SET ROLE ${quoteIdent(owner)}`);
      await client.query(`SET search_path TO ${searchPath(placement.schema)}`);
    },
  });
  context.report(`migrated ${placement.database}.${placement.schema} to the current data-plane schema`);
}

/**
 * Grants a login DML on every table of one schema, read-only on the migrations table (its
 * readiness check reads it; nothing of the data plane's may rewrite it), and its sequences.
 */
export async function grantDml(client: pg.Client, schema: string, grantee: string): Promise<void> {
  const s = quoteIdent(schema);
  const g = quoteIdent(grantee);
  await client.query(`GRANT USAGE ON SCHEMA ${s} TO ${g}`);
  await client.query(`GRANT ${DML} ON ALL TABLES IN SCHEMA ${s} TO ${g}`);
  await client.query(`REVOKE INSERT, UPDATE, DELETE ON ${s}.__drizzle_migrations FROM ${g}`);
  await client.query(`GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA ${s} TO ${g}`);
}

// --- shared ------------------------------------------------------------------------------

/**
 * The shared database: created once, owned by a NOLOGIN owner role, migrated once (never by
 * a data plane), and secured: every tenant table has row-level security enabled and forced,
 * with a policy that binds each login to the tenant id in its own role name. A login cannot
 * change its role name (no CREATEROLE, no membership in another login), so no `SET`,
 * `set_config` or arbitrary SQL can move it to another tenant's rows.
 */
export function ensureSharedDatabase(context: ModeContext): Promise<void> {
  return withDatabaseLock(context.servers, 'default', context.databases.shared, () =>
    setUpSharedDatabase(context),
  );
}

async function setUpSharedDatabase(context: ModeContext): Promise<void> {
  const database = context.databases.shared;
  const roles = sharedRoles(database);
  await context.servers.withAdmin('default', 'postgres', async (client) => {
    if (await ensureRole(client, roles.owner, OWNER_ROLE_ATTRIBUTES))
      context.report(`created role ${roles.owner}`);
    if (await ensureRole(client, roles.tenants, OWNER_ROLE_ATTRIBUTES)) {
      context.report(`created role ${roles.tenants}`);
    }
    if (await ensureDatabase(client, database, roles.owner)) context.report(`created database ${database}`);
    await client.query(`REVOKE CONNECT, TEMPORARY ON DATABASE ${quoteIdent(database)} FROM PUBLIC`);
    await client.query(`GRANT CONNECT ON DATABASE ${quoteIdent(database)} TO ${quoteIdent(roles.tenants)}`);
  });
  await context.servers.withAdmin('default', database, ensureExtensions);
  const placement: Placement = { mode: 'shared', server: 'default', database, schema: 'public' };
  await migrateLocation(context, placement, roles.owner, null);
  await context.servers.withAdmin('default', database, async (client) => {
    await inTransaction(client, async () => {
      await client.query(`SET LOCAL ROLE ${quoteIdent(roles.owner)}`);
      // STABLE and inlined, so the planner folds it into index conditions on tenant_id.
      await client.query(`CREATE OR REPLACE FUNCTION public.login_tenant_id() RETURNS uuid
        LANGUAGE sql STABLE PARALLEL SAFE
        AS $$ SELECT CASE WHEN current_user ~ ${quoteLiteral(SHARED_LOGIN_PATTERN)}
                          THEN substr(current_user, 3, 32)::uuid END $$`);
      const existing = await client.query<{ tablename: string; policyname: string }>(
        `SELECT tablename, policyname FROM pg_policies WHERE schemaname = 'public'`,
      );
      const has = new Set(existing.rows.map((row) => `${row.tablename}/${row.policyname}`));
      const secured = await client.query<{
        relname: string;
        relrowsecurity: boolean;
        relforcerowsecurity: boolean;
      }>(
        `SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class
          WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'`,
      );
      const flags = new Map(secured.rows.map((row) => [row.relname, row]));
      let changed = 0;
      for (const { name } of tenantTables) {
        const table = `public.${quoteIdent(name)}`;
        const state = flags.get(name);
        if (!state?.relrowsecurity || !state.relforcerowsecurity) {
          await client.query(`ALTER TABLE ${table} ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY`);
          changed++;
        }
        if (!has.has(`${name}/tenant_isolation`)) {
          await client.query(`CREATE POLICY tenant_isolation ON ${table}
            USING (tenant_id = (SELECT public.login_tenant_id()))
            WITH CHECK (tenant_id = (SELECT public.login_tenant_id()))`);
          changed++;
        }
        if (!has.has(`${name}/owner_maintenance`)) {
          // FORCE applies policies to the owner too; the owner runs migrations and needs every row.
          await client.query(`CREATE POLICY owner_maintenance ON ${table} TO ${quoteIdent(roles.owner)}
            USING (true) WITH CHECK (true)`);
          changed++;
        }
      }
      if (changed > 0)
        context.report(`secured ${tenantTables.length} shared tables with forced row-level security`);
      await client.query('RESET ROLE');
      await grantDml(client, 'public', roles.tenants);
      await dropSharedStatistics(context, client);
    });
  });
}

/**
 * Column statistics pool every tenant's values, and the planner consults them under row-level
 * security too (through leakproof operators such as text `=` and `<`): EXPLAIN's row estimates
 * would let one login confirm another tenant's email, bisect values out of a histogram, or
 * count another tenant's rows with `tenant_id = …`. So the shared tables, and the expression
 * columns of their indexes, keep no column statistics; their indexes lead with tenant_id, which
 * keeps plans sane without them. Statistics already gathered are cleared: ANALYZE leaves
 * behind those of a column whose target drops to 0.
 */
async function dropSharedStatistics(context: ModeContext, client: pg.Client): Promise<void> {
  const columns = await client.query<{ kind: string; relation: string; column: string; attnum: number }>(
    `SELECT c.relkind AS kind, c.relname AS relation, a.attname AS column, a.attnum
       FROM pg_class c
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
       LEFT JOIN pg_index i ON i.indexrelid = c.oid
       LEFT JOIN pg_class t ON t.oid = i.indrelid
      WHERE c.relnamespace = 'public'::regnamespace AND a.attstattarget IS DISTINCT FROM 0
        AND (c.relkind = 'r' AND c.relname = ANY($1)
             OR c.relkind = 'i' AND t.relname = ANY($1) AND i.indkey[a.attnum - 1] = 0)`,
    [tenantTables.map((table) => table.name)],
  );
  if (columns.rows.length === 0) return;
  const clearable = await client.query<{ ok: boolean }>(
    `SELECT to_regprocedure('pg_clear_attribute_stats(text,text,text,boolean)') IS NOT NULL AS ok`,
  );
  for (const { kind, relation, column, attnum } of columns.rows) {
    const target = `public.${quoteIdent(relation)}`;
    await client.query(
      kind === 'i'
        ? `ALTER INDEX ${target} ALTER COLUMN ${attnum} SET STATISTICS 0`
        : `ALTER TABLE ${target} ALTER COLUMN ${quoteIdent(column)} SET STATISTICS 0`,
    );
    // PostgreSQL 18 clears one column's statistics; before it, only a superuser can.
    if (clearable.rows[0]?.ok) {
      await client.query(`SELECT pg_clear_attribute_stats('public', $1, $2, false)`, [relation, column]);
    } else {
      await client.query(
        `DELETE FROM pg_catalog.pg_statistic WHERE starelid = $1::regclass AND staattnum = $2`,
        [target, attnum],
      );
    }
  }
  context.report(`dropped the column statistics of ${columns.rows.length} shared columns`);
}

async function ensureSharedTenant(context: ModeContext, tenant: TenantRef): Promise<void> {
  await ensureSharedDatabase(context);
  const { app } = tenantObjectNames(tenant.id);
  const roles = sharedRoles(context.databases.shared);
  await context.servers.withAdmin('default', 'postgres', async (client) => {
    if (await ensureRole(client, app, APP_ROLE_ATTRIBUTES)) context.report(`created login ${app}`);
    // SET FALSE: membership lends the group's table rights but never its identity.
    await client.query(
      `GRANT ${quoteIdent(roles.tenants)} TO ${quoteIdent(app)} WITH INHERIT TRUE, SET FALSE`,
    );
    await pinSearchPath(client, app, context.databases.shared, 'public');
  });
}

/** Removes a shared tenant: its rows (append-only triggers included, as the restore does), then its login. */
async function dropSharedTenant(context: ModeContext, tenant: TenantRef): Promise<void> {
  const { app } = tenantObjectNames(tenant.id);
  await context.servers.withAdmin('default', context.databases.shared, async (client) => {
    await terminateSessions(client, app);
    await deleteTenantRows(client, 'public', tenant.id);
  });
  context.report(`deleted the tenant's rows from ${context.databases.shared}`);
  await dropRoles(context, 'default', [app]);
}

/**
 * Deletes one tenant's rows from every tenant table of a schema. `session_replication_role
 * = replica` (superuser only) skips triggers: the append-only history refuses deletes by
 * design, and the rows are removed table by table regardless of foreign-key order.
 */
export async function deleteTenantRows(client: pg.Client, schema: string, tenantId: string): Promise<void> {
  await inTransaction(client, async () => {
    await client.query(`SET LOCAL session_replication_role = replica`);
    for (const { name } of tenantTables) {
      await client.query(`DELETE FROM ${quoteIdent(schema)}.${quoteIdent(name)} WHERE tenant_id = $1`, [
        tenantId,
      ]);
    }
  });
}

// --- schema ------------------------------------------------------------------------------

function ensureSchemasDatabase(context: ModeContext): Promise<void> {
  return withDatabaseLock(context.servers, 'default', context.databases.schemas, () =>
    setUpSchemasDatabase(context),
  );
}

async function setUpSchemasDatabase(context: ModeContext): Promise<void> {
  const database = context.databases.schemas;
  await context.servers.withAdmin('default', 'postgres', async (client) => {
    if (await ensureDatabase(client, database)) context.report(`created database ${database}`);
    await client.query(`REVOKE CONNECT, TEMPORARY ON DATABASE ${quoteIdent(database)} FROM PUBLIC`);
  });
  await context.servers.withAdmin('default', database, async (client) => {
    await ensureExtensions(client);
    await client.query('REVOKE CREATE ON SCHEMA public FROM PUBLIC');
  });
}

async function ensureSchemaTenant(
  context: ModeContext,
  tenant: TenantRef,
  placement: Placement,
): Promise<void> {
  await ensureSchemasDatabase(context);
  const { app, owner, schema } = tenantObjectNames(tenant.id);
  const database = quoteIdent(placement.database);
  await context.servers.withAdmin('default', 'postgres', async (client) => {
    if (await ensureRole(client, owner, OWNER_ROLE_ATTRIBUTES)) context.report(`created role ${owner}`);
    if (await ensureRole(client, app, APP_ROLE_ATTRIBUTES)) context.report(`created login ${app}`);
    // drizzle's migrator always runs CREATE SCHEMA IF NOT EXISTS, which checks this right
    // even when the schema exists. The owner cannot log in, so only the provisioner uses it.
    await withDatabaseLock(context.servers, 'default', placement.database, async () => {
      await client.query(`GRANT CONNECT, CREATE ON DATABASE ${database} TO ${quoteIdent(owner)}`);
      await client.query(`GRANT CONNECT ON DATABASE ${database} TO ${quoteIdent(app)}`);
    });
    await pinSearchPath(client, app, placement.database, schema);
  });
  await context.servers.withAdmin('default', placement.database, async (client) => {
    if (!(await schemaExists(client, schema))) {
      await client.query(
        `CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)} AUTHORIZATION ${quoteIdent(owner)}`,
      );
      context.report(`created schema ${schema}`);
    }
  });
}

async function dropSchemaTenant(
  context: ModeContext,
  tenant: TenantRef,
  placement: Placement,
): Promise<void> {
  const { app, owner, schema } = tenantObjectNames(tenant.id);
  await context.servers.withAdmin('default', placement.database, async (client) => {
    await terminateSessions(client, app);
    await client.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
    context.report(`dropped schema ${schema}`);
    // DROP OWNED also revokes the roles' rights on the database itself.
    await withDatabaseLock(context.servers, 'default', placement.database, async () => {
      for (const role of [app, owner]) {
        if (await roleExists(client, role)) await client.query(`DROP OWNED BY ${quoteIdent(role)}`);
      }
    });
  });
  await dropRoles(context, 'default', [app, owner]);
}

// --- database ----------------------------------------------------------------------------

async function ensureDatabaseTenant(
  context: ModeContext,
  tenant: TenantRef,
  placement: Placement,
): Promise<void> {
  const { app, owner } = tenantObjectNames(tenant.id);
  const database = quoteIdent(placement.database);
  await context.servers.withAdmin(placement.server, 'postgres', async (client) => {
    if (await ensureRole(client, owner, OWNER_ROLE_ATTRIBUTES)) context.report(`created role ${owner}`);
    if (await ensureRole(client, app, APP_ROLE_ATTRIBUTES)) context.report(`created login ${app}`);
    if (await ensureDatabase(client, placement.database, owner)) {
      context.report(`created database ${placement.database} on ${placement.server}`);
    }
    await client.query(`REVOKE CONNECT, TEMPORARY ON DATABASE ${database} FROM PUBLIC`);
    await client.query(`GRANT CONNECT ON DATABASE ${database} TO ${quoteIdent(app)}`);
    await pinSearchPath(client, app, placement.database, 'public');
  });
  await context.servers.withAdmin(placement.server, placement.database, async (client) => {
    await ensureExtensions(client);
    await client.query('REVOKE CREATE ON SCHEMA public FROM PUBLIC');
  });
}

async function dropDatabaseTenant(
  context: ModeContext,
  tenant: TenantRef,
  placement: Placement,
): Promise<void> {
  const { app, owner } = tenantObjectNames(tenant.id);
  await context.servers.withAdmin(placement.server, 'postgres', async (client) => {
    await client.query(`DROP DATABASE IF EXISTS ${quoteIdent(placement.database)} WITH (FORCE)`);
  });
  context.report(`dropped database ${placement.database} on ${placement.server}`);
  await dropRoles(context, placement.server, [app, owner]);
}

// --- shared by every mode ----------------------------------------------------------------

async function dropRoles(context: ModeContext, server: string, roles: string[]): Promise<void> {
  await context.servers.withAdmin(server, 'postgres', async (client) => {
    for (const role of roles) {
      if (!(await roleExists(client, role))) continue;
      await terminateSessions(client, role);
      await client.query(`DROP ROLE ${quoteIdent(role)}`);
      context.report(`dropped role ${role}`);
    }
  });
}

/** Creates or repairs a tenant's roles and location (not its password), then migrates and grants. */
export async function ensureTenant(
  context: ModeContext,
  tenant: TenantRef,
  placement: Placement,
): Promise<void> {
  switch (placement.mode) {
    case 'shared':
      await ensureSharedTenant(context, tenant);
      return;
    case 'schema':
      await ensureSchemaTenant(context, tenant, placement);
      break;
    case 'database':
      await ensureDatabaseTenant(context, tenant, placement);
      break;
  }
  await migrateTenant(context, tenant, placement);
}

/** Applies pending migrations to the tenant's location (for shared: the shared database). */
export async function migrateTenant(
  context: ModeContext,
  tenant: TenantRef,
  placement: Placement,
): Promise<void> {
  if (placement.mode === 'shared') {
    await ensureSharedDatabase(context);
    return;
  }
  const { app, owner } = tenantObjectNames(tenant.id);
  await migrateLocation(context, placement, owner, tenant.id);
  await context.servers.withAdmin(placement.server, placement.database, (client) =>
    grantDml(client, placement.schema, app),
  );
}

export async function dropTenant(
  context: ModeContext,
  tenant: TenantRef,
  placement: Placement,
): Promise<void> {
  switch (placement.mode) {
    case 'shared':
      return dropSharedTenant(context, tenant);
    case 'schema':
      return dropSchemaTenant(context, tenant, placement);
    case 'database':
      return dropDatabaseTenant(context, tenant, placement);
  }
}
