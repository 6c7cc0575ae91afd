import { problem } from '@amanat/kit/http/problem';
import { and, count, desc, eq, isNotNull, isNull, ne, type SQL, sql } from 'drizzle-orm';
import { type Actor, recordAudit } from '../audit/record.ts';
import { buyerAddresses, buyers } from '../buyers/schema.ts';
import { revokeBuyerSessions } from '../buyers/session.ts';
import type { ServiceContext } from '../context.ts';
import { orders } from '../orders/schema.ts';
import { isPaidSql } from '../overview/paid.ts';
import { getSettings } from '../settings/service.ts';

/** `john@gmail.com` → `j***@gmail.com`: staff see whose account it is, not the address. */
export function maskEmail(email: string): string {
  const at = email.lastIndexOf('@');
  if (at <= 0) return '***';
  return `${email.slice(0, 1)}***${email.slice(at)}`;
}

export const customerSorts = ['joined_at', 'order_count', 'total_spent', 'last_active'] as const;
export type CustomerSort = (typeof customerSorts)[number];

export interface CustomerQuery {
  sort: CustomerSort;
  order: 'asc' | 'desc';
  status?: 'active' | 'disabled';
  joined_after?: string;
  joined_before?: string;
  active_after?: string;
  active_before?: string;
  min_orders?: number;
  max_orders?: number;
  min_spent?: number;
  max_spent?: number;
  page: number;
  limit: number;
}

interface CustomerRow extends Record<string, unknown> {
  id: string;
  /** Null for a buyer who has only signed in through Telegram. */
  email: string | null;
  display_name: string | null;
  created_at: Date;
  disabled_at: Date | null;
  last_active_at: Date | null;
  order_count: number;
  total_spent: string;
  total: string;
}

/**
 * Per buyer: orders placed (every status but draft), total spent (paid statuses, in the
 * shop's currency) and the last order's time. Joined to buyers by (tenant_id, buyer_id).
 */
function orderStatsSql(tenantId: string, currency: string): SQL {
  return sql`
    SELECT buyer_id,
           count(*)::int AS order_count,
           coalesce(sum(total_minor) FILTER (WHERE ${isPaidSql('status')} AND currency = ${currency}), 0)::bigint AS total_spent,
           max(created_at) AS last_order_at
    FROM ${orders}
    WHERE tenant_id = ${tenantId} AND buyer_id IS NOT NULL AND status <> 'draft'
    GROUP BY buyer_id`;
}

/** Each buyer with their order stats; last_active_at is the later of the last session use and the last order. */
function customersSql(tenantId: string, currency: string): SQL {
  return sql`
    SELECT b.id, b.email, b.display_name, b.created_at, b.disabled_at,
           coalesce(s.order_count, 0) AS order_count,
           coalesce(s.total_spent, 0)::bigint AS total_spent,
           CASE WHEN b.last_active_at IS NULL THEN s.last_order_at
                WHEN s.last_order_at IS NULL THEN b.last_active_at
                ELSE greatest(b.last_active_at, s.last_order_at) END AS last_active_at
    FROM ${buyers} AS b
    LEFT JOIN (${orderStatsSql(tenantId, currency)}) AS s ON s.buyer_id = b.id
    WHERE b.tenant_id = ${tenantId}`;
}

const sortColumns: Record<CustomerSort, string> = {
  joined_at: 'created_at',
  order_count: 'order_count',
  total_spent: 'total_spent',
  last_active: 'last_active_at',
};

function filtersSql(query: CustomerQuery): SQL[] {
  const where: SQL[] = [];
  if (query.status === 'active') where.push(sql`disabled_at IS NULL`);
  if (query.status === 'disabled') where.push(sql`disabled_at IS NOT NULL`);
  if (query.joined_after) where.push(sql`created_at >= ${query.joined_after}::timestamptz`);
  if (query.joined_before) where.push(sql`created_at < ${query.joined_before}::timestamptz`);
  if (query.active_after) where.push(sql`last_active_at >= ${query.active_after}::timestamptz`);
  if (query.active_before) where.push(sql`last_active_at < ${query.active_before}::timestamptz`);
  if (query.min_orders !== undefined) where.push(sql`order_count >= ${query.min_orders}`);
  if (query.max_orders !== undefined) where.push(sql`order_count <= ${query.max_orders}`);
  if (query.min_spent !== undefined) where.push(sql`total_spent >= ${query.min_spent}`);
  if (query.max_spent !== undefined) where.push(sql`total_spent <= ${query.max_spent}`);
  return where;
}

export function assertRanges(query: CustomerQuery) {
  const pairs: [keyof CustomerQuery, keyof CustomerQuery, (a: never, b: never) => boolean][] = [
    ['joined_after', 'joined_before', (a: string, b: string) => Date.parse(a) <= Date.parse(b)],
    ['active_after', 'active_before', (a: string, b: string) => Date.parse(a) <= Date.parse(b)],
    ['min_orders', 'max_orders', (a: number, b: number) => a <= b],
    ['min_spent', 'max_spent', (a: number, b: number) => a <= b],
  ];
  for (const [low, high, ordered] of pairs) {
    const a = query[low];
    const b = query[high];
    if (a !== undefined && b !== undefined && !ordered(a as never, b as never)) {
      throw problem.validation(`query.${low} must not be after query.${high}`, [
        { field: `query.${low}`, message: `must not be after ${high}` },
      ]);
    }
  }
}

