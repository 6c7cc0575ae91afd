import { and, count, desc, eq, inArray, type SQL } from 'drizzle-orm';
import type { ServiceContext } from '../context.ts';
import type { Queryable } from '../db/client.ts';
import { type EmailMessageRow, type EmailStatus, emailMessages } from './schema.ts';

export interface EmailListQuery {
  status?: EmailStatus[] | undefined;
  order_id?: string | undefined;
  page: number;
  limit: number;
}

/** A message as staff see it: where it stands, never the sealed token. */
export function adminEmailView(row: EmailMessageRow) {
  return {
    id: row.id,
    kind: row.kind,
    order_id: row.orderId,
    to: row.toAddress,
    status: row.status,
    attempts: row.attempts,
    next_attempt_at: row.status === 'queued' ? row.nextAttemptAt.toISOString() : null,
    last_error: row.lastError,
    sent_at: row.sentAt?.toISOString() ?? null,
    smtp_message_id: row.smtpMessageId,
    smtp_response: row.smtpResponse,
    created_at: row.createdAt.toISOString(),
  };
}

/** The shop's email, newest first, filtered by status and order, paged. */
export async function listEmails(ctx: ServiceContext, query: EmailListQuery) {
  const conditions: SQL[] = [eq(emailMessages.tenantId, ctx.tenantId)];
  if (query.status?.length) conditions.push(inArray(emailMessages.status, query.status));
  if (query.order_id) conditions.push(eq(emailMessages.orderId, query.order_id.toLowerCase()));
  const where = and(...conditions);
  const [rows, [total]] = await Promise.all([
    ctx.db
      .select()
      .from(emailMessages)
      .where(where)
      .orderBy(desc(emailMessages.createdAt), desc(emailMessages.id))
      .limit(query.limit)
      .offset((query.page - 1) * query.limit),
    ctx.db.select({ n: count() }).from(emailMessages).where(where),
  ]);
  return {
    items: rows.map(adminEmailView),
    page: query.page,
    limit: query.limit,
    total: total?.n ?? 0,
  };
}

/** An order's confirmation email, or null when none was queued (the shop had no SMTP server). */
export async function confirmationEmailOf(
  db: Queryable,
  tenantId: string,
  orderId: string,
): Promise<EmailMessageRow | null> {
  const [row] = await db
    .select()
    .from(emailMessages)
    .where(
      and(
        eq(emailMessages.tenantId, tenantId),
        eq(emailMessages.orderId, orderId),
        eq(emailMessages.kind, 'order_confirmation'),
      ),
    );
  return row ?? null;
}
