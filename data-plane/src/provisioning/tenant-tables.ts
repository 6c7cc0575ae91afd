import { is } from 'drizzle-orm';
import { getTableConfig, PgTable } from 'drizzle-orm/pg-core';
import * as schema from '../db/schema.ts';

export interface TenantTable {
  name: string;
  /** Its bigserial columns: their sequences must be moved past copied-in values. */
  serialColumns: string[];
}

/**
 * Every table of the data plane's schema. Each carries `tenant_id` (checked by a test
 * against a migrated database), so one tenant's rows are `WHERE tenant_id = …` in every
 * isolation mode: backups, restores and tier moves use this one list.
 */
export const tenantTables: readonly TenantTable[] = (Object.values(schema) as unknown[])
  .filter((value): value is PgTable => is(value, PgTable))
  .map((table) => {
    const config = getTableConfig(table);
    return {
      name: config.name,
      serialColumns: config.columns
        .filter((column) => column.columnType.includes('Serial'))
        .map((column) => column.name),
    };
  })
  .sort((a, b) => a.name.localeCompare(b.name));
