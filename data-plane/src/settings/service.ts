import { problem } from '@amanat/kit/http/problem';
import { and, eq, inArray } from 'drizzle-orm';
import { type Actor, recordAudit } from '../audit/record.ts';
import { catalogChanged } from '../catalog/queries.ts';
import { categories } from '../catalog/schema.ts';
import type { ServiceContext } from '../context.ts';
import type { Queryable } from '../db/client.ts';
import { type PaymentPolicy, shopSettings } from './schema.ts';

export type SettingsRow = typeof shopSettings.$inferSelect;

export const defaultPaymentPolicy: PaymentPolicy = {
  allowed_rails: ['amn_escrow', 'amn_direct', 'manual_invoice'],
  default_rail: 'amn_escrow',
  escrow_required_above_minor: null,
  escrow_required_category_ids: [],
};

/** Creates the tenant's settings row with defaults the first time the data plane starts. */
export async function ensureSettings(ctx: ServiceContext): Promise<void> {
  await ctx.db
    .insert(shopSettings)
    .values({
      tenantId: ctx.tenantId,
      displayName: ctx.config.TENANT_SLUG,
      features: { login_methods: ['email_password'], disclose_platform: false },
      defaultLocale: 'en',
      locales: ['en', 'fa'],
      currency: 'USD',
      timezone: 'UTC',
      paymentPolicy: defaultPaymentPolicy,
    })
    .onConflictDoNothing();
}

export async function getSettings(db: Queryable, tenantId: string): Promise<SettingsRow> {
  const [row] = await db.select().from(shopSettings).where(eq(shopSettings.tenantId, tenantId));
  if (!row) throw new Error(`settings for tenant ${tenantId} are missing; ensureSettings runs at start`);
  return row;
}

export function publicSettings(row: SettingsRow) {
  return {
    display_name: row.displayName,
    brand: row.brand,
    features: row.features,
    default_locale: row.defaultLocale,
    locales: row.locales,
    currency: row.currency,
    timezone: row.timezone,
    payment_policy: row.paymentPolicy,
    low_stock_threshold: row.lowStockThreshold,
    updated_at: row.updatedAt.toISOString(),
  };
}

/** Escrow-required categories must be this shop's own: an unknown id would silently never match. */
async function checkEscrowCategories(tx: Queryable, tenantId: string, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  const found = await tx
    .select({ id: categories.id })
    .from(categories)
    .where(and(eq(categories.tenantId, tenantId), inArray(categories.id, [...ids])));
  const known = new Set(found.map((row) => row.id));
  const unknown = ids.filter((id) => !known.has(id.toLowerCase()));
  if (unknown.length > 0) {
    throw problem.validation(
      `body.payment_policy.escrow_required_category_ids names categories this shop does not have: ${unknown.join(', ')}`,
      [
        {
          field: 'body.payment_policy.escrow_required_category_ids',
          message: 'must be categories of this shop',
        },
      ],
    );
  }
}

export type SettingsPatch = Partial<Omit<ReturnType<typeof publicSettings>, 'updated_at'>>;

export async function updateSettings(
  ctx: ServiceContext,
  actor: Actor,
  patch: SettingsPatch,
): Promise<SettingsRow> {
  const updated = await ctx.db.transaction(async (tx) => {
    const [current] = await tx
      .select()
      .from(shopSettings)
      .where(eq(shopSettings.tenantId, ctx.tenantId))
      .for('update');
    if (!current) throw new Error('settings row missing');
    const policy = patch.payment_policy ?? current.paymentPolicy;
    if (!policy.allowed_rails.includes(policy.default_rail)) {
      throw problem.validation('body.payment_policy.default_rail must be one of allowed_rails', [
        { field: 'body.payment_policy.default_rail', message: 'must be one of allowed_rails' },
      ]);
    }
    if (patch.payment_policy)
      await checkEscrowCategories(tx, ctx.tenantId, policy.escrow_required_category_ids);
    const locales = patch.locales ?? current.locales;
    const defaultLocale = patch.default_locale ?? current.defaultLocale;
    if (!locales.includes(defaultLocale)) {
      throw problem.validation('body.default_locale must be one of locales', [
        { field: 'body.default_locale', message: 'must be one of locales' },
      ]);
    }
    const [updated] = await tx
      .update(shopSettings)
      .set({
        ...(patch.display_name !== undefined ? { displayName: patch.display_name } : {}),
        ...(patch.brand !== undefined ? { brand: patch.brand } : {}),
        ...(patch.features !== undefined ? { features: patch.features } : {}),
        ...(patch.currency !== undefined ? { currency: patch.currency } : {}),
        ...(patch.timezone !== undefined ? { timezone: patch.timezone } : {}),
        ...(patch.low_stock_threshold !== undefined ? { lowStockThreshold: patch.low_stock_threshold } : {}),
        locales,
        defaultLocale,
        paymentPolicy: policy,
        updatedAt: new Date(),
      })
      .where(eq(shopSettings.tenantId, ctx.tenantId))
      .returning();
    await recordAudit(tx, ctx.tenantId, actor, {
      action: 'settings.updated',
      targetType: 'shop_settings',
      targetId: ctx.tenantId,
      before: publicSettings(current),
      after: publicSettings(updated as SettingsRow),
    });
    return updated as SettingsRow;
  });
  // Pages cache the shop's settings with the catalog; a change must show on the next page.
  catalogChanged();
  return updated;
}