export async function listCustomers(ctx: ServiceContext, query: CustomerQuery) {
  assertRanges(query);
  const { currency } = await getSettings(ctx.db, ctx.tenantId);
  const where = filtersSql(query);
  const direction = query.order === 'asc' ? sql.raw('ASC') : sql.raw('DESC');
  const result = await ctx.db.execute<CustomerRow>(sql`
    SELECT c.*, count(*) OVER () AS total
    FROM (${customersSql(ctx.tenantId, currency)}) AS c
    ${where.length > 0 ? sql`WHERE ${sql.join(where, sql` AND `)}` : sql``}
    ORDER BY ${sql.raw(sortColumns[query.sort])} ${direction} NULLS LAST, id ${direction}
    LIMIT ${query.limit} OFFSET ${(query.page - 1) * query.limit}`);
  const total = Number(result.rows[0]?.total ?? 0);
  return {
    items: result.rows.map((row) => listItem(row)),
    currency,
    page: query.page,
    limit: query.limit,
    total,
  };
}

const iso = (value: Date | string | null) => (value === null ? null : new Date(value).toISOString());

function listItem(row: CustomerRow) {
  return {
    id: row.id,
    email_masked: row.email === null ? null : maskEmail(row.email),
    display_name: row.display_name,
    status: row.disabled_at ? ('disabled' as const) : ('active' as const),
    joined_at: iso(row.created_at) as string,
    last_active_at: iso(row.last_active_at),
    order_count: Number(row.order_count),
    total_spent_minor: Number(row.total_spent),
  };
}

export async function getCustomer(ctx: ServiceContext, id: string) {
  const { currency } = await getSettings(ctx.db, ctx.tenantId);
  const result = await ctx.db.execute<CustomerRow>(sql`
    SELECT c.*, 1 AS total FROM (${customersSql(ctx.tenantId, currency)}) AS c WHERE c.id = ${id}`);
  const row = result.rows[0];
  if (!row) throw problem.notFound('No such customer in this shop.');
  const [buyer] = await ctx.db
    .select()
    .from(buyers)
    .where(and(eq(buyers.tenantId, ctx.tenantId), eq(buyers.id, id)));
  if (!buyer) throw problem.notFound('No such customer in this shop.');
  const [addresses] = await ctx.db
    .select({ n: count() })
    .from(buyerAddresses)
    .where(and(eq(buyerAddresses.tenantId, ctx.tenantId), eq(buyerAddresses.buyerId, id)));
  const recent = await ctx.db
    .select({
      id: orders.id,
      status: orders.status,
      totalMinor: orders.totalMinor,
      currency: orders.currency,
      createdAt: orders.createdAt,
    })
    .from(orders)
    .where(and(eq(orders.tenantId, ctx.tenantId), eq(orders.buyerId, id), ne(orders.status, 'draft')))
    .orderBy(desc(orders.createdAt), desc(orders.id))
    .limit(5);
  return {
    ...listItem(row),
    disabled_at: iso(buyer.disabledAt),
    marketing_opt_in: buyer.marketingOptIn,
    marketing_opted_in_at: iso(buyer.marketingOptedInAt),
    marketing_opted_out_at: iso(buyer.marketingOptedOutAt),
    address_count: addresses?.n ?? 0,
    currency,
    recent_orders: recent.map((order) => ({
      id: order.id,
      status: order.status,
      total_minor: order.totalMinor,
      currency: order.currency,
      created_at: order.createdAt.toISOString(),
    })),
  };
}

/**
 * Disables (or re-enables) a buyer's access to this shop. Disabling revokes every live
 * session in the same transaction; the buyer cannot sign in until enabled again. A change
 * to the state it is already in changes nothing and records nothing.
 */
export async function setCustomerDisabled(
  ctx: ServiceContext,
  actor: Actor,
  id: string,
  disabled: boolean,
  reason: string | undefined,
): Promise<void> {
  await ctx.db.transaction(async (tx) => {
    const [current] = await tx
      .select({ id: buyers.id, disabledAt: buyers.disabledAt })
      .from(buyers)
      .where(and(eq(buyers.tenantId, ctx.tenantId), eq(buyers.id, id)))
      .for('update');
    if (!current) throw problem.notFound('No such customer in this shop.');
    if ((current.disabledAt !== null) === disabled) return;
    const now = new Date();
    await tx
      .update(buyers)
      .set({ disabledAt: disabled ? now : null, updatedAt: now })
      .where(
        and(
          eq(buyers.tenantId, ctx.tenantId),
          eq(buyers.id, id),
          disabled ? isNull(buyers.disabledAt) : isNotNull(buyers.disabledAt),
        ),
      );
    const revoked = disabled ? await revokeBuyerSessions(tx, ctx.tenantId, id) : 0;
    await recordAudit(tx, ctx.tenantId, actor, {
      action: disabled ? 'customer.disabled' : 'customer.enabled',
      targetType: 'buyer',
      targetId: id,
      before: { disabled: !disabled },
      after: { disabled, ...(reason ? { reason } : {}), ...(disabled ? { sessions_revoked: revoked } : {}) },
    });
  });
}
