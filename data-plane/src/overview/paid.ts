import { type SQL, sql } from 'drizzle-orm';
import type { OrderStatus } from '../orders/schema.ts';

/**
 * The statuses of an order whose money has been paid and not given back: they count toward
 * GMV and a customer's total spent. `disputed` counts (the escrow still holds the money);
 * `cancelled` does not (never paid, or refunded), nor do `draft`, `pending_payment` and
 * `expired`.
 */
export const paidOrderStatuses = [
  'paid_direct',
  'escrow_funded',
  'fulfillment',
  'delivered',
  'completed',
  'disputed',
] as const satisfies readonly OrderStatus[];

/** `status IN (…paid…)` for raw SQL over an orders row aliased or not. */
export function isPaidSql(status: SQL | string): SQL {
  const column = typeof status === 'string' ? sql.raw(status) : status;
  return sql`${column} IN (${sql.join(
    paidOrderStatuses.map((s) => sql`${s}`),
    sql`, `,
  )})`;
}

/** A shop's timezone as PostgreSQL can use it; an unknown name falls back to UTC. */
export function safeTimezone(timezone: string): string {
  try {
    new Intl.DateTimeFormat('en', { timeZone: timezone });
    return /^[A-Za-z0-9_+\-/]{1,64}$/.test(timezone) ? timezone : 'UTC';
  } catch {
    return 'UTC';
  }
}
