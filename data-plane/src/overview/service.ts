import { sql } from 'drizzle-orm';
import { buyers } from '../buyers/schema.ts';
import type { ServiceContext } from '../context.ts';
import { orders } from '../orders/schema.ts';
import { getSettings } from '../settings/service.ts';
import { isPaidSql, paidOrderStatuses, safeTimezone } from './paid.ts';

export const SERIES_DAYS = 30;

export interface DayPoint {
  date: string;
  orders: number;
  paid_orders: number;
  gmv_minor: number;
  new_customers: number;
}

/**
 * The shop's dashboard numbers, by calendar day in the shop's timezone, for the last
 * SERIES_DAYS days including today (empty days are zeros: generate_series over the days).
 * - orders: orders placed that day, any status but draft;
 * - paid_orders / gmv_minor: those of them now in a paid status (paidOrderStatuses), GMV
 *   summing their totals in the shop's currency (orders in another currency count as orders
 *   but not toward GMV);
 * - new_customers: buyer accounts registered that day.
 * The 7- and 30-day figures are sums over the last 7 and 30 points.
 */
export async function overview(ctx: ServiceContext, now: Date = new Date()) {
  const settings = await getSettings(ctx.db, ctx.tenantId);
  const tz = safeTimezone(settings.timezone);
  const currency = settings.currency;
  const result = await ctx.db.execute<{
    day: string;
    orders: number;
    paid_orders: number;
    gmv: string;
    new_customers: number;
  }>(sql`
    WITH bounds AS (
      SELECT (${now}::timestamptz AT TIME ZONE ${tz})::date AS today
    ),
    window_start AS (
      SELECT ((today - ${SERIES_DAYS - 1}::int)::timestamp AT TIME ZONE ${tz}) AS since FROM bounds
    ),
    days AS (
      SELECT generate_series(today - ${SERIES_DAYS - 1}::int, today, interval '1 day')::date AS day FROM bounds
    ),
    order_days AS (
      SELECT (o.created_at AT TIME ZONE ${tz})::date AS day,
             count(*)::int AS orders,
             (count(*) FILTER (WHERE ${isPaidSql('o.status')}))::int AS paid_orders,
             coalesce(sum(o.total_minor) FILTER (WHERE ${isPaidSql('o.status')} AND o.currency = ${currency}), 0)::bigint AS gmv
      FROM ${orders} AS o, window_start
      WHERE o.tenant_id = ${ctx.tenantId} AND o.status <> 'draft'
        AND o.created_at >= window_start.since AND o.created_at <= ${now}::timestamptz
      GROUP BY 1
    ),
    buyer_days AS (
      SELECT (b.created_at AT TIME ZONE ${tz})::date AS day, count(*)::int AS new_customers
      FROM ${buyers} AS b, window_start
      WHERE b.tenant_id = ${ctx.tenantId}
        AND b.created_at >= window_start.since AND b.created_at <= ${now}::timestamptz
      GROUP BY 1
    )
    SELECT to_char(days.day, 'YYYY-MM-DD') AS day,
           coalesce(order_days.orders, 0) AS orders,
           coalesce(order_days.paid_orders, 0) AS paid_orders,
           coalesce(order_days.gmv, 0) AS gmv,
           coalesce(buyer_days.new_customers, 0) AS new_customers
    FROM days
    LEFT JOIN order_days ON order_days.day = days.day
    LEFT JOIN buyer_days ON buyer_days.day = days.day
    ORDER BY days.day`);
  const series: DayPoint[] = result.rows.map((row) => ({
    date: row.day,
    orders: Number(row.orders),
    paid_orders: Number(row.paid_orders),
    gmv_minor: Number(row.gmv),
    new_customers: Number(row.new_customers),
  }));
  const total = (days: number) => {
    const points = series.slice(-days);
    return {
      orders: points.reduce((n, p) => n + p.orders, 0),
      paid_orders: points.reduce((n, p) => n + p.paid_orders, 0),
      gmv_minor: points.reduce((n, p) => n + p.gmv_minor, 0),
      new_customers: points.reduce((n, p) => n + p.new_customers, 0),
    };
  };
  return {
    currency,
    timezone: tz,
    paid_statuses: [...paidOrderStatuses],
    last_7_days: total(7),
    last_30_days: total(30),
    daily: series,
  };
}
