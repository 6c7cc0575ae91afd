import { timingSafeEqual } from 'node:crypto';
import type { CurrentBuyer } from '../buyers/session.ts';
import { hashOrderToken } from '../checkout/service.ts';
import type { ServiceContext } from '../context.ts';
import { trackingOf } from '../delivery/service.ts';
import { findOrder, linesOf, type OrderRow } from './service.ts';
import { storefrontOrderView } from './views.ts';

function tokenMatches(order: OrderRow, token: string | undefined): boolean {
  if (!token || !order.accessTokenHash) return false;
  const given = Buffer.from(hashOrderToken(token));
  const stored = Buffer.from(order.accessTokenHash);
  return given.length === stored.length && timingSafeEqual(given, stored);
}

/**
 * An order as a buyer may see it: the signed-in buyer's own, or any order whose access token
 * (given to a guest at checkout) the viewer holds. Null for everything else, an order that
 * does not exist included, so callers answer both with the same 404 and reveal nothing.
 */
export async function orderForViewer(
  ctx: ServiceContext,
  orderId: string,
  viewer: { buyer: CurrentBuyer | null; token: string | undefined },
): Promise<{ order: OrderRow; via: 'buyer' | 'token' } | null> {
  const order = await findOrder(ctx.db, ctx.tenantId, orderId);
  if (!order) return null;
  if (viewer.buyer !== null && order.buyerId === viewer.buyer.id) return { order, via: 'buyer' };
  return tokenMatches(order, viewer.token) ? { order, via: 'token' } : null;
}

/** What the buyer sees of an order: its lines, prices, payment instructions and delivery. */
export async function storefrontOrderDetail(ctx: ServiceContext, order: OrderRow) {
  const [lines, tracking] = await Promise.all([
    linesOf(ctx.db, ctx.tenantId, order.id),
    trackingOf(ctx.db, ctx.tenantId, order.id),
  ]);
  return storefrontOrderView(ctx, order, lines, tracking);
}
