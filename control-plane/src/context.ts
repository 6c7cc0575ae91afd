import type { TenantResourcesView } from './cluster/view.ts';
import type { Config } from './config.ts';
import type { Database } from './db/client.ts';

/** What every service function needs: the database and the validated configuration. */
export interface ServiceContext {
  db: Database;
  config: Config;
  /** The sync with the cluster's Tenant resources; absent unless KUBERNETES_SYNC is on. */
  tenantResources?: TenantResourcesView;
}
