import type { Brand } from '@amanat/kit/brand';
import { problem } from '@amanat/kit/http/problem';
import { findUserByEmail } from '../accounts/queries.ts';
import { normalizeEmail } from '../accounts/service.ts';
import { type Actor, recordAudit } from '../audit/record.ts';
import type { ServiceContext } from '../context.ts';
import type { Tx } from '../db/client.ts';
import { insertMember } from '../tenant-roles/queries.ts';
import { insertTenant, lockTenant, type TenantRow, updateTenant } from './queries.ts';
import type { IsolationMode, TenantFeatures, TenantTier } from './schema.ts';
import { nextTenantStatus, type TenantAction } from './status.ts';
import { assertValidTenantSettings } from './validation.ts';

export interface TenantInput {
  slug: string;
  display_name: string;
  tier: TenantTier;
  isolation_mode?: IsolationMode;
  brand?: Brand | null;
  features?: TenantFeatures;
  locale?: string;
  timezone?: string;
  currency?: string;
}

export type TenantSettingsPatch = Partial<
  Pick<TenantInput, 'display_name' | 'brand' | 'features' | 'locale' | 'timezone' | 'currency'>
>;

/** A tier implies its isolation unless one is asked for explicitly. */
export const defaultIsolationByTier: Record<TenantTier, IsolationMode> = {
  hosted_seller: 'shared',
  white_label: 'schema',
  isolated: 'database',
  enterprise: 'database',
};

export const defaultFeatures: TenantFeatures = {
  login_methods: ['email_password'],
  disclose_platform: false,
};

export function publicTenant(tenant: TenantRow) {
  return {
    id: tenant.id,
    slug: tenant.slug,
    display_name: tenant.displayName,
    owner_id: tenant.ownerId,
    tier: tenant.tier,
    status: tenant.status,
    status_reason: tenant.statusReason,
    isolation_mode: tenant.isolationMode,
    brand: tenant.brand,
    features: tenant.features,
    locale: tenant.locale,
    timezone: tenant.timezone,
    currency: tenant.currency,
    created_at: tenant.createdAt.toISOString(),
    updated_at: tenant.updatedAt.toISOString(),
    status_changed_at: tenant.statusChangedAt.toISOString(),
  };
}

/**
 * The registry changed and committed: bring the tenant's Tenant resource in step, in the
 * background. A write that fails or never happens (a crash right here) is made by the sync's
 * next periodic pass, so the request never waits on the cluster.
 */
function afterCommit(ctx: ServiceContext, tenant: TenantRow): TenantRow {
  ctx.tenantResources?.tenantChanged(tenant);
  return tenant;
}

async function insertTenantWithOwner(
  tx: Tx,
  actor: Actor,
  input: TenantInput,
  ownerId: string,
  status: 'pending' | 'active',
  action: string,
): Promise<TenantRow> {
  assertValidTenantSettings(input);
  const tenant = await insertTenant(tx, {
    slug: input.slug,
    displayName: input.display_name,
    ownerId,
    tier: input.tier,
    status,
    isolationMode: input.isolation_mode ?? defaultIsolationByTier[input.tier],
    brand: input.brand ?? null,
    features: input.features ?? defaultFeatures,
    locale: input.locale ?? 'en',
    timezone: input.timezone ?? 'UTC',
    currency: input.currency ?? 'USD',
  });
  if (!tenant) throw problem.conflict('slug-taken', `The slug "${input.slug}" is already taken.`);
  await insertMember(tx, { tenantId: tenant.id, userId: ownerId, role: 'owner', grantedBy: actor.userId });
  await recordAudit(tx, actor, {
    action,
    targetType: 'tenant',
    targetId: tenant.id,
    tenantId: tenant.id,
    after: publicTenant(tenant),
  });
  return tenant;
}

/** A seller asks for a shop; it stays pending until a platform admin approves it. */
export function requestTenant(ctx: ServiceContext, actor: Actor, input: TenantInput): Promise<TenantRow> {
  return ctx.db.transaction((tx) =>
    insertTenantWithOwner(tx, actor, input, actor.userId as string, 'pending', 'tenant.requested'),
  );
}

/** A platform admin creates a shop for an existing account, active at once. */
export async function createTenant(
  ctx: ServiceContext,
  actor: Actor,
  input: TenantInput & { owner_email: string },
): Promise<TenantRow> {
  const tenant = await ctx.db.transaction(async (tx) => {
    const owner = await findUserByEmail(tx, normalizeEmail(input.owner_email));
    if (!owner) {
      throw problem.validation('body.owner_email has no account', [
        { field: 'body.owner_email', message: 'has no platform account; the owner must register first' },
      ]);
    }
    return insertTenantWithOwner(tx, actor, input, owner.id, 'active', 'tenant.created');
  });
  return afterCommit(ctx, tenant);
}

export async function transitionTenant(
  ctx: ServiceContext,
  actor: Actor,
  tenantId: string,
  action: TenantAction,
  reason: string | null,
): Promise<TenantRow> {
  const transitioned = await ctx.db.transaction(async (tx) => {
    const tenant = await lockTenant(tx, tenantId);
    if (!tenant) throw problem.notFound(`No tenant ${tenantId}.`);
    const next = nextTenantStatus(tenant.status, action);
    if (!next) {
      throw problem.conflict('illegal-transition', `Cannot ${action} a tenant that is ${tenant.status}.`, {
        current_status: tenant.status,
      });
    }
    const updated = await updateTenant(tx, tenantId, {
      status: next,
      statusReason: reason,
      statusChangedAt: new Date(),
    });
    await recordAudit(tx, actor, {
      action: `tenant.${action}`,
      targetType: 'tenant',
      targetId: tenantId,
      tenantId,
      before: { status: tenant.status, status_reason: tenant.statusReason },
      after: { status: updated.status, status_reason: updated.statusReason },
      reason,
    });
    return updated;
  });
  return afterCommit(ctx, transitioned);
}

export async function updateTenantSettings(
  ctx: ServiceContext,
  actor: Actor,
  tenantId: string,
  patch: TenantSettingsPatch,
): Promise<TenantRow> {
  assertValidTenantSettings(patch);
  const updatedTenant = await ctx.db.transaction(async (tx) => {
    const tenant = await lockTenant(tx, tenantId);
    if (!tenant) throw problem.notFound(`No tenant ${tenantId}.`);
    if (tenant.status === 'closed')
      throw problem.conflict('tenant-closed', 'A closed tenant cannot be changed.');
    const updated = await updateTenant(tx, tenantId, {
      ...(patch.display_name !== undefined ? { displayName: patch.display_name } : {}),
      ...(patch.brand !== undefined ? { brand: patch.brand } : {}),
      ...(patch.features !== undefined ? { features: patch.features } : {}),
      ...(patch.locale !== undefined ? { locale: patch.locale } : {}),
      ...(patch.timezone !== undefined ? { timezone: patch.timezone } : {}),
      ...(patch.currency !== undefined ? { currency: patch.currency } : {}),
    });
    await recordAudit(tx, actor, {
      action: 'tenant.settings_updated',
      targetType: 'tenant',
      targetId: tenantId,
      tenantId,
      before: publicTenant(tenant),
      after: publicTenant(updated),
    });
    return updated;
  });
  // Only some settings reach the Tenant resource (the display name); its drift check decides.
  return afterCommit(ctx, updatedTenant);
}
