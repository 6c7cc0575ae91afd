import { createHmac, timingSafeEqual } from 'node:crypto';
import { problem } from '@amanat/kit/http/problem';
import type { ServiceContext } from '../context.ts';
import { type BuyerRow, getBuyer, updateMe } from './service.ts';

/**
 * Marketing e-mails carry a link that unsubscribes the buyer without signing in:
 * `/unsubscribe?b=<buyer id>&sig=<HMAC>`. The signature is HMAC-SHA256 under
 * DELIVERY_LINK_SECRET over a message that starts with its purpose, so an unsubscribe
 * signature can never pass as a download link's or the other way round, and names the
 * tenant, so a link from one shop means nothing to another sharing the secret. Links do not
 * expire: an unsubscribe link in an old e-mail must keep working.
 */
const PURPOSE = 'unsubscribe';
const BUYER_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function unsubscribeSignature(ctx: ServiceContext, buyerId: string): string {
  return createHmac('sha256', ctx.config.DELIVERY_LINK_SECRET)
    .update(`${PURPOSE}.${ctx.tenantId}.${buyerId}`)
    .digest('base64url');
}

/** The link's path and query, relative to the shop's host. */
export function unsubscribePath(ctx: ServiceContext, buyerId: string): string {
  const query = new URLSearchParams({ b: buyerId, sig: unsubscribeSignature(ctx, buyerId) });
  return `/unsubscribe?${query}`;
}

/**
 * The absolute link for a buyer's e-mails, on the shop's canonical host: the body's
 * unsubscribe link and the `List-Unsubscribe` header (with `List-Unsubscribe-Post:
 * List-Unsubscribe=One-Click`, RFC 8058) both use it.
 */
export function unsubscribeUrl(ctx: ServiceContext, buyerId: string): string {
  return `${ctx.config.publicOrigin}${unsubscribePath(ctx, buyerId)}`;
}

/** Whether `sig` signs `buyerId` for this shop (constant-time). */
export function isSignedUnsubscribeLink(ctx: ServiceContext, buyerId: string, sig: string): boolean {
  if (!BUYER_ID.test(buyerId)) return false;
  const expected = Buffer.from(unsubscribeSignature(ctx, buyerId));
  const given = Buffer.from(sig);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * The buyer a signed link names: 400 `bad-link` when the signature does not match, 404 when
 * the buyer is gone. Nothing changes here: a GET of the link only looks.
 */
export async function buyerOfUnsubscribeLink(
  ctx: ServiceContext,
  buyerId: string,
  sig: string,
): Promise<BuyerRow> {
  if (!isSignedUnsubscribeLink(ctx, buyerId, sig)) {
    throw problem.badRequest('bad-link', 'This unsubscribe link is not valid.');
  }
  const buyer = await getBuyer(ctx.db, ctx.tenantId, buyerId);
  if (!buyer) throw problem.notFound('This unsubscribe link names no account of this shop.');
  return buyer;
}

/**
 * Opts the link's buyer out of marketing e-mail, recorded and audited as the buyer's own
 * opt-out (the link is theirs). Idempotent: a buyer already opted out is left as they are.
 */
export async function unsubscribeBySignedLink(
  ctx: ServiceContext,
  requestId: string,
  buyerId: string,
  sig: string,
): Promise<BuyerRow> {
  const buyer = await buyerOfUnsubscribeLink(ctx, buyerId, sig);
  if (!buyer.marketingOptIn) return buyer;
  return updateMe(ctx, { type: 'buyer', id: buyer.id, role: null, requestId }, buyer.id, {
    marketing_opt_in: false,
  });
}
