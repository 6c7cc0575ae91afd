import { findUserByEmail } from '../accounts/queries.ts';
import { normalizeEmail } from '../accounts/service.ts';
import { type Actor, recordAudit } from '../audit/record.ts';
import type { ServiceContext } from '../context.ts';
import { insertMember } from '../tenant-roles/queries.ts';
import { findTenant, type TenantRow } from '../tenants/queries.ts';
import { defaultFeatures, publicTenant } from '../tenants/service.ts';
import { slugProblem } from '../tenants/validation.ts';
import { OWNER_EMAIL_ANNOTATION, type TenantResource } from './desired.ts';
import { findTenantBySlug, insertAdoptedTenant } from './queries.ts';

/** The actor of the audit rows the sync writes on its own: no user, no request. */
export const clusterSyncActor: Actor = {
  userId: null,
  role: null,
  requestId: 'cluster-sync',
  ip: '127.0.0.1',
};

export type AdoptionOutcome =
  | { outcome: 'adopted'; tenant: TenantRow }
  | { outcome: 'registered'; tenant: TenantRow }
  | { outcome: 'refused'; reason: string };

/**
 * Takes a Tenant resource that ops created with kubectl into the registry, so ops and the UI
 * never disagree: same id (it names the shop's database objects), slug and plan; the owner is
 * the platform account named by the `shops.amn.gg/owner-email` annotation; `active`, or
 * `suspended` when the resource is. Idempotent: a resource already in the registry is left as it is.
 */
export async function adoptTenantResource(
  ctx: ServiceContext,
  resource: TenantResource,
): Promise<AdoptionOutcome> {
  const { spec } = resource;
  return ctx.db.transaction(async (tx) => {
    const sameId = await findTenant(tx, spec.tenantId);
    if (sameId) {
      return sameId.slug === spec.slug
        ? { outcome: 'registered', tenant: sameId }
        : { outcome: 'refused', reason: `its tenantId belongs to the registered tenant "${sameId.slug}"` };
    }
    const sameSlug = await findTenantBySlug(tx, spec.slug);
    if (sameSlug) {
      // The same tenant, when another replica adopted it since the lookup above.
      return sameSlug.id === spec.tenantId
        ? { outcome: 'registered', tenant: sameSlug }
        : { outcome: 'refused', reason: `the slug "${spec.slug}" belongs to another registered tenant` };
    }
    const slugRefusal = slugProblem(spec.slug);
    if (slugRefusal) return { outcome: 'refused', reason: `its slug ${slugRefusal}` };
    const ownerEmail = resource.metadata.annotations?.[OWNER_EMAIL_ANNOTATION];
    if (!ownerEmail)
      return { outcome: 'refused', reason: `no ${OWNER_EMAIL_ANNOTATION} annotation names its owner` };
    const owner = await findUserByEmail(tx, normalizeEmail(ownerEmail));
    if (!owner) {
      return { outcome: 'refused', reason: `its owner (${OWNER_EMAIL_ANNOTATION}) has no platform account` };
    }

    const tenant = await insertAdoptedTenant(tx, {
      id: spec.tenantId,
      slug: spec.slug,
      displayName: spec.displayName,
      ownerId: owner.id,
      tier: spec.tier,
      status: spec.suspended ? 'suspended' : 'active',
      isolationMode: spec.isolation.mode,
      brand: null,
      features: defaultFeatures,
      locale: 'en',
      timezone: 'UTC',
      currency: 'USD',
    });
    if (!tenant) {
      // Another replica adopted it (or registered the slug) between the checks and the insert.
      const registered = await findTenant(tx, spec.tenantId);
      return registered
        ? { outcome: 'registered', tenant: registered }
        : { outcome: 'refused', reason: `the slug "${spec.slug}" belongs to another registered tenant` };
    }
    await insertMember(tx, { tenantId: tenant.id, userId: owner.id, role: 'owner', grantedBy: null });
    await recordAudit(tx, clusterSyncActor, {
      action: 'tenant.adopted',
      targetType: 'tenant',
      targetId: tenant.id,
      tenantId: tenant.id,
      after: publicTenant(tenant),
      reason: `Tenant resource "${resource.metadata.name}" created in the cluster`,
    });
    return { outcome: 'adopted', tenant };
  });
}
