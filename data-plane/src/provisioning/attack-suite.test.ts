import { randomBytes } from 'node:crypto';
import { withAdminClient } from '@amanat/kit/postgres/test-databases';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Attack,
  type AttackContext,
  attacks,
  flatten,
  REFUSALS,
  rotatedPassword,
  type Side,
  type Victim,
  victimSnapshot,
} from './attacks.ts';
import { sharedRoles } from './modes.ts';
import {
  ISOLATION_MODES,
  type IsolationMode,
  SHARED_LOGIN_PATTERN,
  type TenantRef,
  tenantObjectNames,
} from './names.ts';
import { quoteIdent } from './servers.ts';
import { tenantTables } from './tenant-tables.ts';
import { asLogin, newTenant, openTestProvisioner } from './testing.ts';

/**
 * The isolation attack suite. For each mode, tenant A's data-plane credentials (and nothing
 * else) try every way in `attacks.ts` to read or change tenant B's rows. Each attempt must be
 * refused with a PostgreSQL error, or come back with nothing of B's while its witness shows the
 * same attempt does find B's data where B's data is reachable; afterwards B's rows must be
 * exactly as before, read by an admin. The outcome matrix is printed at the end.
 */

let harness: Awaited<ReturnType<typeof openTestProvisioner>>;
const contexts = new Map<IsolationMode, AttackContext>();
/** B's rows as the admin reads them before any attack, per mode. */
const baselines = new Map<IsolationMode, string>();
const outcomes = new Map<string, Map<IsolationMode, string>>();
/** Rotation changes A's credentials, so it runs last. */
const suite: Attack[] = [...attacks, rotatedPassword];

interface Shop {
  category: string;
  product: string;
  variant: string;
  buyer: string;
  orders: string[];
}

/** A small shop written through the tenant's own login: every value carries `label`. */
function seedShop(
  url: string,
  tenantId: string,
  label: string,
  email: string,
  prefix: string,
  orders: number,
) {
  return asLogin(url, async (client): Promise<Shop> => {
    const one = async (sql: string, params: unknown[]) => {
      const id = (await client.query<{ id: string }>(sql, params)).rows[0]?.id;
      if (!id) throw new Error(`no id from ${sql}`);
      return id;
    };
    const category = await one(
      `INSERT INTO categories (tenant_id, name, slug) VALUES ($1, $2, $3) RETURNING id`,
      [tenantId, `Category ${label}`, `${prefix}-category`],
    );
    const product = await one(
      `INSERT INTO products (tenant_id, slug, title, description, category_id, tags, price_minor, currency,
         search_vector)
       VALUES ($1, $2, $3, $4, $5, $6, 1500, 'USD', to_tsvector('simple', $3::text)) RETURNING id`,
      [tenantId, `${prefix}-product`, `Product ${label}`, `Description ${label}`, category, [`tag-${label}`]],
    );
    const variant = await one(
      `INSERT INTO variants (tenant_id, product_id, sku, options, price_minor) VALUES ($1, $2, $3, $4, 1500)
       RETURNING id`,
      [tenantId, product, `SKU-${label}`, { colour: label }],
    );
    await client.query(`INSERT INTO stock_levels (tenant_id, variant_id, on_hand) VALUES ($1, $2, 7)`, [
      tenantId,
      variant,
    ]);
    const buyer = await one(
      `INSERT INTO buyers (tenant_id, email, password_hash, display_name) VALUES ($1, $2, $3, $4) RETURNING id`,
      [tenantId, email, `hash-${label}`, `Buyer ${label}`],
    );
    // Several orders with one email, so that ANALYZE puts it among the most common values.
    const placed = await client.query<{ id: string }>(
      `INSERT INTO orders (tenant_id, status, rail, rail_disclosure, currency, subtotal_minor, total_minor,
         item_count, buyer_id, email, note, shipping_address, expires_at)
       SELECT $1, 'draft', 'manual_invoice', $2, 'USD', 1500, 1500, 1, $3, $4, $5, $6, now() + interval '1 day'
         FROM generate_series(1, $7::int)
       RETURNING id`,
      [tenantId, `Disclosure ${label}`, buyer, email, `Note ${label}`, { line1: `Street ${label}` }, orders],
    );
    return { category, product, variant, buyer, orders: placed.rows.map((row) => row.id) };
  });
}

