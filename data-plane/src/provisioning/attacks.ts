import { randomBytes, randomUUID } from 'node:crypto';
import { withAdminClient } from '@amanat/kit/postgres/test-databases';
import pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { expect } from 'vitest';
import { ensureSharedDatabase, type Placement, sharedRoles } from './modes.ts';
import { type IsolationMode, type TenantRef, tenantObjectNames } from './names.ts';
import type { Provisioner } from './provisioner.ts';
import { quoteIdent, quoteLiteral } from './servers.ts';
import { tenantTables } from './tenant-tables.ts';

/**
 * The attempt table of the isolation attack suite (`attack-suite.test.ts`): every way we know
 * for tenant A's database login to reach tenant B's rows. An attempt either fails with a
 * PostgreSQL error (`refused`) or runs and gets nothing of B's (`empty`); an `empty` outcome
 * counts only together with its witness, which shows that the same attempt made where B's
 * data is reachable (by B's own login, or by an admin where B cannot either) does find it.
 */

export interface Side {
  tenant: TenantRef;
  names: ReturnType<typeof tenantObjectNames>;
  placement: Placement;
  /** The runtime credentials the provisioner handed out; A's change when the suite rotates them. */
  url: string;
  password: string;
}

export interface Victim extends Side {
  /** Part of every value B stored: finding it in anything A got back is a leak. */
  token: string;
  email: string;
  ids: { category: string; product: string; variant: string; buyer: string; orders: string[] };
  /** A large object B created in its own location. */
  largeObject: number;
  /** B's rows (and large object) as B's own login reads them before any attack. */
  baselineAsVictim: string;
}

export interface AttackContext {
  mode: IsolationMode;
  attacker: Side;
  victim: Victim;
  provisioner: Provisioner;
  databases: { fleet: string; shared: string; schemas: string };
  adminUser: string;
  /** B's table as B's own login names it: schema-qualified in schema mode, else unqualified. */
  table(name: string): string;
  /** Admin URL of one database on the default server. */
  adminUrl(database: string): string;
}

export interface Attack {
  name: string;
  /** Runs as A and returns everything A got back; a PostgreSQL error means refused. */
  attempt(ctx: AttackContext): Promise<unknown>;
  /** Asserts that the attempt, made where B's data is reachable, finds or changes it. */
  witness?(ctx: AttackContext): Promise<void>;
}

/** SQLSTATEs that count as a refusal; anything else (a typo in an attempt) fails the suite. */
export const REFUSALS: Record<string, string> = {
  '42501': 'insufficient privilege',
  '28P01': 'password rejected',
  '42P01': 'no such table (none visible under that name)',
  '42704': 'no such object',
  '42883': 'no such function',
  '22023': 'invalid parameter value (no such role)',
  '0A000': 'not supported',
  '23503': 'foreign key violation',
};

export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/** Everything a result holds as one searchable string; byte arrays are read as text. */
export function flatten(value: unknown): string {
  return JSON.stringify(value, (_key, item) =>
    item && typeof item === 'object' && item.type === 'Buffer' && Array.isArray(item.data)
      ? Buffer.from(item.data).toString('latin1')
      : item,
  );
}

async function connect(url: string, options: Partial<pg.ClientConfig> = {}): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, ...options });
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

