import {
  bigint,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uuid,
} from 'drizzle-orm/pg-core';

/**
 * The provisioner's own bookkeeping, in the fleet database on the default server: where each
 * tenant's data lives, every backup run, and the progress of fleet-wide migration runs.
 * Credentials are never stored here.
 */
export const tenantPlacements = pgTable('tenant_placements', {
  tenantId: uuid('tenant_id').primaryKey(),
  slug: text('slug').notNull(),
  mode: text('mode', { enum: ['shared', 'schema', 'database'] }).notNull(),
  /** Server name from the provisioner's configuration; `default` is the admin URL's server. */
  server: text('server').notNull(),
  database: text('database').notNull(),
  schema: text('schema').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

export const backupLogs = pgTable(
  'backup_logs',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tenantId: uuid('tenant_id').notNull(),
    kind: text('kind', { enum: ['backup', 'restore', 'prune'] }).notNull(),
    status: text('status', { enum: ['running', 'succeeded', 'failed'] }).notNull(),
    startedAt: timestamp('started_at', { withTimezone: true }).notNull().defaultNow(),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
    /** Object key in the backup store. */
    path: text('path'),
    sizeBytes: bigint('size_bytes', { mode: 'number' }),
    rows: bigint('rows', { mode: 'number' }),
    error: text('error'),
    detail: jsonb('detail').$type<Record<string, unknown>>(),
  },
  (table) => [index('backup_logs_tenant_started').on(table.tenantId, table.startedAt)],
);

export const fleetMigrationRuns = pgTable('fleet_migration_runs', {
  id: uuid('id').primaryKey().defaultRandom(),
  /** The newest migration (`when`) the run brings every tenant to. */
  target: bigint('target', { mode: 'number' }).notNull(),
  total: integer('total').notNull(),
  done: integer('done').notNull().default(0),
  failed: integer('failed').notNull().default(0),
  startedAt: timestamp('started_at', { withTimezone: true }).notNull().defaultNow(),
  finishedAt: timestamp('finished_at', { withTimezone: true }),
});

/** One row per tenant of a run: a resumed run skips the tenants already done. */
export const fleetMigrationTenants = pgTable(
  'fleet_migration_tenants',
  {
    runId: uuid('run_id')
      .notNull()
      .references(() => fleetMigrationRuns.id, { onDelete: 'cascade' }),
    tenantId: uuid('tenant_id').notNull(),
    status: text('status', { enum: ['pending', 'done', 'failed'] })
      .notNull()
      .default('pending'),
    error: text('error'),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
  },
  (table) => [primaryKey({ name: 'fleet_migration_tenants_pk', columns: [table.runId, table.tenantId] })],
);
