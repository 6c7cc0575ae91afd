/** Isolation modes, weakest first: a tenant only ever moves to the right (the tier upgrade). */
export const ISOLATION_MODES = ['shared', 'schema', 'database'] as const;
export type IsolationMode = (typeof ISOLATION_MODES)[number];

export function isStrongerMode(from: IsolationMode, to: IsolationMode): boolean {
  return ISOLATION_MODES.indexOf(to) > ISOLATION_MODES.indexOf(from);
}

export interface TenantRef {
  id: string;
  slug: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A tenant id as the provisioner takes it: a lower-case uuid. */
export const isTenantId = (id: string): boolean => UUID.test(id);
const SLUG = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export function checkTenant(tenant: TenantRef): TenantRef {
  const id = tenant.id.toLowerCase();
  if (!UUID.test(id)) throw new Error(`tenant id ${JSON.stringify(tenant.id)} is not a uuid`);
  if (!SLUG.test(tenant.slug))
    throw new Error(`tenant slug ${JSON.stringify(tenant.slug)} is not a DNS label`);
  return { id, slug: tenant.slug };
}

/**
 * PostgreSQL object names of one tenant. They derive from the tenant id (immutable, 32 hex
 * digits) rather than the slug, so every name fits PostgreSQL's 63-byte limit and never needs
 * quoting tricks. The shared-mode row policy reads the tenant id back out of the login name.
 */
export function tenantObjectNames(tenantId: string) {
  const hex = tenantId.toLowerCase().replaceAll('-', '');
  return {
    /** The data plane's login: DML only. */
    app: `t_${hex}_app`,
    /** Owns the tenant's schema or database; NOLOGIN, used by the provisioner through SET ROLE. */
    owner: `t_${hex}_owner`,
    /** Schema mode: the tenant's schema in the schemas database. */
    schema: `t_${hex}`,
    /** Database mode: the tenant's own database. */
    database: `shop_${hex}`,
  };
}

/** The shared-mode login name pattern; the row policy trusts nothing else. */
export const SHARED_LOGIN_PATTERN = '^t_[0-9a-f]{32}_app$';

/** Two 32-bit halves for `pg_advisory_lock(int, int)`: (what, which tenant). */
export function tenantLockKey(lockClass: number, tenantId: string): [number, number] {
  return [lockClass, Number.parseInt(tenantId.replaceAll('-', '').slice(0, 8), 16) | 0];
}
