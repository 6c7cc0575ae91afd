import { TENANT_API_VERSION, TENANT_KIND, type Tenant, type TenantSpec } from '@amanat/cdk8s/tenant-crd';
import type { Config } from '../config.ts';
import type { TenantRow } from '../tenants/queries.ts';
import type { TenantTier } from '../tenants/schema.ts';

/** The field manager of every write the control plane makes to a Tenant resource. */
export const CONTROL_PLANE_FIELD_MANAGER = 'amanat-control-plane';
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
/** Ops name the owner of a Tenant they create with kubectl here; the control plane adopts it for them. */
export const OWNER_EMAIL_ANNOTATION = 'shops.amn.gg/owner-email';

/** Data-plane pods a new shop starts with: a second one survives a node drain, the bigger plans get a third. */
export const replicasByTier: Record<TenantTier, number> = {
  hosted_seller: 1,
  white_label: 2,
  isolated: 2,
  enterprise: 3,
};

/** A Tenant as the API server returns it: the CRD's fields plus the object metadata the control plane reads. */
export type TenantResource = Tenant & {
  metadata: Tenant['metadata'] & {
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    /** Typed as the client's metadata has it; a custom object's is really the ISO string. */
    deletionTimestamp?: Date;
  };
};

export type ClusterSettings = Pick<Config, 'SHOPS_DOMAIN' | 'DATA_PLANE_VERSION'>;

/** Whether the registry wants a Tenant resource for this tenant: only once it is approved, and until it is closed. */
export function wantsTenantResource(tenant: Pick<TenantRow, 'status'>): boolean {
  return tenant.status === 'active' || tenant.status === 'suspended';
}

export const platformHost = (slug: string, settings: ClusterSettings) => `${slug}.${settings.SHOPS_DOMAIN}`;

/**
 * The spec fields the registry decides. The control plane applies exactly these, so it owns
 * exactly these: the data-plane version, replicas, resources, backups, the database server and
 * any further hosts belong to whoever set them (ops, a release), and a re-apply never reverts them.
 */
export type RegistrySpec = Pick<
  TenantSpec,
  'tenantId' | 'slug' | 'displayName' | 'tier' | 'hosts' | 'suspended'
> & { isolation: { mode: TenantSpec['isolation']['mode'] } };

export function registrySpec(tenant: TenantRow, settings: ClusterSettings): RegistrySpec {
  return {
    tenantId: tenant.id,
    slug: tenant.slug,
    displayName: tenant.displayName,
    tier: tenant.tier,
    isolation: { mode: tenant.isolationMode },
    // The control plane has no custom hostnames yet; `hosts` is a set, so hosts ops add stay theirs.
    hosts: [platformHost(tenant.slug, settings)],
    suspended: tenant.status === 'suspended',
  };
}

/** The server-side apply body: the registry's fields only (see `RegistrySpec`). */
export function registryApplyBody(tenant: TenantRow, settings: ClusterSettings) {
  return {
    apiVersion: TENANT_API_VERSION,
    kind: TENANT_KIND,
    metadata: { name: tenant.slug },
    spec: registrySpec(tenant, settings),
  };
}

/**
 * A new Tenant resource: the registry's fields plus the starting data-plane release and
 * replicas. It is created, not applied, so those starting values are not owned by the
 * control plane's apply and later applies leave them to ops.
 */
export function newTenantResource(tenant: TenantRow, settings: ClusterSettings): TenantResource {
  return {
    apiVersion: TENANT_API_VERSION,
    kind: TENANT_KIND,
    metadata: { name: tenant.slug, labels: { [MANAGED_BY_LABEL]: CONTROL_PLANE_FIELD_MANAGER } },
    spec: {
      ...registrySpec(tenant, settings),
      dataPlane: { version: settings.DATA_PLANE_VERSION, replicas: replicasByTier[tenant.tier] },
    },
  };
}

/**
 * The first registry field the live resource holds differently (`spec.displayName`), or null
 * when it is in step. Hosts are a set: the platform host must be among them, others may join.
 */
export function registryDrift(
  live: TenantResource,
  tenant: TenantRow,
  settings: ClusterSettings,
): string | null {
  const desired = registrySpec(tenant, settings);
  const spec = live.spec;
  if (spec.tenantId !== desired.tenantId) return 'spec.tenantId';
  if (spec.slug !== desired.slug) return 'spec.slug';
  if (spec.displayName !== desired.displayName) return 'spec.displayName';
  if (spec.tier !== desired.tier) return 'spec.tier';
  if (spec.isolation?.mode !== desired.isolation.mode) return 'spec.isolation.mode';
  if (!desired.hosts.every((host) => spec.hosts?.includes(host))) return 'spec.hosts';
  if ((spec.suspended ?? false) !== desired.suspended) return 'spec.suspended';
  return null;
}
