import { randomUUID } from 'node:crypto';
import type { ServiceContext } from '../context.ts';
import type { Queryable } from '../db/client.ts';
import type { OrderRow } from '../orders/service.ts';
import { emailMessages } from './schema.ts';

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
