import type { Config } from './config.ts';
import type { Database } from './db/client.ts';

/** What every service function needs: the database and the validated configuration. */
export interface ServiceContext {
  db: Database;
  config: Config;
}
