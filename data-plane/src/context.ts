import type { DataPlaneConfig } from './config.ts';
import type { Database } from './db/client.ts';

/** What every service function needs: the database, the configuration and whose shop this is. */
export interface ServiceContext {
  db: Database;
  config: DataPlaneConfig;
  /** The one tenant this data plane serves; every query filters on it. */
  tenantId: string;
}
