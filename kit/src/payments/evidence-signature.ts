import { createHmac } from 'node:crypto';

/**
 * How payment evidence is signed: the platform's scanner signs, each data plane verifies
 * (data-plane/src/payments/adapters.ts), with the tenant's PAYMENT_EVIDENCE_SECRET.
 */
export const SIGNATURE_HEADER = 'x-payment-signature';
export const TIMESTAMP_HEADER = 'x-payment-timestamp';

/** `sha256=<hex>` over `${timestamp}.${rawBody}` with the shared secret. */
export function signEvidence(secret: string, timestamp: number, rawBody: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${rawBody}`).digest('hex')}`;
}
