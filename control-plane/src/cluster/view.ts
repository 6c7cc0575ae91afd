import type { Tenant } from '@amanat/cdk8s/tenant-crd';
import { literals, Strict, Timestamp } from '@amanat/kit/http/schemas';
import { type Static, type TSchema, Type } from 'typebox';
import type { TenantRow } from '../tenants/queries.ts';

/*
 * What the tenant API shows of the cluster. This module stays free of the Kubernetes client
 * (its types only), so the routes and their OpenAPI document do not load it when the sync is off.
 */

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

const ClusterCondition = Strict({
  type: Type.String({ description: 'Ready, DatabaseReady, DataPlaneAvailable, Suspended or Degraded' }),
  status: literals(['True', 'False', 'Unknown']),
  reason: Type.String(),
  message: Type.String(),
  last_transition_time: Timestamp,
});

export const TenantCluster = Type.Union(
  [
    Strict({
      resource: Type.String({ description: 'The Tenant resource name (the slug).' }),
      generation: Nullable(Type.Integer()),
      observed_generation: Nullable(
        Type.Integer({ description: 'The generation the operator last reconciled.' }),
      ),
      phase: Nullable(
        Type.String({ description: 'Pending, Provisioning, Ready, Suspended, Degraded or Deleting' }),
      ),
      conditions: Type.Array(ClusterCondition),
      endpoint: Nullable(Type.String({ description: "The data plane's in-cluster URL." })),
      database: Nullable(
        Strict({
          mode: Type.String(),
          server: Type.String(),
          database: Type.String(),
          schema: Nullable(Type.String()),
          login: Type.String({ description: 'The database role (never a credential).' }),
        }),
      ),
      deleting: Type.Boolean(),
    }),
    Type.Null(),
  ],
  {
    description:
      "The tenant's Tenant resource as the operator reports it; null when it has none (pending, closed, or not created yet). Present only when the control plane syncs with Kubernetes.",
  },
);
export type TenantClusterJson = Static<typeof TenantCluster>;

/** A Tenant created with kubectl that the registry could not take in, and why. */
export interface UnadoptedTenant {
  name: string;
  tenant_id: string | null;
  reason: string;
  since: string;
}

export const UnadoptedTenantSchema = Strict({
  name: Type.String(),
  tenant_id: Nullable(Type.String()),
  reason: Type.String(),
  since: Timestamp,
});

/** What the routes and services see of the sync with the cluster (absent when it is off). */
export interface TenantResourcesView {
  /** True once the Tenant list has been read. */
  readonly hasSynced: boolean;
  /** The tenant's resource from the watch cache, never a request to the API server. */
  clusterStatusOf(tenant: Pick<TenantRow, 'id' | 'slug'>): TenantClusterJson;
  /** Called after a committed change: converges that tenant's resource in the background. */
  tenantChanged(tenant: Pick<TenantRow, 'slug'>): void;
  unadoptedTenants(): UnadoptedTenant[];
}

const isoTime = (value: unknown) => new Date(value as string).toISOString();

/** The API's view of a Tenant resource; null unless it is this tenant's (same tenant id). */
export function publicClusterStatus(
  resource: (Tenant & { metadata: { deletionTimestamp?: unknown } }) | undefined,
  tenant: Pick<TenantRow, 'id'>,
): TenantClusterJson {
  if (!resource || resource.spec?.tenantId !== tenant.id) return null;
  const status = resource.status ?? {};
  return {
    resource: resource.metadata.name,
    generation: resource.metadata.generation ?? null,
    observed_generation: status.observedGeneration ?? null,
    phase: status.phase ?? null,
    conditions: (status.conditions ?? []).map((condition) => ({
      type: condition.type,
      status: condition.status,
      reason: condition.reason,
      message: condition.message,
      last_transition_time: isoTime(condition.lastTransitionTime),
    })),
    endpoint: status.endpoint ?? null,
    database: status.database
      ? {
          mode: status.database.mode,
          server: status.database.server,
          database: status.database.database,
          schema: status.database.schema ?? null,
          login: status.database.login,
        }
      : null,
    deleting: resource.metadata.deletionTimestamp !== undefined,
  };
}