async function provisionSide(tenant: TenantRef, mode: IsolationMode): Promise<Side> {
  const report = await harness.provisioner.provision(tenant, mode);
  if (!report.credentials) throw new Error(`no credentials for ${tenant.slug}`);
  return {
    tenant,
    names: tenantObjectNames(tenant.id),
    placement: report.placement,
    url: report.credentials.url,
    password: report.credentials.password,
  };
}

async function prepare(mode: IsolationMode): Promise<AttackContext> {
  const token = `bx${randomBytes(6).toString('hex')}`;
  const attacker = await provisionSide(newTenant(`attacker-${mode}`), mode);
  const victimSide = await provisionSide(newTenant(`victim-${token}`), mode);
  const email = `victim-${token}@b.example`;
  await seedShop(attacker.url, attacker.tenant.id, 'alpha', 'shopper@a.example', 'a', 5);
  const ids = await seedShop(victimSide.url, victimSide.tenant.id, token, email, 'b', 20);
  const largeObject = await asLogin(victimSide.url, async (client) => {
    const created = await client.query<{ oid: number }>(
      `SELECT lo_from_bytea(0, convert_to($1, 'UTF8'))::int8 AS oid`,
      [`large object ${token}`],
    );
    return Number(created.rows[0]?.oid);
  });
  const partial = { ...victimSide, largeObject };
  const victim: Victim = {
    ...partial,
    token,
    email,
    ids,
    baselineAsVictim: await asLogin(victimSide.url, (client) => victimSnapshot(client, partial)),
  };
  const { provisioner, databases } = harness;
  const ctx: AttackContext = {
    mode,
    attacker,
    victim,
    provisioner,
    databases,
    adminUser: decodeURIComponent(new URL(harness.adminUrl).username),
    table: (name) =>
      mode === 'schema' ? `${quoteIdent(victim.placement.schema)}.${quoteIdent(name)}` : quoteIdent(name),
    adminUrl: (database) => provisioner.servers.adminUrl('default', database),
  };
  baselines.set(mode, await adminSnapshot(ctx));
  expect(baselines.get(mode)).toContain(token);
  return ctx;
}

function adminSnapshot(ctx: AttackContext): Promise<string> {
  return withAdminClient(ctx.adminUrl(ctx.victim.placement.database), (client) =>
    victimSnapshot(client, ctx.victim),
  );
}

beforeAll(async () => {
  harness = await openTestProvisioner();
  // Every mode's tenants exist before any attack, so "connect to the schemas database" from a
  // shared tenant meets a real database rather than a missing one.
  for (const mode of ISOLATION_MODES) contexts.set(mode, await prepare(mode));
});

afterAll(async () => {
  printMatrix();
  await harness?.cleanup();
});

function record(attack: string, mode: IsolationMode, outcome: string) {
  const row = outcomes.get(attack) ?? new Map<IsolationMode, string>();
  row.set(mode, outcome);
  outcomes.set(attack, row);
}

