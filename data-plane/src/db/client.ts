import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import * as schema from './schema.ts';

export type Database = NodePgDatabase<typeof schema> & { $client: pg.Pool };
export type Tx = Parameters<Parameters<Database['transaction']>[0]>[0];
export type Queryable = Database | Tx;

export function connect(
  url: string,
  maxConnections = 20,
  onIdleError: (error: Error) => void = (error) => console.error(`data-plane database: ${error.message}`),
): { db: Database; pool: pg.Pool } {
  const pool = new pg.Pool({ connectionString: url, max: maxConnections });
  // An idle connection dropped by the server is discarded by the pool; without a listener
  // the 'error' event would crash the process.
  pool.on('error', onIdleError);
  return { db: drizzle(pool, { schema }), pool };
}
