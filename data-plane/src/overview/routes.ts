import { errorResponses, literals, Strict } from '@amanat/kit/http/schemas';
import type { App } from '@amanat/kit/http/types';
import { Type } from 'typebox';
import { requirePermission, type StaffIdentity } from '../auth/staff.ts';
import type { ServiceContext } from '../context.ts';
import { orderStatuses } from '../orders/schema.ts';
import { overview } from './service.ts';

const Totals = Strict({
  orders: Type.Integer({ description: 'orders placed, any status but draft' }),
  paid_orders: Type.Integer({ description: 'of those, the ones now in a paid status' }),
  gmv_minor: Type.Integer({ description: "paid orders' totals in the shop currency, minor units" }),
  new_customers: Type.Integer({ description: 'buyer accounts registered' }),
});

/** The shop admin overview (permission overview.read). */
export async function overviewRoutes(
  app: App,
  ctx: ServiceContext,
  verifyStaff: (token: string) => Promise<StaffIdentity>,
) {
  app.get(
    '/api/admin/overview',
    {
      preValidation: requirePermission(verifyStaff, 'overview.read'),
      schema: {
        tags: ['admin'],
        summary: 'Orders, GMV and new customers for the last 7 and 30 days, with a daily series',
        description:
          "Days are calendar days in the shop's timezone, today included; the series has 30 points, empty days zero. Paid statuses (counted in GMV): paid_direct, escrow_funded, fulfillment, delivered, completed, disputed.",
        response: {
          200: Strict({
            currency: Type.String(),
            timezone: Type.String(),
            paid_statuses: Type.Array(literals(orderStatuses)),
            last_7_days: Totals,
            last_30_days: Totals,
            daily: Type.Array(
              Strict({
                date: Type.String({ format: 'date' }),
                orders: Type.Integer(),
                paid_orders: Type.Integer(),
                gmv_minor: Type.Integer(),
                new_customers: Type.Integer(),
              }),
            ),
          }),
          ...errorResponses,
        },
      },
    },
    async () => overview(ctx),
  );
}
