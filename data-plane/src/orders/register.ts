import type { App } from '@amanat/kit/http/types';
import type { StaffIdentity } from '../auth/staff.ts';
import { checkoutRoutes } from '../checkout/routes.ts';
import type { ServiceContext } from '../context.ts';
import { deliveryRoutes } from '../delivery/routes.ts';
import { paymentRoutes } from '../payments/routes.ts';
import { orderRoutes } from './routes.ts';

/** Checkout, orders, delivery and payment routes (storefront, shop admin and payment adapters). */
export async function commerceRoutes(
  app: App,
  ctx: ServiceContext,
  verifyStaff: (token: string) => Promise<StaffIdentity>,
) {
  await checkoutRoutes(app, ctx);
  await orderRoutes(app, ctx, verifyStaff);
  await deliveryRoutes(app, ctx, verifyStaff);
  await paymentRoutes(app, ctx, verifyStaff);
}