describe.each(ISOLATION_MODES)('%s mode: tenant A attacks tenant B', (mode) => {
  it.each(suite)('$name', async (attack) => {
    const ctx = contexts.get(mode);
    if (!ctx) throw new Error(`mode ${mode} was not prepared`);
    record(attack.name, mode, 'FAILED');
    let output: unknown;
    let refusal: pg.DatabaseError | undefined;
    try {
      output = await attack.attempt(ctx);
    } catch (error) {
      if (!(error instanceof pg.DatabaseError)) throw error;
      refusal = error;
    }
    let outcome: string;
    if (refusal) {
      // Only errors that say "not yours" count; a syntax error would make the attempt hollow.
      expect(Object.keys(REFUSALS), `${refusal.code}: ${refusal.message}`).toContain(refusal.code);
      outcome = `refused ${refusal.code} ${refusalClass(refusal.message)}`;
    } else {
      expect(flatten(output), `${attack.name} returned B's data`).not.toContain(ctx.victim.token);
      outcome = 'empty';
    }
    expect(await adminSnapshot(ctx), `${attack.name} changed B's rows`).toBe(baselines.get(mode));
    if (outcome === 'empty') {
      if (!attack.witness) throw new Error(`${attack.name} came back empty and has no witness to prove it`);
      await attack.witness(ctx);
      expect(await adminSnapshot(ctx), `the witness of ${attack.name} left B changed`).toBe(
        baselines.get(mode),
      );
    }
    record(attack.name, mode, outcome);
  });
});

/** What stopped an attempt, in a word or two, from PostgreSQL's message. */
function refusalClass(message: string): string {
  const rules: [RegExp, string | ((match: RegExpMatchArray) => string)][] = [
    [/row-level security/, 'RLS policy'],
    [/permission denied for (schema|table|database|function|large object|sequence)/, (m) => `${m[1]}`],
    [/permission denied to set role/, 'set role'],
    [/permission denied to set session authorization/, 'set session auth'],
    [/permission denied to set parameter/, 'set parameter'],
    [/permission denied to create temporary tables/, 'temp'],
    [/permission denied to (grant role|alter role|terminate process|create extension)/, (m) => `${m[1]}`],
    [/permission denied to COPY/, 'server COPY'],
    [/must be owner/, 'owner only'],
    [/password authentication failed/, 'password'],
    [/foreign key/, 'foreign key'],
    [/session user cannot be renamed/, 'session user'],
    [/cross-database/, 'cross-database'],
    [/does not exist/, 'missing'],
  ];
  for (const [pattern, label] of rules) {
    const match = message.match(pattern);
    if (match) return typeof label === 'string' ? label : label(match);
  }
  return message.split(' ').slice(0, 4).join(' ');
}

function printMatrix() {
  if (outcomes.size === 0) return;
  const header = ['attempt', ...ISOLATION_MODES];
  const rows = suite.map((attack) => [
    attack.name,
    ...ISOLATION_MODES.map((mode) => outcomes.get(attack.name)?.get(mode) ?? 'not run'),
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column]?.length ?? 0)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join(' | ')
      .trimEnd();
  const seen = new Set(rows.flatMap((row) => row.slice(1)).map((cell) => cell.split(' ')[1]));
  const legend = Object.entries(REFUSALS)
    .filter(([code]) => seen.has(code))
    .map(([code, meaning]) => `  ${code} ${meaning}`);
  console.log(
    [
      'Isolation attack matrix: tenant A (its runtime credentials only) against tenant B',
      'refused SQLSTATE what = PostgreSQL refused (a privilege on schema/table/database/function/large',
      'object, a role switch, owner-only DDL, a missing object); empty = ran and got none of B, while its',
      "witness (the same attempt where B's data is reachable) found or changed it. B's rows unchanged after each.",
      '',
      line(header),
      widths.map((width) => '-'.repeat(width)).join('-+-'),
      ...rows.map(line),
      '',
      'SQLSTATE:',
      ...legend,
    ].join('\n'),
  );
}

/**
 * Unique indexes on shared tables that leave tenant_id out. Each is on a key PostgreSQL
 * generates at random (uuid) or from a sequence, so a conflict error tells tenant A nothing
 * it could not guess; any other unique constraint without tenant_id would let A probe B's
 * values (an email, a slug, a SKU) by inserting them and watching for 23505.
 */
