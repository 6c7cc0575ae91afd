import { randomUUID } from 'node:crypto';
import { problem } from '@amanat/kit/http/problem';
import { and, eq, sql } from 'drizzle-orm';
import { type Actor, recordAudit } from '../audit/record.ts';
import type { ServiceContext } from '../context.ts';
import type { Queryable } from '../db/client.ts';
import type { OrderRow } from '../orders/service.ts';
import { type EmailMessageRow, emailMessages } from './schema.ts';

/** What a sealed guest token is bound to: another row's (or tenant's) sealed value does not open here. */
export const tokenSealingContext = (tenantId: string, messageId: string) =>
  `${tenantId}:email_messages:${messageId}`;

/**
 * The insert that queues an order's confirmation, unexecuted: checkout composes it into its
 * one statement, so the email is queued exactly when the order exists. Null when the shop
 * has no SMTP server configured: then it sends no email and queues none.
 */
export function orderConfirmationInsert(
  db: Queryable,
  ctx: ServiceContext,
  order: Pick<OrderRow, 'id' | 'email'>,
  accessToken: string | null,
) {
  if (!ctx.config.SMTP_URL) return null;
  const id = randomUUID();
  return db.insert(emailMessages).values({
    id,
    tenantId: ctx.tenantId,
    kind: 'order_confirmation',
    orderId: order.id,
    toAddress: order.email,
    sealedToken: accessToken
      ? ctx.config.keyring.seal(accessToken, tokenSealingContext(ctx.tenantId, id))
      : null,
  });
}

/**
 * Queues a failed message again, from its first attempt (once its SMTP server is fixed). Only
 * a failed message: a queued one is already on its way, a sent one would go out twice.
 */
export async function retryEmail(ctx: ServiceContext, actor: Actor, id: string): Promise<EmailMessageRow> {
  return ctx.db.transaction(async (tx) => {
    const [current] = await tx
      .select()
      .from(emailMessages)
      .where(and(eq(emailMessages.tenantId, ctx.tenantId), eq(emailMessages.id, id)))
      .for('update');
    if (!current) throw problem.notFound(`No email ${id} in this shop.`);
    if (current.status !== 'failed') {
      throw problem.conflict(
        'email-not-failed',
        `Email ${id} is ${current.status}; only a failed email can be sent again.`,
        { email_status: current.status },
      );
    }
    const [retried] = await tx
      .update(emailMessages)
      .set({ status: 'queued', attempts: 0, nextAttemptAt: sql`now()` })
      .where(and(eq(emailMessages.tenantId, ctx.tenantId), eq(emailMessages.id, id)))
      .returning();
    await recordAudit(tx, ctx.tenantId, actor, {
      action: 'email.retried',
      targetType: 'email',
      targetId: id,
      before: { status: current.status, attempts: current.attempts, last_error: current.lastError },
      after: { status: 'queued' },
    });
    return retried as EmailMessageRow;
  });
}