async function withClient<T>(
  url: string,
  fn: (client: pg.Client) => Promise<T>,
  options: Partial<pg.ClientConfig> = {},
): Promise<T> {
  const client = await connect(url, options);
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function runSteps(client: pg.Client, steps: string[]): Promise<unknown[]> {
  const results: unknown[] = [];
  for (const step of steps) results.push((await client.query(step)).rows);
  return results;
}

/**
 * B's rows in every tenant table of B's location, and B's large object, as one JSON string.
 * Run by an admin it is the ground truth; run by B's login it is what B's own session sees.
 */
export async function victimSnapshot(
  client: pg.Client,
  victim: Pick<Victim, 'tenant' | 'placement' | 'largeObject'>,
) {
  const schema = quoteIdent(victim.placement.schema);
  const parts = tenantTables.map(
    ({
      name,
    }) => `${quoteLiteral(name)}, (SELECT coalesce(jsonb_agg(to_jsonb(x) ORDER BY to_jsonb(x)::text), '[]')
      FROM ${schema}.${quoteIdent(name)} x WHERE x.tenant_id = $1)`,
  );
  const result = await client.query<{ snapshot: unknown; lo: string }>(
    `SELECT jsonb_build_object(${parts.join(', ')}) AS snapshot, encode(lo_get($2::oid), 'escape') AS lo`,
    [victim.tenant.id, victim.largeObject],
  );
  return JSON.stringify(result.rows[0]);
}

/** The database to connect to instead of the login's own (A and B's witness alike). */
type Target = (ctx: AttackContext) => string | undefined;

interface SqlAttack {
  /** The statements, run in order on one connection; the same text for A and for B's witness. */
  steps: (ctx: AttackContext) => string[];
  /** Connect to this database instead of the login's own. */
  database?: Target;
  /**
   * `reads`: B running the steps gets B's values back. `changes`: B running them (rolled
   * back) changes B's rows. A function: a custom witness.
   */
  witness: 'reads' | 'changes' | ((ctx: AttackContext) => Promise<void>);
  /** Wraps both the attempt and the witness: a concurrent session, temporary statistics. */
  around?: <T>(ctx: AttackContext, fn: () => Promise<T>) => Promise<T>;
}

function sqlAttack(name: string, spec: SqlAttack): Attack {
  const around = spec.around ?? (<T>(_ctx: AttackContext, fn: () => Promise<T>) => fn());
  const urlOf = (ctx: AttackContext, side: Side) => {
    const database = spec.database?.(ctx);
    return database ? withDatabase(side.url, database) : side.url;
  };
  return {
    name,
    attempt: (ctx) => {
      const steps = spec.steps(ctx);
      // An attempt that quoted B's values could only find what it brought along.
      expect(steps.join('\n')).not.toContain(ctx.victim.token);
      return around(ctx, () => withClient(urlOf(ctx, ctx.attacker), (client) => runSteps(client, steps)));
    },
    witness: async (ctx) => {
      const { witness } = spec;
      if (typeof witness === 'function') return witness(ctx);
      await around(ctx, () =>
        withClient(urlOf(ctx, ctx.victim), async (client) => {
          await client.query('BEGIN');
          try {
            const output = await runSteps(client, spec.steps(ctx));
            if (witness === 'reads') expect(flatten(output)).toContain(ctx.victim.token);
            else expect(await victimSnapshot(client, ctx.victim)).not.toBe(ctx.victim.baselineAsVictim);
          } finally {
            await client.query('ROLLBACK').catch(() => undefined);
          }
        }),
      );
    },
  };
}

/** An attempt that is refused in every mode; an `empty` outcome has no witness and fails. */
function refusedAttack(name: string, steps: (ctx: AttackContext) => string[], database?: Target): Attack {
  return {
    name,
    attempt: (ctx) => {
      expect(steps(ctx).join('\n')).not.toContain(ctx.victim.token);
      const url = database?.(ctx);
      return withClient(url ? withDatabase(ctx.attacker.url, url) : ctx.attacker.url, (client) =>
        runSteps(client, steps(ctx)),
      );
    },
  };
}

// --- the queries the attempts are built from --------------------------------------------

const READ_TABLES = ['categories', 'products', 'variants', 'buyers', 'orders'] as const;

/** One statement returning rows of B's tables, filtered by `where` (null: every row). */
function readRows(ctx: AttackContext, where: (table: (typeof READ_TABLES)[number]) => string | null) {
  return READ_TABLES.map((table) => {
    const condition = where(table);
    return `SELECT to_jsonb(x) AS row FROM ${ctx.table(table)} x${condition ? ` WHERE ${condition}` : ''}`;
  }).join('\nUNION ALL ');
}

const lit = (value: string) => quoteLiteral(value);
const byId = (ctx: AttackContext) => {
  const { ids } = ctx.victim;
  const idsOf = {
    categories: [ids.category],
    products: [ids.product],
    variants: [ids.variant],
    buyers: [ids.buyer],
    orders: ids.orders,
  };
  return readRows(ctx, (table) => `x.id IN (${idsOf[table].map(lit).join(', ')})`);
};
const byTenant = (ctx: AttackContext) => readRows(ctx, () => `x.tenant_id = ${lit(ctx.victim.tenant.id)}`);
const everything = (ctx: AttackContext) => readRows(ctx, () => null);
/** The same rows named without any qualification: resolved through the session's search_path. */
const unqualified = () =>
  READ_TABLES.map((table) => `SELECT to_jsonb(x) AS row FROM ${table} x`).join('\nUNION ALL ');

const sharedOwner = (ctx: AttackContext) => sharedRoles(ctx.databases.shared).owner;
const sharedTenants = (ctx: AttackContext) => sharedRoles(ctx.databases.shared).tenants;
const ident = quoteIdent;

/** B's login running a query that carries B's token, for as long as `fn` runs. */
async function withVictimQuery<T>(ctx: AttackContext, fn: (pid: number) => Promise<T>): Promise<T> {
  const sleeper = await connect(ctx.victim.url);
  const running = sleeper
    .query(`SELECT pg_sleep(30), ${lit(`running ${ctx.victim.token}`)} AS secret`)
    .catch(() => undefined);
  try {
    const pid = await withAdminClient(ctx.adminUrl('postgres'), async (admin) => {
      for (let tries = 0; tries < 200; tries++) {
        const found = await admin.query<{ pid: number }>(
          `SELECT pid FROM pg_stat_activity WHERE usename = $1 AND state = 'active' AND position($2 in query) > 0`,
          [ctx.victim.names.app, ctx.victim.token],
        );
        if (found.rows[0]) return found.rows[0].pid;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      throw new Error("B's concurrent query never showed up in pg_stat_activity");
    });
    return await fn(pid);
  } finally {
    await withAdminClient(ctx.adminUrl('postgres'), (admin) =>
      admin.query(`SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE usename = $1`, [
        ctx.victim.names.app,
      ]),
    );
    await running;
    await sleeper.end().catch(() => undefined);
  }
}

/**
 * Statistics on B's location for the duration of `fn`. Schema and database locations keep
 * ordinary statistics (ANALYZE runs first); the shared tables keep none by design, so here
 * they are switched back on for `orders.email` and `orders.tenant_id`, analysed, and removed
 * again afterwards by the provisioner's own repair. That makes the shared-mode attempts test
 * the second line of defence (pg_stats hides RLS tables) and the witness prove the first.
 */
async function withStatistics<T>(ctx: AttackContext, fn: () => Promise<T>): Promise<T> {
  const database = ctx.victim.placement.database;
  if (ctx.mode !== 'shared') {
    await withAdminClient(ctx.adminUrl(database), (admin) => admin.query('ANALYZE'));
    return fn();
  }
  await withAdminClient(ctx.adminUrl(database), async (admin) => {
    await admin.query(`ALTER TABLE public.orders ALTER COLUMN email SET STATISTICS 100,
      ALTER COLUMN tenant_id SET STATISTICS 100`);
    await admin.query('ANALYZE public.orders');
  });
  try {
    return await fn();
  } finally {
    await ensureSharedDatabase(ctx.provisioner.context([]));
    await withAdminClient(ctx.adminUrl(database), async (admin) => {
      const left = await admin.query(
        `SELECT staattnum FROM pg_statistic WHERE starelid = 'public.orders'::regclass`,
      );
      expect(left.rows, 'the provisioner drops shared column statistics again').toEqual([]);
    });
  }
}

/** Planner row estimates for a guessed value of B's versus a value nobody has. */
async function estimates(url: string, ctx: AttackContext) {
  return withClient(url, async (client) => {
    const rows = async (condition: string) => {
      const plan = await client.query(
        `EXPLAIN (FORMAT JSON) SELECT * FROM ${ctx.table('orders')} WHERE ${condition}`,
      );
      return Number(plan.rows[0]['QUERY PLAN'][0].Plan['Plan Rows']);
    };
    return {
      guessedEmail: await rows(`email = ${lit(ctx.victim.email)}`),
      unusedEmail: await rows(`email = ${lit(`nobody-${randomBytes(6).toString('hex')}@b.example`)}`),
      victimTenant: await rows(`tenant_id = ${lit(ctx.victim.tenant.id)}`),
      unusedTenant: await rows(`tenant_id = ${lit(randomUUID())}`),
    };
  });
}

function distinguishes(found: Awaited<ReturnType<typeof estimates>>) {
  return found.guessedEmail !== found.unusedEmail || found.victimTenant !== found.unusedTenant;
}

// --- the attempts --------------------------------------------------------------------------

const roleTargets: [string, (ctx: AttackContext) => string][] = [
  ["B's login", (ctx) => ctx.victim.names.app],
  ["B's owner role", (ctx) => ctx.victim.names.owner],
  ['the shared owner', sharedOwner],
  ['the shared tenants group', sharedTenants],
  ['pg_read_all_data', () => 'pg_read_all_data'],
  ['the superuser', (ctx) => ctx.adminUser],
];

export const attacks: Attack[] = [
  // Plain DML on B's rows.
  sqlAttack("SELECT B's rows by id", { steps: (ctx) => [byId(ctx)], witness: 'reads' }),
  sqlAttack('SELECT WHERE tenant_id = B', { steps: (ctx) => [byTenant(ctx)], witness: 'reads' }),
  sqlAttack('SELECT every row', { steps: (ctx) => [everything(ctx)], witness: 'reads' }),
  {
    name: 'COPY orders TO STDOUT',
    attempt: (ctx) => copyOut(ctx.attacker.url, `COPY ${ctx.table('orders')} TO STDOUT`),
    witness: async (ctx) => {
      expect(await copyOut(ctx.victim.url, `COPY ${ctx.table('orders')} TO STDOUT`)).toContain(
        ctx.victim.token,
      );
    },
  },
  sqlAttack("UPDATE B's rows by id", {
    steps: (ctx) => [
      `UPDATE ${ctx.table('orders')} x SET note = 'pwned'
        WHERE x.id IN (${ctx.victim.ids.orders.map(lit).join(', ')}) RETURNING to_jsonb(x)`,
      `UPDATE ${ctx.table('buyers')} x SET display_name = 'pwned'
        WHERE x.id = ${lit(ctx.victim.ids.buyer)} RETURNING to_jsonb(x)`,
    ],
    witness: 'changes',
  }),
  sqlAttack('UPDATE WHERE tenant_id = B', {
    steps: (ctx) => [
      `UPDATE ${ctx.table('products')} x SET title = 'pwned'
        WHERE x.tenant_id = ${lit(ctx.victim.tenant.id)} RETURNING to_jsonb(x)`,
    ],
    witness: 'changes',
  }),
  sqlAttack("DELETE B's rows by id", {
    steps: (ctx) => [
      `DELETE FROM ${ctx.table('orders')} x
        WHERE x.id IN (${ctx.victim.ids.orders.map(lit).join(', ')}) RETURNING to_jsonb(x)`,
    ],
    witness: 'changes',
  }),
  sqlAttack('DELETE WHERE tenant_id = B', {
    steps: (ctx) => [
      `DELETE FROM ${ctx.table('orders')} x
        WHERE x.tenant_id = ${lit(ctx.victim.tenant.id)} RETURNING to_jsonb(x)`,
    ],
    witness: 'changes',
  }),
  sqlAttack("INSERT with B's tenant_id", {
    steps: (ctx) => [
      `INSERT INTO ${ctx.table('categories')} AS x (tenant_id, name, slug)
       VALUES (${lit(ctx.victim.tenant.id)}, 'intruder', 'intruder') RETURNING to_jsonb(x)`,
    ],
    witness: 'changes',
  }),
  sqlAttack("upsert onto B's category slug", {
    steps: (ctx) => [
      `INSERT INTO ${ctx.table('categories')} AS x (tenant_id, name, slug)
       VALUES (${lit(ctx.victim.tenant.id)}, 'pwned', 'b-category')
       ON CONFLICT (tenant_id, slug) DO UPDATE SET name = 'pwned' RETURNING to_jsonb(x)`,
    ],
    witness: 'changes',
  }),
  sqlAttack('UPDATE own row SET tenant_id = B', {
    // A's own table, as A's search_path names it, and a row nothing references: the row
    // would leave A for B.
    steps: (ctx) => [
      `INSERT INTO categories (tenant_id, name, slug) VALUES (${lit(ctx.attacker.tenant.id)}, 'loose', 'a-loose')
       ON CONFLICT (tenant_id, slug) DO NOTHING`,
      `UPDATE categories x SET tenant_id = ${lit(ctx.victim.tenant.id)}
        WHERE x.slug = 'a-loose' RETURNING to_jsonb(x)`,
    ],
    // B moving its own row to itself changes nothing; what the attempt is after is a row
    // arriving under B's tenant id in B's location, and B's snapshot does see that.
    witness: async (ctx) => {
      await withClient(ctx.victim.url, async (client) => {
        await client.query('BEGIN');
        try {
          await client.query(
            `INSERT INTO ${ctx.table('categories')} (tenant_id, name, slug) VALUES ($1, 'loose', 'a-loose')`,
            [ctx.victim.tenant.id],
          );
          expect(await victimSnapshot(client, ctx.victim)).not.toBe(ctx.victim.baselineAsVictim);
        } finally {
          await client.query('ROLLBACK');
        }
      });
    },
  }),
  refusedAttack("order pointing at B's buyer", (ctx) => [
    // Into A's own table: only the foreign key (tenant_id, buyer_id) stands in the way.
    `INSERT INTO orders (tenant_id, status, rail, rail_disclosure, currency, subtotal_minor,
       total_minor, item_count, buyer_id, email, expires_at)
     VALUES (${lit(ctx.attacker.tenant.id)}, 'draft', 'manual_invoice', 'x', 'USD', 1, 1, 1,
       ${lit(ctx.victim.ids.buyer)}, 'a@a.example', now() + interval '1 day')`,
  ]),

  // Becoming someone else.
  ...roleTargets.map(([label, role]) =>
    sqlAttack(`SET ROLE ${label}`, {
      steps: (ctx) => [`SET ROLE ${ident(role(ctx))}`, everything(ctx)],
      witness: 'reads',
    }),
  ),
  ...roleTargets.map(([label, role]) =>
    sqlAttack(`SET SESSION AUTHORIZATION ${label}`, {
      steps: (ctx) => [`SET SESSION AUTHORIZATION ${ident(role(ctx))}`, everything(ctx)],
      witness: 'reads',
    }),
  ),
  sqlAttack("set_config('role', B's login)", {
    steps: (ctx) => [`SELECT set_config('role', ${lit(ctx.victim.names.app)}, false)`, everything(ctx)],
    witness: 'reads',
  }),
  refusedAttack("GRANT B's login TO self", (ctx) => [`GRANT ${ident(ctx.victim.names.app)} TO CURRENT_USER`]),
  refusedAttack('GRANT tenants group TO self WITH SET', (ctx) => [
    `GRANT ${ident(sharedTenants(ctx))} TO CURRENT_USER WITH SET TRUE`,
  ]),
  refusedAttack("ALTER ROLE B's login PASSWORD", (ctx) => [
    `ALTER ROLE ${ident(ctx.victim.names.app)} PASSWORD 'mine'`,
  ]),
  // The shared policy reads the tenant id out of current_user: a new name would be a new tenant.
  refusedAttack('rename own login to a new tenant', (ctx) => [
    `ALTER ROLE ${ident(ctx.attacker.names.app)} RENAME TO ${ident(tenantObjectNames(randomUUID()).app)}`,
  ]),
  refusedAttack('ALTER ROLE self BYPASSRLS', () => ['ALTER ROLE CURRENT_USER BYPASSRLS']),
  {
    name: 'ALTER ROLE self SET role = B, reconnect',
    attempt: async (ctx) => {
      try {
        await withClient(ctx.attacker.url, (client) =>
          client.query(`ALTER ROLE CURRENT_USER SET role = ${lit(ctx.victim.names.app)}`),
        );
        return await withClient(ctx.attacker.url, (client) => runSteps(client, [everything(ctx)]));
      } finally {
        await withAdminClient(ctx.adminUrl('postgres'), (admin) =>
          admin.query(`ALTER ROLE ${ident(ctx.attacker.names.app)} RESET role`),
        );
      }
    },
    witness: async (ctx) => {
      try {
        await withClient(ctx.victim.url, (client) =>
          client.query(`ALTER ROLE CURRENT_USER SET role = ${lit(ctx.victim.names.app)}`),
        );
        await expectReads(ctx, [everything(ctx)]);
      } finally {
        await withAdminClient(ctx.adminUrl('postgres'), (admin) =>
          admin.query(`ALTER ROLE ${ident(ctx.victim.names.app)} RESET role`),
        );
      }
    },
  },
  ...(['role', 'session_authorization'] as const).map(
    (setting): Attack => ({
      name: `connect with -c ${setting}=B`,
      attempt: (ctx) =>
        withClient(ctx.attacker.url, (client) => runSteps(client, [everything(ctx)]), {
          options: `-c ${setting}=${ctx.victim.names.app}`,
        }),
      witness: async (ctx) => {
        await withClient(
          ctx.victim.url,
          async (client) =>
            expect(flatten(await runSteps(client, [everything(ctx)]))).toContain(ctx.victim.token),
          { options: `-c ${setting}=${ctx.victim.names.app}` },
        );
      },
    }),
  ),

  // Session settings.
  sqlAttack("set_config('app.tenant_id', B)", {
    steps: (ctx) => [
      `SELECT set_config('app.tenant_id', ${lit(ctx.victim.tenant.id)}, false)`,
      everything(ctx),
    ],
    witness: 'reads',
  }),
  sqlAttack('SET app.current_tenant = B', {
    steps: (ctx) => [`SET app.current_tenant = ${lit(ctx.victim.tenant.id)}`, everything(ctx)],
    witness: 'reads',
  }),
  sqlAttack('SET row_security = off', {
    steps: (ctx) => ['SET row_security = off', everything(ctx)],
    // B's own login is as bound by FORCE as A's; the tables' owner is not.
    witness: async (ctx) => {
      if (ctx.mode !== 'shared') return expectReads(ctx, ['SET row_security = off', everything(ctx)]);
      await withAdminClient(ctx.adminUrl(ctx.victim.placement.database), async (admin) => {
        await admin.query('BEGIN');
        try {
          await admin.query(`SET LOCAL ROLE ${ident(sharedOwner(ctx))}`);
          await admin.query('SET LOCAL row_security = off');
          expect(flatten((await admin.query(everything(ctx))).rows)).toContain(ctx.victim.token);
        } finally {
          await admin.query('ROLLBACK');
        }
      });
    },
  }),
  refusedAttack('SET session_replication_role = replica', (ctx) => [
    'SET session_replication_role = replica',
    `DELETE FROM ${ctx.table('orders')} WHERE tenant_id = ${lit(ctx.victim.tenant.id)}`,
  ]),

  // Names: search_path, schema-qualified, other databases.
  sqlAttack("SET search_path to B's schema", {
    steps: (ctx) => [`SET search_path TO ${ident(ctx.victim.names.schema)}, extensions`, unqualified()],
    witness: 'reads',
  }),
  sqlAttack('SET search_path to public', {
    steps: () => ['SET search_path TO public, extensions', unqualified()],
    witness: 'reads',
  }),
  sqlAttack(`"t_<B>".orders, qualified`, {
    steps: (ctx) => [
      READ_TABLES.map((table) => `SELECT to_jsonb(x) FROM ${ident(ctx.victim.names.schema)}.${table} x`).join(
        '\nUNION ALL ',
      ),
    ],
    witness: 'reads',
  }),
  // PostgreSQL accepts the current database's own name here, so in shared mode this is A's table.
  sqlAttack("database-qualified name of B's table", {
    steps: (ctx) => [
      `SELECT to_jsonb(x) FROM ${ident(ctx.victim.placement.database)}.${ident(ctx.victim.placement.schema)}.orders x`,
    ],
    witness: 'reads',
  }),
  sqlAttack("connect to B's database", {
    database: (ctx) => ctx.victim.placement.database,
    steps: (ctx) => [everything(ctx)],
    witness: 'reads',
  }),
  sqlAttack('connect to the shared database', {
    database: (ctx) => ctx.databases.shared,
    steps: (ctx) => [everything(ctx)],
    witness: 'reads',
  }),
  sqlAttack('connect to the schemas database', {
    database: (ctx) => ctx.databases.schemas,
    steps: (ctx) => [everything(ctx)],
    witness: 'reads',
  }),
  refusedAttack(
    'connect to the fleet database',
    () => ['SELECT to_jsonb(p) FROM tenant_placements p'],
    (ctx) => ctx.databases.fleet,
  ),
  {
    name: "B's login with A's password",
    attempt: (ctx) => {
      const url = new URL(ctx.victim.url);
      url.password = ctx.attacker.password;
      return withClient(url.toString(), (client) => runSteps(client, [everything(ctx)]));
    },
  },

  // Objects over B's tables.
  refusedAttack('CREATE FUNCTION over B', (ctx) => [
    `CREATE FUNCTION steal() RETURNS SETOF jsonb LANGUAGE sql SECURITY DEFINER
       AS $$ SELECT to_jsonb(x) FROM ${ctx.table('orders')} x $$`,
  ]),
  refusedAttack('CREATE FUNCTION pg_temp.f over B', (ctx) => [
    `CREATE FUNCTION pg_temp.steal() RETURNS SETOF jsonb LANGUAGE sql
       AS $$ SELECT to_jsonb(x) FROM ${ctx.table('orders')} x $$`,
  ]),
  refusedAttack('CREATE VIEW over B', (ctx) => [`CREATE VIEW steal AS ${everything(ctx)}`]),
  refusedAttack('CREATE TEMP VIEW over B', (ctx) => [`CREATE TEMP VIEW steal AS ${everything(ctx)}`]),
  refusedAttack('CREATE TABLE AS over B', (ctx) => [`CREATE TABLE steal AS ${everything(ctx)}`]),
  refusedAttack('CREATE TEMP TABLE AS over B', (ctx) => [`CREATE TEMP TABLE steal AS ${everything(ctx)}`]),
  refusedAttack('CREATE TRIGGER on orders', (ctx) => [
    `CREATE TRIGGER steal BEFORE UPDATE ON ${ctx.table('orders')}
       FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change()`,
  ]),
  refusedAttack('CREATE SCHEMA', () => ['CREATE SCHEMA steal']),
  refusedAttack('CREATE EXTENSION dblink', () => ['CREATE EXTENSION dblink']),
  refusedAttack('CREATE STATISTICS on orders', (ctx) => [
    `CREATE STATISTICS steal (mcv) ON email, status FROM ${ctx.table('orders')}`,
  ]),

  // Row-level security and its policy function.
  refusedAttack('CREATE POLICY USING (true)', (ctx) => [
    `CREATE POLICY steal ON ${ctx.table('orders')} USING (true)`,
  ]),
  refusedAttack('ALTER POLICY tenant_isolation', (ctx) => [
    `ALTER POLICY tenant_isolation ON ${ctx.table('orders')} USING (true)`,
  ]),
  refusedAttack('DROP POLICY tenant_isolation', (ctx) => [
    `DROP POLICY tenant_isolation ON ${ctx.table('orders')}`,
  ]),
  refusedAttack('DISABLE ROW LEVEL SECURITY', (ctx) => [
    `ALTER TABLE ${ctx.table('orders')} DISABLE ROW LEVEL SECURITY`,
  ]),
  refusedAttack('NO FORCE ROW LEVEL SECURITY', (ctx) => [
    `ALTER TABLE ${ctx.table('orders')} NO FORCE ROW LEVEL SECURITY`,
  ]),
  refusedAttack('ALTER TABLE OWNER TO self', (ctx) => [
    `ALTER TABLE ${ctx.table('orders')} OWNER TO CURRENT_USER`,
  ]),
  sqlAttack('GRANT SELECT on orders TO self', {
    // Without the grant option PostgreSQL only warns; what matters is what A reads after it.
    steps: (ctx) => [`GRANT SELECT ON ${ctx.table('orders')} TO CURRENT_USER`, everything(ctx)],
    witness: 'reads',
  }),
  // Row-level security does not apply to TRUNCATE. Products cascade to variants, stock and
  // order lines, none of which an append-only trigger guards: only the privilege stands here.
  refusedAttack('TRUNCATE products CASCADE', (ctx) => [`TRUNCATE ${ctx.table('products')} CASCADE`]),
  refusedAttack('ALTER FUNCTION login_tenant_id', () => [
    'ALTER FUNCTION public.login_tenant_id() OWNER TO CURRENT_USER',
  ]),
  refusedAttack('CREATE OR REPLACE login_tenant_id', (ctx) => [
    `CREATE OR REPLACE FUNCTION public.login_tenant_id() RETURNS uuid LANGUAGE sql STABLE
       AS $$ SELECT ${lit(ctx.victim.tenant.id)}::uuid $$`,
  ]),

  // The server's files and programs.
  refusedAttack('COPY orders TO PROGRAM', (ctx) => [`COPY ${ctx.table('orders')} TO PROGRAM 'cat > /tmp/x'`]),
  refusedAttack('COPY orders FROM PROGRAM', (ctx) => [
    `COPY ${ctx.table('orders')} FROM PROGRAM 'cat /tmp/x'`,
  ]),
  refusedAttack("COPY orders TO '/tmp/x'", (ctx) => [`COPY ${ctx.table('orders')} TO '/tmp/x'`]),
  refusedAttack("COPY orders FROM '/tmp/x'", (ctx) => [`COPY ${ctx.table('orders')} FROM '/tmp/x'`]),
  refusedAttack('pg_read_file', () => [`SELECT pg_read_file('postgresql.auto.conf')`]),
  refusedAttack('pg_ls_dir', () => [`SELECT pg_ls_dir('base')`]),
  refusedAttack('lo_import a server file', () => [`SELECT lo_import('/etc/hostname')`]),
  refusedAttack("lo_export B's large object", (ctx) => [
    `SELECT lo_export(${ctx.victim.largeObject}, '/tmp/x')`,
  ]),

  // Large objects.
  refusedAttack("lo_get B's large object", (ctx) => [`SELECT lo_get(${ctx.victim.largeObject})`]),
  refusedAttack("lo_put into B's large object", (ctx) => [
    `SELECT lo_put(${ctx.victim.largeObject}, 0, 'pwned')`,
  ]),
  refusedAttack("lo_unlink B's large object", (ctx) => [`SELECT lo_unlink(${ctx.victim.largeObject})`]),
  refusedAttack('SET lo_compat_privileges = on', (ctx) => [
    'SET lo_compat_privileges = on',
    `SELECT lo_get(${ctx.victim.largeObject})`,
  ]),
  sqlAttack('read every large object', {
    steps: () => ['SELECT oid, lo_get(oid) FROM pg_largeobject_metadata ORDER BY oid'],
    witness: 'reads',
  }),
  refusedAttack('SELECT pg_largeobject', () => ['SELECT loid, data FROM pg_largeobject']),

  // Monitoring views and statistics.
  sqlAttack("pg_stat_activity during B's query", {
    steps: () => ['SELECT to_jsonb(a) FROM pg_stat_activity a'],
    around: (ctx, fn) => withVictimQuery(ctx, fn),
    witness: 'reads',
  }),
  sqlAttack('pg_stat_get_activity(NULL)', {
    steps: () => ['SELECT to_jsonb(a) FROM pg_stat_get_activity(NULL) a'],
    around: (ctx, fn) => withVictimQuery(ctx, fn),
    witness: 'reads',
  }),
  {
    name: "pg_terminate_backend(B's session)",
    attempt: (ctx) =>
      withVictimQuery(ctx, async (pid) => {
        const result = await withClient(ctx.attacker.url, (client) =>
          client.query('SELECT pg_terminate_backend($1) AS terminated', [pid]),
        );
        // Not a read, but ending B's sessions at will is a breach all the same.
        expect(result.rows[0]?.terminated).toBe(false);
        return result.rows;
      }),
  },
  sqlAttack('pg_stats after ANALYZE', {
    steps: () => [
      `SELECT to_jsonb(s) FROM pg_stats s WHERE schemaname NOT IN ('pg_catalog', 'information_schema')`,
    ],
    around: (ctx, fn) => withStatistics(ctx, fn),
    // In shared mode B cannot read them either (pg_stats hides tables under RLS); the
    // superuser, who can, must find B's values in them.
    witness: (ctx) =>
      withStatistics(ctx, () =>
        withAdminClient(ctx.adminUrl(ctx.victim.placement.database), async (admin) => {
          const stats = await admin.query(
            `SELECT to_jsonb(s) FROM pg_stats s WHERE schemaname = $1 AND tablename = 'orders'`,
            [ctx.victim.placement.schema],
          );
          expect(flatten(stats.rows)).toContain(ctx.victim.token);
        }),
      ),
  }),
  refusedAttack('SELECT pg_statistic', () => ['SELECT * FROM pg_statistic']),
  {
    name: "EXPLAIN row estimates of B's values",
    attempt: async (ctx) => {
      for (const side of [ctx.attacker, ctx.victim]) {
        await withAdminClient(ctx.adminUrl(side.placement.database), (admin) => admin.query('ANALYZE'));
      }
      const found = await estimates(ctx.attacker.url, ctx);
      // Different estimates for B's email (or B's tenant id) than for unused ones would
      // confirm a guess, and bisecting with < would read values out of the histogram.
      expect(found, 'planner estimates must not depend on B').toSatisfy(
        (value) => !distinguishes(value as typeof found),
      );
      return found;
    },
    witness: async (ctx) => {
      if (ctx.mode !== 'shared') {
        expect(distinguishes(await estimates(ctx.victim.url, ctx))).toBe(true);
        return;
      }
      // With column statistics back on the shared table, the same probe by A does tell.
      await withStatistics(ctx, async () => {
        expect(distinguishes(await estimates(ctx.attacker.url, ctx))).toBe(true);
      });
    },
  },
];

async function expectReads(ctx: AttackContext, steps: string[]): Promise<void> {
  await withClient(ctx.victim.url, async (client) => {
    expect(flatten(await runSteps(client, steps))).toContain(ctx.victim.token);
  });
}

async function copyOut(url: string, statement: string): Promise<string> {
  return withClient(url, async (client) => {
    const stream = client.query(copyTo(statement));
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  });
}

/**
 * The last attempt: A's password was rotated (the data plane lost or leaked it), so the old
 * URL must not connect any more. Updates the context with the new credentials.
 */
export const rotatedPassword: Attack = {
  name: "A's rotated (old) password",
  attempt: async (ctx) => {
    const old = ctx.attacker.url;
    const rotated = await ctx.provisioner.rotateCredentials(ctx.attacker.tenant.id);
    if (!rotated.credentials) throw new Error('rotation returned no credentials');
    ctx.attacker.url = rotated.credentials.url;
    ctx.attacker.password = rotated.credentials.password;
    await withClient(ctx.attacker.url, (client) => client.query('SELECT 1'));
    return withClient(old, (client) => runSteps(client, [everything(ctx)]));
  },
};
