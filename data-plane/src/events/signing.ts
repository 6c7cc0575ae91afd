import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** Headers every webhook delivery carries (names are neutral: buyers never see the platform). */
export const WEBHOOK_HEADERS = {
  id: 'webhook-id',
  event: 'webhook-event',
  timestamp: 'webhook-timestamp',
  signature: 'webhook-signature',
  attempt: 'webhook-attempt',
} as const;

/** A new endpoint signing secret, shown to the shop once. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64url')}`;
}

/**
 * `v1=` + hex HMAC-SHA256 over `${timestamp}.${body}` keyed with the endpoint's secret (the
 * whole `whsec_…` string, as UTF-8). `timestamp` is Unix seconds, sent as webhook-timestamp.
 */
export function signWebhook(secret: string, timestamp: number, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** What a receiver does: recompute, compare in constant time, refuse stale timestamps. */
export function verifyWebhookSignature(
  secret: string,
  header: { timestamp: string | undefined; signature: string | undefined },
  body: string,
  options: { toleranceSeconds?: number; now?: number } = {},
): boolean {
  const timestamp = Number(header.timestamp);
  if (!Number.isInteger(timestamp) || !header.signature) return false;
  const now = options.now ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - timestamp) > (options.toleranceSeconds ?? 300)) return false;
  const expected = Buffer.from(signWebhook(secret, timestamp, body));
  const given = Buffer.from(header.signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}
