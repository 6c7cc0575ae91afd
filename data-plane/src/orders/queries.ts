import { and, asc, count, desc, eq, gte, ilike, inArray, lt, type SQL } from 'drizzle-orm';
import type { ServiceContext } from '../context.ts';
import { trackingOf } from '../delivery/service.ts';
import { confirmationEmailOf } from '../email/queries.ts';
import { escrowBalances } from '../ledger/service.ts';
import { evidenceOf, paymentOf } from '../payments/service.ts';
import { railEscrows } from '../settings/rails.ts';
import type { PaymentRail } from '../settings/schema.ts';
import { type OrderStatus, orders, orderTransitions } from './schema.ts';
import { findOrder, linesOf, type OrderRow } from './service.ts';
import { adminOrderSummary, adminOrderView } from './views.ts';

export interface OrderListQuery {
  status?: OrderStatus[] | undefined;
  rail?: PaymentRail[] | undefined;
  from?: string | undefined;
  to?: string | undefined;
  q?: string | undefined;
  sort: 'created_at' | 'total_minor' | 'updated_at';
  order: 'asc' | 'desc';
  page: number;
  limit: number;
}

const escapeLike = (text: string) => text.replace(/[\\%_]/g, (c) => `\\${c}`);

/** The shop's orders, filtered by status, rail, creation time and email, sorted and paged. */
export async function listOrders(ctx: ServiceContext, query: OrderListQuery) {
  const conditions: SQL[] = [eq(orders.tenantId, ctx.tenantId)];
  if (query.status?.length) conditions.push(inArray(orders.status, query.status));
  if (query.rail?.length) conditions.push(inArray(orders.rail, query.rail));
  if (query.from) conditions.push(gte(orders.createdAt, new Date(query.from)));
  if (query.to) conditions.push(lt(orders.createdAt, new Date(query.to)));
  if (query.q) conditions.push(ilike(orders.email, `%${escapeLike(query.q.toLowerCase())}%`));
  const where = and(...conditions);
  const column = {
    created_at: orders.createdAt,
    total_minor: orders.totalMinor,
    updated_at: orders.updatedAt,
  }[query.sort];
  const direction = query.order === 'asc' ? asc : desc;
  const [rows, [total]] = await Promise.all([
    ctx.db
      .select()
      .from(orders)
      .where(where)
      .orderBy(direction(column), direction(orders.id))
      .limit(query.limit)
      .offset((query.page - 1) * query.limit),
    ctx.db.select({ n: count() }).from(orders).where(where),
  ]);
  return {
    items: rows.map(adminOrderSummary),
    page: query.page,
    limit: query.limit,
    total: total?.n ?? 0,
  };
}

export async function orderTransitionsOf(ctx: ServiceContext, orderId: string) {
  return ctx.db
    .select()
    .from(orderTransitions)
    .where(and(eq(orderTransitions.tenantId, ctx.tenantId), eq(orderTransitions.orderId, orderId)))
    .orderBy(asc(orderTransitions.id));
}

/** Everything the shop admin sees about one order, or null when it is not this shop's. */
export async function adminOrderDetail(ctx: ServiceContext, orderId: string) {
  const order = await findOrder(ctx.db, ctx.tenantId, orderId);
  return order ? adminDetailOf(ctx, order) : null;
}

export async function adminDetailOf(ctx: ServiceContext, order: OrderRow) {
  const [lines, tracking, payment, evidence, transitions, escrow, confirmationEmail] = await Promise.all([
    linesOf(ctx.db, ctx.tenantId, order.id),
    trackingOf(ctx.db, ctx.tenantId, order.id),
    paymentOf(ctx.db, ctx.tenantId, order.id),
    evidenceOf(ctx.db, ctx.tenantId, order.id),
    orderTransitionsOf(ctx, order.id),
    railEscrows[order.rail] ? escrowBalances(ctx.db, order) : Promise.resolve(null),
    confirmationEmailOf(ctx.db, ctx.tenantId, order.id),
  ]);
  return adminOrderView(ctx, order, {
    lines,
    tracking,
    payment,
    evidence,
    transitions,
    escrow,
    confirmationEmail,
  });
}

/** What a buyer's order list shows of each order. */
export function buyerOrderSummary(row: OrderRow) {
  return {
    id: row.id,
    status: row.status,
    rail: row.rail,
    currency: row.currency,
    total_minor: row.totalMinor,
    item_count: row.itemCount,
    created_at: row.createdAt.toISOString(),
  };
}

/** One buyer's own orders, newest first, paged. */
export async function listBuyerOrders(
  ctx: ServiceContext,
  buyerId: string,
  paging: { page: number; limit: number },
) {
  const where = and(eq(orders.tenantId, ctx.tenantId), eq(orders.buyerId, buyerId));
  const [rows, [total]] = await Promise.all([
    ctx.db
      .select()
      .from(orders)
      .where(where)
      .orderBy(desc(orders.createdAt), desc(orders.id))
      .limit(paging.limit)
      .offset((paging.page - 1) * paging.limit),
    ctx.db.select({ n: count() }).from(orders).where(where),
  ]);
  return {
    items: rows.map(buyerOrderSummary),
    page: paging.page,
    limit: paging.limit,
    total: total?.n ?? 0,
  };
}