const UNIQUE_WITHOUT_TENANT: Record<string, string> = {
  audit_log_pkey: 'id',
  buyer_addresses_pkey: 'id',
  buyer_login_failures_pkey: 'id',
  buyer_sessions_pkey: 'id',
  buyers_pkey: 'id',
  categories_pkey: 'id',
  email_messages_pkey: 'id',
  ledger_entries_pkey: 'id',
  ledger_transactions_pkey: 'id',
  order_lines_pkey: 'id',
  order_tracking_events_pkey: 'id',
  order_transitions_pkey: 'id',
  orders_pkey: 'id',
  outbox_events_event_id_unique: 'event_id',
  outbox_events_pkey: 'id',
  payment_evidence_pkey: 'id',
  payments_pkey: 'id',
  products_pkey: 'id',
  stock_movements_pkey: 'id',
  variants_pkey: 'id',
  webhook_deliveries_pkey: 'id',
  webhook_endpoints_pkey: 'id',
};

/**
 * Foreign keys between shared tables that leave tenant_id out: none. Referential checks
 * bypass row-level security, so such a key would let tenant A point its row at B's (and
 * learn that B's row exists).
 */
const FOREIGN_KEYS_WITHOUT_TENANT: string[] = [];

describe('the shared database catalog', () => {
  const shared = () => {
    const ctx = contexts.get('shared');
    if (!ctx) throw new Error('shared mode was not prepared');
    return { ctx, roles: sharedRoles(harness.databases.shared), url: ctx.adminUrl(harness.databases.shared) };
  };
  const tableNames = tenantTables.map((table) => table.name).sort();

  it('has forced row-level security, the tenant policy and a non-tenant owner on every table', async () => {
    const { url, roles } = shared();
    await withAdminClient(url, async (client) => {
      const tables = await client.query<{
        relname: string;
        relrowsecurity: boolean;
        relforcerowsecurity: boolean;
        owner: string;
        tenant_column: boolean;
      }>(`SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, pg_get_userbyid(c.relowner) AS owner,
                 EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id'
                          AND NOT a.attisdropped AND a.attnotnull AND a.atttypid = 'uuid'::regtype) AS tenant_column
            FROM pg_class c
           WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
             AND c.relname <> '__drizzle_migrations'
           ORDER BY c.relname`);
      // The provisioner secures the tables it knows; a table it does not know is unsecured.
      expect(tables.rows.map((row) => row.relname)).toEqual(tableNames);
      for (const table of tables.rows) {
        expect(table, table.relname).toEqual({
          relname: table.relname,
          relrowsecurity: true,
          relforcerowsecurity: true,
          owner: roles.owner,
          tenant_column: true,
        });
        expect(table.owner).not.toMatch(new RegExp(SHARED_LOGIN_PATTERN));
      }
      // Views run with their owner's rights, and the owner's policy sees every row.
      const others = await client.query(
        `SELECT relname, relkind FROM pg_class
          WHERE relnamespace = 'public'::regnamespace AND relkind NOT IN ('r', 'i', 'S')`,
      );
      expect(others.rows).toEqual([]);

      const policies = await client.query<{ tablename: string; policyname: string }>(
        `SELECT tablename, policyname, permissive, roles::text[] AS roles, cmd, qual, with_check
           FROM pg_policies WHERE schemaname = 'public' ORDER BY tablename, policyname`,
      );
      const isolation = '(tenant_id = ( SELECT login_tenant_id() AS login_tenant_id))';
      // Permissive policies are OR-ed together: any third one could open every row.
      expect(policies.rows).toEqual(
        tableNames.flatMap((table) => [
          {
            tablename: table,
            policyname: 'owner_maintenance',
            permissive: 'PERMISSIVE',
            roles: [roles.owner],
            cmd: 'ALL',
            qual: 'true',
            with_check: 'true',
          },
          {
            tablename: table,
            policyname: 'tenant_isolation',
            permissive: 'PERMISSIVE',
            roles: ['public'],
            cmd: 'ALL',
            qual: isolation,
            with_check: isolation,
          },
        ]),
      );

      const policyFunction = await client.query(
        `SELECT pg_get_userbyid(proowner) AS owner, prosecdef, provolatile, prosrc
           FROM pg_proc WHERE oid = 'public.login_tenant_id()'::regprocedure`,
      );
      expect(policyFunction.rows[0]).toMatchObject({
        owner: roles.owner,
        prosecdef: false,
        provolatile: 's',
      });
      expect(policyFunction.rows[0].prosrc).toContain('current_user');
      const definers = await client.query(
        `SELECT pronamespace::regnamespace::text AS schema, proname FROM pg_proc
          WHERE prosecdef AND pronamespace NOT IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace)`,
      );
      expect(definers.rows).toEqual([]);
    });
  });

  it('gives tenant logins DML only, through the tenants group, and PUBLIC nothing', async () => {
    const { url, roles } = shared();
    await withAdminClient(url, async (client) => {
      const grants = await client.query<{ relname: string; grantee: string; privileges: string[] }>(
        `SELECT c.relname, coalesce(r.rolname, 'PUBLIC') AS grantee,
                array_agg(x.privilege_type ORDER BY x.privilege_type) AS privileges
           FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) x LEFT JOIN pg_roles r ON r.oid = x.grantee
          WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' AND x.grantee <> c.relowner
          GROUP BY c.relname, r.rolname ORDER BY c.relname`,
      );
      expect(grants.rows).toEqual(
        [
          ...tableNames.map((relname) => ({
            relname,
            grantee: roles.tenants,
            privileges: ['DELETE', 'INSERT', 'SELECT', 'UPDATE'],
          })),
          { relname: '__drizzle_migrations', grantee: roles.tenants, privileges: ['SELECT'] },
        ].sort((a, b) => a.relname.localeCompare(b.relname)),
      );

      const database = await client.query(
        `SELECT coalesce(r.rolname, 'PUBLIC') AS grantee, x.privilege_type
           FROM pg_database d CROSS JOIN LATERAL aclexplode(d.datacl) x LEFT JOIN pg_roles r ON r.oid = x.grantee
          WHERE d.datname = current_database() AND x.grantee <> d.datdba ORDER BY 1, 2`,
      );
      expect(database.rows).toEqual([{ grantee: roles.tenants, privilege_type: 'CONNECT' }]);
      const creators = await client.query(
        `SELECT n.nspname, coalesce(r.rolname, 'PUBLIC') AS grantee FROM pg_namespace n
           CROSS JOIN LATERAL aclexplode(n.nspacl) x LEFT JOIN pg_roles r ON r.oid = x.grantee
          WHERE x.privilege_type = 'CREATE' AND n.nspname IN ('public', 'extensions')
            AND x.grantee NOT IN (n.nspowner, 'pg_database_owner'::regrole)`,
      );
      expect(creators.rows).toEqual([]);

      // Every member of the group is a tenant login that inherits its rights but can never
      // become it, and no tenant login is a member of anything else.
      const members = await client.query<{ member: string; group: string; inherit: boolean; set: boolean }>(
        `SELECT m.member::regrole::text AS member, m.roleid::regrole::text AS group,
                m.inherit_option AS inherit, m.set_option AS set
           FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.member
          WHERE m.roleid = $1::regrole OR r.rolname ~ $2`,
        [roles.tenants, SHARED_LOGIN_PATTERN],
      );
      expect(members.rows.length).toBeGreaterThan(0);
      for (const membership of members.rows) {
        expect(membership.member).toMatch(new RegExp(SHARED_LOGIN_PATTERN));
        expect(membership, membership.member).toMatchObject({
          group: roles.tenants,
          inherit: true,
          set: false,
        });
      }
    });
  });

  it('has no unique constraint without tenant_id but on the listed random keys', async () => {
    const { url } = shared();
    await withAdminClient(url, async (client) => {
      const uniques = await client.query<{
        index: string;
        table: string;
        columns: string[];
        definition: string;
      }>(
        `SELECT ic.relname AS index, c.relname AS table, pg_get_indexdef(i.indexrelid) AS definition,
                coalesce((SELECT array_agg(a.attname::text ORDER BY k.n)
                            FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, n)
                            JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum), '{}') AS columns
           FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_class c ON c.oid = i.indrelid
          WHERE c.relnamespace = 'public'::regnamespace AND i.indisunique AND c.relname <> '__drizzle_migrations'`,
      );
      const defaults = await client.query<{
        table: string;
        column: string;
        type: string;
        default: string | null;
      }>(
        `SELECT c.relname AS table, a.attname AS column, format_type(a.atttypid, a.atttypmod) AS type,
                pg_get_expr(d.adbin, d.adrelid) AS default
           FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
           LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
          WHERE c.relnamespace = 'public'::regnamespace AND a.attnum > 0 AND NOT a.attisdropped`,
      );
      const defaultOf = (table: string, column: string) =>
        defaults.rows.find((row) => row.table === table && row.column === column);
      const withoutTenant = uniques.rows.filter((unique) => !unique.columns.includes('tenant_id'));
      for (const unique of withoutTenant) {
        const listed = UNIQUE_WITHOUT_TENANT[unique.index];
        expect(listed, `${unique.definition} lets one tenant probe another's values`).toBeDefined();
        expect(unique.columns, unique.definition).toEqual([listed]);
        const column = defaultOf(unique.table, listed ?? '');
        expect(
          (column?.type === 'uuid' && column.default === 'gen_random_uuid()') ||
            (column?.type === 'bigint' && /^nextval\(/.test(column.default ?? '')),
          `${unique.definition}: ${listed} is not a generated random or serial key`,
        ).toBe(true);
      }
      // The list stays exact: an entry that no longer exists is removed, not kept as a loophole.
      expect(withoutTenant.map((unique) => unique.index).sort()).toEqual(
        Object.keys(UNIQUE_WITHOUT_TENANT).sort(),
      );
    });
  });

  it('has no foreign key without tenant_id on both sides but the listed one', async () => {
    const { url } = shared();
    await withAdminClient(url, async (client) => {
      const keys = await client.query<{ name: string; pairs: [string, string][] }>(
        `SELECT con.conname AS name,
                (SELECT array_agg(ARRAY[a.attname::text, fa.attname::text] ORDER BY k.n)
                   FROM unnest(con.conkey, con.confkey) WITH ORDINALITY k(attnum, fattnum, n)
                   JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
                   JOIN pg_attribute fa ON fa.attrelid = con.confrelid AND fa.attnum = k.fattnum) AS pairs
           FROM pg_constraint con
          WHERE con.contype = 'f' AND con.connamespace = 'public'::regnamespace`,
      );
      expect(keys.rows.length).toBeGreaterThan(0);
      const withoutTenant = keys.rows
        .filter(
          (key) =>
            !key.pairs.some(([column, referenced]) => column === 'tenant_id' && referenced === 'tenant_id'),
        )
        .map((key) => key.name)
        .sort();
      expect(withoutTenant).toEqual(FOREIGN_KEYS_WITHOUT_TENANT);
    });
  });

  it('keeps no statistics that pool tenants values', async () => {
    const { url } = shared();
    await withAdminClient(url, async (client) => {
      await client.query('ANALYZE');
      const targets = await client.query(
        `SELECT c.relname, a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
          WHERE c.relnamespace = 'public'::regnamespace AND c.relname = ANY($1) AND a.attnum > 0
            AND NOT a.attisdropped AND a.attstattarget IS DISTINCT FROM 0`,
        [tableNames],
      );
      expect(targets.rows).toEqual([]);
      // Column statistics, index expression statistics and extended statistics alike.
      const stored = await client.query(
        `SELECT c.relname, s.staattnum FROM pg_statistic s JOIN pg_class c ON c.oid = s.starelid
          WHERE c.relnamespace = 'public'::regnamespace AND c.relname <> '__drizzle_migrations'
            AND c.relname NOT LIKE '__drizzle_migrations%'`,
      );
      expect(stored.rows).toEqual([]);
      const extended = await client.query(
        `SELECT stxname FROM pg_statistic_ext WHERE stxnamespace = 'public'::regnamespace`,
      );
      expect(extended.rows).toEqual([]);
    });
  });
});
