import { BrandSchema } from '@amanat/kit/brand';
import { errorResponses, literals, Strict, Timestamp } from '@amanat/kit/http/schemas';
import type { App } from '@amanat/kit/http/types';
import { Type } from 'typebox';
import { requirePermission, type StaffIdentity, staffActor } from '../auth/staff.ts';
import type { ServiceContext } from '../context.ts';
import { railDisclosures } from './rails.ts';
import { paymentRails } from './schema.ts';
import { getSettings, publicSettings, updateSettings } from './service.ts';

const Rail = literals(paymentRails);
const Uuid = Type.String({
  pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$',
});

const PaymentPolicy = Strict({
  allowed_rails: Type.Array(Rail, { minItems: 1, uniqueItems: true }),
  default_rail: Rail,
  escrow_required_above_minor: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]),
  escrow_required_category_ids: Type.Array(Uuid, { maxItems: 200, uniqueItems: true }),
});

const Locale = literals(['en', 'fa']);

const settingsFields = {
  display_name: Type.String({ minLength: 1, maxLength: 120 }),
  brand: Type.Union([BrandSchema, Type.Null()]),
  features: Strict({
    login_methods: Type.Array(literals(['email_password', 'telegram', 'magic_link']), {
      minItems: 1,
      uniqueItems: true,
    }),
    disclose_platform: Type.Boolean(),
  }),
  default_locale: Locale,
  locales: Type.Array(Locale, { minItems: 1, uniqueItems: true }),
  currency: Type.String({ pattern: '^[A-Z]{3}$' }),
  timezone: Type.String({ minLength: 1, maxLength: 64 }),
  payment_policy: PaymentPolicy,
  low_stock_threshold: Type.Integer({ minimum: 0, maximum: 1_000_000 }),
};

const Settings = Strict({ ...settingsFields, updated_at: Timestamp });

export async function settingsRoutes(
  app: App,
  ctx: ServiceContext,
  verifyStaff: (token: string) => Promise<StaffIdentity>,
) {
  app.get(
    '/api/storefront/bootstrap',
    {
      schema: {
        tags: ['storefront'],
        summary: "The shop's brand, features, locales and the payment rails it offers",
        response: {
          200: Strict({
            shop: Strict({
              display_name: Type.String(),
              brand: Type.Union([BrandSchema, Type.Null()]),
              features: settingsFields.features,
              default_locale: Type.String(),
              locales: Type.Array(Type.String()),
              currency: Type.String(),
            }),
            payment: Strict({
              rails: Type.Array(Strict({ rail: Rail, disclosure: Type.String() })),
              default_rail: Rail,
            }),
          }),
          ...errorResponses,
        },
      },
    },
    async () => {
      const settings = publicSettings(await getSettings(ctx.db, ctx.tenantId));
      return {
        shop: {
          display_name: settings.display_name,
          brand: settings.brand,
          features: settings.features,
          default_locale: settings.default_locale,
          locales: settings.locales,
          currency: settings.currency,
        },
        payment: {
          rails: settings.payment_policy.allowed_rails.map((rail) => ({
            rail,
            disclosure: railDisclosures[rail],
          })),
          default_rail: settings.payment_policy.default_rail,
        },
      };
    },
  );

  app.get(
    '/api/admin/settings',
    {
      preValidation: requirePermission(verifyStaff, 'catalog.read'),
      schema: {
        tags: ['admin'],
        summary: "The shop's settings",
        response: { 200: Settings, ...errorResponses },
      },
    },
    async () => publicSettings(await getSettings(ctx.db, ctx.tenantId)),
  );

  app.patch(
    '/api/admin/settings',
    {
      preValidation: requirePermission(verifyStaff, 'settings.write'),
      schema: {
        tags: ['admin'],
        summary: "Change the shop's settings and payment policy",
        body: Type.Partial(Strict(settingsFields), { additionalProperties: false, minProperties: 1 }),
        response: { 200: Settings, ...errorResponses },
      },
    },
    async (request) => publicSettings(await updateSettings(ctx, staffActor(request), request.body)),
  );
}
