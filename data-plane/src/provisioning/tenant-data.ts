import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { inTransaction, quoteIdent, quoteLiteral } from './servers.ts';
import { tenantTables } from './tenant-tables.ts';

export interface TableSummary {
  name: string;
  columns: string[];
  rows: number;
  /** Order-independent sum of the rows' md5s: equal on both sides iff the rows are (for practical purposes). */
  checksum: string;
}

/** Column names of a table, in table order; the same list is used on both ends of every copy. */
export async function tableColumns(client: pg.Client, schema: string, table: string): Promise<string[]> {
  const result = await client.query<{ column_name: string }>(
    `SELECT column_name FROM information_schema.columns
      WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position`,
    [schema, table],
  );
  if (result.rows.length === 0) throw new Error(`table ${schema}.${table} does not exist`);
  return result.rows.map((row) => row.column_name);
}

function selectTenantRows(schema: string, table: string, columns: string[], tenantId: string): string {
  // COPY takes no bind parameters; the tenant id is a checked uuid, quoted as a literal anyway.
  return `SELECT ${columns.map(quoteIdent).join(', ')} FROM ${quoteIdent(schema)}.${quoteIdent(table)}
           WHERE tenant_id = ${quoteLiteral(tenantId)}`;
}

export async function summarizeTable(
  client: pg.Client,
  schema: string,
  table: string,
  columns: string[],
  tenantId: string,
): Promise<TableSummary> {
  const result = await client.query<{ rows: string; checksum: string }>(
    `SELECT count(*)::text AS rows,
            coalesce(sum(('x' || substr(md5(r::text), 1, 16))::bit(64)::bigint::numeric), 0)::text AS checksum
       FROM (${selectTenantRows(schema, table, columns, tenantId)}) r`,
  );
  const row = result.rows[0];
  return { name: table, columns, rows: Number(row?.rows ?? 0), checksum: row?.checksum ?? '0' };
}

/** Streams one tenant's rows of one table out as COPY text. */
export function copyOut(
  client: pg.Client,
  schema: string,
  table: string,
  columns: string[],
  tenantId: string,
): Readable {
  return client.query(copyTo(`COPY (${selectTenantRows(schema, table, columns, tenantId)}) TO STDOUT`));
}

/** A COPY text sink into one table; run under `session_replication_role = replica` (see importTenantRows). */
export function copyIn(client: pg.Client, schema: string, table: string, columns: string[]): Writable {
  return client.query(
    copyFrom(
      `COPY ${quoteIdent(schema)}.${quoteIdent(table)} (${columns.map(quoteIdent).join(', ')}) FROM STDIN`,
    ),
  );
}

/**
 * One consistent view of a database for a series of short transactions. A coordinator
 * transaction exports its snapshot and touches no table; each unit of work then runs in
 * its own REPEATABLE READ transaction on that snapshot. So every table is read as of one
 * instant, yet each table's lock (ACCESS SHARE, which only blocks DDL) is held only while
 * that one table is read, not for the whole backup.
 */
export async function withSnapshot<T>(
  connect: () => Promise<pg.Client>,
  fn: (inSnapshot: <R>(work: (client: pg.Client) => Promise<R>) => Promise<R>) => Promise<T>,
): Promise<T> {
  const coordinator = await connect();
  const worker = await connect();
  try {
    await coordinator.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const exported = await coordinator.query<{ id: string }>('SELECT pg_export_snapshot() AS id');
    const snapshot = exported.rows[0]?.id as string;
    return await fn(async (work) => {
      await worker.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      try {
        await worker.query(`SET TRANSACTION SNAPSHOT ${quoteLiteral(snapshot)}`);
        const result = await work(worker);
        await worker.query('COMMIT');
        return result;
      } catch (error) {
        await worker.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
    });
  } finally {
    await coordinator.query('ROLLBACK').catch(() => undefined);
    await Promise.all([coordinator.end(), worker.end()]);
  }
}

/**
 * Moves each bigserial sequence of `schema` forward past the highest id now in its table,
 * never backward: in a shared database other tenants keep drawing from the same sequences.
 */
export async function advanceSequences(client: pg.Client, schema: string): Promise<void> {
  for (const table of tenantTables) {
    for (const column of table.serialColumns) {
      const qualified = `${quoteIdent(schema)}.${quoteIdent(table.name)}`;
      await client.query(
        `SELECT CASE WHEN top > nextval(seq::regclass) THEN setval(seq::regclass, top) END
           FROM pg_get_serial_sequence($1, $2) AS seq,
                (SELECT coalesce(max(${quoteIdent(column)}), 0) AS top FROM ${qualified}) AS m`,
        [qualified, column],
      );
    }
  }
}

/**
 * Summarises every tenant table of a location for one tenant: the verification half of a
 * tier move and of a restore. Must run inside a snapshot (or with writes paused) to be exact.
 */
export async function summarizeTenant(
  client: pg.Client,
  schema: string,
  tenantId: string,
): Promise<TableSummary[]> {
  const summaries: TableSummary[] = [];
  for (const { name } of tenantTables) {
    summaries.push(
      await summarizeTable(client, schema, name, await tableColumns(client, schema, name), tenantId),
    );
  }
  return summaries;
}

/**
 * Copies one tenant's rows of the given tables from a snapshot of the source into the
 * target, in one target transaction with triggers off (`replica`): the rows come from one
 * consistent snapshot, so foreign keys already hold, and the append-only and ledger
 * triggers guard the application's writes, not a copy of rows they already accepted.
 */
export async function copyTenantTables(
  inSnapshot: <R>(work: (client: pg.Client) => Promise<R>) => Promise<R>,
  source: { schema: string },
  target: { client: pg.Client; schema: string },
  tenantId: string,
  tables: readonly string[],
): Promise<TableSummary[]> {
  const summaries: TableSummary[] = [];
  await inTransaction(target.client, async () => {
    await target.client.query('SET LOCAL session_replication_role = replica');
    for (const table of tables) {
      const columns = await tableColumns(target.client, target.schema, table);
      await target.client.query(
        `DELETE FROM ${quoteIdent(target.schema)}.${quoteIdent(table)} WHERE tenant_id = $1`,
        [tenantId],
      );
      const summary = await inSnapshot(async (client) => {
        await pipeline(
          copyOut(client, source.schema, table, columns, tenantId),
          copyIn(target.client, target.schema, table, columns),
        );
        return summarizeTable(client, source.schema, table, columns, tenantId);
      });
      summaries.push(summary);
    }
    await advanceSequences(target.client, target.schema);
  });
  return summaries;
}
